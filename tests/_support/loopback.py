"""httpx transports that send every request to a loopback server, whatever host its URL names.

A caller's own `httpx` client built with one of these reaches a local emulator while the client
under test sees a real-looking Azure URL (so the endpoint kind, the auth scope and the URL rules
are read from that host). The `Host` header keeps the real-looking name.
"""

from __future__ import annotations

import httpx


def _rerouted(request: httpx.Request, target: httpx.URL) -> httpx.Request:
    request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
    return request


class ToLoopback(httpx.BaseTransport):
    def __init__(self, target: str) -> None:
        self.target = httpx.URL(target)
        self.inner = httpx.HTTPTransport()
        self.hosts: list[str] = []  # the host each request was addressed to

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return self.inner.handle_request(_rerouted(request, self.target))

    def close(self) -> None:
        self.inner.close()


class AsyncToLoopback(httpx.AsyncBaseTransport):
    def __init__(self, target: str) -> None:
        self.target = httpx.URL(target)
        self.inner = httpx.AsyncHTTPTransport()
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return await self.inner.handle_async_request(_rerouted(request, self.target))

    async def aclose(self) -> None:
        await self.inner.aclose()
