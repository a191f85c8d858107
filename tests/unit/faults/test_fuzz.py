"""Hypothesis over the SSE parser (sync and async clients), the error-body parser, and the
parsers of model text (prompted tool calls, structured output, the held prompted stream).

tests/transport/test_streaming.py already shows that any split of a valid stream gives the same
chunks (both clients) and that random bytes raise only typed errors (sync client). Here: SSE-ish
byte soups in arbitrary pieces and arbitrary JSON inside `data:` lines, through both clients,
each run under a hang guard that fails the test; and arbitrary JSON and text as error bodies.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from azure_llama_transport import (
    APIStatusError,
    AsyncAzureLlamaClient,
    AuthenticationError,
    AzureLlamaClient,
    AzureLlamaError,
    BadRequestError,
    ErrorInfo,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    Schema,
    ToolCallBuffer,
    UnprocessableEntityError,
    error_from_response,
    parse_error_body,
    parse_tool_calls,
)

ENDPOINT = "https://fuzz.eastus2.models.ai.azure.com"
USER = [{"role": "user", "content": "Hi"}]
HANG_GUARD = 10.0  # seconds one parse may take before the test fails as hung
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in exactly these pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def _transport(pieces: list[bytes], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream; charset=utf-8"}
        return httpx.Response(status, headers=headers, stream=Pieces(pieces))

    return httpx.MockTransport(handler)


def _policy() -> RetryPolicy:
    async def asleep(seconds: float) -> None:
        return None

    return RetryPolicy(max_retries=0, sleep=lambda s: None, asleep=asleep)


def parse_sync(pieces: list[bytes]) -> tuple[list[Any], Any]:
    client = AzureLlamaClient(
        ENDPOINT,
        api_key="k",
        http_client=httpx.Client(transport=_transport(pieces)),
        retry_policy=_policy(),
    )
    stream = client.chat_stream(USER)
    return list(stream), stream


async def parse_async(pieces: list[bytes]) -> tuple[list[Any], Any]:
    client = AsyncAzureLlamaClient(
        ENDPOINT,
        api_key="k",
        http_client_factory=lambda: httpx.AsyncClient(transport=_transport(pieces)),
        retry_policy=_policy(),
    )
    stream = await client.chat_stream(USER)
    chunks = [chunk async for chunk in stream]
    await client.aclose()
    return chunks, stream


_GUARD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuzz-hang-guard")


def outcome_sync(pieces: list[bytes]) -> tuple[str, Any]:
    """("ok", stream) or ("error", typed error); anything else, or a hang, fails the test."""
    future = _GUARD.submit(parse_sync, pieces)
    try:
        _, stream = future.result(timeout=HANG_GUARD)
    except AzureLlamaError as exc:
        return "error", exc
    except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError on 3.11+
        pytest.fail(f"the sync parser hung on {pieces!r}")
    return "ok", stream


def outcome_async(pieces: list[bytes]) -> tuple[str, Any]:
    async def guarded() -> tuple[list[Any], Any]:
        return await asyncio.wait_for(parse_async(pieces), timeout=HANG_GUARD)

    try:
        _, stream = asyncio.run(guarded())
    except AzureLlamaError as exc:
        return "error", exc
    except TimeoutError:
        pytest.fail(f"the async parser hung on {pieces!r}")
    return "ok", stream


def check_outcome(kind: str, value: Any, body: bytes) -> None:
    if kind == "ok":
        # Only `[DONE]` ends a stream without an error, and the text is what the chunks said.
        assert value.completed and b"[DONE]" in body
        assert isinstance(value.text, str)
    else:
        assert str(value)  # a typed error always says something


# -- SSE byte soups, in any pieces ---------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"\n",
        b"\r\n",
        b"\r",
        b"\n\n",
        b"[DONE]",
        b": keep-alive",
        b"event: error",
        b"id: 7",
        b"retry: x",
        b'{"choices":[{"delta":{"content":"tok"},"index":0}]}',
        b'{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"total_tokens":3}}',
        b'{"error":{"code":"x","message":"boom","status":503}}',
        b'{"error":{"code":"content_filter","status":400}}',
        b"{not json",
        "naïve ☕".encode(),
        b"\xff\xfe\x00",
    ]
)
SOUP = st.lists(st.one_of(FRAGMENTS, st.binary(max_size=12)), max_size=30)
CUTS = st.lists(st.integers(min_value=0, max_value=2_000), max_size=12)


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges) if b > a]


@FUZZ
@given(SOUP, CUTS)
@example([b"data: ", b"[DONE]", b"\n\n"], [3])
@example([b"data: ", b"{not json", b"\n\n"], [])
@example([b"data: " + b"[" * 50_000 + b"\n\n"], [7, 9000])
def test_sse_soup_in_any_pieces_never_hangs_and_raises_only_typed_errors(
    soup: list[bytes], cuts: list[int]
) -> None:
    body = b"".join(soup)
    pieces = split(body, cuts)
    sync = outcome_sync(pieces)
    check_outcome(*sync, body)
    async_ = outcome_async(pieces)
    check_outcome(*async_, body)
    assert sync[0] == async_[0]  # the twins agree
    if sync[0] == "error":
        assert type(sync[1]) is type(async_[1])


# -- arbitrary JSON inside data: lines -------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "choices",
        "delta",
        "content",
        "text",
        "finish_reason",
        "usage",
        "tool_calls",
        "error",
        "status",
        "message",
        "code",
        "index",
        "role",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def _event(value: Any) -> bytes:
    return b"data: " + json.dumps(value).encode() + b"\n\n"


@FUZZ
@given(st.lists(JSON, min_size=1, max_size=4), st.booleans(), CUTS)
@example([{"choices": [None]}], True, [])
@example([{"choices": 5}], True, [])
@example([{"choices": {"0": {}}}], True, [])
@example([{"choices": [{"delta": "x"}]}], True, [])
@example([{"choices": [{"delta": {"content": 5}}]}], False, [])
@example([{"choices": [{"delta": {"content": ["a"]}}]}], True, [])
@example([{"error": None}], True, [])
def test_any_json_event_gives_chunks_or_a_typed_error(
    events: list[Any], done: bool, cuts: list[int]
) -> None:
    body = b"".join(_event(e) for e in events) + (b"data: [DONE]\n\n" if done else b"")
    pieces = split(body, cuts)
    sync = outcome_sync(pieces)
    check_outcome(*sync, body)
    async_ = outcome_async(pieces)
    check_outcome(*async_, body)
    assert sync[0] == async_[0]


# -- text events built from their template (azure_llama_transport/_template.py) -------------

# Characters that matter to JSON and to the template: quotes, escapes, structure, controls.
HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from('ab "\\{}[],:\x00\x1f\n\ue000é😀') | st.characters()
)


def _azure_event(token: str, idv: str, model: str, created: int, ascii_only: bool) -> str:
    """Azure's text event (compact, as Azure writes it; `ensure_ascii` as some servers do)."""
    chunk = {
        "choices": [{"delta": {"content": token}, "finish_reason": None, "index": 0}],
        "created": created,
        "id": idv,
        "model": model,
        "object": "chat.completion.chunk",
    }
    separators = (",", ":") if created % 2 else (", ", ": ")  # and a server's json.dumps
    return json.dumps(chunk, separators=separators, ensure_ascii=ascii_only)


