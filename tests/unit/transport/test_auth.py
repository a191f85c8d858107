"""Auth flows: key headers, token caching and refresh (expiry, once on 401), credential errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import httpx
import pytest

from azure_llama_transport import (
    AuthenticationError,
    CredentialError,
    RequestValidationError,
    TokenAuth,
)
from tests._support.transport import KEY, make_async, make_sync

USER = [{"role": "user", "content": "Hi"}]
MANAGED = "https://my-endpoint.eastus2.inference.ml.azure.com"
NOW = 1_700_000_000.0


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class FakeCredential:
    """Counts get_token calls; each call returns a new token valid for `lifetime` seconds."""

    def __init__(self, lifetime: float = 3600, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime
        self.fail = fail
        self.now = NOW

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        if self.fail:
            raise self.fail
        return AccessToken(f"token-{len(self.calls)}", int(self.now + self.lifetime))


class AsyncFakeCredential(FakeCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        await asyncio.sleep(0)
        return FakeCredential.get_token(self, *scopes)


def recorder(
    status_for: Callable[[httpx.Request], int] = lambda r: 200,
) -> tuple[list[httpx.Request], Callable[[httpx.Request], httpx.Response]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # httpx re-sends the same Request object after a 401: keep a copy of what was sent.
        seen.append(httpx.Request(request.method, request.url, headers=request.headers))
        status = status_for(request)
        if status == 401:
            return httpx.Response(
                401,
                json={"statusCode": 401, "message": "Auth token validation failed."},
                headers={"x-ms-error-reason": "Invalid JWT."},
            )
        return httpx.Response(
            status,
            json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]},
        )

    return seen, handler


def with_clock(client: Any, credential: FakeCredential) -> Any:
    assert isinstance(client.auth, TokenAuth)
    client.auth.clock = lambda: credential.now
    return client


async def test_key_sends_bearer_and_api_key() -> None:
    seen, handler = recorder()
    make_sync(handler).chat(USER)
    await make_async(handler).chat(USER)
    for request in seen:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["api-key"] == KEY


@pytest.mark.parametrize(
    "kind", [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
)
async def test_token_cached_then_refreshed_near_expiry(kind: str) -> None:
    credential = FakeCredential(lifetime=3600)
    seen, handler = recorder()
    make = make_sync if kind == "sync" else make_async
    client = with_clock(
        make(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )

    async def call() -> None:
        result = client.chat(USER)
        if asyncio.iscoroutine(result):
            await result

    await call()
    await call()
    assert len(credential.calls) == 1
    credential.now += 3600 - 200  # inside the refresh margin
    await call()
    assert len(credential.calls) == 2
    assert [r.headers["authorization"] for r in seen] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert credential.calls[0] == ("https://ml.azure.com/.default",)
    assert all("api-key" not in r.headers for r in seen)


@pytest.mark.parametrize(
    "kind", [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
)
async def test_401_refreshes_token_once_and_retries(kind: str) -> None:
    credential = FakeCredential()
    seen, handler = recorder(
        lambda r: 401 if r.headers["authorization"] == "Bearer token-1" else 200
    )
    make = make_sync if kind == "sync" else make_async
    client = with_clock(
        make(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    result = client.chat(USER)
    if asyncio.iscoroutine(result):
        await result
    assert len(credential.calls) == 2
    assert [r.headers["authorization"] for r in seen] == ["Bearer token-1", "Bearer token-2"]


def test_persistent_401_raises_after_one_refresh() -> None:
    credential = FakeCredential()
    seen, handler = recorder(lambda r: 401)
    client = with_clock(
        make_sync(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    with pytest.raises(AuthenticationError, match="role assignment"):
        client.chat(USER)
    assert len(seen) == 2 and len(credential.calls) == 2


def test_token_on_serverless_host_refused_before_sending() -> None:
    credential = FakeCredential()
    seen, handler = recorder(lambda r: 401)
    with pytest.raises(RequestValidationError, match=r"accept keys only.*pass api_key=") as info:
        make_sync(handler, api_key=None, credential=credential)
    assert info.value.param == "credential"
    assert seen == [] and credential.calls == []


def test_token_on_serverless_host_of_another_kind_explains_keys_only_on_401() -> None:
    # endpoint_kind overrides the host's kind (a proxy in front): sent, and the 401 explains.
    credential = FakeCredential()
    _, handler = recorder(lambda r: 401)
    client = with_clock(
        make_sync(handler, api_key=None, credential=credential, endpoint_kind="other"), credential
    )
    with pytest.raises(AuthenticationError, match="Serverless API endpoints accept keys only"):
        client.chat(USER)


def test_custom_scopes() -> None:
    credential = FakeCredential()
    _, handler = recorder()
    client = with_clock(
        make_sync(
            handler,
            endpoint=MANAGED,
            api_key=None,
            credential=credential,
            credential_scopes=["https://cognitiveservices.azure.com/.default"],
        ),
        credential,
    )
    client.chat(USER)
    assert credential.calls == [("https://cognitiveservices.azure.com/.default",)]


async def test_async_credential_with_async_client() -> None:
    credential = AsyncFakeCredential()
    seen, handler = recorder()
    client = with_clock(
        make_async(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    await client.chat(USER)
    assert seen[0].headers["authorization"] == "Bearer token-1"


def test_async_credential_with_sync_client_is_refused() -> None:
    credential = AsyncFakeCredential()
    seen, handler = recorder()
    client = with_clock(
        make_sync(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    with pytest.raises(CredentialError, match="async"):
        client.chat(USER)
    assert seen == []


@pytest.mark.parametrize(
    ("credential", "text"),
    [
        pytest.param(FakeCredential(fail=RuntimeError("no az login")), "no az login", id="raises"),
        pytest.param(FakeCredential(lifetime=-10), "already expired", id="expired"),
    ],
)
def test_credential_failures_are_typed(credential: FakeCredential, text: str) -> None:
    seen, handler = recorder()
    client = with_clock(
        make_sync(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    with pytest.raises(CredentialError, match=text):
        client.chat(USER)
    assert seen == []


BURST = 16


class SlowCredential(FakeCredential):
    """Takes a while, as a real token fetch does: time for the other first calls to pile up."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        time.sleep(0.05)
        return super().get_token(*scopes)


