"""The default async path: aiohttp itself, with no httpx in between.

httpx on top of aiohttp (httpx-aiohttp) cost about four times raw aiohttp per call at 200-way
concurrency: an httpx `Request` and `Response` per call, headers converted both ways, a cookie
pass, and aiohttp's `trust_env` looking up proxies and `~/.netrc` in a thread pool on every
request. Here a `Session` sends with aiohttp and hands back an `AioResponse`: the few parts of an
httpx response that the bounded reader (`_limits`), the stream (`_streaming`) and the error path
use. What the httpx path guarantees holds here too:

- every aiohttp exception goes through `_boundary` (the client's `_failure`), never raw;
- the body arrives as raw bytes (`auto_decompress=False`) for the bounded reader to inflate;
- redirects are never followed;
- `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` are honoured, as httpx honours them on the sync path:
  resolved once when the session opens, not per request (aiohttp's `trust_env` does it per
  request, in a thread); a variable changed later applies to sessions opened later. A plain-http
  endpoint (accepted only to loopback) never goes through one: the proxy would see the key.

Everything above uses aiohttp's public API (`ClientSession`, `TCPConnector`, `ClientTimeout`,
`DummyCookieJar`, `encode_basic_auth`). Two needs have no public API, and are met by the one adapter
over aiohttp's internals at the end of this module, which `tests/unit/transport/test_adapters.py`
pins against the installed aiohttp (a release that moves them fails CI, not users):

- a body that turns malformed mid-way (an invalid chunk size after good chunks): aiohttp (3.9 to
  3.14 at least) records the parser error on the connection but not on the body being read, and
  stops the read timer, so the reader would wait for its idle timeout and report a timeout;
  `_PayloadErrors` hands the error to the body (the connection error arrives at once);
- `Session.discard()` releases a session without awaiting, for a pool whose event loop closed
  before the pool could close on it: aiohttp's `close()` needs the loop.

Should an internal move anyway, the adapter degrades, never breaks a call: the first case then
ends in the idle timeout (`APITimeoutError`), the second leaves the sockets to the garbage
collector.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler  # for the adapter at the end only
from yarl import URL

from ._proxy import env_proxy
from ._version import __version__

__all__ = ["USER_AGENT", "AioResponse", "Session"]

USER_AGENT = f"langchain-azure-llama/{__version__} aiohttp/{aiohttp.__version__}"

# As the httpx path's pool: many connections (200-way concurrency is a measured case), idle
# keep-alive connections closed after 5 s (httpx's default).
_MAX_CONNECTIONS = 1000
_KEEPALIVE_S = 5.0
# aiohttp's own timers off: the client holds each attempt and each body read to the call's
# deadline (`within`), and a stream to its idle timeout per read (`EventBytes`). aiohttp's
# would be a second set of timers per request, one rescheduled on every network read.
_NO_TIMEOUTS = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None)


class AioResponse:
    """An aiohttp response as the transport reads it: status, headers, raw body, close.

    `headers` is an `httpx.Headers`, as on the httpx path, so errors and `Stream.headers` look
    the same whichever path answered (lower-case keys when iterated).
    """

    __slots__ = ("_response", "headers", "status_code")

    # The body is always read through `aiter_raw`, never buffered in advance.
    is_stream_consumed = False

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers = httpx.Headers(response.raw_headers)

    @property
    def content(self) -> bytes:
        raise RuntimeError("read the body with aiter_raw()")  # never buffered: see above

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        async for data in self._response.content.iter_any():
            yield data

    async def aclose(self) -> None:
        # Back to the pool when the body was read to the end; otherwise the connection closes.
        response = self._response
        response.release()
        await response.wait_for_close()


class Session:
    """One event loop's aiohttp session (connection pool) for one client."""

    def __init__(
        self, ssl_context: ssl.SSLContext, endpoint: str, *, env_proxies: bool = True
    ) -> None:
        connector = aiohttp.TCPConnector(
            limit=_MAX_CONNECTIONS, keepalive_timeout=_KEEPALIVE_S, ssl=ssl_context
        )
        _payload_errors(connector)
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            trust_env=False,
            # No cookies kept, as on the httpx path (see `_client._no_cookies`).
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        # Looked up here, without awaiting: two first calls racing must not open two sessions.
        self._proxy, self._proxy_headers = _proxy_for(endpoint) if env_proxies else (None, None)

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> AioResponse:
        response = await self.session.request(
            method,
            url,
            headers=headers,
            data=body or None,
            allow_redirects=False,
            timeout=_NO_TIMEOUTS,
            proxy=self._proxy,
            proxy_headers=self._proxy_headers,
        )
        return AioResponse(response)

    async def aclose(self) -> None:
        await self.session.close()

    def discard(self) -> None:
        """Release the session now, without awaiting: its event loop has closed.

        No "Unclosed client session", "Unclosed connector" or "unclosed transport" warnings
        follow at garbage collection (see `_discard`).
        """
        if not self.session.closed:
            _discard(self.session)


