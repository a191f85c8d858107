"""The sync client's own pool: httpx's default transport over an httpcore pool of our own.

`DeadlineTransport` is an `httpx.HTTPTransport` over an `httpcore.ConnectionPool` (or
`httpcore.HTTPProxy` / `SOCKSProxy`) built here with httpcore's public `network_backend=`
argument: every socket operation of the pool goes through `_netdeadline.Backend`, which holds
it to the call's deadline. httpx's transport offers no such argument; see the class for the one
attribute it sets.

The proxy, if any, is the one the environment names for the endpoint (`_proxy.env_proxy`), built
as httpx's own transport builds it: `httpcore.HTTPProxy` (CONNECT for https) or `SOCKSProxy`.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import httpx

from ._netdeadline import Backend

__all__ = ["DeadlineTransport"]

# httpx's defaults (`httpx.Limits()`), as the httpx.Client this pool replaces had.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's default transport over a pool whose socket operations are held to the current
    call's deadline.

    Built with `httpx.HTTPTransport`'s public constructor, then given our own httpcore pool
    (the one adapter over httpx internals: `HTTPTransport.handle_request` sends through
    `self._pool`, pinned by tests/unit/transport/test_adapters.py). Its `handle_request` is
    httpx's own, not a copy: the httpcore errors mapped as httpx maps them, and tools that patch
    httpx's default transport (vcrpy records and replays cassettes that way) see every request.
    """

    def __init__(self, ssl_context: ssl.SSLContext, proxy: str | None = None) -> None:
        super().__init__(verify=ssl_context, limits=_LIMITS, trust_env=False)
        httpx_pool = self._pool
        self._pool = self.pool = _new_pool(ssl_context, proxy)
        httpx_pool.close()  # never opened a connection: nothing to release, but say so
        self.is_closed = False

    def close(self) -> None:
        self.is_closed = True
        super().close()


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
