"""What one proxy instance learns about an endpoint, known to every instance of the fleet.

The transport remembers, process-wide (`t.CAPABILITIES`), that an endpoint refuses native `tools`
or `response_format` and prompts for them from then on. In one process that memory is shared
already (every model object, client and request sees it). Several LiteLLM proxy instances are
several processes: `FleetCapabilities`, a listener on that store, writes each refusal to Redis and
reads it back when another instance meets the same endpoint for the first time, so the fleet pays
for one refused request per endpoint instead of one per instance.

Which Redis: the one LiteLLM already has, never one of our own settings.

1. Inside the proxy, the Router's (`router_settings.redis_host` / `redis_port` / `redis_password`
   or `redis_url` in config.yaml): the Redis the instances already share rpm/tpm usage and
   cooldowns through. Found as `litellm.proxy.proxy_server.llm_router` (only when the proxy has
   been imported; this module never imports it).
2. Else the environment LiteLLM documents for Redis (`REDIS_URL`, or `REDIS_HOST` + `REDIS_PORT`
   with `REDIS_PASSWORD`, `REDIS_SSL`, ...), through LiteLLM's own `RedisCache`: the SDK's Router
   is not reachable from a provider, so an SDK fleet sets these.
3. Else none: the memory stays in the process.

Entries: `azure_llama:capabilities:v1:<endpoint digest>:<key digest>:<feature>`, a JSON value
`{"refuses": "<feature>", "recorded_at": <unix seconds>}`, expiring with the store's own refusals
(`t.CAPABILITIES.ttl`, one hour by default). Keys are SHA-256 digests of the store's key (endpoint,
route, api-version, deployment, model), so neither a URL nor anything else a caller passed is
written; values hold no credentials. A miss is looked up at most once per `MISS_SECONDS` per key
(one Redis GET), so an instance that asked shortly before a peer learned may send one more refused
request, and two instances meeting a new endpoint at the same moment both pay for it. Redis being
down never fails a call: the layer logs once, works in process and tries Redis again
`RETRY_SECONDS` later (a client's own retries can take seconds, so a dead Redis costs one slow call
per interval, not one per request).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import azure_llama_transport as t

__all__ = ["DEFAULT_TTL_SECONDS", "KEY_PREFIX", "FleetCapabilities", "share_capabilities"]

logger = logging.getLogger("litellm_azure_llama.fleet")

Feature = Literal["tools", "response_format"]
FEATURES: tuple[Feature, ...] = ("tools", "response_format")
KEY_PREFIX = "azure_llama:capabilities:v1:"
DEFAULT_TTL_SECONDS = 3600  # when no store is given: the transport's REFUSAL_TTL_S
MISS_SECONDS = 1.0
RETRY_SECONDS = 30.0
_PROXY_MODULE = "litellm.proxy.proxy_server"
_MAX_MISSES = 4096


class RedisClient(Protocol):
    """The part of redis-py's client the layer uses (the Router's own client, or LiteLLM's)."""

    def mget(self, keys: Sequence[str]) -> Any: ...
    def set(self, name: str, value: str, ex: int) -> Any: ...
    def scan_iter(self, match: str) -> Any: ...
    def delete(self, *names: str) -> Any: ...


