"""Entra ID token credentials that fail, through both front ends (sync, async, streamed).

LangChain takes the credential as `ChatAzureLlama(credential=...)`, LiteLLM as
`azure_ad_token_provider=` (a `get_token` credential, or a `() -> str` token provider). A
managed-compute emulator accepts exactly one token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from langchain_core.exceptions import ModelAuthenticationError

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.faults import ALL_MODES, KEY, LITELLM_MODES, REPLY, Case, Driver, Drivers

GOOD = "entra-token-good-4c2d"


@pytest.fixture(scope="module")
def managed() -> Iterator[Emulator]:
    config = EmulatorConfig(api_key=KEY, kind="managed", accepted_tokens=(GOOD,))
    with Emulator(config) as emu:
        yield emu


@pytest.fixture
def emu(managed: Emulator) -> Emulator:
    managed.clear()
    return managed


class Credential:
    """A sync `get_token` credential handing out `tokens` in turn (the last one repeats)."""

    def __init__(self, *tokens: str | Exception, expires_in: float = 3600.0) -> None:
        self.tokens = list(tokens)
        self.expires_in = expires_in
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        if isinstance(token, Exception):
            raise token
        return token, time.time() + self.expires_in


def bearer(emu: Emulator) -> list[str]:
    return [r.headers.get("authorization", "") for r in emu.requests]


def with_credential(drive: Drivers, case: Case, emu: Emulator, credential: Any) -> Driver:
    option = "credential" if case[0] == "langchain" else "azure_ad_token_provider"
    return drive(case, emu.url, key=None, **{option: credential})


def check_auth_error(case: Case, error: Any, langchain_cls: type[Exception]) -> None:
    if case[0] == "langchain":
        assert isinstance(error, langchain_cls) and isinstance(error, ModelAuthenticationError)
    else:
        assert type(error) is litellm.AuthenticationError


@pytest.mark.parametrize("case", ALL_MODES)
async def test_credential_that_raises(case: Case, emu: Emulator, drive: Drivers) -> None:
    credential = Credential(RuntimeError("no managed identity endpoint"))
    reply = await with_credential(drive, case, emu, credential).call()
    error: Any = reply.error
    check_auth_error(case, error, lc.CredentialError)
    assert "Credential.get_token failed: RuntimeError: no managed identity" in str(error)
    assert emu.requests == []  # nothing sent without a token


@pytest.mark.parametrize("case", ALL_MODES)
async def test_credential_returning_an_expired_token(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    credential = Credential(GOOD, expires_in=-60.0)
    reply = await with_credential(drive, case, emu, credential).call()
    error: Any = reply.error
    check_auth_error(case, error, lc.CredentialError)
    assert "already expired" in str(error) and GOOD not in str(error)
    assert emu.requests == []


@pytest.mark.parametrize("case", ALL_MODES)
async def test_401_refreshes_the_token_once_then_succeeds(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    credential = Credential("entra-token-revoked", GOOD)
    reply = await with_credential(drive, case, emu, credential).call()
    assert reply.caught is None, repr(reply.caught)
    assert reply.text == REPLY
    assert bearer(emu) == ["Bearer entra-token-revoked", f"Bearer {GOOD}"]
    assert credential.calls == 2


@pytest.mark.parametrize("case", ALL_MODES)
async def test_persistent_401_is_an_authentication_error_after_one_refresh(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    credential = Credential("entra-token-revoked")
    reply = await with_credential(drive, case, emu, credential).call()
    error: Any = reply.error
    check_auth_error(case, error, lc.AuthenticationError)
    assert "answered 401" in str(error)
    assert "refused even after a refresh" in str(error)
    assert "entra-token-revoked" not in str(error) and "entra-token-revoked" not in repr(error)
    assert len(emu.requests) == 2 and credential.calls == 2  # one refresh, never a loop


@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_litellm_token_provider_that_raises(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    """azure-identity's `get_bearer_token_provider` shape: a callable asked on every request."""

    def provider() -> str:
        raise RuntimeError("token endpoint unreachable")

    reply = await with_credential(drive, case, emu, provider).call()
    assert type(reply.error) is litellm.AuthenticationError, repr(reply.caught)
    assert "token endpoint unreachable" in str(reply.error)
    assert emu.requests == []


class SlowCredential(Credential):
    """A token fetch that takes a while (sync or async), as a real one does."""

    def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:
        time.sleep(0.05)
        return super().get_token(*scopes)


class SlowAsyncCredential(Credential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:  # type: ignore[override]
        await asyncio.sleep(0.05)
        return Credential.get_token(self, *scopes)


@pytest.mark.parametrize(
    ("method", "credential_type"),
    [
        pytest.param("batch", SlowCredential, id="batch-threads"),
        pytest.param("abatch", SlowAsyncCredential, id="abatch-gather"),
    ],
)
async def test_concurrent_first_calls_fetch_one_token(
    method: str, credential_type: type[Credential], emu: Emulator
) -> None:
    """16 calls at once on a new model: one `get_token`, not 16 (single flight)."""
    credential = credential_type(GOOD)
    model = lc.ChatAzureLlama(endpoint=emu.url, credential=credential, model="m", max_retries=0)
    prompts = [f"hello {i}" for i in range(16)]
    if method == "batch":
        answers = await asyncio.to_thread(model.batch, prompts, {"max_concurrency": 16})
    else:
        answers = await model.abatch(prompts, {"max_concurrency": 16})
    assert len(answers) == 16
    assert credential.calls == 1
    assert bearer(emu) == [f"Bearer {GOOD}"] * 16
    model.close()
    await model.aclose()