class SlowAsyncCredential(FakeCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        await asyncio.sleep(0.05)
        return FakeCredential.get_token(self, *scopes)


def _burst_sync(client: Any) -> None:
    start = threading.Barrier(BURST)

    def call() -> None:
        start.wait(timeout=10)
        client.chat(USER)

    with ThreadPoolExecutor(BURST) as pool:
        for future in [pool.submit(call) for _ in range(BURST)]:
            future.result(timeout=30)


@pytest.mark.parametrize(
    ("kind", "credential_type"),
    [
        pytest.param("sync", SlowCredential, id="sync-threads"),
        pytest.param("async", SlowAsyncCredential, id="async-gather"),
    ],
)
async def test_concurrent_first_calls_fetch_one_token(
    kind: str, credential_type: type[FakeCredential]
) -> None:
    credential = credential_type()
    seen, handler = recorder()
    make = make_sync if kind == "sync" else make_async
    client = with_clock(
        make(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    if kind == "sync":
        await asyncio.to_thread(_burst_sync, client)
    else:
        await asyncio.gather(*(client.chat(USER) for _ in range(BURST)))
    assert len(credential.calls) == 1  # was 16: every first call fetched its own
    assert {r.headers["authorization"] for r in seen} == {"Bearer token-1"}
    assert len(seen) == BURST


@pytest.mark.parametrize(
    ("kind", "credential_type"),
    [
        pytest.param("sync", SlowCredential, id="sync-threads"),
        pytest.param("async", SlowAsyncCredential, id="async-gather"),
    ],
)
async def test_a_burst_of_401s_refreshes_the_token_once(
    kind: str, credential_type: type[FakeCredential]
) -> None:
    credential = credential_type()
    seen, handler = recorder(
        lambda r: 401 if r.headers["authorization"] == "Bearer token-1" else 200
    )
    make = make_sync if kind == "sync" else make_async
    client = with_clock(
        make(handler, endpoint=MANAGED, api_key=None, credential=credential), credential
    )
    if kind == "sync":
        await asyncio.to_thread(_burst_sync, client)
    else:
        await asyncio.gather(*(client.chat(USER) for _ in range(BURST)))
    # token-1 for the burst, refused 16 times, then one token-2 for all 16 retries (was 17 calls).
    assert len(credential.calls) == 2
    assert [r.headers["authorization"] for r in seen].count("Bearer token-2") == BURST
