"""Rolling one-minute request and token limits, as the serverless gateway enforces them."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

WINDOW = 60.0


class RateLimiter:
    """Counts requests and tokens over the last 60 s; `admit` says how long to wait, if at all."""

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self._rpm = rpm
        self._tpm = tpm
        self._lock = threading.Lock()
        self._requests: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._token_sum = 0

    def admit(self, cost: int, now: float | None = None) -> int | None:
        """Record a request costing `cost` tokens, or return the seconds to wait (>= 1)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            wait = self._request_wait(now)
            if wait is None:
                wait = self._token_wait(cost, now)
            if wait is not None:
                return max(1, math.ceil(wait))
            self._requests.append(now)
            self._add(cost, now)
            return None

    def charge(self, tokens: int, now: float | None = None) -> None:
        """Count tokens only known after answering (completion tokens without max_tokens)."""
        with self._lock:
            self._add(tokens, time.monotonic() if now is None else now)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._tokens.clear()
            self._token_sum = 0

    def _add(self, tokens: int, now: float) -> None:
        if self._tpm is not None and tokens:
            self._tokens.append((now, tokens))
            self._token_sum += tokens

    def _expire(self, now: float) -> None:
        while self._requests and self._requests[0] <= now - WINDOW:
            self._requests.popleft()
        while self._tokens and self._tokens[0][0] <= now - WINDOW:
            self._token_sum -= self._tokens.popleft()[1]

    def _request_wait(self, now: float) -> float | None:
        if self._rpm is None or len(self._requests) < self._rpm:
            return None
        # The request that frees a slot is the one that is rpm-th from the newest.
        return self._requests[len(self._requests) - self._rpm] + WINDOW - now

    def _token_wait(self, cost: int, now: float) -> float | None:
        if self._tpm is None or self._token_sum + cost <= self._tpm:
            return None
        excess = self._token_sum + cost - self._tpm
        for stamp, tokens in self._tokens:
            excess -= tokens
            if excess <= 0:
                return stamp + WINDOW - now
        return WINDOW  # the request alone is over the limit: it can never pass
