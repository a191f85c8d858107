"""`timeout` as a deadline for a whole call: connect, every read, retry waits and backoff.

httpx's timeouts apply to each socket operation, so a server trickling a byte every 200 ms
never trips them. The deadline is enforced:

- sync, on the client's own pool: a network backend (`_netdeadline`), given to httpcore's pool
  through its public `network_backend=` argument (`_pool`), that clamps every
  connect/read/write timeout to what is left of the deadline (held in a context variable for
  the current call);
- async: `asyncio.timeout` around the request and the body read;
- between attempts: a retry wait that would end past the deadline is not slept; the last error
  is raised (a 429 keeps its `retry_after`).

A stream is held to the deadline until its response headers arrive; after that each event must
arrive within `timeout` of the previous one (an idle timeout), so a long answer is not cut.
"""

from __future__ import annotations

import contextvars
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ._errors import APITimeoutError

__all__ = ["NET_DEADLINE", "Deadline", "net_deadline", "within"]

T = TypeVar("T")

# The monotonic time by which the current call's network operations must finish (sync only).
NET_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "azure_llama_deadline", default=None
)


class Deadline:
    """What is left of one call's `timeout`, on the retry policy's (injectable) clock."""

    __slots__ = ("clock", "end", "timeout")

    def __init__(self, timeout: float | None, clock: Callable[[], float]) -> None:
        self.timeout = timeout
        self.clock = clock
        self.end = None if timeout is None else clock() + timeout

    def remaining(self) -> float | None:
        return None if self.end is None else max(self.end - self.clock(), 0.0)

    def allows(self, wait: float) -> bool:
        """True when sleeping `wait` seconds still leaves time for another attempt."""
        left = self.remaining()
        return left is None or wait < left

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0.0

    def attempt_timeouts(self, *, stream: bool) -> dict[str, float | None]:
        """httpx's per-operation timeouts for the next attempt (read stays `timeout` on a
        stream: after the headers, it is the idle timeout between reads)."""
        left = self.remaining()
        read = self.timeout if stream else left
        return {"connect": left, "read": read, "write": left, "pool": left}

    def error(self, host: str) -> APITimeoutError:
        return APITimeoutError(
            f"Request to Azure AI endpoint {host} did not complete within its timeout of "
            f"{self.timeout:g}s (connect, reads and retries together).",
            host=host,
        )

    @contextmanager
    def bind(self) -> Iterator[None]:
        """Hold this call's sync network operations to the deadline."""
        left = self.remaining()
        with net_deadline(None if left is None else time.monotonic() + left):
            yield


@contextmanager
def net_deadline(at: float | None) -> Iterator[None]:
    token = NET_DEADLINE.set(at)
    try:
        yield
    finally:
        NET_DEADLINE.reset(token)


async def within(seconds: float | None, awaitable: Awaitable[T]) -> T:
    """Await with a time limit; raises the builtin `TimeoutError` on every Python version."""
    import asyncio  # on first async use: sync-only callers never load it

    if seconds is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    try:  # pragma: no cover - Python 3.10
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:  # pragma: no cover - not the builtin before 3.11
        raise TimeoutError from None
