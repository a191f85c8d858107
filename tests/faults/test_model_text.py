"""Hostile model text: every parser linear, every malformed answer a typed error, prompted
streams and repair rounds bounded.

Two halves. Growth: each parser of model text (the fence unwrap, `parse_tool_calls`,
`extract_json`, `Schema.parse`, `ToolCallBuffer` over many events) is timed on adversarial
inputs at two sizes, 8x apart; linear time grows about 8x, quadratic 64x, so the test fails
above 24x (best of several runs, so a loaded machine does not make it flaky). Before the fix a
fence followed by 2,000 spaces took 3.8 s (cubic). Faults: crafted answers from a raw loopback
server through both front ends, whole and streamed, sync and async.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from langchain_core.messages import AIMessage

import azure_llama_transport as t
import langchain_azure_llama as lc
from azure_llama_transport._llama._bounds import json_depth, unfence
from azure_llama_transport._llama._schema import repair_messages
from tests._support.faults import ALL_MODES, Case, Drivers
from tests._support.raw_server import RawServer, delta, http_response, reply, sse_event

NAMES = frozenset({"get_weather"})
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SCHEMA = t.Schema("Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
DEEP = 100_000  # brackets: json.loads raises RecursionError on a tenth of this


# -- growth: linear time on adversarial text ---------------------------------------------------

SMALL, FACTOR = 25_000, 8
PROBE = 1_000
MAX_RATIO = 24.0  # linear ~8, quadratic ~64


def _feed_events(texts: list[str]) -> None:
    buffer = t.ToolCallBuffer(NAMES)
    for text in texts:
        buffer.feed(delta(text))
    buffer.close()


def _feed_hold_all(texts: list[str]) -> None:
    buffer = t.ToolCallBuffer(NAMES, hold_all=True)
    for text in texts:
        buffer.feed(delta(text))
    buffer.close()


# name -> (parser, input of size n)
GROWTH: dict[str, tuple[Callable[[Any], Any], Callable[[int], Any]]] = {
    "unfence-spaces": (unfence, lambda n: "```" + " " * n + "x"),
    "unfence-closed": (unfence, lambda n: "```" + " " * n + "x```"),
    "tools-fence-spaces": (lambda s: t.parse_tool_calls(s, NAMES), lambda n: "```" + " " * n + "x"),
    "tools-fence-json-spaces": (
        lambda s: t.parse_tool_calls(s, NAMES),
        lambda n: "```json" + " " * n + "\n{}" + " " * n,
    ),
    "tools-nested-brackets": (lambda s: t.parse_tool_calls(s, NAMES), lambda n: "[" * n),
    "tools-many-separators": (
        lambda s: t.parse_tool_calls(s, NAMES),
        lambda n: '{"name": "get_weather"}' + " ;," * n + "x",
    ),
    "tools-deep-arguments": (
        lambda s: t.parse_tool_calls(s, NAMES),
        lambda n: '{"name": "get_weather", "arguments": "' + "[" * n + '"}',
    ),
    "extract-fence-spaces": (t.extract_json, lambda n: "```" + " " * n + "x"),
    "extract-nested-objects": (t.extract_json, lambda n: '{"a":' * n),
    "extract-prose-then-deep": (t.extract_json, lambda n: 'say "' + '{"a":' * n),
    "extract-escaped-quotes": (t.extract_json, lambda n: '{"a": "' + '\\"' * n),
    "schema-fence-spaces": (SCHEMA.parse, lambda n: "```json " + " " * n + "{}"),
    "schema-nested-lists": (SCHEMA.parse, lambda n: "[" * n + "]" * n),
    "depth-unclosed-strings": (json_depth, lambda n: '"\\"' * n),
    "buffer-whitespace-events": (_feed_events, lambda n: [" "] * (n // 10)),
    "buffer-held-call-events": (_feed_events, lambda n: ["{"] + [" "] * (n // 10)),
    "buffer-hold-all-events": (_feed_hold_all, lambda n: ["\n"] * (n // 10)),
}


def _best_time(parse: Callable[[Any], Any], value: Any, reps: int, tries: int = 5) -> float:
    # The cyclic collector's passes grow with every object alive (the other tests' too), not
    # with the parser's work: collected before and kept off while timing.
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(tries):
            start = time.perf_counter()
            for _ in range(reps):
                # Bad JSON is a ValueError; what matters here is how long it took.
                with contextlib.suppress(ValueError):
                    parse(value)
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize("name", list(GROWTH), ids=list(GROWTH))
def test_each_parser_is_linear_on_adversarial_text(name: str) -> None:
    parse, make = GROWTH[name]
    # A cubic parser would not finish at SMALL (the old fence regex: 2 hours): fail it early.
    probe = _best_time(parse, make(PROBE), 1, tries=1)
    assert probe < 0.1, f"{name}: {PROBE:,} characters took {probe:.2f} s"
    small, large = make(SMALL), make(SMALL * FACTOR)
    # Repeat the small input until it takes a measurable time (a few ms), the large as often.
    reps = 1
    while _best_time(parse, small, reps, tries=1) < 0.005 and reps < 4096:
        reps *= 2
    ratios = []
    for _ in range(3):  # noise (another process, a cache miss) only ever makes a ratio larger
        ratios.append(_best_time(parse, large, reps) / _best_time(parse, small, reps))
        if ratios[-1] < MAX_RATIO:
            return
    pytest.fail(f"{name}: {FACTOR}x the input took {min(ratios):.1f}x the time ({ratios})")


# -- the parsers' answers on hostile text -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * DEEP, id="deep-list"),
        pytest.param('{"name": "get_weather", "parameters": ' * DEEP, id="deep-calls"),
        pytest.param('{"name": "get_weather", "arguments": "' + "[" * DEEP + '"}', id="deep-args"),
        pytest.param("```json\n" + "[" * DEEP + "\n```", id="deep-in-fence"),
        pytest.param("```" + " " * 3000, id="fence-and-spaces"),
    ],
)
def test_hostile_prompted_text_is_not_a_call(text: str) -> None:
    assert t.parse_tool_calls(text, NAMES) is None


def test_a_call_nested_within_the_depth_limit_still_parses() -> None:
    city: Any = "Lisbon"
    for _ in range(t.Limits().max_json_depth - 3):
        city = [city]
    text = json.dumps({"name": "get_weather", "parameters": {"city": city}})
    (call,) = t.parse_tool_calls(text, NAMES) or []
    assert json.loads(call["function"]["arguments"]) == {"city": city}
    assert t.parse_tool_calls(text, NAMES, limits=t.Limits(max_json_depth=10)) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": ' * DEEP, id="deep-object"),
        pytest.param("[" * DEEP + "]" * DEEP, id="deep-but-closed"),
        pytest.param('Here: "' + '{"a": ' * DEEP, id="quote-in-prose-then-deep"),
        pytest.param("]" * 100 + "[" * DEEP, id="closing-brackets-first"),
    ],
)
def test_deep_json_answers_are_invalid_not_a_recursion_error(text: str) -> None:
    with pytest.raises(ValueError, match="max_json_depth"):
        t.extract_json(text)
    value, problem = SCHEMA.parse(text)
    assert value is None and problem is not None and "max_json_depth" in problem


def test_schema_problems_quote_a_bounded_excerpt() -> None:
    answer = json.dumps(["x" * 1000] * 500)  # jsonschema's message holds its whole repr
    _, problem = SCHEMA.parse(answer)
    assert problem is not None and "is not of type 'object'" in problem
    assert len(problem) < 1000


def test_too_many_calls_raise_and_the_limit_is_a_setting() -> None:
    one = '{"name": "get_weather", "parameters": {}}'
    limit = t.Limits().max_tool_calls
    assert len(t.parse_tool_calls("\n".join([one] * limit), NAMES) or []) == limit
    with pytest.raises(t.ResponseTooLargeError) as caught:
        t.parse_tool_calls("\n".join([one] * 10_000), NAMES)
    assert caught.value.limit == "max_tool_calls"
    raised = t.parse_tool_calls("[" + ",".join([one] * 300) + "]", NAMES, limits=_calls(300))
    assert len(raised or []) == 300


def _calls(n: int) -> t.Limits:
    return t.Limits(max_tool_calls=n)


def test_an_answer_over_the_size_limit_is_not_parsed() -> None:
    call = '{"name": "get_weather", "parameters": {"city": "' + "x" * 200 + '"}}'
    assert t.parse_tool_calls(call, NAMES, limits=t.Limits(max_model_text=100)) is None
    _, problem = SCHEMA.parse('{"city": "Lisbon"}', limits=t.Limits(max_model_text=10))
    assert problem is not None and "max_model_text" in problem


def test_a_held_stream_is_released_as_text_past_the_size_limit() -> None:
    buffer = t.ToolCallBuffer(NAMES, limits=t.Limits(max_model_text=1000))
    start = '{"name": "get_weather", "parameters": {"city": "'
    pieces = [start + "x" * (100 - len(start))] + ["x" * 100] * 9
    held = [buffer.feed(delta(piece)) for piece in pieces]
    assert all(out == [] for out in held)  # 1,000 characters of a call: held
    (released,) = buffer.feed(delta("y"))
    assert released["choices"][0]["delta"]["content"] == "".join(pieces) + "y"
    assert buffer.feed(delta("z")) == [delta("z")]  # the rest passes straight through
    assert buffer.close() == []


def test_a_held_json_answer_past_the_size_limit_is_invalid() -> None:
    buffer = t.ToolCallBuffer(NAMES, hold_all=True, limits=t.Limits(max_model_text=1000))
    buffer.feed(delta("{" * 1000))
    with pytest.raises(t.StructuredOutputError, match="max_model_text"):
        buffer.feed(delta("{"))


def test_repair_requests_echo_a_bounded_excerpt() -> None:
    answer = "x" * 20_000_000
    *_, echoed, request = repair_messages([], answer, "The answer is not JSON " * 10_000)
    assert len(echoed["content"]) < 10_000 and echoed["content"].startswith("xxx")
    assert "characters]..." in echoed["content"]
    assert len(request["content"]) < 1_000


# -- through both front ends: whole and streamed, sync and async -------------------------------


def _completion(message: dict[str, Any], **extra: Any) -> bytes:
    body = {
        "id": "hostile-1",
        "object": "chat.completion",
        "created": 0,
        "model": "hostile",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        **extra,
    }
    return json.dumps(body).encode()


def _stream(*chunks: dict[str, Any]) -> bytes:
    return b"".join([*(sse_event(chunk) for chunk in chunks), sse_event("[DONE]")])


def _answer(server: RawServer, case: Case, whole: bytes, streamed: bytes) -> None:
    if case[1] in ("stream", "astream"):
        server.answer(streamed, "text/event-stream")
    else:
        server.answer(whole, "application/json")


def _chunk(content: str | None = None, **delta_fields: Any) -> dict[str, Any]:
    chunk = delta(content or "")
    chunk["choices"][0]["delta"].update(delta_fields)
    return chunk


def _finish(reason: str = "stop", **extra: Any) -> dict[str, Any]:
    chunk = _chunk()
    chunk["choices"][0]["finish_reason"] = reason
    chunk.update(extra)
    return chunk


def _expected(front: str, error: type[t.AzureLlamaError]) -> type[Exception]:
    if front == "langchain":
        return getattr(lc, error.__name__)  # type: ignore[no-any-return]
    return {
        t.StructuredOutputError: litellm.JSONSchemaValidationError,
        t.ResponseTooLargeError: litellm.InternalServerError,
        t.ResponseDecodeError: litellm.InternalServerError,
    }[error]


def _assert_raised(caught: BaseException | None, front: str, error: type[t.AzureLlamaError]):
    assert caught is not None, "the call succeeded"
    expected = _expected(front, error)
    assert isinstance(caught, expected), f"{type(caught).__name__}: {caught}"
    assert not isinstance(caught, litellm.APIConnectionError)  # not a connection problem
    assert len(str(caught)) < 5_000  # the message quotes an excerpt, never the answer


@pytest.mark.parametrize("case", ALL_MODES)
async def test_a_deep_prompted_answer_is_text_not_a_recursion_error(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    text = "[" * DEEP
    _answer(raw_server, case, _completion({"content": text}), _stream(_chunk(text), _finish()))
    driver = drive(case, raw_server.url, tool_calling="prompt", max_retries=0)
    result = await driver.call(tools=[WEATHER_TOOL])
    assert result.error is None, repr(result.error)
    assert result.text == text


@pytest.mark.parametrize("case", ALL_MODES)
async def test_a_deep_structured_answer_is_a_structured_output_error(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    text = '{"city": ' * DEEP
    _answer(raw_server, case, _completion({"content": text}), _stream(_chunk(text), _finish()))
    driver = drive(case, raw_server.url, max_retries=0)
    schema = {"name": "Weather", "schema": SCHEMA.json_schema}
    result = await driver.call(response_format={"type": "json_schema", "json_schema": schema})
    if case[1] in ("stream", "astream"):
        # Native structured output (the raw server takes `response_format`) streams as it
        # comes: nothing is parsed, so nothing can recurse.
        assert result.error is None and result.text == text
    else:
        _assert_raised(result.error, case[0], t.StructuredOutputError)
        assert raw_server.hits == 2  # the answer and one repair round


@pytest.mark.parametrize("case", ALL_MODES)
@pytest.mark.parametrize(
    "usage",
    [
        pytest.param({"completion_tokens": "x"}, id="string"),
        pytest.param({"prompt_tokens": 1.5}, id="float"),
        pytest.param({"total_tokens": -1}, id="negative"),
        pytest.param({"prompt_tokens": True}, id="bool"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
async def test_bad_usage_is_a_decode_error(
    raw_server: RawServer, drive: Drivers, case: Case, usage: Any
) -> None:
    whole = _completion({"content": "hello"}, usage=usage)
    _answer(raw_server, case, whole, _stream(_chunk("hello"), _finish(usage=usage)))
    result = await drive(case, raw_server.url, max_retries=0).call()
    _assert_raised(result.error, case[0], t.ResponseDecodeError)
    assert "usage" in str(result.error)


@pytest.mark.parametrize("case", ALL_MODES)
async def test_deep_native_arguments_are_an_invalid_call_not_a_recursion_error(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    arguments = "[" * DEEP
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather"}}
    whole_call = {**call, "function": {**call["function"], "arguments": arguments}}
    streamed = [{**call, "index": 0, "function": {**call["function"], "arguments": arguments}}]
    _answer(
        raw_server,
        case,
        _completion({"content": None, "tool_calls": [whole_call]}),
        _stream(_chunk(tool_calls=streamed), _finish("tool_calls")),
    )
    driver = drive(case, raw_server.url, max_retries=0)
    if case[0] == "litellm":
        result = await driver.call(tools=[WEATHER_TOOL])
        assert result.error is None, repr(result.error)  # LiteLLM hands the string on as is
        return
    model = driver.model
    assert model is not None
    message = await _langchain_message(model.bind_tools([WEATHER_TOOL]), case[1])
    (invalid,) = message.invalid_tool_calls
    assert invalid["name"] == "get_weather" and not message.tool_calls


async def _langchain_message(model: Any, mode: str) -> AIMessage:
    if mode == "stream":
        chunks = list(model.stream("hi"))
    elif mode == "astream":
        chunks = [chunk async for chunk in model.astream("hi")]
    elif mode == "ainvoke":
        return await model.ainvoke("hi")  # type: ignore[no-any-return]
    else:
        return model.invoke("hi")  # type: ignore[no-any-return]
    message = chunks[0]
    for chunk in chunks[1:]:
        message += chunk
    return message  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", ALL_MODES)
async def test_prompted_mode_refuses_native_calls_to_tools_not_offered(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "delete_everything"}}
    _answer(
        raw_server,
        case,
        _completion(
            {
                "content": None,
                "tool_calls": [{**call, "function": {**call["function"], "arguments": "{}"}}],
            }
        ),
        _stream(
            _chunk(
                tool_calls=[
                    {
                        **call,
                        "index": 0,
                        "function": {"name": "delete_everything", "arguments": "{}"},
                    }
                ]
            ),
            _finish("tool_calls"),
        ),
    )
    driver = drive(case, raw_server.url, tool_calling="prompt", max_retries=0)
    result = await driver.call(tools=[WEATHER_TOOL])
    _assert_raised(result.error, case[0], t.ResponseDecodeError)
    assert "delete_everything" in str(result.error) and "not offer" in str(result.error)


@pytest.mark.parametrize("case", ALL_MODES)
async def test_an_offered_native_call_in_prompted_mode_still_arrives(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    _answer(
        raw_server,
        case,
        _completion({"content": None, "tool_calls": [call]}),
        _stream(_chunk(tool_calls=[{**call, "index": 0}]), _finish("tool_calls")),
    )
    driver = drive(case, raw_server.url, tool_calling="prompt", max_retries=0)
    result = await driver.call(tools=[WEATHER_TOOL])
    assert result.error is None, repr(result.error)


@pytest.mark.parametrize("case", ALL_MODES)
async def test_too_many_prompted_calls_are_a_typed_error(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    text = "\n".join(['{"name": "get_weather", "parameters": {}}'] * 30_000)
    _answer(raw_server, case, _completion({"content": text}), _stream(_chunk(text), _finish()))
    driver = drive(case, raw_server.url, tool_calling="prompt", max_retries=0)
    result = await driver.call(tools=[WEATHER_TOOL])
    # 1.2 M characters of calls: over max_model_text, so never parsed; it stays text.
    assert result.error is None and result.text == text
    text = "\n".join(['{"name": "get_weather", "parameters": {}}'] * 1000)
    _answer(raw_server, case, _completion({"content": text}), _stream(_chunk(text), _finish()))
    result = await driver.call(tools=[WEATHER_TOOL])
    _assert_raised(result.error, case[0], t.ResponseTooLargeError)
    assert "max_tool_calls" in str(result.error)


@pytest.mark.parametrize("case", ALL_MODES)
async def test_a_prompted_call_that_never_closes_is_released_as_text(
    raw_server: RawServer, drive: Drivers, case: Case
) -> None:
    # A call's start, then 1.09 M characters: past Limits.max_model_text. (Fewer than 100
    # identical chunks pass on after it: LiteLLM's loop detector stops a stream at 100.)
    pieces = ['{"name": "get_weather", "parameters": {"city": "'] + ["x" * 1000] * 1090
    chunks = [_chunk(piece) for piece in pieces]
    text = "".join(pieces)
    _answer(raw_server, case, _completion({"content": text}), _stream(*chunks, _finish()))
    driver = drive(case, raw_server.url, tool_calling="prompt", max_retries=0)
    result = await driver.call(tools=[WEATHER_TOOL])
    assert result.error is None, repr(result.error)
    assert result.text == text
    if case[1] in ("stream", "astream"):
        # Held up to the limit, then passed on event by event: not one chunk at the end.
        assert sum(1 for piece in result.pieces if piece) > 50


@pytest.mark.parametrize("case", [p for p in ALL_MODES if p.id and "stream" not in p.id])
async def test_a_repair_round_echoes_a_bounded_excerpt(drive: Drivers, case: Case) -> None:
    bad = json.dumps({"city": ["x" * 1000] * 500})  # 500 KB, the wrong shape
    with RawServer(reply(http_response(body=_completion({"content": bad})))) as server:
        driver = drive(case, server.url, max_retries=0)
        result = await driver.call(response_format={"type": "json_schema", **_weather()})
        _assert_raised(result.error, case[0], t.StructuredOutputError)
        first, repair = server.requests
    assert len(repair) - len(first) < 12_000  # not the 500 KB answer, nor jsonschema's repr of it
    assert b"is not of type" in repair


def _weather() -> dict[str, Any]:
    return {"json_schema": {"name": "Weather", "schema": SCHEMA.json_schema}}
