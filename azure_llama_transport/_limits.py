"""Size limits on what an endpoint sends back, and the bounded readers that enforce them.

A broken proxy or a hostile endpoint can send a body that never ends, a gzip body that inflates
a thousandfold, or an SSE line without a newline. Bodies are read from `iter_raw()` and inflated
here in pieces of at most `_PIECE` bytes (httpx's own decoders inflate a whole network read at
once: 64 KiB of a gzip bomb becomes 64 MiB), so memory stays within the limit plus one piece.

Only the encodings the client offers (`Accept-Encoding: gzip, deflate`) are accepted; anything
else is a `ResponseDecodeError`.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ._deadline import within
from ._errors import RequestValidationError, ResponseDecodeError, ResponseTooLargeError

__all__ = ["ACCEPT_ENCODING", "AsyncResponse", "Limits", "ResponseHead"]

ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 64 * 1024
# What an error keeps of a body it refused: enough to recognise it, never the whole thing.
_PREFIX_CHARS = 1000
_MiB = 1024 * 1024


class ResponseHead(Protocol):
    """What the readers need of a response: an `httpx.Response`, or the direct aiohttp path's."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> httpx.Headers: ...
    @property
    def is_stream_consumed(self) -> bool: ...
    @property
    def content(self) -> bytes: ...


class AsyncResponse(ResponseHead, Protocol):
    def aiter_raw(self) -> AsyncIterator[bytes]: ...
    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Limits:
    """Upper bounds on responses; the byte limits raise `ResponseTooLargeError` when exceeded.

    The defaults are far above what a Llama deployment sends (the longest answers with
    logprobs are a few MiB) and far below what hurts a worker process.

    Attributes:
        max_body_bytes: Bytes on the wire for one whole (non-streamed) response; a larger
            `Content-Length` is refused before reading.
        max_decoded_bytes: Bytes of one whole response after gzip/deflate decoding.
        max_event_bytes: Bytes of one SSE event (a stream line that never ends hits this).
        max_partial_text: Characters of streamed text kept for `StreamInterruptedError`
            (`partial_text`); beyond it only the tail is kept and `partial_text_truncated`
            is set. Also bounds `Stream.text`.
        max_error_body_bytes: Bytes read of an error status's body (the rest is not read).
        max_model_text: Characters of one answer's text the Llama protocol parses or holds
            back (prompted tool calls, JSON answers). A longer prompted answer is never parsed:
            it stays text (a stream held back as a possible call is released as text once it
            passes this), and as a structured-output answer it is invalid
            (`StructuredOutputError`, after the repair round of a whole answer).
        max_json_depth: Nesting depth of JSON in model text (an answer, or a call's
            arguments) that is parsed at all; deeper is treated as not JSON (text, or an
            invalid structured answer), never a `RecursionError`.
        max_tool_calls: Tool calls parsed from one prompted answer; more raise
            `ResponseTooLargeError` (`limit="max_tool_calls"`).
    """

    max_body_bytes: int = 32 * _MiB
    max_decoded_bytes: int = 64 * _MiB
    max_event_bytes: int = 4 * _MiB
    max_partial_text: int = 1_000_000
    max_error_body_bytes: int = 256 * 1024
    max_model_text: int = 1_000_000
    max_json_depth: int = 64
    max_tool_calls: int = 128

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise RequestValidationError(
                    f"Limits.{name} must be a positive int, got {value!r}.", param=name
                )


DEFAULT_LIMITS = Limits()


class _Inflater:
    """Content-Encoding decoding in bounded pieces, for gzip, deflate and identity."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self._raw_deflate = False
        if encoding in ("", "identity"):
            self._zlib: Any = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            # "deflate" is zlib-wrapped per the RFC, but some servers send raw deflate.
            self._zlib = zlib.decompressobj()
            self._raw_deflate = True
        else:
            raise ResponseDecodeError(
                f"The response uses Content-Encoding {encoding!r}, which was not offered "
                f"(Accept-Encoding: {ACCEPT_ENCODING})."
            )

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            for start in range(0, len(data), _PIECE):
                yield data[start : start + _PIECE]
            return
        while True:
            try:
                piece = self._zlib.decompress(data, _PIECE)
            except zlib.error as exc:
                if not self._raw_deflate:
                    raise ResponseDecodeError(f"The response body is not valid: {exc}.") from exc
                self._zlib, self._raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._raw_deflate = False
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece
            # A full piece may leave output inside zlib even when all input was consumed.
            if not data and len(piece) < _PIECE:
                return


class _Counter:
    """Raw and decoded byte counts of one response against its limits."""

    def __init__(self, response: ResponseHead, limits: Limits, host: str, *, whole: bool):
        self.limits = limits
        self.host = host
        self.whole = whole
        self.raw = 0
        # A response built with its content (httpx.MockTransport) was read and decoded already.
        self.read_already = response.is_stream_consumed
        encoding = "" if self.read_already else response.headers.get("content-encoding", "")
        self.inflater = _Inflater(encoding)
        declared = response.headers.get("content-length", "")
        if whole and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise self.too_large("max_body_bytes", limits.max_body_bytes, b"")

    def feed(self, raw: bytes) -> Iterator[bytes]:
        self.raw += len(raw)
        if self.whole and self.raw > self.limits.max_body_bytes:
            raise self.too_large("max_body_bytes", self.limits.max_body_bytes, b"")
        return self.inflater.feed(raw)

    def too_large(self, name: str, limit: int, prefix: bytes | bytearray) -> ResponseTooLargeError:
        what = "response body" if self.whole else "stream event"
        return ResponseTooLargeError(
            f"Azure AI endpoint {self.host} sent a {what} over the limit of {limit:,} bytes "
            f"(Limits.{name}); it was not read further. Pass limits=Limits({name}=...) "
            "if such answers are expected.",
            limit=name,
            limit_bytes=limit,
            body=bytes(prefix[:_PREFIX_CHARS]).decode("utf-8", "replace"),
        )


class _Body:
    """Accumulates a whole body's decoded bytes up to a cap."""

    def __init__(self, counter: _Counter, cap: int, truncate: bool) -> None:
        self.counter = counter
        self.cap = cap
        self.truncate = truncate
        self.data = bytearray()
        self.full = False

    def add(self, raw: bytes) -> None:
        for piece in self.counter.feed(raw):
            if len(self.data) + len(piece) > self.cap:
                if not self.truncate:
                    name = "max_decoded_bytes"
                    raise self.counter.too_large(name, self.cap, self.data)
                self.data += piece[: self.cap - len(self.data)]
                self.full = True
                return
            self.data += piece


