"""Broken streams, through both front ends, sync and async: a typed error, never a short answer.

Every stream here asks the emulator for exactly "tok0 tok1 ... tok7" (one token per chunk after
the role chunk), so what arrived before the fault is known to the character.
"""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest
from langchain_core.exceptions import ModelAPIError, ModelInvalidRequestError

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator, Fault
from tests._support.faults import ALL_MODES, STREAM_MODES, Case, Drivers, Reply
from tests._support.raw_server import RawServer


def check_interrupted(case: Case, reply: Reply, partial: str, chunks: int) -> None:
    """A broken stream raised the front end's typed error carrying the partial text, and the
    caller never got more than that partial text (so never a complete-looking answer)."""
    front, mode = case
    error: Any = reply.error
    assert error is not None, f"a broken stream returned {reply.text!r} as if complete"
    assert "incomplete" in str(error)
    assert error.partial_text == partial
    if front == "langchain":
        assert isinstance(error, lc.StreamInterruptedError)
        assert isinstance(error, ModelAPIError)
        assert error.chunks_received == chunks
    else:
        assert type(error) is litellm.APIConnectionError
    if mode.endswith("-streaming"):
        assert reply.pieces == []  # invoke() over a stream: no answer at all, not a short one
    else:
        # LiteLLM's stream wrapper may hold the last piece back when the stream breaks.
        assert partial.startswith(reply.text)
        if front == "langchain":
            assert reply.text == partial


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.cut_after(3), id="socket-dropped"),
        pytest.param(Fault.cut_after(3, clean=True), id="body-ended-without-done"),
    ],
)
@pytest.mark.parametrize("case", STREAM_MODES)
async def test_cut_stream_raises_interrupted_with_partial_text(
    case: Case, fault: Fault, emu: Emulator, drive: Drivers
) -> None:
    emu.inject(fault)
    reply = await drive(case, emu.url).call()
    check_interrupted(case, reply, "tok0 tok1", chunks=3)
    assert len(emu.requests) == 1  # bytes had reached the caller: never retried


@pytest.mark.parametrize("case", STREAM_MODES)
async def test_stall_past_read_timeout_raises_interrupted(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    emu.inject(Fault.stall_after(2, seconds=3.0))
    reply = await drive(case, emu.url, timeout=0.3).call()
    check_interrupted(case, reply, "tok0", chunks=2)
    assert len(emu.requests) == 1


# The emulator's `malformed-after` writes `data: {not json` after n chunks; `error-event-after`
# writes `data: {"error": {..., "status": 500}}` and ends the body without `[DONE]`.
EMULATED = [
    pytest.param(
        Fault.malformed_after(2),
        {"langchain": lc.ResponseDecodeError, "litellm": litellm.InternalServerError},
        id="malformed-sse-data",
    ),
    pytest.param(
        Fault.error_event_after(2),
        {"langchain": lc.InternalServerError, "litellm": litellm.InternalServerError},
        id="error-event",
    ),
]


@pytest.mark.parametrize(("fault", "expected"), EMULATED)
@pytest.mark.parametrize("case", STREAM_MODES)
async def test_bad_event_mid_stream_is_typed_and_not_retried(
    case: Case, fault: Fault, expected: dict[str, type[Exception]], emu: Emulator, drive: Drivers
) -> None:
    emu.inject(fault)
    reply = await drive(case, emu.url).call()
    assert type(reply.error) is expected[case[0]], repr(reply.caught)
    # A 5xx after the first byte is not retried: one request, and "tok0" reached the caller at
    # most once (never "tok0tok0 ...", the duplicate a retry would have streamed).
    assert len(emu.requests) == 1
    assert reply.text in ("", "tok0")
    error: Any = reply.error
    if case[0] == "langchain":
        assert isinstance(error, ModelAPIError)
    if fault.kind == "malformed_after":
        assert "not JSON" in str(error)
        if case[0] == "langchain":
            assert error.partial_text == "tok0"
    else:
        assert "answered 500" in str(error) and "inside the stream" in str(error)


def sse(*events: Any, done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


ROLE = {"choices": [{"delta": {"role": "assistant", "content": ""}, "index": 0}]}
EVENT_STREAM = "text/event-stream; charset=utf-8"
DECODE = {"langchain": lc.ResponseDecodeError, "litellm": litellm.InternalServerError}


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        pytest.param(
            sse(ROLE, "[1, 2]"), EVENT_STREAM, "event that is not an object", id="data-json-array"
        ),
        pytest.param(
            sse(ROLE, "hello there"), EVENT_STREAM, "event that is not JSON", id="data-plain-text"
        ),
        pytest.param(
            sse(ROLE, '{"choices": [nul'), EVENT_STREAM, "event that is not JSON", id="data-cut"
        ),
        pytest.param(b"<html>busy</html>", "text/html", "without an event stream", id="html"),
    ],
)
@pytest.mark.parametrize("case", ALL_MODES)
async def test_non_json_data_is_a_typed_decode_error(
    case: Case,
    body: bytes,
    content_type: str,
    text: str,
    raw_server: RawServer,
    drive: Drivers,
) -> None:
    """Whole answers and streams alike: a 2xx body that is not the protocol is a decode error."""
    raw_server.answer(body, content_type)
    driver = drive(case, raw_server.url, max_retries=0)
    reply = await driver.call()
    assert type(reply.error) is DECODE[case[0]], repr(reply.caught)
    expected = text if driver.streams else "body that is not JSON"
    assert "127.0.0.1" in str(reply.error) and expected in str(reply.error)
    assert reply.text == ""
    assert raw_server.hits == 1