def _splice(data: str, at: int, drop: int, junk: str) -> str:
    at = at % (len(data) + 1)
    return data[:at] + junk + data[at + drop :]


EDITS = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 5), HOSTILE_TEXT), min_size=0, max_size=2
)


@FUZZ
@given(
    st.lists(st.tuples(HOSTILE_TEXT, EDITS), min_size=1, max_size=6),
    st.text(max_size=12),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
)
@example([("tok", []), ('a"b', []), ("x", [(12, 0, '","content":"y')])], "i", "m", 1, False)
@example([("tok", []), ("x", [(10_000, 0, "}")]), ("y", [(0, 0, " ")])], "i", "m", 1, False)
@example([("tok", []), ("\x00", [])], "", "", 0, False)
@example([("tok", []), ("x", [(33, 2, "")])], "i", "m", 1, False)  # one quote for two
def test_events_built_from_a_template_are_what_json_loads_reads(
    tokens: list[tuple[str, list[tuple[int, int, str]]]],
    idv: str,
    model: str,
    created: int,
    ascii_only: bool,
) -> None:
    """The stream parser's template (Azure's text events differ only in their token) gives,
    event by event, exactly the chunk, text so far, or typed error of a parser without it:
    for well-formed events, tokens holding quotes, escapes and control characters, and events
    edited anywhere (the template's own text included)."""
    from azure_llama_transport._streaming import _StreamState

    fast = _StreamState("fuzz.example", {}, 1000, "chat")
    slow = _StreamState("fuzz.example", {}, 1000, "chat")
    slow.templates_left = 0  # every event through json.loads
    for n, (token, edits) in enumerate(tokens):
        data = _azure_event(token, idv, model, created, ascii_only)
        for at, drop, junk in edits:
            data = _splice(data, at, drop, junk)
        outcomes = []
        for state in (fast, slow):
            try:
                chunk = state.feed(data)
            except AzureLlamaError as exc:
                outcomes.append((type(exc).__name__, str(exc), getattr(exc, "partial_text", None)))
            else:
                # json.dumps also compares key order; NaN is "NaN" on both sides.
                outcomes.append(("chunk", json.dumps(chunk), state.text, state.chunks))
        assert outcomes[0] == outcomes[1], data
        if outcomes[0][0] != "chunk":
            break
        verbatim = json.dumps(token, ensure_ascii=ascii_only)[1:-1] == token
        if n == 0 and not edits and token and verbatim:
            assert fast.template is not None  # the template is really in use from here on
    assert fast.finish_reason == slow.finish_reason and fast.usage == slow.usage


