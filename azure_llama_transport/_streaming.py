"""SSE streams: httpx-sse events → parsed chunks, with `[DONE]`, error events and cut-offs.

`data: [DONE]` is the only complete ending. An error event raises the mapped typed error; a
stream that ends (or breaks) before `[DONE]` raises `StreamInterruptedError` carrying the text
received so far. Nothing is retried here: bytes may already have reached the caller.

A block without data (only `id:`, `retry:` or `event:`, legal SSE that is never dispatched) is
skipped. Any lower-layer error while reading (a bad chunk, a dropped connection, a read
timeout) becomes `StreamInterruptedError` through `_boundary`, raised unchained: the
lower-layer exception holds the request headers, and so the key.

Azure's text events, which differ only in their token, are read by their template after the
first one (`_template`: exactly what `json.loads` returns, anything else parsed in full).

Memory is bounded by `Limits`: an event larger than `max_event_bytes` raises
`ResponseTooLargeError`, and the text kept for `partial_text` is the last `max_partial_text`
characters. Each event must arrive within `idle_timeout` seconds of the previous one.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import httpx
from httpx_sse import EventSource, SSEError

from ._answers import FILTERED_FINISH_REASONS, normalize_usage
from ._boundary import describe, translate
from ._deadline import NET_DEADLINE, within
from ._error_body import error_from_response
from ._errors import (
    AzureLlamaError,
    ResponseDecodeError,
    ResponseTooLargeError,
    StreamInterruptedError,
)
from ._limits import AsyncResponse, EventBytes, Limits, event_response
from ._shape import Kind, check_chunk, plain_chunk
from ._template import EventTemplate, cut, learn

__all__ = ["AsyncStream", "Stream"]

T = TypeVar("T")
_loads = json.loads
# Templates a stream may learn (see `_template`): a server whose text events differ in more
# than their token (a `created` per event) stops costing a learning parse after these.
_TEMPLATES_PER_STREAM = 3


class _StreamState:
    """Per-stream bookkeeping shared by the sync and async twins (kept to a few dict lookups)."""

    __slots__ = (
        "cap",
        "chunks",
        "done",
        "finish_reason",
        "headers",
        "host",
        "kind",
        "on_model",
        "parts",
        "size",
        "template",
        "templates_left",
        "truncated",
        "usage",
    )

    def __init__(
        self, host: str, headers: Mapping[str, str], cap: int, kind: Kind | None = None
    ) -> None:
        self.host = host
        self.kind = kind
        # Told the first `model` an event names (the served model), then dropped.
        self.on_model: Callable[[str], None] | None = None
        self.headers = headers
        self.parts: list[str] = []
        # Characters in `parts`; past twice the cap they are cut to the tail (amortised).
        self.size = 0
        self.cap = cap
        self.truncated = False
        self.chunks = 0
        self.done = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.template: EventTemplate | None = None
        self.templates_left = _TEMPLATES_PER_STREAM if kind == "chat" else 0

    def feed(self, data: str) -> Any:
        """Parse one event's data; None means `[DONE]`."""
        template = self.template
        if template is not None:
            token = template.token(data)
            if token is not None:
                # A plain text chunk, exactly as `json.loads` reads it and already checked in
                # the event the template came from: only its token is new (see `_template`).
                if token:
                    self.parts.append(token)
                    self.size += len(token)
                    if self.size > 2 * self.cap:
                        self._keep_tail()
                self.chunks += 1
                return template.build(token)
        if data == "[DONE]":
            self.done = True
            return None
        try:
            chunk = _loads(data)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise ResponseDecodeError(
                f"Azure AI endpoint {self.host} sent a stream event that is not JSON: "
                f"{data[:200]!r}",
                partial_text=self.text,
                body=data,
            ) from exc
        if not isinstance(chunk, dict):
            raise ResponseDecodeError(
                f"Azure AI endpoint {self.host} sent a stream event that is not an object.",
                partial_text=self.text,
                body=chunk,
            )
        if "error" in chunk:
            raise self._error_event(chunk)
        if self.kind is not None:
            check_chunk(chunk, self.kind, self.host, self._text)
        if self.on_model is not None and isinstance(chunk.get("model"), str):
            tell, self.on_model = self.on_model, None
            tell(chunk["model"])
        choices = chunk.get("choices")
        if choices:
            try:
                self._track(choices[0])
            except (AttributeError, KeyError, TypeError) as exc:  # valid JSON, wrong shape
                raise ResponseDecodeError(
                    f"Azure AI endpoint {self.host} sent a stream event that is not a "
                    f"completion chunk: {data[:200]!r}",
                    partial_text=self.text,
                    body=chunk,
                ) from exc
        usage = chunk.get("usage")
        if usage:
            self.usage = chunk["usage"] = normalize_usage(usage)
        elif self.templates_left and plain_chunk(chunk, "chat"):
            self._learn(data, chunk)
        self.chunks += 1
        return chunk

    def _learn(self, data: str, chunk: dict[str, Any]) -> None:
        """Learn this text event's template (a token with escapes is skipped for free); a
        template that stops fitting is kept for the events it still fits."""
        parts = cut(data, chunk)
        if parts is not None:
            self.templates_left -= 1
            self.template = learn(*parts, chunk) or self.template

    def _track(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        piece = delta.get("content") if delta is not None else choice.get("text")
        if piece:
            if piece.__class__ is not str:
                raise TypeError("content is not a string")
            self.parts.append(piece)
            self.size += len(piece)
            if self.size > 2 * self.cap:
                self._keep_tail()
        reason = choice.get("finish_reason")
        if reason:
            self.finish_reason = reason

    def _error_event(self, chunk: dict[str, Any]) -> AzureLlamaError:
        error = chunk["error"]
        status = error.get("status") if isinstance(error, dict) else None
        if not isinstance(status, int) or status < 400:
            status = 500
        return error_from_response(
            status, self.headers, chunk, host=self.host, hint="(error event inside the stream)"
        )

    def _keep_tail(self) -> None:
        text = "".join(self.parts)
        if len(text) > self.cap:
            text = text[-self.cap :]
            self.truncated = True
        self.parts = [text]
        self.size = len(text)

    def _text(self) -> str:
        if self.size > self.cap:
            self._keep_tail()
        return "".join(self.parts)

    @property
    def text(self) -> str:
        return self._text()

    def cut_off(self, cause: BaseException | None = None) -> StreamInterruptedError:
        why = f" ({describe(cause)})" if cause is not None else ""
        text = self.text
        kept = (
            f" partial_text keeps only the last {len(text):,} characters." if self.truncated else ""
        )
        return StreamInterruptedError(
            f"The stream from {self.host} ended before [DONE] after {self.chunks} chunks{why}; "
            f"the answer is incomplete.{kept}",
            partial_text=text,
            chunks_received=self.chunks,
            partial_text_truncated=self.truncated,
        )

    def too_large(self, exc: ResponseTooLargeError) -> ResponseTooLargeError:
        return exc.replace(partial_text=self.text)


class _StreamBase:
    def __init__(
        self,
        response: httpx.Response | AsyncResponse,
        host: str,
        kind: Kind | None = None,
        *,
        limits: Limits | None = None,
        idle_timeout: float | None = None,
        drain: float | None = None,
        on_model: Callable[[str], None] | None = None,
    ) -> None:
        self.response = response
        self.limits = limits or Limits()
        self.idle_timeout = idle_timeout
        # Seconds allowed after `[DONE]` for the end of the body (see `_drain`); None: none.
        self.drain = drain
        self._state = _StreamState(host, response.headers, self.limits.max_partial_text, kind)
        self._state.on_model = on_model

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def request_id(self) -> str | None:
        request_id: str | None = self.response.headers.get("x-request-id")
        return request_id

    @property
    def text(self) -> str:
        """The content received so far (at most the last `Limits.max_partial_text` characters)."""
        return self._state.text

    @property
    def finish_reason(self) -> str | None:
        return self._state.finish_reason

    @property
    def usage(self) -> dict[str, Any] | None:
        return self._state.usage

    @property
    def completed(self) -> bool:
        """True once `[DONE]` arrived."""
        return self._state.done

    @property
    def content_filtered(self) -> bool:
        """True when content safety cut the output (`finish_reason="content_filter"`)."""
        return self._state.finish_reason in FILTERED_FINISH_REASONS


def _drain(events: Iterator[Any], seconds: float) -> None:
    """Read what follows `[DONE]` (the end of a chunked body) for at most `seconds`, so the
    pool keeps the connection: a response closed before its body ends closes its connection,
    and the next call pays a new TCP (and TLS) handshake. A server that sends more, or holds
    the body open, loses the connection instead; the stream is complete either way."""
    token = NET_DEADLINE.set(time.monotonic() + seconds)
    try:
        # A timeout or a broken tail: the answer is whole, the connection is just not kept.
        with contextlib.suppress(Exception):
            for _ in events:  # anything after [DONE] is not part of the answer
                pass
    finally:
        NET_DEADLINE.reset(token)


async def _adrain(events: AsyncIterator[Any], seconds: float) -> None:
    """`_drain` for async streams (aiohttp's and httpx's pools, too, keep only a connection
    whose body was read to its end)."""

    async def rest() -> None:
        async for _ in events:
            pass

    with contextlib.suppress(Exception):  # as in `_drain`
        await within(seconds, rest())


class Stream(_StreamBase, Generic[T]):
    """A sync stream of parsed chunks; iterate it, or use it as a context manager."""

    response: httpx.Response

    def __init__(
        self,
        response: httpx.Response,
        host: str,
        kind: Kind | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(response, host, kind, **kwargs)

    def __iter__(self) -> Iterator[T]:
        state = self._state
        feed = state.feed
        error: AzureLlamaError | None = None
        idle = self.idle_timeout
        deadline_var, monotonic = NET_DEADLINE, time.monotonic
        try:
            source = EventBytes(self.response, self.limits, state.host)
            events = EventSource(event_response(source, is_async=False)).iter_sse()
            while True:
                # The idle deadline is set only while reading: time the caller spends between
                # events is not the endpoint's. (Set and reset by hand: a context manager per
                # event costs more than parsing the event.)
                token = deadline_var.set(None if idle is None else monotonic() + idle)
                try:
                    event = next(events, None)
                finally:
                    deadline_var.reset(token)
                if event is None:
                    break
                source.event_done()
                if not event.data:
                    continue
                chunk = feed(event.data)
                if chunk is None:
                    if self.drain is not None:
                        _drain(events, self.drain)
                    return
                yield chunk
        except ResponseTooLargeError as exc:
            raise state.too_large(exc) from None
        except SSEError as exc:
            raise _not_sse(state, exc) from exc
        except Exception as exc:
            error = _interrupted(state, exc)
            if error is None:
                raise
        finally:
            self.close()
        raise error or state.cut_off()  # outside the except block: unchained

    def close(self) -> None:
        """Close the HTTP response (safe to call twice); stops a stream the caller abandons."""
        _quietly(self.response.close, self._state.host)

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStream(_StreamBase, Generic[T]):
    """The async twin of `Stream` (over httpx, or the direct aiohttp path: see `_aiohttp`)."""

    response: AsyncResponse

    def __init__(
        self,
        response: AsyncResponse,
        host: str,
        kind: Kind | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(response, host, kind, **kwargs)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        state = self._state
        feed = state.feed
        error: AzureLlamaError | None = None
        try:
            source = EventBytes(self.response, self.limits, state.host, self.idle_timeout)
            events = EventSource(event_response(source, is_async=True)).aiter_sse()
            async for event in events:
                source.event_done()
                if not event.data:
                    continue
                chunk = feed(event.data)
                if chunk is None:
                    if self.drain is not None:
                        await _adrain(events, self.drain)
                    return
                yield chunk
        except ResponseTooLargeError as exc:
            raise state.too_large(exc) from None
        except SSEError as exc:
            raise _not_sse(state, exc) from exc
        except Exception as exc:
            error = _interrupted(state, exc)
            if error is None:
                raise
        finally:
            await self.aclose()
        raise error or state.cut_off()  # outside the except block: unchained

    async def aclose(self) -> None:
        try:
            await self.response.aclose()
        except Exception as exc:
            # Closing a response that already broke: nothing the caller can act on.
            if translate(exc, self._state.host) is None:
                raise

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _interrupted(state: _StreamState, exc: BaseException) -> StreamInterruptedError | None:
    """The cut-off error for a lower-layer failure mid-stream; None for anything else."""
    if translate(exc, state.host) is None:
        return None
    return state.cut_off(exc)


def _quietly(close: Callable[[], None], host: str) -> None:
    try:
        close()
    except Exception as exc:
        if translate(exc, host) is None:
            raise


def _not_sse(state: _StreamState, exc: SSEError) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"Azure AI endpoint {state.host} answered a streaming request without an event "
        f"stream: {exc}",
        partial_text=state.text,
    )
