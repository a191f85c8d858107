"""The deterministic responder: reply-tokens, and prompts in Meta's documented Llama 3.1 format.

The prompts here are written the way Meta documents them (meta-llama/llama-models
`models/llama3_1/prompt_format.md`, the Llama-3.1-Instruct chat template), not in any client's
words: the emulator must understand any client that follows Meta's documentation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator
from azure_llama_emulator._schema import instance
from tests._support.emulator import chunks, user

WEATHER_DEF = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
CLOCK_DEF = {  # the bare shape Meta's docs also show
    "name": "get_time",
    "description": "Current clock time for a timezone",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
}


def chat_template_system(*tools: dict[str, Any]) -> str:
    """The Llama-3.1-Instruct chat template's system prompt, tools_in_user_message=false."""
    definitions = "".join(json.dumps(t, indent=4) + "\n\n" for t in tools)
    return (
        "Environment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        "You have access to the following functions. To call a function, please respond with "
        'JSON for a function call.Respond in the format {"name": function name, "parameters": '
        "dictionary of argument name and its value}.Do not use variables.\n\n" + definitions
    )


# meta-llama/llama-models models/llama3_1/prompt_format.md, "JSON based tool calling", verbatim.
META_DOC_TOOLS_TURN = (
    "Answer the user's question by making use of the following functions if needed.\n"
    + """If none of the function can be used, please say so.
Here is a list of functions in JSON format:
{
    "type": "function",
    "function": {
        "name": "trending_songs",
        "description": "Returns the trending songs on a Music site",
        "parameters": {
            "type": "object",
            "properties": [
                {
                    "n": {
                        "type": "object",
                        "description": "The number of songs to return"
                    }
                },
                {
                    "genre": {
                        "type": "object",
                        "description": "The genre of the songs to return"
                    }
                }
            ],
            "required": ["n"]
        }
    }
}

Return function calls in JSON format."""
)
# The same document's `<function>` example defines the tool with Meta's param_type form.
META_DOC_FUNCTION_TAG_DEF = (
    '{"name": "trending_songs", "description": "Returns the trending songs on a Music site", '
    '"parameters": {"genre": {"description": "The genre of the songs to return", "param_type": '
    '"str", "required": false}, "n": {"description": "The number of songs to return", '
    '"param_type": "int", "required": true}}}'
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
SCHEMA_ANSWER = {"name": "Ada", "age": 18, "born": "2024-01-01", "tags": []}


def _content(client: httpx.Client, messages: list[dict[str, Any]], **extra: Any) -> str:
    response = client.post("/chat/completions", json={"messages": messages, **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def _tools_chat(user_text: str, *tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": chat_template_system(*tools)},
        {"role": "user", "content": user_text},
    ]


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


# -- JSON based tool calling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Use get_weather for city=Paris days=2",
            {"name": "get_weather", "parameters": {"city": "Paris", "days": 2}},
            id="named",
        ),
        pytest.param(
            "What time is it? tz: Europe/Paris",
            {"name": "get_time", "parameters": {"tz": "Europe/Paris"}},
            id="description-word",
        ),
        pytest.param(
            'Is it raining in "Lyon"?  I need the weather.',
            {"name": "get_weather", "parameters": {"city": "Lyon", "days": 1}},
            id="quoted-value",
        ),
    ],
)
def test_tools_in_the_system_prompt_give_a_call(
    client: httpx.Client, text: str, expected: dict[str, Any]
) -> None:
    reply = _content(client, _tools_chat(text, CLOCK_DEF, WEATHER_DEF))
    assert json.loads(reply) == expected


def test_several_tools_and_an_unrelated_request_answer_in_text(client: httpx.Client) -> None:
    reply = _content(client, _tools_chat("Tell me a joke", CLOCK_DEF, WEATHER_DEF))
    assert reply == "Emulated reply from Meta-Llama-3.1-8B-Instruct: Tell me a joke"


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        pytest.param("Answer by calling get_time.", "get_time", id="one-named"),
        pytest.param("Prefer get_time, then get_weather.", None, id="two-named"),
        pytest.param("You must use one of the functions.", "get_time", id="demanded"),
    ],
)
def test_instructions_that_name_one_function_or_demand_a_call_force_it(
    client: httpx.Client, instruction: str, expected: str | None
) -> None:
    messages = _tools_chat("Hello!", CLOCK_DEF, WEATHER_DEF)
    messages[0]["content"] += instruction
    reply = _content(client, messages)
    if expected is None:
        assert reply.endswith(": Hello!")
    else:
        assert json.loads(reply)["name"] == expected


def test_a_single_tool_is_always_called(client: httpx.Client) -> None:
    reply = _content(client, _tools_chat("hello", CLOCK_DEF))
    assert json.loads(reply) == {"name": "get_time", "parameters": {"tz": "example"}}


def test_tools_in_the_first_user_message(client: httpx.Client) -> None:
    # The chat template's tools_in_user_message form: definitions, then the question.
    text = (
        "Given the following functions, please respond with a JSON for a function call with "
        "its proper arguments that best answers the given prompt.\n\n"
        f"{json.dumps(CLOCK_DEF, indent=4)}\n\n{json.dumps(WEATHER_DEF, indent=4)}\n\n"
        "What is the weather like? city: Oslo"
    )
    reply = _content(client, [{"role": "user", "content": text}])
    assert json.loads(reply) == {"name": "get_weather", "parameters": {"city": "Oslo", "days": 1}}


