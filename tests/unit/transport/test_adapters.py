"""The transport's few reaches below public APIs, pinned against the installed versions.

The sync pool is httpx's public `HTTPTransport` over a public `httpcore.ConnectionPool(
network_backend=...)`, handed over through the one attribute httpx's transport sends through
(`_pool`: kept so that vcrpy, which patches `HTTPTransport.handle_request`, still sees every
request). aiohttp has no public API for two needs, met by one adapter at the end of
`azure_llama_transport/_aiohttp.py`. A release that moves what they reach for fails here,
loudly, before any user sees the fallback (a timeout instead of a connection error for a body
malformed mid-way; sockets left to the garbage collector on a closed loop).
Also: the environment's proxy, read with the standard library for both default paths.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import ssl

import aiohttp
import httpcore
import httpx
import pytest
from aiohttp.client_proto import ResponseHandler

from azure_llama_transport import _aiohttp, _pool
from azure_llama_transport._netdeadline import Backend
from azure_llama_transport._proxy import env_proxy


async def test_aiohttp_builds_its_protocols_from_a_partial_we_can_replace() -> None:
    connector = aiohttp.TCPConnector()
    try:
        factory = connector._factory
        assert isinstance(factory, functools.partial), factory
        assert factory.func is ResponseHandler
        _aiohttp._payload_errors(connector)
        assert connector._factory.func is _aiohttp._PayloadErrors  # type: ignore[attr-defined]
        built = connector._factory()
        assert isinstance(built, ResponseHandler) and built._payload is None
    finally:
        await connector.close()


async def test_a_parser_error_reaches_the_body_being_read() -> None:
    protocol = _aiohttp._PayloadErrors(loop=asyncio.get_running_loop())
    body = aiohttp.StreamReader(protocol, 2**16, loop=asyncio.get_running_loop())
    protocol._payload = body
    protocol.set_exception(aiohttp.http_exceptions.TransferEncodingError("bad chunk size"))
    with pytest.raises(aiohttp.ClientPayloadError, match=r"not completed: .*bad chunk size"):
        await asyncio.wait_for(body.readany(), 5)  # without the adapter: waits, then fails


async def test_the_closed_loop_release_finds_what_it_closes() -> None:
    connector = aiohttp.TCPConnector()
    try:
        assert isinstance(connector._conns, dict)
        assert isinstance(connector._acquired, set)
        assert callable(connector._close)
        # asyncio's socket transports close their socket in this method (what `abort` schedules).
        from asyncio import selector_events

        assert callable(selector_events._SelectorTransport._call_connection_lost)
    finally:
        await connector.close()


def test_the_sync_pool_takes_our_network_backend_through_public_arguments() -> None:
    for pool in (httpcore.ConnectionPool, httpcore.HTTPProxy):
        assert "network_backend" in inspect.signature(pool).parameters, pool
    # httpx's transport sends through `self._pool`, the one attribute `DeadlineTransport` sets.
    plain = httpx.HTTPTransport()
    assert isinstance(vars(plain)["_pool"], httpcore.ConnectionPool)
    assert "self._pool.handle_request(" in inspect.getsource(httpx.HTTPTransport.handle_request)
    plain.close()
    transport = _pool.DeadlineTransport(ssl.create_default_context())
    assert isinstance(transport, httpx.HTTPTransport)
    assert transport._pool is transport.pool
    assert isinstance(transport.pool, httpcore.ConnectionPool)
    assert issubclass(Backend, httpcore.NetworkBackend)
    transport.close()
    assert transport.is_closed


@pytest.mark.parametrize(
    ("env", "endpoint", "expected"),
    [
        pytest.param({}, "https://h.models.ai.azure.com", None, id="none-set"),
        pytest.param(
            {"HTTPS_PROXY": "http://p:3128"},
            "https://h.models.ai.azure.com",
            "http://p:3128",
            id="https",
        ),
        pytest.param(
            {"https_proxy": "p:3128"}, "https://h.models.ai.azure.com", "http://p:3128", id="bare"
        ),
        pytest.param({"ALL_PROXY": "http://p:1"}, "https://h.ai", "http://p:1", id="all"),
        pytest.param({"HTTP_PROXY": "http://p:1"}, "https://h.ai", None, id="http-only"),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "models.ai.azure.com"},
            "https://h.models.ai.azure.com",
            None,
            id="no-proxy-domain",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".azure.com:443"},
            "https://h.models.ai.azure.com",
            None,
            id="no-proxy-suffix-port",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "azure.com:8443"},
            "https://h.models.ai.azure.com",
            "http://p:1",
            id="no-proxy-other-port",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "notazure.com"},
            "https://h.azure.com",
            "http://p:1",
            id="no-proxy-not-a-suffix",
        ),
        pytest.param(
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://h.ai", None, id="no-proxy-all"
        ),
    ],
)
def test_the_environments_proxy(
    env: dict[str, str],
    endpoint: str,
    expected: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert env_proxy(endpoint) == expected


def test_aiohttp_gets_the_proxys_credentials_apart() -> None:
    url, headers = _aiohttp._proxy_for_url("http://us%40r:p%3Ass@proxy:3128")
    assert str(url) == "http://proxy:3128"
    assert headers == {"Proxy-Authorization": "Basic dXNAcjpwOnNz"}  # us@r:p:ss
    assert _aiohttp._proxy_for_url("http://proxy:3128")[1] is None
