"""The Llama protocol's pure parts: planner, refusal detection, shape check, overflow."""

from __future__ import annotations

import json
from typing import Any

import pytest

from azure_llama_transport import (
    BadRequestError,
    Capabilities,
    CapabilityStore,
    ChatRequest,
    ContentFilterError,
    ContextWindowExceededError,
    NotFoundError,
    RequestValidationError,
    ResponseDecodeError,
    UnprocessableEntityError,
    build_chat_request,
    capability_key,
    check_chunk,
    check_completion,
    error_from_response,
    plan_chat,
    refused_feature,
    schema_of,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "Count", "schema": SCHEMA}}
USER = [{"role": "user", "content": "weather in Paris?"}]
LLAMA_31 = "Meta-Llama-3.1-8B-Instruct"  # Meta's JSON format (3.2+ and unknown: pythonic)
REFUSES_TOOLS = Capabilities(refuses_tools=True)
REFUSES_FORMAT = Capabilities(refuses_response_format=True)
HISTORY = [
    *USER,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


@pytest.mark.parametrize(
    ("mode", "known", "sends_tools"),
    [
        ("auto", Capabilities(), True),
        ("auto", REFUSES_TOOLS, False),
        ("native", REFUSES_TOOLS, True),
        ("prompt", Capabilities(), False),
    ],
    ids=["auto-unknown", "auto-refused", "native-always", "prompt-always"],
)
def test_planner_sends_tools_natively_or_in_the_system_prompt(
    mode: Any, known: Capabilities, sends_tools: bool
) -> None:
    request = ChatRequest(
        USER, {"tools": [WEATHER], "tool_choice": "auto"}, tool_calling=mode, model=LLAMA_31
    )
    plan = plan_chat(request, known)
    assert ("tools" in plan.params) is sends_tools
    assert ("tool_choice" in plan.params) is sends_tools
    system = plan.messages[0]
    if sends_tools:
        assert plan.messages == USER and plan.tool_names == frozenset()
    else:
        assert system["role"] == "system" and json.dumps(WEATHER) in system["content"]
        assert plan.tool_names == {"get_weather"}
    # whatever the plan, the transport accepts what it produced
    build_chat_request(plan.messages, plan.params)


@pytest.mark.parametrize(
    ("mode", "known", "native"),
    [
        ("auto", Capabilities(), True),
        ("auto", REFUSES_FORMAT, False),
        ("native", REFUSES_FORMAT, True),
        ("prompt", Capabilities(), False),
    ],
    ids=["auto-unknown", "auto-refused", "native-always", "prompt-always"],
)
def test_planner_sends_response_format_natively_or_as_a_prompted_schema(
    mode: Any, known: Capabilities, native: bool
) -> None:
    plan = plan_chat(
        ChatRequest(USER, {"response_format": JSON_SCHEMA}, structured_output=mode), known
    )
    assert plan.schema is not None and plan.schema.json_schema == SCHEMA
    if native:
        assert plan.params["response_format"] == JSON_SCHEMA
        assert plan.messages == USER
    else:
        assert "response_format" not in plan.params
        assert json.dumps(SCHEMA) in plan.messages[0]["content"]


def test_prompted_history_replays_calls_as_json_text_and_results_as_tool_turns() -> None:
    plan = plan_chat(ChatRequest(HISTORY, {"tools": [WEATHER]}, model=LLAMA_31), REFUSES_TOOLS)
    assistant = plan.messages[2]
    assert assistant == {
        "role": "assistant",
        "content": '{"name": "get_weather", "parameters": {"city": "Paris"}}',
    }
    assert plan.messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    build_chat_request(plan.messages, plan.params)


@pytest.mark.parametrize("family_model", [LLAMA_31, "Llama-4-Maverick-17B-128E-Instruct-FP8"])
@pytest.mark.parametrize("tool_calling", ["native", "prompt"])
def test_a_plan_never_changes_or_shares_the_callers_messages(
    family_model: str, tool_calling: Any
) -> None:
    # Each message is copied once (not once per step): the plan's messages must still be its own.
    history = json.loads(json.dumps([{"role": "system", "content": "Be brief."}, *HISTORY]))
    before = json.loads(json.dumps(history))
    request = ChatRequest(
        history, {"tools": [WEATHER]}, tool_calling=tool_calling, model=family_model
    )
    plan = plan_chat(request, Capabilities())
    assert history == before
    for planned in plan.messages:
        assert all(planned is not m for m in history)
        planned["content"] = "changed"
    assert history == before


def _assistant_calling(arguments: Any) -> dict[str, Any]:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return {"role": "assistant", "content": "", "tool_calls": [call]}


@pytest.mark.parametrize("tool_calling", ["native", "prompt"])
@pytest.mark.parametrize(
    ("messages", "says"),
    [
        pytest.param([None], r"messages\[0\] is not a dict", id="not-a-dict"),
        pytest.param("hello", "non-empty list", id="a-string"),
        pytest.param(
            [{"role": "assistant", "content": "", "tool_calls": ["x"]}],
            r"tool_calls\[0\] must be",
            id="call-not-a-dict",
        ),
        pytest.param(
            [USER[0], _assistant_calling({"city": "Paris"})],
            r"messages\[1\]\.tool_calls\[0\]\.function\.arguments must be a JSON string",
            id="dict-arguments",  # prompted, they were replayed as f(): lost
        ),
    ],
)
def test_messages_the_plan_cannot_read_or_replay_are_refused_before_sending(
    tool_calling: Any, messages: Any, says: str
) -> None:
    # The plan reads the messages first (and, prompted, turns the calls into text): whichever
    # of it and the request build refuses, it is the typed error naming the message.
    request = ChatRequest(messages, {"tools": [WEATHER]}, tool_calling=tool_calling)
    with pytest.raises(RequestValidationError, match=says) as info:
        plan = plan_chat(request, Capabilities())
        build_chat_request(plan.messages, plan.params)
    assert info.value.param == "messages"


def test_tool_choice_none_offers_nothing_and_parses_nothing() -> None:
    plan = plan_chat(ChatRequest(USER, {"tools": [WEATHER], "tool_choice": "none"}), REFUSES_TOOLS)
    assert plan.messages == USER and plan.tool_names == frozenset()


def test_pydantic_class_is_read_as_a_json_schema() -> None:
    from pydantic import BaseModel

    class Count(BaseModel):
        n: int

    schema = schema_of(Count)
    assert schema is not None and schema.name == "Count"
    assert schema.response_format["json_schema"]["schema"]["required"] == ["n"]
    assert schema_of({"type": "text"}) is None
    with pytest.raises(RequestValidationError):
        schema_of({"type": "json_schema", "json_schema": {"name": "x"}})


def test_json_object_is_still_refused_before_sending() -> None:
    plan = plan_chat(ChatRequest(USER, {"response_format": {"type": "json_object"}}))
    with pytest.raises(RequestValidationError, match="json_object"):
        build_chat_request(plan.messages, plan.params)


# -- refusal detection --------------------------------------------------------------------------

VLLM = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def _error(status: int, body: Any) -> Any:
    return error_from_response(status, {}, json.dumps(body), host="h")


@pytest.mark.parametrize(
    ("error", "sent", "feature"),
    [
        (
            _error(400, {"error": {"code": "Bad Request", "message": VLLM, "status": 400}}),
            "tools",
            "tools",
        ),
        (
            _error(
                400,
                {
                    "error": {
                        "message": json.dumps({"object": "error", "message": VLLM}),
                        "status": 400,
                    }
                },
            ),
            "tools",
            "tools",
        ),
        (
            _error(422, {"detail": {"loc": ["body", "tools"]}, "message": "invalid"}),
            "tools",
            "tools",
        ),
        (_error(422, {"detail": [{"loc": ["body", "tool_choice"]}]}), "tools", "tools"),
        (_error(400, {"message": "The tool message must follow a tool call"}), "tools", None),
        (_error(400, {"message": "Tool 'x' has an invalid schema"}), "tools", None),
        (
            _error(400, {"error": {"code": "content_filter", "message": VLLM, "status": 400}}),
            "tools",
            None,
        ),
        (_error(500, {"message": VLLM}), "tools", None),
        (_error(400, {"message": VLLM}), "response_format", None),
        (
            _error(
                422,
                {
                    "status": 422,
                    "code": "parameter_not_supported",
                    "detail": {"loc": ["body", "response_format"], "input": "json_schema"},
                    "message": "One of the parameters contain invalid values.",
                },
            ),
            "response_format",
            "response_format",
        ),
        (_error(422, {"detail": {"loc": ["body", "response_format"]}}), "tools", None),
        (_error(422, {"detail": {"loc": ["body", "temperature"]}}), "response_format", None),
        (
            _error(400, {"error": {"message": f"Invalid content in messages[0]: '{VLLM}'"}}),
            "tools",
            None,
        ),
        (
            _error(400, {"message": json.dumps({"message": f"bad input: {VLLM}"})}),
            "tools",
            None,
        ),
        (_error(400, {"message": VLLM, "param": "temperature"}), "tools", None),
        (_error(422, {"message": VLLM}), "tools", None),
    ],
    ids=[
        "vllm-400",
        "vllm-400-json-in-message",
        "422-tools",
        "422-tool-choice-list",
        "400-mentions-tool-message",
        "400-mentions-tool-schema",
        "content-filter",
        "500",
        "vllm-text-but-no-tools-sent",
        "422-response-format",
        "422-response-format-not-sent",
        "422-other-param",
        "400-quotes-the-callers-text-with-vllms-phrase",
        "400-vllm-json-quoting-the-phrase",
        "400-vllm-phrase-about-another-param",
        "422-vllm-phrase-only",
    ],
)
def test_refusal_detection_is_precise(error: Any, sent: str, feature: str | None) -> None:
    body = {"tools": [WEATHER]} if sent == "tools" else {"response_format": JSON_SCHEMA}
    assert refused_feature(error, body) == feature


def test_refusal_memory_is_per_route_version_deployment_and_model() -> None:
    base = capability_key("https://e", None, {}, api_version="2024-05-01-preview")
    others = [
        capability_key("https://e", None, {}, api="llama", api_version="2024-05-01-preview"),
        capability_key("https://e", None, {}, api_version="2025-05-01"),
        capability_key("https://e", "blue", {}, api_version="2024-05-01-preview"),
        capability_key(
            "https://e", None, {}, {"azureml-model-deployment": "green"}, api_version=None
        ),
        capability_key("https://e", None, {"model": "m2"}, api_version="2024-05-01-preview"),
        capability_key("https://other", None, {}, api_version="2024-05-01-preview"),
    ]
    assert all(isinstance(part, str) for key in [base, *others] for part in key)
    store = CapabilityStore()
    store.record_refusal(base, "tools")
    assert store.get(base).refuses_tools
    assert [store.get(key).refuses_tools for key in others] == [False] * len(others)


def test_a_learned_refusal_expires() -> None:
    now = [0.0]
    store = CapabilityStore(ttl=3600, clock=lambda: now[0])
    key = capability_key("https://e", None, {})
    store.record_refusal(key, "tools")
    now[0] = 1800.0
    store.record_refusal(key, "response_format")
    now[0] = 3599.0
    assert store.get(key) == Capabilities(refuses_tools=True, refuses_response_format=True)
    now[0] = 3601.0
    assert store.get(key) == Capabilities(refuses_response_format=True)
    now[0] = 5401.0
    assert store.get(key) == Capabilities()
    store.record_refusal(key, "tools")
    store.forget("https://e")
    assert store.get(key) == Capabilities()


# -- shape check ----------------------------------------------------------------------------------

GOOD = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}]}
BAD_WHOLE = [
    ({}, "choices"),
    (None, "NoneType"),
    ([1], "list"),
    ({"choices": {}}, "not a list"),
    ({"choices": []}, "empty"),
    ({"choices": [1]}, "not an object"),
    ({"choices": [{"message": "hi"}]}, "message"),
    ({"choices": [{"message": {"content": 3}}]}, "content"),
    ({"choices": [{"message": {"content": "", "tool_calls": {}}}]}, "tool_calls"),
    ({"choices": [{"message": {"tool_calls": [{"function": 1}]}}]}, "function name"),
    ({"choices": [{"message": {"content": "x"}, "finish_reason": 1}]}, "finish_reason"),
    ({"choices": [{"message": {"content": "x"}}], "usage": 5}, "usage"),
]


