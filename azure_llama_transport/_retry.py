"""When to retry, and how long to wait: pure functions, plus the policy object with its clock.

Retried: connection errors, 408, 429 and 5xx, at most `max_retries` times, and only before any
streamed byte reached the caller. The wait honours `retry-after-ms`, then `retry-after` (seconds
or an HTTP date), then the APIM text "Try again in N seconds"; otherwise exponential backoff
with jitter, capped.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["RetryPolicy", "is_retryable_status", "retry_after_seconds"]

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
# A server asking for longer than this is not worth blocking a caller on: fall back to backoff.
_MAX_HONOURED_WAIT = 60.0


def is_retryable_status(status: int) -> bool:
    """408, 429 and every 5xx may succeed on a second try."""
    return status in (408, 429) or status >= 500


def retry_after_seconds(
    headers: Mapping[str, str], text: str | None = None, *, now: float | None = None
) -> float | None:
    """The wait the service asked for, in seconds, or None when it did not say."""
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return max(ms / 1000.0, 0.0)
    value = headers.get("retry-after")
    if value is not None:
        seconds = _parse_retry_after(value, now)
        if seconds is not None:
            return seconds
    match = _TRY_AGAIN.search(text or "")
    return _number(match.group(1)) if match else None


def _number(value: str | None) -> float | None:
    """A finite number, else None: "nan", "inf" or "1e999" say nothing a caller can wait for."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_retry_after(value: str, now: float | None) -> float | None:
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


async def _asleep(seconds: float) -> None:
    # asyncio is imported on first use: a sync-only caller never pays for it.
    import asyncio

    await asyncio.sleep(seconds)


@dataclass
class RetryPolicy:
    """Retry budget and wait computation; `sleep`/`asleep`/`clock` are injectable for fake clocks.

    `clock` (monotonic seconds) measures the call's deadline: a fake clock that `sleep` advances
    lets tests check deadlines across retries without waiting.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    asleep: Callable[[float], Awaitable[None]] = field(default=_asleep, repr=False)
    rng: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if retry_after is not None and retry_after <= _MAX_HONOURED_WAIT:
            return retry_after
        backoff = min(self.initial_backoff * 2.0**attempt, self.max_backoff)
        # Jitter down by up to 25% so that many clients hit by one 429 do not return in lockstep.
        return backoff * (1.0 - 0.25 * self.rng())
