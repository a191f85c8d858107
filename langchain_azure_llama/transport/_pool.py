"""The sync client's own pool: httpx's public transport interface over httpcore's public pool.

`DeadlineTransport` is an `httpx.BaseTransport` (httpx's documented extension point) that does
what `httpx.HTTPTransport.handle_request` does, over an `httpcore.ConnectionPool` (or
`httpcore.HTTPProxy` / `SOCKSProxy`) built here with the public `network_backend=` argument:
every socket operation of the pool goes through `_netdeadline.Backend`, which holds it to the
call's deadline. httpx's own transport offers no such argument, and reaching into its pool
(`_pool._network_backend`) is what this module replaces.

The proxy, if any, is the one the environment names for the endpoint (`_proxy.env_proxy`), built
as httpx's own transport builds it: `httpcore.HTTPProxy` (CONNECT for https) or `SOCKSProxy`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from ._netdeadline import Backend

__all__ = ["DeadlineTransport"]

# httpx's defaults (`httpx.Limits()`), as the httpx.Client this pool replaces had.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

# httpcore's exceptions as httpx raises them (`httpx.HTTPTransport` does the same mapping): a
# caller's error handling, and `_boundary`, see one family whichever pool answered. The most
# specific class wins, as in httpx.
_MAPPED: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
_HTTPCORE_ERRORS = tuple(low for low, _ in _MAPPED)


def _mapped(exc: Exception) -> httpx.TransportError:
    for low, high in _MAPPED:  # most specific first
        if isinstance(exc, low):
            return high(str(exc))
    raise AssertionError("unreachable: only httpcore's errors are mapped")  # pragma: no cover


class _Body(httpx.SyncByteStream):
    """A response body from the pool, its errors as httpx's."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except _HTTPCORE_ERRORS as exc:
            raise _mapped(exc) from exc

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose socket operations are held to the current call's deadline."""

    def __init__(self, ssl_context: ssl.SSLContext, proxy: str | None = None) -> None:
        self.pool = _new_pool(ssl_context, proxy)
        self.is_closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = self.pool.handle_request(core)
        except _HTTPCORE_ERRORS as exc:
            raise _mapped(exc) from exc
        response = httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )
        response.request = request
        return response

    def close(self) -> None:
        self.is_closed = True
        self.pool.close()


def _new_pool(
    ssl_context: ssl.SSLContext, proxy: str | None
) -> httpcore.ConnectionPool | httpcore.HTTPProxy | httpcore.SOCKSProxy:
    backend = Backend(httpcore.SyncBackend())
    limits: dict[str, Any] = {
        "ssl_context": ssl_context,
        "max_connections": _LIMITS.max_connections,
        "max_keepalive_connections": _LIMITS.max_keepalive_connections,
        "keepalive_expiry": _LIMITS.keepalive_expiry,
        "network_backend": backend,
    }
    if proxy is None:
        return httpcore.ConnectionPool(**limits)
    parsed = httpx.URL(proxy)
    # What httpx's own `Proxy` does: the credentials in the URL (decoded) become the proxy's.
    auth = (parsed.username, parsed.password) if parsed.username or parsed.password else None
    proxy_url = httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )
    if parsed.scheme in ("socks5", "socks5h"):
        return httpcore.SOCKSProxy(proxy_url=proxy_url, proxy_auth=auth, **limits)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"Proxy URL scheme must be http, https, socks5 or socks5h: {proxy!r}")
    return httpcore.HTTPProxy(proxy_url=proxy_url, proxy_auth=auth, **limits)
