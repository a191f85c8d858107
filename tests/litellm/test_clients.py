"""The provider's client cache: one transport client (one connection pool) per endpoint, key,
api-version and retry budget; the key never readable in it."""

from __future__ import annotations

import logging
from typing import Any

import litellm
import pytest

from azure_llama_emulator import Emulator
from litellm_azure_llama._clients import ClientCache, Settings
from litellm_azure_llama._handler import _read_call
from tests._support.litellm import MODEL, call_kwargs

KEY = "sk-do-not-show-1234"
BASE = Settings("https://a.eastus2.models.ai.azure.com", KEY, "2024-05-01-preview", 0)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"api_key": "sk-another-key"}, id="api-key"),
        pytest.param({"endpoint": "https://b.eastus2.models.ai.azure.com"}, id="endpoint"),
        pytest.param({"api_version": "2024-04-01-preview"}, id="api-version"),
        pytest.param({"max_retries": 2}, id="max-retries"),
        pytest.param({"deployment": "blue"}, id="deployment"),
    ],
)
@pytest.mark.parametrize("kind", ["sync", "async_"])
def test_each_setting_gets_its_own_client(kind: str, change: dict[str, Any]) -> None:
    cache = ClientCache()
    get = getattr(cache, kind)
    first = get(BASE)
    assert get(Settings(BASE.endpoint, KEY, BASE.api_version, 0)) is first  # equal: shared
    other = get(Settings(**{**vars(BASE), **change}))
    assert other is not first
    assert get(Settings(**{**vars(BASE), **change})) is other
    cache.close()


def test_the_key_is_not_readable_in_the_cache() -> None:
    cache = ClientCache()
    cache.sync(BASE)
    cache.async_(BASE)
    shown = repr(cache._sync) + repr(cache._async) + repr(BASE) + repr(BASE.cache_key)
    assert KEY not in shown
    cache.close()


def test_calls_differing_only_in_timeout_share_one_client(emu: Emulator) -> None:
    """The timeout is per request: it must not cost each timeout value a connection pool."""
    calls = [
        _read_call(f"azure_llama/{MODEL}", [], emu.url, KEY, {}, {}, None, timeout)
        for timeout in (None, 5.0, 30.0)
    ]
    assert [c.timeout for c in calls] == [None, 5.0, 30.0]
    cache = ClientCache()
    assert len({id(cache.sync(c.settings)) for c in calls}) == 1
    cache.close()


def test_a_wrong_key_is_not_logged_or_shown_in_the_error(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(litellm.AuthenticationError) as info:
        litellm.completion(**call_kwargs(emu, api_key=KEY))
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert KEY not in caplog.text