@pytest.mark.parametrize(
    ("body", "problem"), BAD_WHOLE, ids=[f"bad-{i}" for i in range(len(BAD_WHOLE))]
)
def test_a_whole_answer_of_the_wrong_shape_is_a_decode_error(body: Any, problem: str) -> None:
    with pytest.raises(ResponseDecodeError, match=problem) as info:
        check_completion(body, "chat", "h")
    assert info.value.body == body


def test_shapes_that_are_fine() -> None:
    assert check_completion(GOOD, "chat", "h") is GOOD
    check_completion({"choices": [{"text": "x", "finish_reason": "stop"}]}, "text", "h")
    check_chunk({"choices": [], "usage": {"prompt_tokens": 1}}, "chat", "h")
    check_chunk({"choices": [{"delta": {"content": "x"}, "finish_reason": None}]}, "chat", "h")
    with pytest.raises(ResponseDecodeError):
        check_completion({"choices": [{"text": 1}]}, "text", "h")
    with pytest.raises(ResponseDecodeError):
        check_chunk({"choices": [{"delta": []}]}, "chat", "h")


# -- context overflow -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
        "(8000 in the messages, 1000 in the completion). Please reduce the length.",
        "This model's maximum context length is 131072 tokens. However, your request has "
        "140000 input tokens.",
        "'max_tokens' or 'max_completion_tokens' is too large: 5000. This model's maximum "
        "context length is 4096 tokens and your request has 100 input tokens.",
    ],
    ids=["requested", "input-tokens", "max-tokens-too-large"],
)
def test_context_overflow_is_its_own_error(message: str) -> None:
    wrapped = {"error": {"code": "Bad Request", "message": json.dumps({"message": message})}}
    error = _error(400, wrapped)
    assert isinstance(error, ContextWindowExceededError) and isinstance(error, BadRequestError)
    assert refused_feature(error, {"tools": [WEATHER]}) is None


def test_other_400s_are_not_overflows() -> None:
    assert type(_error(400, {"message": "temperature must be at most 2"})) is BadRequestError
    assert isinstance(_error(400, {"code": "content_filter", "message": "x"}), ContentFilterError)
    assert type(_error(404, "NOT FOUND")) is NotFoundError
    assert (
        type(_error(422, {"message": "maximum context length is 5 tokens"}))
        is UnprocessableEntityError
    )