# -- the error-body parser ----------------------------------------------------------------------

ERROR_KEYS = st.sampled_from(
    [
        "error",
        "message",
        "code",
        "param",
        "status",
        "statusCode",
        "detail",
        "loc",
        "input",
        "innererror",
        "content_filter_result",
        "filtered",
        "severity",
        "jailbreak",
        "type",
    ]
)
ERROR_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ERROR_KEYS | st.text(), inner),
    max_leaves=30,
)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["retry-after", "retry-after-ms", "x-request-id", "x-ms-error-code", "x-ms-error-reason"]
    ),
    st.one_of(
        st.text(max_size=30),
        st.sampled_from(["nan", "inf", "-inf", "1e999", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    ),
)
EXPECTED: dict[int, type[APIStatusError]] = {
    400: BadRequestError,  # or its ContentFilterError
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def check_info(info: ErrorInfo) -> None:
    assert isinstance(info.message, str) and info.message.strip()
    assert info.code is None or isinstance(info.code, str)
    assert info.param is None or isinstance(info.param, str)
    assert isinstance(info.categories, dict)


def check_error(error: APIStatusError, status: int) -> None:
    assert isinstance(
        error, EXPECTED.get(status, InternalServerError if status >= 500 else APIStatusError)
    )
    assert error.status_code == status
    assert str(error).startswith(f"Azure AI endpoint fuzz.example answered {status}: ")
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        # Something a caller can sleep on: never NaN, infinite or negative.
        assert math.isfinite(error.retry_after) and error.retry_after >= 0


STATUSES = st.sampled_from([400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 599])


@settings(max_examples=500, deadline=None)
@given(ERROR_JSON, STATUSES, HEADERS, st.sampled_from(["bytes", "text", "parsed"]))
@example({"message": '{"message": ' * 3000 + '"x"' + "}" * 3000}, 400, {}, "parsed")
@example(
    {"error": {"message": "Rate limit is exceeded. Try again in 1" + "0" * 400 + " seconds."}},
    429,
    {},
    "bytes",
)
@example(None, 429, {"retry-after-ms": "nan"}, "bytes")
@example([], 429, {"retry-after": "inf"}, "text")
def test_any_json_error_body_gives_a_typed_error_with_a_message(
    body: Any, status: int, headers: dict[str, str], form: str
) -> None:
    content: Any = body
    if form != "parsed":
        text = json.dumps(body)
        content = text.encode() if form == "bytes" else text
    check_info(parse_error_body(content))
    check_error(error_from_response(status, headers, content, host="fuzz.example"), status)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.binary()), STATUSES, HEADERS)
