"""Prompted tool calling on wire dicts: Meta's format out, native-looking tool calls back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from azure_llama_transport import ToolCallBuffer, parse_tool_calls, tools_prompt

from .test_protocol_plan import WEATHER

TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
NAMES = frozenset({"get_weather", "get_time"})
META = (
    "Given the following functions, please respond with a JSON for a function call with its "
    "proper arguments that best answers the given prompt.\n\nRespond in the format "
    '{"name": function name, "parameters": dictionary of argument name and its value}. '
    "Do not use variables.\n\n"
)
CALL = '{"name": "get_weather", "parameters": {"city": "Paris"}}'


def test_prompt_is_metas_text_then_each_tool_as_json() -> None:
    prompt = tools_prompt([WEATHER, TIME], "auto")
    assert prompt is not None and prompt.startswith(META)
    assert json.dumps(WEATHER) in prompt and json.dumps(TIME) in prompt
    named = tools_prompt([WEATHER, TIME], {"type": "function", "function": {"name": "get_time"}})
    assert named is not None and json.dumps(WEATHER) not in named and "get_time" in named
    assert tools_prompt([WEATHER], "none") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CALL, [("get_weather", {"city": "Paris"})]),
        (f"<|python_tag|>{CALL}<|eom_id|>", [("get_weather", {"city": "Paris"})]),
        (f"```json\n{CALL}\n```", [("get_weather", {"city": "Paris"})]),
        (
            '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}',
            [("get_weather", {"city": "Paris"})],
        ),
        ('{"name": "get_time", "arguments": "{}"}', [("get_time", {})]),
        (f'{CALL}\n{{"name": "get_time"}}', [("get_weather", {"city": "Paris"}), ("get_time", {})]),
        ('{"name": "launch", "parameters": {}}', None),
        ("It is sunny in Paris.", None),
        (f"Sure: {CALL}", [("get_weather", {"city": "Paris"})]),  # prose kept (as content)
        ("I could use get_weather for that.", None),
        (
            "[get_weather(city='Paris'), get_time()]",
            [("get_weather", {"city": "Paris"}), ("get_time", {})],
        ),
        ('{"name": "get_weather", "parameters": [1]}', None),
    ],
    ids=[
        "plain",
        "python-tag",
        "fence",
        "metas-example-type-key",
        "arguments-text",
        "two-lines",
        "unknown-tool",
        "prose",
        "prose-then-call",
        "name-in-prose",
        "pythonic-parallel",
        "bad-parameters",
    ],
)
def test_parse_gives_openai_shaped_tool_calls(text: str, expected: Any) -> None:
    calls = parse_tool_calls(text, NAMES)
    if expected is None:
        assert calls is None
        return
    assert calls is not None
    assert [
        (c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls
    ] == expected
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)
    assert len({c["id"] for c in calls}) == len(calls)


def _chunks(pieces: list[str]) -> list[dict[str, Any]]:
    out = [
        {
            "id": "x",
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
        }
        for p in pieces
    ]
    out[-1]["choices"][0]["finish_reason"] = "stop"
    out[-1]["usage"] = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    return out


def _run(pieces: list[str], hold_all: bool = False) -> list[dict[str, Any]]:
    buffer = ToolCallBuffer(NAMES, hold_all=hold_all)
    out: list[dict[str, Any]] = []
    for chunk in _chunks(pieces):
        out += buffer.feed(chunk)
    return out + buffer.close()


def _summary(chunks: list[dict[str, Any]]) -> tuple[str, list[Any], str | None, Any]:
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    calls = [
        (t["index"], t["function"]["name"], json.loads(t["function"]["arguments"]))
        for c in chunks
        for t in c["choices"][0]["delta"].get("tool_calls") or []
    ]
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    return text, calls, finish[-1] if finish else None, usage


@pytest.mark.parametrize(
    "answer",
    [
        f"  <|python_tag|>{CALL}<|eom_id|>",
        "It is sunny, 21 degrees.",
        "{not a call",
        f"```json\n{CALL}\n```",
    ],
    ids=["call", "text", "broken-json", "fenced-call"],
)
def test_a_stream_split_at_every_boundary_reads_as_the_whole_answer(answer: str) -> None:
    calls = parse_tool_calls(answer, NAMES)
    expected_calls = (
        [
            (i, c["function"]["name"], json.loads(c["function"]["arguments"]))
            for i, c in enumerate(calls)
        ]
        if calls
        else []
    )
    usage = [{"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}]
    for cut in range(len(answer) + 1):
        text, got, finish, got_usage = _summary(_run([answer[:cut], answer[cut:]]))
        assert got == expected_calls, cut
        assert text == ("" if calls else answer), cut
        assert finish == ("tool_calls" if calls else "stop"), cut
        assert got_usage == usage, cut
    # and one character per chunk
    assert _summary(_run(list(answer)))[1] == expected_calls


def test_plain_text_flows_through_once_it_cannot_be_a_call() -> None:
    buffer = ToolCallBuffer(NAMES)
    first = buffer.feed(_chunks(["  It", " is sunny"])[0])
    assert first and first[0]["choices"][0]["delta"]["content"] == "  It"
    later = _chunks(["x", " more"])[1]
    assert buffer.feed(later) == [later]


def test_a_filtered_stream_is_never_read_as_a_call() -> None:
    chunks = _chunks(['{"name": "get_weather", ', '"parameters": {}}'])
    chunks[-1]["choices"][0]["finish_reason"] = "content_filter"
    buffer = ToolCallBuffer(NAMES)
    out = [o for c in chunks for o in buffer.feed(c)] + buffer.close()
    assert _summary(out)[1] == [] and _summary(out)[2] == "content_filter"
