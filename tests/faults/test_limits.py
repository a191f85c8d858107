"""Hostile response sizes: a gzip bomb, a 100 MB body, an endless stream, a line that never ends.

Each fails early with a typed `ResponseTooLargeError` (or, for a stream that is cut, a
`StreamInterruptedError` keeping the tail of the text), with peak traced memory under a stated
bound. Bounds are on `tracemalloc` (Python allocations: our buffers, the decoded pieces, parsed
events); the socket buffers of httpx and aiohttp are C memory and not traced, but they are the
size of one network read. Before the limits, the bomb took the process to 1.9 GB.
"""

from __future__ import annotations

import contextlib
import gc
import json
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import litellm
import pytest

import azure_llama_transport as t
import langchain_azure_llama as lc
from tests._support.faults import KEY, Case, Drivers
from tests._support.raw_server import Write, gzip_bomb, head, serving, until_hang_up

MiB = 1024 * 1024
USER = [{"role": "user", "content": "hi"}]
KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
BOMB = gzip_bomb(500 * MiB)  # 0.49 MB on the wire
JSON = "content_type"


@dataclass
class Peak:
    bytes: int = 0


@contextlib.contextmanager
def traced() -> Iterator[Peak]:
    """Peak traced memory above the level at entry."""
    gc.collect()
    tracemalloc.start()
    peak = Peak()
    try:
        base, _ = tracemalloc.get_traced_memory()
        yield peak
        peak.bytes = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


async def call(kind: str, url: str, *, stream: bool = False, **kwargs: Any) -> Any:
    """A whole chat call, or a stream read to its end (chunks counted, not kept), through the
    sync or the async client."""
    kwargs.setdefault("max_retries", 0)
    if kind == "sync":
        with t.AzureLlamaClient(url, api_key=KEY, **kwargs) as client:
            if not stream:
                return client.chat(USER)
            chat_stream = client.chat_stream(USER)
            return sum(1 for _ in chat_stream), chat_stream
    async with t.AsyncAzureLlamaClient(url, api_key=KEY, **kwargs) as aclient:
        if not stream:
            return await aclient.chat(USER)
        astream = await aclient.chat_stream(USER)
        return sum([1 async for _ in astream]), astream


def bomb(write: Write) -> None:
    write(head(length=len(BOMB), content_type="application/json", content_encoding="gzip"))
    write(BOMB)


