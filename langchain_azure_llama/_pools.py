"""The transport clients a chat model owns, built cheaply and released when unreachable."""

from __future__ import annotations

import functools
import ssl
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from . import transport as _t

__all__ = ["Pools"]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~75 ms per client)."""
    return httpx.create_ssl_context()


class Pools:
    """The sync and async transport clients of one model, shared by its copies.

    On garbage collection the sync pool is closed (when the model created it) and the async
    pools of event loops that have already closed are dropped, so a discarded model leaves no
    sockets behind. `copy`/`deepcopy` share the pools rather than clone open connections.
    """

    __slots__ = ("__weakref__", "async_", "sync")

    def __init__(
        self,
        endpoint: str | None,
        options: Mapping[str, Any],
        *,
        http_client: httpx.Client | None = None,
        http_async_client_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        owns_sync = http_client is None
        if http_client is None:
            http_client = httpx.Client(verify=_ssl_context(), follow_redirects=False)
        self.sync = _t.AzureLlamaClient(endpoint, http_client=http_client, **options)
        self.async_ = _t.AsyncAzureLlamaClient(
            endpoint, http_client_factory=http_async_client_factory, **options
        )
        weakref.finalize(self, _release, self.sync, self.async_, owns_sync)

    def __copy__(self) -> Pools:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Pools:
        return self


def _release(sync: _t.AzureLlamaClient, async_: _t.AsyncAzureLlamaClient, owns_sync: bool) -> None:
    if owns_sync:
        sync.close()
    # Not public on the transport (yet): drop the pools whose event loop is gone.
    async_._forget_closed_loops()
