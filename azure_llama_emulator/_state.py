"""What the server shares with the `Emulator` object in the caller's thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ._config import EmulatorConfig
from ._faults import FaultQueue
from ._limits import RateLimiter
from ._upstream import Upstream


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it.

    Attributes:
        method: HTTP method.
        path: URL path, without the query.
        query: Query parameters (last value wins).
        headers: Request headers, names lower-cased (last value wins).
        json: The body parsed as JSON, or None when it is empty or not JSON.
        body: The raw body.
        connection: The client's (host, port) for the connection it came on: requests on one
            kept-alive connection share it.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    body: bytes = field(repr=False, default=b"")
    connection: tuple[str, int] | None = field(repr=False, default=None)


class State:
    """Configuration plus the mutable parts: recorded requests, fault queue, rate limits."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = FaultQueue()
        self.limiter = RateLimiter(config.rpm_limit, config.tpm_limit)
        self.upstream: Upstream | None = None  # opened on the server's loop
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []

    def record(self, request: RecordedRequest) -> None:
        if self.config.record_requests:
            with self._lock:
                self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
        self.faults.clear()
        self.limiter.clear()
