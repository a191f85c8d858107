"""The deterministic responder's rules: reply-tokens, prompted tools, prompted JSON schema."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from langchain_azure_llama.emulator._schema import instance
from tests._support.emulator import chunks, user

WEATHER_DEF = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
CLOCK_DEF = {
    "name": "get_time",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
}
TOOLS_PROMPT = (
    "Given the following functions, please respond with a JSON for a function call with its "
    "proper arguments that best answers the given prompt.\n\n"
    'Respond in the format {"name": function name, "parameters": dictionary of argument name '
    "and its value}. Do not use variables.\n\n"
    f"{json.dumps(CLOCK_DEF)}\n\n{json.dumps(WEATHER_DEF, indent=2)}\n\n"
)
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 18},
        "born": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age"],
}
SCHEMA_PROMPT = (
    "Respond only with a JSON object that matches this JSON schema, no prose:\n"
    f"{json.dumps(SCHEMA)}"
)


def _content(client: httpx.Client, messages: list[dict[str, Any]]) -> str:
    body = client.post("/chat/completions", json={"messages": messages}).json()
    return str(body["choices"][0]["message"]["content"])


def test_reply_tokens_header_5000_chunk_stream(client: httpx.Client) -> None:
    headers = {"x-emulator-reply-tokens": "5000"}
    response = client.post(
        "/chat/completions", json={**user("go"), "stream": True}, headers=headers
    )
    events = chunks(response.text)
    assert len(events) == 1 + 5000
    deltas = [e["choices"][0]["delta"]["content"] for e in events[1:]]
    assert deltas[:3] == ["tok0", " tok1", " tok2"] and deltas[-1] == " tok4999"
    assert events[-1]["usage"]["completion_tokens"] == 5000
    assert response.text.endswith("data: [DONE]\n\n")


def test_reply_tokens_respects_max_tokens(client: httpx.Client) -> None:
    headers = {"x-emulator-reply-tokens": "50"}
    body = client.post(
        "/chat/completions", json={**user("go"), "max_tokens": 10}, headers=headers
    ).json()
    assert body["usage"]["completion_tokens"] == 10
    assert body["choices"][0]["finish_reason"] == "length"


def test_prompted_tools_in_the_user_message(client: httpx.Client) -> None:
    text = TOOLS_PROMPT + "Question: what is the get_weather for city=Paris days=2?"
    reply = _content(client, [{"role": "user", "content": text}])
    assert reply == '{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}'


def test_prompted_tools_in_the_system_message_first_tool_by_default(client: httpx.Client) -> None:
    messages = [{"role": "system", "content": TOOLS_PROMPT}, {"role": "user", "content": "hello"}]
    assert json.loads(_content(client, messages)) == {
        "name": "get_time",
        "parameters": {"tz": "example"},
    }


def test_prompted_tools_streamed_as_text(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": TOOLS_PROMPT},
        {"role": "user", "content": "use get_weather"},
    ]
    response = client.post("/chat/completions", json={"messages": messages, "stream": True})
    events = chunks(response.text)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert json.loads(text)["name"] == "get_weather"
    assert len(events) > 3  # several content chunks, to exercise accumulation


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"role": "user", "content": "Tool result: 18C"}, id="user-tool-result"),
        pytest.param({"role": "ipython", "content": "18C"}, id="ipython"),
        pytest.param({"role": "tool", "tool_call_id": "x", "content": "18C"}, id="tool"),
    ],
)
def test_prompted_tools_stop_after_a_tool_result(
    client: httpx.Client, result: dict[str, Any]
) -> None:
    messages = [
        {"role": "system", "content": TOOLS_PROMPT},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": '{"name": "get_weather", "parameters": {"city": "x"}}'},
        result,
    ]
    reply = _content(client, messages)
    assert not reply.startswith("{") and "18C" in reply


def test_prompted_json_schema(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": SCHEMA_PROMPT},
        {"role": "user", "content": "name: Ada"},
    ]
    assert json.loads(_content(client, messages)) == {
        "name": "Ada",
        "age": 18,
        "born": "2024-01-01",
        "tags": [],
    }


def test_prompted_json_badjson_then_repair(client: httpx.Client) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SCHEMA_PROMPT + "\nBADJSON"},
        {"role": "user", "content": "describe someone"},
    ]
    first = _content(client, messages)
    assert first == '{"oops": '
    with pytest.raises(json.JSONDecodeError):
        json.loads(first)
    messages += [
        {"role": "assistant", "content": first},
        {"role": "user", "content": "That was not valid JSON; answer again."},
    ]
    assert json.loads(_content(client, messages))["age"] == 18


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [
        pytest.param({"type": "string", "enum": ["b", "a"]}, "", "b", id="enum"),
        pytest.param({"const": 7}, "", 7, id="const"),
        pytest.param({"type": "number", "maximum": 0.5}, "", 0.5, id="number-max"),
        pytest.param({"type": ["null", "boolean"]}, "", True, id="type-list"),
        pytest.param({"anyOf": [{"type": "null"}, {"type": "integer"}]}, "", 1, id="optional"),
        pytest.param(
            {"type": "array", "items": {"type": "integer"}, "minItems": 2},
            "",
            [1, 1],
            id="min-items",
        ),
        pytest.param(
            {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}}},
            "",
            {"when": "2024-01-01T00:00:00Z"},
            id="format",
        ),
        pytest.param(
            {"type": "object", "properties": {"city": {"type": "string"}}},
            'weather for city: "New York" please',
            {"city": "New York"},
            id="quoted-hint",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"who": {"type": "string"}, "what": {"type": "string"}},
            },
            "Create a customer named '你好啊集团' (it's \"tech\")",
            {"who": "你好啊集团", "what": "tech"},
            id="quoted-phrases",
        ),
        pytest.param(
            {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "number"}}},
            "ok=false n=2.5",
            {"ok": False, "n": 2.5},
            id="typed-hints",
        ),
        pytest.param(
            {
                "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat"]}}}},
                "type": "object",
                "properties": {"pet": {"$ref": "#/$defs/Pet"}},
            },
            "",
            {"pet": {"kind": "cat"}},
            id="ref",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"b": {"type": "integer"}, "a": {"type": "integer"}},
                "required": ["a"],
            },
            "",
            {"a": 1, "b": 1},
            id="required-first",
        ),
    ],
)
def test_schema_instances(schema: dict[str, Any], text: str, expected: Any) -> None:
    value = instance(schema, text)
    assert value == expected
    assert list(value) == list(expected) if isinstance(expected, dict) else True
