"""Chat completions on the Model Inference route: bodies, streams, tools, validation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import chunks, data_lines, user

MODEL = "Meta-Llama-3.1-8B-Instruct"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "city": {"type": "string"},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def test_non_stream_shape(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=user("Hello there, how are you today?"))
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id", "object", "created", "model", "choices", "usage"]
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["object"] == "chat.completion" and isinstance(body["created"], int)
    assert body["model"] == MODEL
    text = f"Emulated reply from {MODEL}: Hello there, how are you today?"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": text, "tool_calls": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == {"prompt_tokens": 6, "completion_tokens": 10, "total_tokens": 16}
    headers = response.headers
    assert headers["x-ms-rai-invoked"] == "true"
    assert headers["prompt_token_len"] == "6" and headers["sampling_token_len"] == "10"
    assert headers["x-request-id"] and headers["azureml-model-session"]


def test_default_reply_quotes_twelve_words(client: httpx.Client) -> None:
    words = " ".join(f"w{i}" for i in range(20))
    content = client.post("/chat/completions", json=user(words)).json()["choices"][0]["message"]
    assert content["content"] == f"Emulated reply from {MODEL}: " + " ".join(
        f"w{i}" for i in range(12)
    )


def test_list_content_counts_text_parts(client: httpx.Client) -> None:
    parts = [{"type": "text", "text": "one two"}, {"type": "text", "text": "three"}]
    body = {
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": parts}]
    }
    assert client.post("/chat/completions", json=body).json()["usage"]["prompt_tokens"] == 5


def test_stream_shape(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json={**user("Hi there"), "stream": True})
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-ms-rai-invoked"] == "true"
    assert response.text.endswith("data: [DONE]\n\n")
    assert all(event.startswith("data: ") for event in response.text.split("\n\n") if event)
    events = chunks(response.text)
    first, *middle, last = events
    assert first["choices"] == [
        {
            "delta": {"content": "", "role": "assistant"},
            "finish_reason": None,
            "index": 0,
            "logprobs": None,
        }
    ]
    assert [e["choices"][0]["finish_reason"] for e in middle] == [None] * len(middle)
    assert all("usage" not in e for e in [first, *middle])
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"] == {"completion_tokens": 6, "prompt_tokens": 2, "total_tokens": 8}
    assert all(list(e) == ["choices", "created", "id", "model", "object"] for e in middle)
    assert {e["object"] for e in events} == {"chat.completion.chunk"}
    assert len({e["id"] for e in events}) == 1
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert text == f"Emulated reply from {MODEL}: Hi there"
    assert middle[1]["choices"][0]["delta"] == {"content": " reply"}  # leading space kept


def test_stream_is_compact_json(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json={**user("Hi"), "stream": True})
    for line in data_lines(response.text)[:-1]:
        assert line == json.dumps(json.loads(line), separators=(",", ":"), sort_keys=True)


def test_max_tokens_caps_with_length(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json={**user("a b c d"), "max_tokens": 2}).json()
    assert body["choices"][0]["message"]["content"] == "Emulated reply"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2


def test_stop_sequence_cuts_the_text(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json={**user("x"), "stop": ["from"]}).json()
    assert body["choices"][0]["message"]["content"] == "Emulated reply "


def test_native_tool_call_non_stream(client: httpx.Client) -> None:
    request = {**user("Use get_weather with city=Paris days: 3"), "tools": [CLOCK, WEATHER]}
    body = client.post("/chat/completions", json=request).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] == ""  # not null, as recorded
    (call,) = message["tool_calls"]
    assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather" and call["function"]["call_id"] is None
    assert json.loads(call["function"]["arguments"]) == {
        "city": "Paris",
        "unit": "celsius",
        "days": 3,
    }
    again = client.post("/chat/completions", json=request).json()
    assert again["choices"][0]["message"]["tool_calls"][0]["id"] == call["id"]  # deterministic


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        pytest.param(
            {"type": "function", "function": {"name": "get_time"}}, "get_time", id="forced"
        ),
        pytest.param("required", "get_weather", id="required-by-name"),
        pytest.param("auto", "get_weather", id="auto-by-name"),
        pytest.param(None, "get_weather", id="default"),
    ],
)
def test_tool_choice_picks_the_tool(client: httpx.Client, tool_choice: Any, expected: str) -> None:
    request: dict[str, Any] = {**user("use get_weather please"), "tools": [CLOCK, WEATHER]}
    if tool_choice is not None:
        request["tool_choice"] = tool_choice
    message = client.post("/chat/completions", json=request).json()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["name"] == expected


def test_first_tool_when_none_is_named(client: httpx.Client) -> None:
    request = {**user("do something"), "tools": [WEATHER, CLOCK]}
    message = client.post("/chat/completions", json=request).json()["choices"][0]["message"]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {
        "city": "example",
        "unit": "celsius",
        "days": 1,
    }


def test_tool_choice_none_answers_in_text(client: httpx.Client) -> None:
    request = {**user("get_weather"), "tools": [WEATHER], "tool_choice": "none"}
    choice = client.post("/chat/completions", json=request).json()["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["tool_calls"] is None


def test_streamed_tool_call_is_one_chunk_without_index_or_type(client: httpx.Client) -> None:
    request = {**user("weather in city=Seattle"), "tools": [WEATHER], "stream": True}
    response = client.post("/chat/completions", json=request)
    role, call_chunk = chunks(response.text)
    assert role["choices"][0]["delta"] == {"content": "", "role": "assistant"}
    choice = call_chunk["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["delta"]["tool_calls"]
    assert set(call) == {"function", "id"}  # no index, no type
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] == "Seattle"
    assert set(call_chunk["usage"]) == {"completion_tokens", "prompt_tokens", "total_tokens"}
    assert response.text.endswith("data: [DONE]\n\n")


def test_tool_result_turn(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
    ]
    body = client.post("/chat/completions", json={"messages": messages, "tools": [WEATHER]}).json()
    choice = body["choices"][0]
    assert choice["message"]["content"] == "The tool get_weather returned: 18C and sunny."
    assert choice["finish_reason"] == "stop"


AFTER_A_TOOL_RESULT = [
    {"role": "user", "content": "weather in city=Oslo, then report it"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        pytest.param(
            {"type": "function", "function": {"name": "get_time"}}, "get_time", id="named"
        ),
        pytest.param("required", "get_weather", id="required"),
        pytest.param("auto", None, id="auto"),
        pytest.param(None, None, id="default"),
        pytest.param("none", None, id="none"),
    ],
)
def test_a_forced_tool_choice_is_obeyed_after_tool_results(
    client: httpx.Client, tool_choice: Any, expected: str | None, stream: bool
) -> None:
    # As a real model's constrained decoding does: LangChain's ToolStrategy forces its schema
    # tool on the turn after the agent's own tools ran; unforced, the result gets a text answer.
    request: dict[str, Any] = {"messages": AFTER_A_TOOL_RESULT, "tools": [WEATHER, CLOCK]}
    if tool_choice is not None:
        request["tool_choice"] = tool_choice
    if stream:
        response = client.post("/chat/completions", json={**request, "stream": True})
        last = chunks(response.text)[-1]["choices"][0]
        finish, calls = last["finish_reason"], last["delta"].get("tool_calls")
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks(response.text))
    else:
        choice = client.post("/chat/completions", json=request).json()["choices"][0]
        finish, calls, text = (
            choice["finish_reason"],
            choice["message"]["tool_calls"],
            choice["message"]["content"],
        )
    if expected is None:
        assert (finish, calls) == ("stop", None)
        assert text == "The tool get_weather returned: 18C and sunny."
    else:
        assert finish == "tool_calls" and text == ""
        assert [c["function"]["name"] for c in calls] == [expected]
        if expected == "get_weather":  # arguments from the last user message
            assert json.loads(calls[0]["function"]["arguments"])["city"] == "Oslo"


def test_tool_mode_reject_returns_the_vllm_400(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(tool_mode="reject"))
    response = http.post("/chat/completions", json={**user("hi"), "tools": [WEATHER]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == ("Bad Request", 400)
    inner = json.loads(error["message"])  # a JSON string from vLLM
    assert inner["message"] == (
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    )
    assert (inner["object"], inner["type"], inner["code"]) == ("error", "BadRequestError", 400)
    assert http.post("/chat/completions", json=user("hi")).status_code == 200


EXTRA_TEXT = (
    "Extra parameters ['top_k', 'stream_options'] are not allowed when extra-parameters is not "
    "set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model."
)


@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="absent"), pytest.param({"extra-parameters": "error"}, id="error")],
)
def test_unknown_keys_rejected(client: httpx.Client, headers: dict[str, str]) -> None:
    request = {**user("hi"), "top_k": 3, "stream_options": {"include_usage": True}}
    response = client.post("/chat/completions", json=request, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"detail": EXTRA_TEXT}


def test_stream_options_alone_is_rejected(client: httpx.Client) -> None:
    request = {**user("hi"), "stream": True, "stream_options": {"include_usage": True}}
    response = client.post("/chat/completions", json=request)
    assert response.status_code == 400
    assert "['stream_options']" in response.json()["detail"]
    assert "Set extra-parameters to 'pass-through'" in response.json()["detail"]


def test_unknown_keys_dropped(client: httpx.Client) -> None:
    request = {**user("hi"), "n": 3, "top_k": 2}
    response = client.post("/chat/completions", json=request, headers={"extra-parameters": "drop"})
    assert response.status_code == 200
    assert len(response.json()["choices"]) == 1  # n was dropped


def test_unknown_keys_passed_through(client: httpx.Client, emu: Emulator) -> None:
    request = {**user("hi"), "n": 3, "logprobs": True}
    headers = {"extra-parameters": "pass-through"}
    response = client.post("/chat/completions", json=request, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 * 5
    assert emu.requests[-1].headers["extra-parameters"] == "pass-through"


def _parameter_not_supported(value: str) -> dict[str, Any]:
    # REF-API's documented 422 for a response_format Llama does not support.
    return {
        "status": 422,
        "code": "parameter_not_supported",
        "detail": {"loc": ["body", "response_format"], "input": value},
        "message": "One of the parameters contain invalid values.",
    }


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18}},
    "required": ["name", "age"],
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "Person", "schema": PERSON}}


@pytest.mark.parametrize(
    "mode", [pytest.param("accept", id="accept"), pytest.param("reject", id="reject")]
)
def test_json_object_is_refused_in_every_mode(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client], mode: str
) -> None:
    http = make_client(make_emulator(response_format_mode=mode))
    request = {**user("hi"), "response_format": {"type": "json_object"}}
    response = http.post("/chat/completions", json=request)
    assert response.status_code == 422
    assert response.json() == _parameter_not_supported("json_object")


@pytest.mark.parametrize(
    "stream", [pytest.param(False, id="whole"), pytest.param(True, id="stream")]
)
def test_json_schema_is_answered_natively_by_default(client: httpx.Client, stream: bool) -> None:
    request = {**user("name: Ada"), "response_format": JSON_SCHEMA_FORMAT, "stream": stream}
    response = client.post("/chat/completions", json=request)
    assert response.status_code == 200
    if stream:
        text = "".join(e["choices"][0]["delta"].get("content", "") for e in chunks(response.text))
    else:
        text = response.json()["choices"][0]["message"]["content"]
    assert json.loads(text) == {"name": "Ada", "age": 18}


def test_json_schema_answer_follows_a_native_tool_round(client: httpx.Client) -> None:
    request = {
        **user("weather? city=Oslo"),
        "tools": [WEATHER],
        "response_format": JSON_SCHEMA_FORMAT,
    }
    first = client.post("/chat/completions", json=request).json()["choices"][0]["message"]
    assert first["tool_calls"][0]["function"]["name"] == "get_weather"
    request["messages"] += [
        {"role": "assistant", "content": "", "tool_calls": first["tool_calls"]},
        {"role": "tool", "tool_call_id": first["tool_calls"][0]["id"], "content": "18C"},
    ]
    final = client.post("/chat/completions", json=request).json()["choices"][0]
    assert json.loads(final["message"]["content"]) == {"name": "example", "age": 18}
    assert final["finish_reason"] == "stop"


def test_json_schema_without_a_schema_is_422(client: httpx.Client) -> None:
    request = {**user("hi"), "response_format": {"type": "json_schema", "json_schema": {}}}
    response = client.post("/chat/completions", json=request)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [
        "body",
        "response_format",
        "json_schema",
        "schema",
    ]


def test_response_format_mode_reject_refuses_json_schema(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(response_format_mode="reject"))
    request = {**user("hi"), "response_format": JSON_SCHEMA_FORMAT}
    response = http.post("/chat/completions", json=request)
    assert response.status_code == 422
    assert response.json() == _parameter_not_supported("json_schema")
    assert http.post("/chat/completions", json=user("hi")).status_code == 200


def test_response_format_text_is_fine(client: httpx.Client) -> None:
    request = {**user("hi"), "response_format": {"type": "text"}}
    assert client.post("/chat/completions", json=request).status_code == 200


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        pytest.param(b"{not json", ["body", 1], id="bad-json"),
        pytest.param(b"[]", ["body"], id="not-an-object"),
        pytest.param(b"{}", ["body", "messages"], id="missing-messages"),
        pytest.param(b'{"messages": []}', ["body", "messages"], id="empty-messages"),
        pytest.param(
            b'{"messages": [{"role": "robot"}]}', ["body", "messages", 0, "role"], id="bad-role"
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}',
            ["body", "max_tokens"],
            id="bad-type",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": "x"}], "stream": "True"}',
            ["body", "stream"],
            id="string-stream",
        ),
    ],
)
def test_invalid_bodies_are_422(client: httpx.Client, content: bytes, loc: list[Any]) -> None:
    response = client.post(
        "/chat/completions", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422 and body["message"]
    assert body["detail"][0]["loc"] == loc


def test_chunk_delay_streams_every_chunk(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(chunk_delay=0.001))
    response = http.post("/chat/completions", json={**user("a b c"), "stream": True})
    assert len(chunks(response.text)) == 1 + 7
    assert response.text.endswith("data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "What is the value of get_weather(Oslo, 4)?",
            {"city": "Oslo", "days": 4},
            id="positional",
        ),
        pytest.param('get_weather("New York")', {"city": "New York", "days": 1}, id="quoted"),
        pytest.param("get_weather(days=2) city: Rome", {"city": "Rome", "days": 2}, id="named"),
    ],
)
def test_call_syntax_gives_arguments(
    client: httpx.Client, text: str, expected: dict[str, Any]
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            },
        },
    }
    request = {**user(text), "tools": [tool]}
    message = client.post("/chat/completions", json=request).json()["choices"][0]["message"]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == expected
