"""Transport clients cached per endpoint, so LiteLLM calls reuse connection pools.

The key is (endpoint, the key, api-version, retries), the key wrapped so that it shows as
`<secret>` in any repr of the cache; it is compared exactly, as itself (a SHA-256 of it on every
call cost more than the rest of the lookup). An Entra credential takes the key's place (compared
as the credential compares: by identity for azure-identity credentials, by the wrapped callable
for a token provider). The deployment header and the timeout are per request, so they do not
split the cache (deployments of one managed endpoint share its host, its key and so its pool);
only the clients that read `/info` carry a deployment, because `/info` is cached per client. The
async client keeps one pool per event loop, so one cached client serves pytest's per-test loops,
`asyncio.run` and the proxy.

After a fork the cached clients stay valid: each transport client rebuilds its own pools in a
forked child. The cache's lock is replaced in the child, in case a parent's thread held it at
the moment of the fork (it would never be released there).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import azure_llama_transport as t

__all__ = ["ClientCache", "Settings"]

_MAX_CLIENTS = 32
_C = TypeVar("_C", t.AzureLlamaClient, t.AsyncAzureLlamaClient)


@dataclass(frozen=True)
class Settings:
    """What a transport client is built from (and cached by: the key only as a hash)."""

    endpoint: str
    api_key: str = field(repr=False)  # never in a repr, a log line or an error
    api_version: str
    max_retries: int
    credential: Any = field(default=None, repr=False, compare=False)
    deployment: str | None = None
    endpoint_kind: t.EndpointKind | None = None

    @property
    def cache_key(self) -> tuple[Any, ...]:
        secret: Any = self.credential
        if secret is None:
            secret = _Secret(self.api_key)
        return (
            self.endpoint,
            secret,
            self.api_version,
            self.max_retries,
            self.deployment,
            self.endpoint_kind,
        )

    def kwargs(self) -> dict[str, Any]:
        auth: dict[str, Any] = (
            {"credential": self.credential}
            if self.credential is not None
            else {"api_key": self.api_key}
        )
        return {
            **auth,
            "api_version": self.api_version or None,
            "max_retries": self.max_retries,
            "deployment": self.deployment,
            "endpoint_kind": self.endpoint_kind,
        }


class _Secret:
    """An API key as a cache key: equal and hashed as the key, shown as `<secret>`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "<secret>"


class ClientCache:
    """A small LRU of transport clients, shared by every call of one handler."""

    def __init__(self, maxsize: int = _MAX_CLIENTS) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._sync: OrderedDict[tuple[Any, ...], t.AzureLlamaClient] = OrderedDict()
        self._async: OrderedDict[tuple[Any, ...], t.AsyncAzureLlamaClient] = OrderedDict()
        _caches.add(self)

    def sync(self, settings: Settings) -> t.AzureLlamaClient:
        return self._get(self._sync, settings, t.AzureLlamaClient, _drop)

    def async_(self, settings: Settings) -> t.AsyncAzureLlamaClient:
        return self._get(self._async, settings, t.AsyncAzureLlamaClient, _drop)

    def _get(
        self,
        cache: OrderedDict[tuple[Any, ...], _C],
        settings: Settings,
        factory: Callable[..., _C],
        evict: Callable[[_C], None],
    ) -> _C:
        key = settings.cache_key
        with self._lock:
            client = cache.get(key)
            if client is not None:
                cache.move_to_end(key)
                return client
        client = factory(settings.endpoint, **settings.kwargs())
        with self._lock:
            existing = cache.setdefault(key, client)
            while len(cache) > self._maxsize:
                evict(cache.popitem(last=False)[1])
        if existing is not client:
            evict(client)
        return existing

    def close(self) -> None:
        with self._lock:
            clients = list(self._sync.values())
            self._sync.clear()
        for client in clients:
            client.close()

    async def aclose(self) -> None:
        """Close the async clients (a closed client refuses to send: the next call builds a new
        one). The running loop's pools close now; other loops' when those loops shut down."""
        with self._lock:
            clients = list(self._async.values())
            self._async.clear()
        for client in clients:
            await client.aclose()


_caches: weakref.WeakSet[ClientCache] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for cache in list(_caches):
        cache._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _drop(client: object) -> None:
    """An evicted (or duplicate) client is dropped, not closed: a call on another thread or task
    may have taken it from the cache a moment ago, and a closed client refuses to send. Its own
    finalizer closes its pools once the last such call is done (the sync pool at once, each
    async pool on its own loop)."""