@example(b"[" * 100_000, 500, {})
@example(b'{"error":' * 100_000, 400, {})
@example(b"", 404, {})
@example(b"NOT FOUND", 404, {})
@example("\ud800", 502, {})
def test_any_text_error_body_gives_a_typed_error_with_a_message(
    content: str | bytes, status: int, headers: dict[str, str]
) -> None:
    check_info(parse_error_body(content))
    check_error(error_from_response(status, headers, content, host="fuzz.example"), status)


# -- model text: the prompted tool-call and structured-output parsers ----------------------------

NAMES = frozenset({"get_weather"})
WEATHER = Schema("Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
MODEL_FRAGMENTS = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        '"',
        "\\",
        ":",
        ",",
        ";",
        " ",
        "\n",
        "\t",
        "`",
        "```",
        "```json\n",
        "<|python_tag|>",
        "<|eom_id|>",
        "<|eot_id|>",
        '"name"',
        '"get_weather"',
        '"other"',
        '"parameters"',
        '"arguments"',
        '"function"',
        '"type"',
        '"city"',
        '"Lisbon"',
        "null",
        "1",
        "-",
        "e9",
        "\\u00e9",
        "\\ud800",
        "é",
        "Sure, here it is: ",
        '{"name": "get_weather"',
        '"parameters": {"city": "Lisbon"}}',
        "[" * 200,
        "{" * 100,
        "`" * 300,
        " " * 500,
    ]
)
MODEL_TEXT = st.lists(MODEL_FRAGMENTS, max_size=40).map("".join)


@FUZZ
@given(MODEL_TEXT, CUTS)
@example('{"name": "get_weather", "parameters": ' * 5_000, [])
@example("```" + " " * 20_000, [1, 2])
@example('{"name": "get_weather", "arguments": "' + "[" * 50_000 + '"}', [40])
@example('say "' + '{"a": ' * 50_000, [])
def test_any_model_text_parses_to_calls_text_or_an_invalid_answer(
    text: str, cuts: list[int]
) -> None:
    calls = parse_tool_calls(text, NAMES)
    for call in calls or []:
        assert call["function"]["name"] in NAMES
        assert isinstance(json.loads(call["function"]["arguments"]), dict)
    value, problem = WEATHER.parse(text)
    assert (problem is None) == isinstance(value, dict) and (problem is None or problem)
    # Streamed in any pieces: the same calls, or the same text back.
    bounds = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in itertools.pairwise([0, *bounds, len(text)])]
    buffer = ToolCallBuffer(NAMES)
    out = [chunk for piece in pieces for chunk in buffer.feed(_chunk(piece))] + buffer.close()
    deltas = [chunk["choices"][0]["delta"] for chunk in out]
    streamed_calls = [call for d in deltas for call in d.get("tool_calls") or []]
    assert [c["function"]["name"] for c in streamed_calls] == [
        c["function"]["name"] for c in calls or []
    ]
    if not calls:
        assert "".join(d.get("content") or "" for d in deltas) == text


def _chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
