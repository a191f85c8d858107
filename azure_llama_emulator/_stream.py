"""Writes an SSE stream, applying at most one stream fault at its chunk boundary.

Events are batched into few socket writes (the first one alone, so time-to-first-token stays
honest); a fault boundary or `chunk_delay` forces a flush, so the client sees exactly n chunks
before the fault. A fault whose n is past the end fires just before `[DONE]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping

from aiohttp import web

from ._faults import Fault
from ._shapes import DONE

_BATCH_BYTES = 32 * 1024
MALFORMED = b"data: {not json\n\n"
ERROR_EVENT = (
    b'data: {"error":{"code":"InternalServerError","message":"The server had an error while '
    b'processing your request. Sorry about that!","status":500}}\n\n'
)
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8"}


class SourceFailed(Exception):
    """The event source broke mid-stream (an upstream dropped): the client sees a drop too."""


async def from_iterable(events: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in events:
        yield item


async def send(
    request: web.Request,
    headers: Mapping[str, str],
    events: AsyncIterator[bytes],
    *,
    fault: Fault | None,
    delay: float,
    live: bool = False,
) -> web.StreamResponse:
    """Stream `events` then `[DONE]`; `live` flushes every event (relayed upstream streams)."""
    response = web.StreamResponse(headers={**headers, **SSE_HEADERS})
    await response.prepare(request)
    writer = _Writer(request, response, fault, delay=delay, live=live)
    try:
        await _pump(writer, events, response)
    except SourceFailed:
        _drop(request)
    except ConnectionResetError:
        pass  # the client hung up; nothing left to tell it
    return response


async def _pump(
    writer: _Writer, events: AsyncIterator[bytes], response: web.StreamResponse
) -> None:
    async for item in events:
        if not await writer.add(item):
            return
    if await writer.finish():
        await response.write(DONE)
    await response.write_eof()


def _drop(request: web.Request) -> None:
    # Close the socket mid-body: no terminating zero-length chunk, as a dropped TCP stream.
    transport = request.transport
    if transport is not None:
        transport.close()


class _Writer:
    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        fault: Fault | None,
        *,
        delay: float,
        live: bool,
    ) -> None:
        self._request = request
        self._response = response
        self._fault = fault
        self._delay = delay
        self._live = live or delay > 0
        self._buffer: list[bytes] = []
        self._size = 0
        self._sent = 0

    async def add(self, item: bytes) -> bool:
        """Queue one event; False once a fault has ended the stream."""
        due = self._fault is not None and self._sent == self._fault.after
        if due and not await self._fire():
            return False
        self._buffer.append(item)
        self._size += len(item)
        self._sent += 1
        if self._live or self._sent == 1 or self._size >= _BATCH_BYTES:
            await self._flush()
        if self._delay > 0:
            await asyncio.sleep(self._delay)
        return True

    async def finish(self) -> bool:
        """Flush; fire a fault not reached yet. False when `[DONE]` must not follow."""
        if self._fault is not None and not await self._fire():
            return False
        await self._flush()
        return True

    async def _flush(self) -> None:
        if self._buffer:
            await self._response.write(b"".join(self._buffer))
            self._buffer.clear()
            self._size = 0

    async def _fire(self) -> bool:
        fault, self._fault = self._fault, None
        assert fault is not None
        await self._flush()
        if fault.kind == "stall_after":
            await asyncio.sleep(fault.seconds)
            return True
        if fault.kind == "malformed_after":
            await self._response.write(MALFORMED)
            return True
        if fault.kind == "error_event_after":
            await self._response.write(ERROR_EVENT)
            await self._response.write_eof()
        elif fault.kind == "cut_after":
            await self._cut(clean=fault.clean)
        return False

    async def _cut(self, *, clean: bool) -> None:
        if clean:
            await self._response.write_eof()
        else:
            _drop(self._request)
