"""The transport clients a chat model owns, shared by its copies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from . import transport as _t

__all__ = ["Pools"]


class Pools:
    """The sync and async transport clients of one model, shared by its copies.

    The transport releases its own sockets: a dropped sync client closes its pool, and each
    async pool closes when its event loop shuts down. `copy`/`deepcopy` share the pools rather
    than clone open connections.
    """

    __slots__ = ("async_", "sync")

    def __init__(
        self,
        endpoint: str | None,
        options: Mapping[str, Any],
        *,
        http_client: httpx.Client | None = None,
        http_async_client_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.sync = _t.AzureLlamaClient(endpoint, http_client=http_client, **options)
        self.async_ = _t.AsyncAzureLlamaClient(
            endpoint, http_client_factory=http_async_client_factory, **options
        )

    def __copy__(self) -> Pools:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Pools:
        return self