def _proxy_for(endpoint: str) -> tuple[URL | None, dict[str, str] | None]:
    """The environment's proxy for `endpoint`, its credentials (if in the URL) apart, as a
    `Proxy-Authorization` header (aiohttp's `BasicAuth` is deprecated in 3.14)."""
    proxy = env_proxy(endpoint)
    return (None, None) if proxy is None else _proxy_for_url(proxy)


def _proxy_for_url(proxy: str) -> tuple[URL, dict[str, str] | None]:
    url = URL(proxy)
    if url.user is None:
        return url, None
    auth = aiohttp.encode_basic_auth(url.user, url.password or "")
    return url.with_user(None), {"Proxy-Authorization": auth}


# -- the one adapter over aiohttp internals (pinned by tests/unit/transport/test_adapters.py) --


class _PayloadErrors(ResponseHandler):
    """aiohttp's protocol, with a parser error handed on to the body being read."""

    def set_exception(self, exc: BaseException, *args: Any) -> None:
        payload = self._payload
        super().set_exception(exc, *args)
        if payload is not None and payload.exception() is None and not payload.is_eof():
            reason = str(getattr(exc, "message", "") or exc).strip().split("\n")[0]
            error = aiohttp.ClientPayloadError(f"Response payload is not completed: {reason}")
            error.__cause__ = exc
            payload.set_exception(error)


def _payload_errors(connector: aiohttp.TCPConnector) -> None:
    """Build the connector's protocols as `_PayloadErrors` (aiohttp builds one per connection
    from `connector._factory`, a partial of `ResponseHandler`)."""
    factory = getattr(connector, "_factory", None)
    if isinstance(factory, functools.partial) and factory.func is ResponseHandler:
        connector._factory = functools.partial(  # type: ignore[assignment]
            _PayloadErrors, *factory.args, **factory.keywords
        )


def _discard(session: aiohttp.ClientSession) -> None:
    """Close a session's sockets without its (closed) event loop.

    aiohttp closes transports through the loop (`call_soon`), which a closed loop refuses; the
    sockets are closed directly instead, then the connector is marked closed (aiohttp skips its
    transports itself when the loop is closed).
    """
    connector = session.connector
    if connector is None:
        return
    idle = getattr(connector, "_conns", {})
    protocols = [proto for conns in idle.values() for proto, _ in conns]
    for proto in [*protocols, *getattr(connector, "_acquired", ())]:
        _close_now(getattr(proto, "transport", None))
    close = getattr(connector, "_close", None)
    if callable(close):
        close()


def _close_now(transport: Any) -> None:
    if transport is None:
        return
    with contextlib.suppress(RuntimeError):  # "Event loop is closed", once marked closing
        transport.abort()
    # What `abort` would have run on the next loop iteration: closes the socket.
    call_connection_lost = getattr(transport, "_call_connection_lost", None)
    if call_connection_lost is not None:
        with contextlib.suppress(Exception):
            call_connection_lost(None)
