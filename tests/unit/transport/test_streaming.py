"""SSE streams: chunks, [DONE], cut-offs, error events, malformed data, tool-call deltas, splits."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azure_llama_transport import (
    ContentFilterError,
    InternalServerError,
    ResponseDecodeError,
    StreamInterruptedError,
)
from tests._support.transport import make_async, make_sync, sse, sse_response

USER = [{"role": "user", "content": "Hi"}]


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    delta.update(extra.pop("delta", {}))
    out = {
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}],
        "created": 1,
        "id": "abc",
        "model": "Llama-3.3-70B-Instruct",
        "object": "chat.completion.chunk",
    }
    out.update(extra)
    return out


USAGE = {"completion_tokens": 2, "prompt_tokens": 5, "total_tokens": 7}
NORMAL = [
    chunk(delta={"role": "assistant", "content": ""}),
    chunk("Hello"),
    chunk(" there", "stop", usage=USAGE),
]
TOOL = chunk(
    None,
    "tool_calls",
    usage=USAGE,
    delta={
        "tool_calls": [
            {
                "function": {"arguments": '{"city": "Seattle"}', "name": "get_weather"},
                "id": "call_1",
            }
        ]
    },
)


async def collect(kind: str, body: bytes) -> tuple[list[dict[str, Any]], Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(body)

    if kind == "sync":
        stream = make_sync(handler).chat_stream(USER)
        return list(stream), stream
    astream = await make_async(handler).chat_stream(USER)
    return [c async for c in astream], astream


KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]


@pytest.mark.parametrize("kind", KINDS)
async def test_complete_stream(kind: str) -> None:
    chunks, stream = await collect(kind, sse(*NORMAL))
    assert chunks == NORMAL
    assert stream.text == "Hello there"
    assert stream.usage == USAGE and stream.finish_reason == "stop"
    assert stream.completed and not stream.content_filtered
    assert stream.response.is_closed


@pytest.mark.parametrize("kind", KINDS)
async def test_cut_off_stream_raises_with_partial_text(kind: str) -> None:
    with pytest.raises(StreamInterruptedError) as info:
        await collect(kind, sse(*NORMAL[:2], done=False))
    assert info.value.partial_text == "Hello"
    assert info.value.chunks_received == 2
    assert "ended before [DONE]" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_error_event_raises_mapped_error(kind: str) -> None:
    body = sse(
        NORMAL[0],
        {"error": {"code": "InternalServerError", "message": "model crashed", "status": 500}},
        done=False,
    )
    with pytest.raises(InternalServerError, match=r"model crashed.*inside the stream"):
        await collect(kind, body)


@pytest.mark.parametrize("kind", KINDS)
async def test_content_filter_error_event(kind: str) -> None:
    body = sse(
        NORMAL[0],
        {"error": {"code": "content_filter", "message": "filtered", "status": 400}},
        done=False,
    )
    with pytest.raises(ContentFilterError):
        await collect(kind, body)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("{not json", id="broken-json"),
        pytest.param("[1,2]", id="not-object"),
        pytest.param('{"choices": [{"delta": []}]}', id="wrong-shape"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_event(kind: str, data: str) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        await collect(kind, sse(NORMAL[0], NORMAL[1], data))
    assert info.value.partial_text == "Hello"


def _text_event(token: str) -> str:
    return json.dumps(chunk(token), separators=(",", ":"))


# Events after a run of Azure text events (which the parser reads by their template, see
# azure_llama_transport/_template.py): each one still reads exactly as JSON reads it.
AFTER_TEXT = [
    pytest.param(_text_event("x").replace('"x"', '"x","content":"y"'), id="duplicate-content"),
    pytest.param(_text_event('say "hi" \\ \n'), id="escaped-token"),
    pytest.param(_text_event("é😀").replace("é😀", "\\u00e9\\ud83d\\ude00"), id="unicode-escapes"),
    pytest.param(_text_event("x").replace('"abc"', '"other-id"'), id="another-id"),
    pytest.param(_text_event("x").replace('"created":1', '"created":2'), id="another-created"),
    pytest.param(_text_event("x").replace('"index":0', '"index":0 '), id="a-space-more"),
    pytest.param(_text_event("x").replace('"logprobs":null', '"logprobs":{"a":[1]}'), id="nested"),
    pytest.param(_text_event("x").replace('"x"', '""'), id="empty-token"),
    pytest.param(_text_event("x")[:-1] + ',"object":"other"}', id="duplicate-key-at-the-end"),
    pytest.param(json.dumps(chunk(" there", "stop", usage=USAGE)), id="finish-with-usage"),
]


@pytest.mark.parametrize("event", AFTER_TEXT)
@pytest.mark.parametrize("kind", KINDS)
async def test_events_after_azure_text_events_read_as_json_reads_them(
    kind: str, event: str
) -> None:
    texts = [_text_event(token) for token in ("Hello", " wor", "ld")]
    events = [*texts, event, *texts]
    chunks, stream = await collect(kind, sse(NORMAL[0], *events))
    assert chunks == [NORMAL[0], *(json.loads(e) for e in events)]
    assert [list(c) for c in chunks[1:]] == [list(json.loads(e)) for e in events]  # key order
    pieces = [json.loads(e)["choices"][0]["delta"]["content"] for e in events]
    assert stream.text == "".join(pieces)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_text_event("x").replace('"x"', '"a\x01b"'), id="raw-control-character"),
        pytest.param(_text_event("x") + "}", id="trailing-brace"),
        pytest.param(_text_event("x").replace('"x"', '"x"}'), id="brace-after-token"),
        pytest.param(_text_event("x").replace('"x"', '"x'), id="unclosed-token"),
        # The template's text before and after the token, sharing their quote.
        pytest.param(_text_event("x").replace('"x"', '"'), id="one-quote-for-two"),
        pytest.param(_text_event("x").replace('"x"', "5"), id="number-token"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_a_broken_event_after_azure_text_events_is_refused(kind: str, event: str) -> None:
    texts = [_text_event(token) for token in ("Hello", " wor", "ld")]
    with pytest.raises(ResponseDecodeError) as info:
        await collect(kind, sse(NORMAL[0], *texts, event))
    assert info.value.partial_text == "Hello world"


@pytest.mark.parametrize("kind", KINDS)
async def test_streaming_request_answered_with_json(kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
        )

    with pytest.raises(ResponseDecodeError, match="without an event stream"):
        if kind == "sync":
            list(make_sync(handler).chat_stream(USER))
        else:
            [c async for c in await make_async(handler).chat_stream(USER)]


@pytest.mark.parametrize("kind", KINDS)
async def test_tool_call_delta_kept_intact(kind: str) -> None:
    chunks, stream = await collect(kind, sse(NORMAL[0], TOOL))
    call = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
    assert call == {
        "function": {"arguments": '{"city": "Seattle"}', "name": "get_weather"},
        "id": "call_1",
    }
    assert stream.finish_reason == "tool_calls" and stream.usage == USAGE


@pytest.mark.parametrize("kind", KINDS)
async def test_output_content_filter_reported(kind: str) -> None:
    _, stream = await collect(kind, sse(NORMAL[0], chunk("Some"), chunk(None, "content_filter")))
    assert stream.content_filtered and stream.finish_reason == "content_filter"
    assert stream.text == "Some"


def test_abandoned_stream_closes_response() -> None:
    stream = make_sync(lambda r: sse_response(sse(*NORMAL))).chat_stream(USER)
    iterator = iter(stream)
    next(iterator)
    stream.close()
    assert stream.response.is_closed


def test_text_completion_stream() -> None:
    pieces = [
        {"choices": [{"index": 0, "text": t, "finish_reason": f}], "object": "text_completion"}
        for t, f in (("Math", None), (" is", "stop"))
    ]
    stream = make_sync(lambda r: sse_response(sse(*pieces))).complete_stream("Math")
    assert list(stream) == pieces and stream.text == "Math is"


# -- any split of the byte stream yields the same chunks --------------------------------------

BODY = sse(*NORMAL, TOOL, chunk("naïve ☕ \u2028 text"))


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges) if b > a]


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def split_handler(pieces: list[bytes]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Pieces(pieces)
        )

    return handler


EXPECTED = [*NORMAL, TOOL, chunk("naïve ☕ \u2028 text")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=40))
def test_any_split_yields_same_chunks(cuts: list[int]) -> None:
    pieces = split(BODY, cuts)
    assert list(make_sync(split_handler(pieces)).chat_stream(USER)) == EXPECTED

    async def run() -> list[Any]:
        return [c async for c in await make_async(split_handler(pieces)).chat_stream(USER)]

    assert asyncio.run(run()) == EXPECTED


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_typed_errors(data: bytes) -> None:
    from azure_llama_transport import AzureLlamaError

    try:
        list(make_sync(split_handler([data])).chat_stream(USER))
    except AzureLlamaError:
        pass
    else:
        assert b"[DONE]" in data


def test_crlf_line_endings() -> None:
    body = sse(*NORMAL).replace(b"\n", b"\r\n")
    assert list(make_sync(lambda r: sse_response(body)).chat_stream(USER)) == NORMAL


def test_comment_and_event_lines_are_ignored() -> None:
    body = b": keep-alive\n\n" + sse(*NORMAL)
    assert [json.dumps(c) for c in make_sync(lambda r: sse_response(body)).chat_stream(USER)] == [
        json.dumps(c) for c in NORMAL
    ]
