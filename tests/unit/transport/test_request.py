"""Request building: route, query, body order, model_extras + header, refusals before sending."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from azure_llama_transport import (
    RequestValidationError,
    build_chat_request,
    build_completion_request,
)
from tests._support.transport import make_sync

USER = [{"role": "user", "content": "Hello"}]


def body_of(prepared: Any) -> dict[str, Any]:
    return json.loads(prepared.content)  # type: ignore[no-any-return]


def test_chat_body_follows_sdk_order_and_drops_none() -> None:
    prepared = build_chat_request(
        USER,
        {"top_p": 0.9, "temperature": 0.2, "max_tokens": 50, "seed": None, "stop": ["<|eot|>"]},
        api_version="2024-05-01-preview",
    )
    assert prepared.path == "/chat/completions"
    assert prepared.params == {"api-version": "2024-05-01-preview"}
    assert list(body_of(prepared)) == ["messages", "max_tokens", "stop", "temperature", "top_p"]
    assert "extra-parameters" not in prepared.headers
    assert not prepared.stream


def test_stream_flag_and_llama_route_without_api_version() -> None:
    prepared = build_chat_request(
        USER, {"n": 2, "logprobs": 1}, api="llama", stream=True, api_version="2024-05-01-preview"
    )
    assert prepared.path == "/v1/chat/completions"
    assert prepared.params == {}
    assert body_of(prepared) == {"messages": USER, "stream": True, "n": 2, "logprobs": 1}
    assert prepared.stream


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param("pass-through", "pass-through", id="pass-through"),
        pytest.param("drop", "drop", id="drop"),
        pytest.param("error", "error", id="error"),
    ],
)
def test_model_extras_merge_at_root_with_header(mode: Any, expected: str) -> None:
    prepared = build_chat_request(
        USER, {"temperature": 0}, model_extras={"logprobs": True, "n": 2}, extra_parameters=mode
    )
    assert body_of(prepared) == {"messages": USER, "temperature": 0, "logprobs": True, "n": 2}
    assert prepared.headers["extra-parameters"] == expected


def test_completion_request_routes() -> None:
    inference = build_completion_request("Math is a", {"max_tokens": 30}, api_version="v")
    llama = build_completion_request("Math is a", {"max_tokens": 30}, api="llama", api_version="v")
    assert (inference.path, inference.params) == ("/completions", {"api-version": "v"})
    assert (llama.path, llama.params) == ("/v1/completions", {})
    assert body_of(llama) == {"prompt": "Math is a", "max_tokens": 30}


REFUSALS = [
    pytest.param([], {}, {}, "messages", id="empty-messages"),
    pytest.param("hello", {}, {}, "messages", id="messages-as-string"),
    pytest.param({"role": "user", "content": "x"}, {}, {}, "messages", id="messages-as-a-dict"),
    pytest.param(["hello"], {}, {}, "messages", id="message-not-a-dict"),
    pytest.param([{"role": "robot", "content": "x"}], {}, {}, "messages", id="unknown-role"),
    pytest.param([{"role": "developer", "content": "x"}], {}, {}, "messages", id="developer-role"),
    pytest.param([{"role": ["user"]}], {}, {}, "messages", id="unhashable-role"),
    pytest.param([{"role": "user"}], {}, {}, "messages", id="no-content"),
    pytest.param([{"role": "user", "content": 7}], {}, {}, "messages", id="content-a-number"),
    pytest.param(
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
        {},
        {},
        "messages",
        id="image-url-neither-data-nor-https",
    ),
    pytest.param(
        [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
        {},
        {},
        "messages",
        id="audio-part",
    ),
    *(
        pytest.param(
            [{"role": "assistant", "content": "", "tool_calls": calls}], {}, {}, "messages", id=id
        )
        for id, calls in [
            ("tool-calls-not-a-list", {"id": "c"}),
            ("tool-call-without-function", [{"id": "c", "type": "function"}]),
            ("tool-call-name-not-a-string", [{"id": "c", "function": {"arguments": "{}"}}]),
            (
                "tool-call-arguments-a-dict",  # replayed as prompted text, they would be lost
                [{"id": "c", "function": {"name": "f", "arguments": {"city": "Paris"}}}],
            ),
            ("tool-call-arguments-missing", [{"id": "c", "function": {"name": "f"}}]),
        ]
    ),
    pytest.param(
        USER, {"response_format": {"type": "json_object"}}, {}, "response_format", id="json-object"
    ),
    pytest.param(USER, {"temperature": 3}, {}, "temperature", id="temperature-range"),
    pytest.param(USER, {"top_p": "high"}, {}, "top_p", id="top-p-type"),
    pytest.param(USER, {"max_tokens": 0}, {}, "max_tokens", id="max-tokens-zero"),
    pytest.param(USER, {"logprobs": 2}, {}, "logprobs", id="llama-param-on-inference-api"),
    pytest.param(USER, {}, {"temperature": 0.1}, "temperature", id="extras-collide-typed"),
    pytest.param(USER, {}, {"stream": True}, "stream", id="extras-collide-stream"),
    pytest.param(
        USER,
        {},
        {"stream_options": {"include_usage": True}},
        "stream_options",
        id="extras-stream-options",
    ),
]


def test_a_tuple_of_messages_is_accepted() -> None:
    """Lists take a shortcut past the `Sequence` check; any other sequence still passes it."""
    messages = ({"role": "user", "content": "hi"},)
    assert body_of(build_chat_request(messages)) == {
        "messages": [{"role": "user", "content": "hi"}]
    }


@pytest.mark.parametrize(("messages", "params", "extras", "param"), REFUSALS)
def test_refused_before_sending(messages: Any, params: Any, extras: Any, param: str) -> None:
    sent: list[httpx.Request] = []
    client = make_sync(lambda r: sent.append(r) or httpx.Response(200, json={}))
    with pytest.raises(RequestValidationError) as info:
        client.chat(messages, params, model_extras=extras)
    assert info.value.param == param
    assert sent == []


def test_json_object_refusal_points_to_structured_output() -> None:
    with pytest.raises(RequestValidationError, match=r"422.*'type': 'json_schema'") as caught:
        build_chat_request(USER, {"response_format": {"type": "json_object"}})
    assert "ChatAzureLlama" not in str(caught.value)  # neutral: an OpenAI-SDK client reads it too


LLAMA_REFUSALS = [
    pytest.param({"n": 3, "best_of": 2}, False, "best_of", "greater than n", id="best-of-below-n"),
    pytest.param({"best_of": 2}, True, "best_of", "cannot be streamed", id="best-of-stream"),
    pytest.param(
        {"use_beam_search": True, "best_of": 1, "temperature": 0},
        False,
        "use_beam_search",
        "best_of > 1",
        id="beam-needs-best-of",
    ),
    pytest.param(
        {"use_beam_search": True, "best_of": 3, "temperature": 0.7},
        False,
        "use_beam_search",
        "temperature=0",
        id="beam-needs-greedy",
    ),
]


@pytest.mark.parametrize(("params", "stream", "param", "text"), LLAMA_REFUSALS)
def test_llama_native_rules(params: Any, stream: bool, param: str, text: str) -> None:
    with pytest.raises(RequestValidationError, match=text) as info:
        build_chat_request(USER, params, api="llama", stream=stream)
    assert info.value.param == param


def test_llama_native_valid_combination_is_sent() -> None:
    prepared = build_chat_request(
        USER, {"use_beam_search": True, "best_of": 3, "n": 2, "temperature": 0}, api="llama"
    )
    assert body_of(prepared)["best_of"] == 3


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("", id="empty"),
        pytest.param([], id="empty-list"),
        pytest.param([""], id="blank"),
    ],
)
def test_completion_prompt_refused(prompt: Any) -> None:
    with pytest.raises(RequestValidationError):
        build_completion_request(prompt)


def test_client_sends_what_was_built() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
        )

    client = make_sync(handler, deployment="llama-blue", default_headers={"x-team": "a"})
    client.chat(
        USER, {"temperature": 0.5}, model_extras={"logprobs": True}, headers={"x-call": "1"}
    )
    request = seen[0]
    assert request.url.path == "/chat/completions"
    assert request.url.params["api-version"] == "2024-05-01-preview"
    assert request.headers["azureml-model-deployment"] == "llama-blue"
    assert request.headers["extra-parameters"] == "pass-through"
    assert request.headers["x-team"] == "a" and request.headers["x-call"] == "1"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"messages": USER, "temperature": 0.5, "logprobs": True}


def test_api_version_can_be_omitted() -> None:
    seen: list[httpx.Request] = []
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
    client = make_sync(lambda r: seen.append(r) or httpx.Response(200, json=body), api_version=None)
    client.chat(USER)
    assert "api-version" not in seen[0].url.params