def _body(response: ResponseHead, limits: Limits, host: str) -> _Body:
    error = response.status_code >= 400
    counter = _Counter(response, limits, host, whole=not error)
    cap = limits.max_error_body_bytes if error else limits.max_decoded_bytes
    return _Body(counter, cap, truncate=error)


def read_body(response: httpx.Response, limits: Limits, host: str) -> bytes:
    """The decoded body, within the limits (an error status's body is cut, not refused)."""
    body = _body(response, limits, host)
    for raw in [response.content] if body.counter.read_already else response.iter_raw():
        body.add(raw)
        if body.full:
            break
    return bytes(body.data)


async def aread_body(response: AsyncResponse, limits: Limits, host: str) -> bytes:
    body = _body(response, limits, host)
    if body.counter.read_already:
        body.add(response.content)
        return bytes(body.data)
    async for raw in response.aiter_raw():
        body.add(raw)
        if body.full:
            break
    return bytes(body.data)


class EventBytes:
    """A stream's decoded bytes, with the bytes since the last event counted against a cap.

    `Stream` calls `event_done()` each time an event comes out of the SSE parser; bytes pulled
    without an event in between belong to one event (plus at most one piece of look-ahead).
    Async reads are also held to `idle` seconds per event (timed per network read, not per
    event: a timer per event would double the cost of a fast stream); the sync stream does the
    same through the deadline network backend.
    """

    def __init__(
        self,
        response: httpx.Response | AsyncResponse,
        limits: Limits,
        host: str,
        idle: float | None = None,
    ) -> None:
        self.response = response
        self.counter = _Counter(response, limits, host, whole=False)
        self.cap = limits.max_event_bytes
        self.idle = idle
        self.since_event = 0
        self._waiting_since: float | None = None

    def event_done(self) -> None:
        self.since_event = 0
        self._waiting_since = None

    def _left(self) -> float | None:
        if self.idle is None:
            return None
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        return max(self._waiting_since + self.idle - now, 0.0)

    def _check(self, piece: bytes) -> bytes:
        self.since_event += len(piece)
        if self.since_event > self.cap:
            raise self.counter.too_large("max_event_bytes", self.cap, piece)
        return piece

    def __iter__(self) -> Iterator[bytes]:
        response = self.response
        if not isinstance(response, httpx.Response):  # the sync path is httpx's only
            raise TypeError(f"a sync stream reads an httpx.Response, not {type(response)}")
        for raw in [response.content] if self.counter.read_already else response.iter_raw():
            for piece in self.counter.feed(raw):
                yield self._check(piece)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.counter.read_already:
            for piece in self.counter.feed(self.response.content):
                yield self._check(piece)
            return
        raws = self.response.aiter_raw()
        while True:
            try:
                raw = await within(self._left(), anext(raws))
            except StopAsyncIteration:
                return
            for piece in self.counter.feed(raw):
                yield self._check(piece)


def event_response(source: EventBytes, *, is_async: bool) -> httpx.Response:
    """A response over the decoded, counted bytes, for httpx-sse's `EventSource` to parse."""
    stream = _AsyncBytes(source) if is_async else _SyncBytes(source)
    content_type = source.response.headers.get("content-type", "")
    return httpx.Response(200, headers={"content-type": content_type}, stream=stream)


class _SyncBytes(httpx.SyncByteStream):
    def __init__(self, source: EventBytes) -> None:
        self._source = source

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._source)


class _AsyncBytes(httpx.AsyncByteStream):
    def __init__(self, source: EventBytes) -> None:
        self._source = source

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._source.__aiter__()
