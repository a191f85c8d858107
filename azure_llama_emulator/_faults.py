"""Injected faults: what they are, how a request header names one, and the FIFO queue.

A fault comes from the request header `x-emulator-fault` (wins) or from the queue filled by
`Emulator.inject`. Header syntax: `;`- or `,`-separated `name=value` pairs, the first pair
naming the fault:

    status=503                          status=429; retry-after=2; retry-after-ms=1500
    slow-first-byte=0.5                 cut-after=3          cut-after=3; clean=true
    malformed-after=2                   error-event-after=2  stall-after=2; seconds=1.5

Queued faults are consumed by inference requests only (never `/info`); the stream-only kinds
wait in the queue for the next streaming request instead of being spent on a non-streaming one.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "status", "slow_first_byte", "cut_after", "malformed_after", "error_event_after", "stall_after"
]
STREAM_ONLY: frozenset[str] = frozenset(
    {"cut_after", "malformed_after", "error_event_after", "stall_after"}
)


@dataclass(frozen=True)
class Fault:
    """One misbehaviour of the endpoint; build it with the classmethods."""

    kind: FaultKind
    after: int = 0
    seconds: float = 0.0
    status_code: int = 0
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    body: object = None
    clean: bool = False

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        body: object = None,
    ) -> Fault:
        """Answer with HTTP `code`; `retry_after` may be seconds or an HTTP-date string.

        `body` replaces the default body: a `str` is sent as text/plain, anything else as JSON.
        """
        return cls(
            "status",
            status_code=code,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            body=body,
        )

    @classmethod
    def slow_first_byte(cls, seconds: float) -> Fault:
        """Sleep before sending the response headers."""
        return cls("slow_first_byte", seconds=seconds)

    @classmethod
    def cut_after(cls, n: int, *, clean: bool = False) -> Fault:
        """Stream n chunks (the role chunk counts) then drop the connection without `[DONE]`.

        The default closes the socket mid-body (no terminating zero-length chunk), as a dropped
        TCP stream looks; `clean=True` ends the HTTP body properly, still without `[DONE]`.
        """
        return cls("cut_after", after=n, clean=clean)

    @classmethod
    def malformed_after(cls, n: int) -> Fault:
        """After n chunks send `data: {not json`, then carry on to `[DONE]`."""
        return cls("malformed_after", after=n)

    @classmethod
    def error_event_after(cls, n: int) -> Fault:
        """After n chunks send a `data: {"error": ...}` event and end the body without `[DONE]`."""
        return cls("error_event_after", after=n)

    @classmethod
    def stall_after(cls, n: int, seconds: float) -> Fault:
        """After n chunks go silent for `seconds`, then finish the stream normally."""
        return cls("stall_after", after=n, seconds=seconds)


class FaultSyntaxError(ValueError):
    """The `x-emulator-fault` header could not be parsed."""


def parse_fault(header: str) -> Fault:
    """Parse the `x-emulator-fault` header (syntax in the module docstring)."""
    pairs = _pairs(header)
    if not pairs:
        raise FaultSyntaxError("empty x-emulator-fault header")
    (name, value), options = pairs[0], dict(pairs[1:])
    try:
        return _build(name, value, options)
    except (KeyError, ValueError) as exc:
        raise FaultSyntaxError(f"bad x-emulator-fault header {header!r}: {exc}") from exc


def _pairs(header: str) -> list[tuple[str, str]]:
    pairs = []
    for item in header.replace(",", ";").split(";"):
        if item.strip():
            name, sep, value = item.partition("=")
            if not sep:
                raise FaultSyntaxError(f"expected name=value, got {item.strip()!r}")
            pairs.append((name.strip().lower(), value.strip()))
    return pairs


def _seconds_or_date(value: str | None) -> float | str | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return value  # an HTTP-date, sent as given


def _build(name: str, value: str, options: dict[str, str]) -> Fault:
    if name == "status":
        ms = options.get("retry-after-ms")
        return Fault.status(
            int(value),
            retry_after=_seconds_or_date(options.get("retry-after")),
            retry_after_ms=float(ms) if ms is not None else None,
        )
    if name == "slow-first-byte":
        return Fault.slow_first_byte(float(value))
    if name == "cut-after":
        return Fault.cut_after(int(value), clean=options.get("clean", "false") in ("1", "true"))
    if name == "malformed-after":
        return Fault.malformed_after(int(value))
    if name == "error-event-after":
        return Fault.error_event_after(int(value))
    if name == "stall-after":
        return Fault.stall_after(int(value), float(options["seconds"]))
    raise ValueError(f"unknown fault {name!r}")


@dataclass
class _Pending:
    fault: Fault
    remaining: int


class FaultQueue:
    """FIFO of injected faults, shared by the test thread and the server's loop thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[_Pending] = deque()

    def push(self, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._items.append(_Pending(fault, times))

    def take(self, *, streaming: bool) -> Fault | None:
        """Spend one use of the first fault that applies to this request."""
        with self._lock:
            for item in self._items:
                if streaming or item.fault.kind not in STREAM_ONLY:
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._items.remove(item)
                    return item.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