def _digest(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _router_redis() -> tuple[bool, Any]:
    """(decided, client): the proxy Router's Redis client; undecided until the proxy has one."""
    proxy = sys.modules.get(_PROXY_MODULE)
    if proxy is None:
        return True, None
    router = getattr(proxy, "llm_router", None)
    if router is None:
        return False, None
    cache: Any = None
    health = getattr(router, "health", None)  # LiteLLM's routing store (cooldowns, usage)
    if callable(health):
        cache = getattr(health(), "store", None)
    if cache is None:
        with warnings.catch_warnings():  # `Router.cache`: deprecated in favour of health().store
            warnings.simplefilter("ignore", DeprecationWarning)
            cache = getattr(router, "cache", None)
    redis_cache = getattr(cache, "redis_cache", None)
    return True, getattr(redis_cache, "redis_client", None)


def _env_redis() -> Any:
    """A client for the Redis LiteLLM's documented environment names, or None."""
    env = os.environ
    if not env.get("REDIS_URL") and not (env.get("REDIS_HOST") and env.get("REDIS_PORT")):
        return None
    from litellm.caching.redis_cache import RedisCache

    return RedisCache().redis_client


def find_redis() -> tuple[bool, Any]:
    """(decided, client) as the module docstring orders them."""
    decided, client = _router_redis()
    if client is not None or not decided:
        return decided, client
    return True, _env_redis()


class FleetCapabilities:
    """A `t.CapabilityStore` listener sharing refusals through Redis (see the module docstring).

    Args:
        redis: A redis-py client; default: found lazily, on first use, as the module says.
        ttl: Seconds an entry lives in Redis.
        miss_seconds: How long a key found absent is not asked for again.
    """

    def __init__(
        self,
        redis: RedisClient | None = None,
        *,
        ttl: int = DEFAULT_TTL_SECONDS,
        miss_seconds: float = MISS_SECONDS,
    ) -> None:
        self._redis: Any = redis
        self._decided = redis is not None
        self._ttl = ttl
        self._miss_seconds = miss_seconds
        self._misses: dict[tuple[Any, ...], float] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"FleetCapabilities(redis={'yes' if self._redis is not None else 'no'})"

    def _client(self) -> Any:
        if self._down_until and time.monotonic() < self._down_until:
            return None
        if not self._decided:
            with self._lock:
                if not self._decided:
                    try:
                        self._decided, self._redis = find_redis()
                    except Exception as exc:  # a Redis LiteLLM cannot reach: stay in process
                        self._decided, self._redis = True, None
                        logger.warning("no shared Redis for endpoint capabilities: %s", exc)
        return self._redis

    def _names(self, key: tuple[Any, ...]) -> list[str]:
        base = f"{KEY_PREFIX}{_digest(key[0])}:{_digest(list(key))}:"
        return [base + feature for feature in FEATURES]

    def _failed(self, action: str, exc: Exception) -> None:
        if not self._down_until:
            logger.warning(
                "Redis %s failed; endpoint capabilities stay in this process, Redis is tried "
                "again in %.0f s: %s",
                action,
                RETRY_SECONDS,
                exc,
            )
        self._down_until = time.monotonic() + RETRY_SECONDS

    def _answered(self) -> None:
        self._down_until = 0.0

    def refused(self, key: tuple[Any, ...], feature: str) -> None:
        redis = self._client()
        if redis is None or feature not in FEATURES:
            return
        name = self._names(key)[FEATURES.index(feature)]
        value = json.dumps({"refuses": feature, "recorded_at": int(time.time())})
        try:
            redis.set(name, value, ex=self._ttl)
            self._answered()
        except Exception as exc:
            self._failed("write", exc)

    def lookup(self, key: tuple[Any, ...]) -> list[Feature]:
        redis = self._client()
        if redis is None:
            return []
        now = time.monotonic()
        with self._lock:
            if now - self._misses.get(key, -self._miss_seconds) < self._miss_seconds:
                return []
        try:
            values = redis.mget(self._names(key))
            self._answered()
        except Exception as exc:
            self._failed("read", exc)
            values = [None] * len(FEATURES)
        found = [
            feature
            for feature, value in zip(FEATURES, values, strict=False)
            if _refuses(value, feature)
        ]
        if not found:
            with self._lock:
                if len(self._misses) >= _MAX_MISSES:
                    self._misses.clear()
                self._misses[key] = now
        return found

    def forgot(self, endpoint: str | None) -> None:
        redis = self._client()
        with self._lock:
            self._misses.clear()
        if redis is None:
            return
        pattern = f"{KEY_PREFIX}{'*' if endpoint is None else _digest(endpoint) + ':*'}"
        try:
            names = list(redis.scan_iter(match=pattern))
            if names:
                redis.delete(*names)
            self._answered()
        except Exception as exc:
            self._failed("delete", exc)


def _refuses(value: Any, feature: str) -> bool:
    """Whether a stored value says `feature` is refused (anything else, or garbage: no)."""
    if value is None:
        return False
    try:
        data = json.loads(value)
    except Exception:  # a value someone else wrote: not ours, not a refusal
        return False
    return isinstance(data, dict) and data.get("refuses") == feature


_installed: FleetCapabilities | None = None
_install_lock = threading.Lock()


def share_capabilities() -> FleetCapabilities:
    """Put the fleet listener on the process-wide store, once; returns it."""
    global _installed
    with _install_lock:
        if _installed is None:
            # Entries live in Redis as long as refusals live in the store that shares them.
            _installed = FleetCapabilities(ttl=max(1, int(t.CAPABILITIES.ttl)))
            t.CAPABILITIES.add_listener(_installed)
        return _installed
