"""The default async backend: httpx-aiohttp's transport, with two changes.

- Proxy variables: the aiohttp session is made with `trust_env=True`, so `HTTP_PROXY`,
  `HTTPS_PROXY` and `NO_PROXY` are honoured as httpx honours them on the sync path (httpx
  ignores them itself once a transport is given). httpx-aiohttp's own session leaves them out.
- A response whose body turns malformed mid-way (an invalid chunk size after good chunks):
  aiohttp 3.14 records the parser error on the connection but not on the body being read,
  and stops the read timeout, so the reader waits forever. The connection's protocol here
  also hands the error to that body, which then raises `ClientPayloadError` (translated by
  `_boundary` like any other).

`Transport.discard()` releases the session without awaiting, for a pool whose event loop was
closed before the pool could close on it (no `shutdown_asyncgens`).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler
from httpx_aiohttp import AiohttpTransport

__all__ = ["Transport"]


class _ResponseHandler(ResponseHandler):
    def set_exception(self, exc: BaseException, *args: Any) -> None:
        payload = self._payload
        super().set_exception(exc, *args)
        if payload is not None and payload.exception() is None and not payload.is_eof():
            reason = str(getattr(exc, "message", "") or exc).strip().split("\n")[0]
            error = aiohttp.ClientPayloadError(f"Response payload is not completed: {reason}")
            error.__cause__ = exc
            payload.set_exception(error)


class Transport(AiohttpTransport):
    """`AiohttpTransport` with a session that trusts the environment's proxy settings."""

    def get_client(self) -> aiohttp.ClientSession:
        limit = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=limit if limit is not None else 0,
        )
        # The connector builds one protocol per connection from this factory.
        connector._factory = functools.partial(  # type: ignore[assignment]
            _ResponseHandler, loop=connector._loop
        )
        return aiohttp.ClientSession(connector=connector, trust_env=True)

    def discard(self) -> None:
        """Release the session now, without awaiting: its event loop has closed.

        aiohttp closes transports through the loop (`call_soon`), which a closed loop refuses;
        the sockets are closed directly instead, then the connector is marked closed (aiohttp
        skips its transports itself when the loop is closed). No "Unclosed client session",
        "Unclosed connector" or "unclosed transport" warnings follow at garbage collection.
        """
        session = self.client
        if not isinstance(session, aiohttp.ClientSession) or session.closed:
            return
        connector = session.connector
        if connector is None:
            return
        protocols = [proto for conns in connector._conns.values() for proto, _ in conns]
        for proto in [*protocols, *connector._acquired]:
            _close_now(proto.transport)
        connector._close()


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
