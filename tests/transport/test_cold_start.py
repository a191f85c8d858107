"""What a client costs before its first call: the sync pool is built by the first sync send.

Building the own pool imports httpcore and loads the CA bundle (100-200 ms once per
process); a client used only for async calls, or never used, must not pay it, and closing or
dropping a client that never sent must not build a pool just to close it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from azure_llama_transport import AzureLlamaClient, _client
from azure_llama_transport._fork import ProcessLocal

KEY = "emulator-key"
USER = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY)) as emu:
        yield emu


class Counting:
    """A `make` for `ProcessLocal` that counts the pools it builds (the client's own builder)."""

    def __init__(self) -> None:
        self.made: list[Any] = []
        self._build = _client._new_sync_pool

    def __call__(self, *args: Any, **settings: Any) -> Any:
        self.made.append(self._build(*args, **settings) if args else httpx.Client(**settings))
        return self.made[-1]


def test_pool_is_built_by_the_first_get_and_kept() -> None:
    make = Counting()
    local = ProcessLocal(None, make)
    assert make.made == []
    first = local.get()
    assert local.get() is first
    assert make.made == [first]
    local.close()
    assert first.is_closed


def test_closing_a_pool_never_built_builds_nothing() -> None:
    make = Counting()
    local = ProcessLocal(None, make)
    local.close()
    local.close_own()
    assert make.made == []


def test_a_callers_client_is_taken_as_is() -> None:
    make = Counting()
    with httpx.Client() as http:
        local = ProcessLocal(http, make)
        assert local.get() is http
        local.close_own()  # the caller's: left open
        assert not http.is_closed
    assert make.made == []


@pytest.fixture
def make(monkeypatch: pytest.MonkeyPatch) -> Counting:
    """Count the pools `AzureLlamaClient` builds for itself."""
    counting = Counting()
    monkeypatch.setattr(_client, "_new_sync_pool", counting)
    return counting


def test_client_closed_before_sending_builds_no_pool(make: Counting) -> None:
    with AzureLlamaClient("https://h.models.ai.azure.com", api_key=KEY):
        pass
    assert make.made == []


def test_client_dropped_before_sending_builds_no_pool(make: Counting) -> None:
    client = AzureLlamaClient("https://h.models.ai.azure.com", api_key=KEY)
    del client
    gc.collect()  # its finalizer (close_own) has run
    assert make.made == []


def test_first_sync_call_builds_the_pool_later_calls_reuse_it(
    emulator: Emulator, make: Counting
) -> None:
    with AzureLlamaClient(emulator.url, api_key=KEY) as client:
        assert make.made == []
        client.chat(USER)
        client.chat(USER)
        assert len(make.made) == 1
    assert make.made[0].is_closed