@pytest.mark.parametrize("case", STREAM_MODES)
async def test_content_filter_error_event_mid_stream(
    case: Case, raw_server: RawServer, drive: Drivers
) -> None:
    """Content safety cutting a stream with an error event (the Azure OpenAI shape)."""
    event = {
        "error": {
            "code": "content_filter",
            "message": "The response was filtered",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"violence": {"filtered": True, "severity": "high"}},
            },
        }
    }
    piece = {"choices": [{"delta": {"content": "Once"}, "index": 0}]}
    raw_server.answer(sse(ROLE, piece, event, done=False), EVENT_STREAM)
    reply = await drive(case, raw_server.url, max_retries=0).call()
    error: Any = reply.error
    if case[0] == "langchain":
        assert isinstance(error, lc.ContentFilterError)
        assert isinstance(error, ModelInvalidRequestError)
        assert error.filtered_categories == ["violence"]
    else:
        assert type(error) is litellm.ContentPolicyViolationError
        assert error.provider_specific_fields["filtered_categories"] == ["violence"]
    assert "Once".startswith(reply.text)


BAD_USAGE_CHUNK = {"choices": [{"delta": {"content": "hi"}, "index": 0}], "usage": "lots"}
BAD_TOOL_ANSWER = {
    "id": "x",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "", "tool_calls": [5]},
            "finish_reason": "tool_calls",
        }
    ],
    "usage": "lots",
}


@pytest.mark.parametrize("case", ALL_MODES)
async def test_valid_json_of_the_wrong_shape_is_a_typed_decode_error(
    case: Case, raw_server: RawServer, drive: Drivers
) -> None:
    """JSON that parses but is not a completion (usage not an object, a tool call that is a
    number) is caught by the transport's one shape check, before any front end converts it: the
    typed decode error, naming what is wrong, never a bare AttributeError or TypeError."""
    driver = drive(case, raw_server.url, max_retries=0)
    if driver.streams:
        raw_server.answer(sse(ROLE, BAD_USAGE_CHUNK), EVENT_STREAM)
    else:
        raw_server.answer(json.dumps(BAD_TOOL_ANSWER).encode(), "application/json")
    reply = await driver.call()
    assert type(reply.error) is DECODE[case[0]], repr(reply.caught)
    assert "that is not a chat completion" in str(reply.error)
    assert "`usage` is not an object" in str(reply.error)


@pytest.mark.parametrize("case", STREAM_MODES)
async def test_a_stream_read_to_done_keeps_its_connection(
    case: Case, emu: Emulator, drive: Drivers
) -> None:
    """After `[DONE]` the end of the body is read before the response closes, so the pool keeps
    the connection: the next call does not pay a new TCP handshake (over TLS to Azure, a TLS
    one too). Closing at `[DONE]` had every sync stream, and most async ones, open a new one."""
    driver = drive(case, emu.url)
    for _ in range(3):
        reply = await driver.call()
        assert reply.error is None and reply.text == "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7"
    assert len(emu.requests) == 3
    assert len({request.connection for request in emu.requests}) == 1