def test_meta_documented_example_verbatim(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "Environment: ipython\n\nYou are a helpful assistant."},
        {"role": "user", "content": META_DOC_TOOLS_TURN},
        {"role": "user", "content": "Use tools to get latest trending songs"},
    ]
    call = json.loads(_content(client, messages))
    assert call["name"] == "trending_songs"
    assert list(call["parameters"]) == ["n", "genre"]  # required first, as the schema lists them


def test_meta_param_type_definitions_give_typed_arguments(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": f"You have access to:\n{META_DOC_FUNCTION_TAG_DEF}"},
        {"role": "user", "content": "trending songs please, n=10"},
    ]
    assert json.loads(_content(client, messages)) == {
        "name": "trending_songs",
        "parameters": {"n": 10, "genre": "example"},
    }


def test_prompted_call_streams_as_text(client: httpx.Client) -> None:
    body = {"messages": _tools_chat("use get_weather", CLOCK_DEF, WEATHER_DEF), "stream": True}
    events = chunks(client.post("/chat/completions", json=body).text)
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert json.loads(text)["name"] == "get_weather"
    assert len(events) > 3  # several content chunks, to exercise accumulation
    assert events[-1]["choices"][0]["finish_reason"] == "stop"


CALL = '{"name": "get_weather", "parameters": {"city": "Paris"}}'


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"role": "user", "content": '{"output": "18C"}'}, id="user-after-call"),
        pytest.param({"role": "ipython", "content": "18C"}, id="ipython"),
        pytest.param({"role": "tool", "tool_call_id": "x", "content": "18C"}, id="tool"),
    ],
)
@pytest.mark.parametrize(
    "assistant",
    [
        pytest.param(CALL, id="plain"),
        pytest.param("<|python_tag|>" + CALL, id="python-tag"),
        pytest.param("```json\n" + CALL + "\n```", id="fenced"),
    ],
)
def test_a_tool_result_gets_a_text_answer(
    client: httpx.Client, result: dict[str, Any], assistant: str
) -> None:
    messages = [
        *_tools_chat("weather in Paris?", CLOCK_DEF, WEATHER_DEF),
        {"role": "assistant", "content": assistant},
        result,
    ]
    reply = _content(client, messages)
    assert reply.startswith("The tool get_weather returned: ") and "18C" in reply


def test_a_new_question_after_an_answer_calls_again(client: httpx.Client) -> None:
    messages = [
        *_tools_chat("weather in Paris?", WEATHER_DEF),
        {"role": "assistant", "content": CALL},
        {"role": "ipython", "content": "18C"},
        {"role": "assistant", "content": "It is 18C in Paris."},
        {"role": "user", "content": "And in city=Rome?"},
    ]
    assert json.loads(_content(client, messages))["parameters"]["city"] == "Rome"


def test_after_a_tool_result_the_schema_in_force_shapes_the_answer(client: httpx.Client) -> None:
    system = chat_template_system(WEATHER_DEF) + "Answer with JSON: " + json.dumps(SCHEMA)
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "weather for name: Ada"},
    ]
    assert json.loads(_content(client, messages))["name"] == "get_weather"
    messages += [{"role": "assistant", "content": CALL}, {"role": "tool", "content": "18C"}]
    assert json.loads(_content(client, messages)) == SCHEMA_ANSWER


# -- a JSON schema in the prompt ------------------------------------------------------------


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param(
            [
                {"role": "system", "content": f"Reply in JSON.\n{json.dumps(SCHEMA)}"},
                {"role": "user", "content": "name: Ada"},
            ],
            id="system",
        ),
        pytest.param(
            [{"role": "user", "content": f"name: Ada. Use this schema: {json.dumps(SCHEMA)}"}],
            id="user",
        ),
        pytest.param(
            [
                {
                    "role": "system",
                    "content": json.dumps({"name": "Person", "schema": SCHEMA, "strict": True}),
                },
                {"role": "user", "content": "name: Ada"},
            ],
            id="openai-wrapper",
        ),
    ],
)
def test_a_schema_in_the_prompt_gets_a_valid_instance(
    client: httpx.Client, messages: list[dict[str, Any]]
) -> None:
    assert json.loads(_content(client, messages)) == SCHEMA_ANSWER


def test_badjson_then_repair(client: httpx.Client) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"JSON only: {json.dumps(SCHEMA)}\nBADJSON"},
        {"role": "user", "content": "describe someone"},
    ]
    first = _content(client, messages)
    assert first == '{"oops": '
    messages += [
        {"role": "assistant", "content": first},
        {"role": "user", "content": "That was not valid JSON; answer again."},
    ]
    assert json.loads(_content(client, messages))["age"] == 18


def test_json_fence_wraps_prompted_json(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(json_fence=True))
    call = _content(http, _tools_chat("get_time now", CLOCK_DEF))
    assert call == '```json\n{"name": "get_time", "parameters": {"tz": "example"}}\n```'
    schema_messages = [{"role": "user", "content": f"name: Ada {json.dumps(SCHEMA)}"}]
    assert _content(http, schema_messages) == f"```json\n{json.dumps(SCHEMA_ANSWER)}\n```"


# -- schema instances -----------------------------------------------------------------------


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