def big_json(size: int, *, declared: bool) -> Any:
    prefix = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"'
    suffix = b'"},"finish_reason":"stop"}]}'
    block = b"x" * MiB

    def script(write: Write) -> None:
        if declared:
            write(head(length=len(prefix) + size + len(suffix), content_type="application/json"))
            write(prefix)
            for _ in range(size // MiB):
                write(block)
            write(suffix)
            return
        write(head(content_type="application/json", transfer_encoding="chunked"))
        for part in [prefix, *[block] * (size // MiB), suffix]:
            write(b"%x\r\n%s\r\n" % (len(part), part))
        write(b"0\r\n\r\n")

    return script


@pytest.mark.parametrize("kind", KINDS)
async def test_gzip_bomb_fails_early_with_bounded_memory(kind: str) -> None:
    with serving(bomb) as server, traced() as peak, pytest.raises(t.ResponseTooLargeError) as info:
        await call(kind, server.url)
    error = info.value
    assert error.limit == "max_decoded_bytes" and error.limit_bytes == 64 * MiB
    assert "Limits.max_decoded_bytes" in str(error)
    assert isinstance(error.body, str) and len(error.body) <= 1000  # a prefix, not 500 MB
    # Bound: the 64 MiB cap, bytearray growth and one 64 KiB piece (was 1.7 GB traced).
    assert peak.bytes < 100 * MiB, peak.bytes


@pytest.mark.parametrize("kind", KINDS)
async def test_decoded_limit_is_settable(kind: str) -> None:
    with serving(bomb) as server, traced() as peak, pytest.raises(t.ResponseTooLargeError) as info:
        await call(kind, server.url, limits=t.Limits(max_decoded_bytes=MiB))
    assert info.value.limit == "max_decoded_bytes" and info.value.limit_bytes == MiB
    assert peak.bytes < 8 * MiB, peak.bytes


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("kind", KINDS)
async def test_100_mb_body_is_refused_with_bounded_memory(kind: str, declared: bool) -> None:
    with (
        serving(big_json(100 * MiB, declared=declared)) as server,
        traced() as peak,
        pytest.raises(t.ResponseTooLargeError) as info,
    ):
        await call(kind, server.url)
    assert info.value.limit == "max_body_bytes" and info.value.limit_bytes == 32 * MiB
    # A declared length is refused before reading; a chunked body at the 32 MiB cap.
    assert peak.bytes < (4 if declared else 48) * MiB, peak.bytes


@pytest.mark.parametrize("kind", KINDS)
async def test_body_within_settable_limits_is_read(kind: str) -> None:
    with serving(big_json(2 * MiB, declared=False)) as server:
        result = await call(kind, server.url, limits=t.Limits(max_body_bytes=3 * MiB))
        assert len(result["choices"][0]["message"]["content"]) == 2 * MiB
        with pytest.raises(t.ResponseTooLargeError):
            await call(kind, server.url, limits=t.Limits(max_body_bytes=MiB))


@pytest.mark.parametrize("kind", KINDS)
async def test_huge_error_body_is_cut_not_kept(kind: str) -> None:
    def script(write: Write) -> None:
        write(head("503 Service Unavailable", length=100 * MiB, content_type="text/plain"))
        until_hang_up(write, b"overloaded " * 100_000)

    with serving(script) as server, traced() as peak, pytest.raises(t.InternalServerError) as info:
        await call(kind, server.url)
    assert info.value.status_code == 503
    assert peak.bytes < 8 * MiB, peak.bytes


@pytest.mark.parametrize("kind", KINDS)
async def test_unoffered_content_encoding_is_a_decode_error(kind: str) -> None:
    def script(write: Write) -> None:
        write(head(length=4, content_type="application/json", content_encoding="br"))
        write(b"\x00\x01\x02\x03")

    with serving(script) as server, pytest.raises(t.ResponseDecodeError, match="'br'"):
        await call(kind, server.url)


def event(i: int) -> bytes:
    content = f"<{i:08d}>" + "y" * 990
    chunk = {"id": "x", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


EVENTS = 6_000  # 6 MB of text, 60 times the kept tail
TAIL = 100_000


def flood(write: Write) -> None:
    """6,000 events of 1,000 characters, then the connection closes without [DONE]."""
    write(head(content_type="text/event-stream"))
    for start in range(0, EVENTS, 100):
        write(b"".join(event(i) for i in range(start, start + 100)))


@pytest.mark.parametrize("kind", KINDS)
async def test_endless_stream_keeps_the_tail_with_bounded_memory(kind: str) -> None:
    with (
        serving(flood) as server,
        traced() as peak,
        pytest.raises(t.StreamInterruptedError) as info,
    ):
        limits = t.Limits(max_partial_text=TAIL)
        await call(kind, server.url, stream=True, limits=limits)
    error = info.value
    assert error.chunks_received == EVENTS
    assert error.partial_text_truncated is True
    assert "keeps only the last 100,000 characters" in str(error)
    assert len(error.partial_text) == TAIL
    assert error.partial_text.endswith(f"<{EVENTS - 1:08d}>" + "y" * 990)  # the tail
    # Bound: the kept text (at most twice the cap between compactions) and a few events in
    # flight; the stream carried 6 MB.
    assert peak.bytes < 2 * MiB, peak.bytes


@pytest.mark.parametrize("kind", KINDS)
async def test_endless_stream_text_stays_bounded_while_read(kind: str) -> None:
    """A stream that never ends: read it until 5 MB have passed, then let go."""
    limits = t.Limits(max_partial_text=10_000)

    def endless(write: Write) -> None:
        write(head(content_type="text/event-stream"))
        until_hang_up(write, b"".join(event(i) for i in range(100)))

    with serving(endless) as server, traced() as peak:
        client: Any = (t.AzureLlamaClient if kind == "sync" else t.AsyncAzureLlamaClient)(
            server.url, api_key=KEY, max_retries=0, limits=limits
        )
        if kind == "sync":
            stream: Any = client.chat_stream(USER)
            for n, _ in enumerate(stream):
                if n == 5_000:
                    break
            stream.close()
            client.close()
        else:
            stream = await client.chat_stream(USER)
            n = 0
            async for _ in stream:
                n += 1
                if n == 5_000:
                    break
            await stream.aclose()
            await client.aclose()
        assert len(stream.text) == 10_000
    assert peak.bytes < 4 * MiB, peak.bytes


@pytest.mark.parametrize("kind", KINDS)
async def test_line_that_never_ends_hits_the_event_limit(kind: str) -> None:
    def script(write: Write) -> None:
        write(head(content_type="text/event-stream"))
        write(event(0))
        write(b'data: {"choices":[{"index":0,"delta":{"content":"')
        until_hang_up(write, b"z" * 65536)

    with (
        serving(script) as server,
        traced() as peak,
        pytest.raises(t.ResponseTooLargeError) as info,
    ):
        await call(kind, server.url, stream=True)
    error = info.value
    assert error.limit == "max_event_bytes" and error.limit_bytes == 4 * MiB
    assert error.partial_text == "<00000000>" + "y" * 990  # what arrived before is kept
    # Bound: the event limit, held once by httpx-sse's line buffer and once as text.
    assert peak.bytes < 24 * MiB, peak.bytes


FRONT_MODES = [
    pytest.param(("langchain", "invoke"), id="langchain-invoke"),
    pytest.param(("langchain", "ainvoke"), id="langchain-ainvoke"),
    pytest.param(("litellm", "invoke"), id="litellm-completion"),
    pytest.param(("litellm", "ainvoke"), id="litellm-acompletion"),
]


@pytest.mark.parametrize("case", FRONT_MODES)
async def test_gzip_bomb_through_front_ends_is_typed(case: Case, drive: Drivers) -> None:
    with serving(bomb) as server:
        reply = await drive(case, server.url, max_retries=0).call()
    error: Any = reply.error
    if case[0] == "langchain":
        assert isinstance(error, lc.ResponseTooLargeError)
        assert isinstance(error, lc.ResponseDecodeError) and error.limit == "max_decoded_bytes"
        assert len(error.body) <= 1000
    else:
        assert isinstance(error, litellm.InternalServerError)
        assert "Limits.max_decoded_bytes" in str(error)
