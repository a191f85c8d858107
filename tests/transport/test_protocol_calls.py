"""The Llama protocol end to end: auto switch, shared memory, repair, streams, 404 explained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from azure_llama_transport import (
    AsyncAzureLlamaClient,
    AzureLlamaClient,
    BadRequestError,
    CapabilityStore,
    ChatRequest,
    NotFoundError,
    RequestValidationError,
    StructuredOutputError,
    TextRequest,
    achat,
    achat_stream,
    acomplete,
    capability_key,
    chat,
    chat_stream,
    complete,
)
from tests._support.transport import make_async, make_sync
from tests.unit.transport.test_protocol_plan import JSON_SCHEMA, USER, WEATHER

KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
TOOLS = {"tools": [WEATHER]}


@pytest.fixture(scope="module")
def rejecting() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(tool_mode="reject")) as emu:
        yield emu


@pytest.fixture
def rejecting_fresh(rejecting: Emulator) -> Emulator:
    rejecting.clear()
    return rejecting


def _client(kind: str, url: str) -> Any:
    cls = AzureLlamaClient if kind == "sync" else AsyncAzureLlamaClient
    return cls(url, api_key="emulator-key")


async def _chat(kind: str, client: Any, request: ChatRequest, **kw: Any) -> dict[str, Any]:
    if kind == "sync":
        return chat(client, request, **kw)
    return await achat(client, request, **kw)


async def _stream(kind: str, client: Any, request: ChatRequest, **kw: Any) -> list[dict[str, Any]]:
    if kind == "sync":
        with chat_stream(client, request, **kw) as stream:
            return list(stream)
    async with await achat_stream(client, request, **kw) as astream:
        return [chunk async for chunk in astream]


@pytest.mark.parametrize("kind", KINDS)
async def test_auto_switches_once_and_every_caller_remembers(
    kind: str, rejecting_fresh: Emulator
) -> None:
    rejecting = rejecting_fresh
    store = CapabilityStore()
    first, second = _client(kind, rejecting.url), _client(kind, rejecting.url)
    request = ChatRequest(USER, TOOLS)
    answer = await _chat(kind, first, request, capabilities=store)
    (call,) = answer["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"])
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["llama_protocol"]["tool_calling"] == "prompt"
    bodies = [json.loads(r.body) for r in rejecting.requests]
    assert ["tools" in b for b in bodies] == [True, False]
    # a second client (another model object) on the same endpoint goes prompted at once
    rejecting.clear()
    await _chat(kind, second, request, capabilities=store)
    assert ["tools" in json.loads(r.body) for r in rejecting.requests] == [False]


@pytest.mark.parametrize("kind", KINDS)
async def test_native_and_prompt_modes_never_switch(kind: str, rejecting_fresh: Emulator) -> None:
    rejecting = rejecting_fresh
    store = CapabilityStore()
    client = _client(kind, rejecting.url)
    with pytest.raises(BadRequestError, match="enable-auto-tool-choice"):
        await _chat(
            kind, client, ChatRequest(USER, TOOLS, tool_calling="native"), capabilities=store
        )
    key = capability_key(rejecting.url, None, {}, api_version=client.config.api_version)
    assert not store.get(key).refuses_tools


@pytest.mark.parametrize("kind", KINDS)
async def test_prompted_call_streams_as_a_native_tool_call_delta(
    kind: str, rejecting_fresh: Emulator
) -> None:
    rejecting = rejecting_fresh
    client = _client(kind, rejecting.url)
    chunks = await _stream(kind, client, ChatRequest(USER, TOOLS, tool_calling="prompt"))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [t for d in deltas for t in d.get("tool_calls") or []]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]
    assert calls[0]["index"] == 0 and calls[0]["id"].startswith("call_")
    assert "".join(d.get("content") or "" for d in deltas) == ""


@pytest.mark.parametrize("kind", KINDS)
async def test_prompted_schema_with_repair_against_the_emulator(
    kind: str, rejecting_fresh: Emulator
) -> None:
    rejecting = rejecting_fresh
    client = _client(kind, rejecting.url)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "City", "schema": schema}}
    # The emulator answers invalid JSON first when the schema's message says BADJSON.
    messages = [{"role": "system", "content": "BADJSON"}, {"role": "user", "content": "A city?"}]
    request = ChatRequest(
        messages, {"response_format": response_format}, structured_output="prompt"
    )
    answer = await _chat(kind, client, request)
    assert isinstance(json.loads(answer["choices"][0]["message"]["content"])["city"], str)
    assert answer["llama_protocol"] == {
        "tool_calling": "none",
        "structured_output": "prompt",
        "repaired": True,
    }
    first, repair = (json.loads(r.body) for r in rejecting.requests)
    assert "response_format" not in first
    assert repair["messages"][-2] == {"role": "assistant", "content": '{"oops": '}
    assert "not JSON" in repair["messages"][-1]["content"]


# -- structured output against a fake that refuses json_schema with the documented 422 ----------

REFUSAL_422 = {
    "status": 422,
    "code": "parameter_not_supported",
    "detail": {"loc": ["body", "response_format"], "input": "json_schema"},
    "message": "One of the parameters contain invalid values.",
}


def _completion(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {"id": "1", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


class Fake:
    """Refuses `response_format` (422), then answers from `answers` in turn."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if "response_format" in body:
            return httpx.Response(422, json=REFUSAL_422)
        return httpx.Response(200, json=_completion(self.answers.pop(0)))


def _fake_client(kind: str, fake: Fake) -> Any:
    return make_sync(fake) if kind == "sync" else make_async(fake)


@pytest.mark.parametrize("kind", KINDS)
async def test_json_schema_refused_then_prompted_validated_and_repaired(kind: str) -> None:
    fake = Fake('Here you go:\n```json\n{"n": "three"}\n```', '{"n": 3}')
    store = CapabilityStore()
    answer = await _chat(
        kind,
        _fake_client(kind, fake),
        ChatRequest(USER, {"response_format": JSON_SCHEMA}),
        capabilities=store,
    )
    assert answer["choices"][0]["message"]["content"] == '{"n": 3}'
    native, prompted, repair = fake.bodies
    assert native["response_format"] == JSON_SCHEMA
    assert "response_format" not in prompted and "json_schema" not in str(prompted["messages"][-1])
    assert "at n" in repair["messages"][-1]["content"]
    # remembered: the next call goes prompted straight away
    fake.answers.append('{"n": 1}')
    await _chat(
        kind,
        _fake_client(kind, fake),
        ChatRequest(USER, {"response_format": JSON_SCHEMA}),
        capabilities=store,
    )
    assert "response_format" not in fake.bodies[-1]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_second_invalid_answer_is_a_structured_output_error(kind: str) -> None:
    fake = Fake("no json here", '{"m": 1}')
    request = ChatRequest(USER, {"response_format": JSON_SCHEMA}, structured_output="prompt")
    with pytest.raises(StructuredOutputError, match="'n' is a required property") as info:
        await _chat(kind, _fake_client(kind, fake), request)
    assert info.value.partial_text == '{"m": 1}'


@pytest.mark.parametrize("kind", KINDS)
async def test_a_prompted_schema_stream_is_released_once_valid(kind: str) -> None:
    pieces = ["```json\n", '{"n": ', "3}\n```"]
    events = [
        {"id": "1", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        for p in pieces
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=body.encode(), headers={"content-type": "text/event-stream"}
        )

    client = make_sync(handler) if kind == "sync" else make_async(handler)
    request = ChatRequest(USER, {"response_format": JSON_SCHEMA}, structured_output="prompt")
    chunks = await _stream(kind, client, request)
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ['{"n": 3}']


@pytest.mark.parametrize("kind", KINDS)
async def test_a_404_from_a_base_model_says_what_to_use(kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/info":
            return httpx.Response(
                200, json={"model_name": "Meta-Llama-3.1-8B", "model_type": "text-generation"}
            )
        return httpx.Response(404, text="NOT FOUND")

    client = make_sync(handler) if kind == "sync" else make_async(handler)
    request = ChatRequest(USER, use_instead="Use AzureLlama for it.")
    with pytest.raises(NotFoundError, match=r"text-generation .base. model.*Use AzureLlama for it"):
        await _chat(kind, client, request)


# -- what the calls make uniform for both front ends (issue 23 item 1) ---------------------------


@pytest.fixture(scope="module")
def native() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.mark.parametrize("kind", KINDS)
async def test_a_native_streamed_call_comes_with_its_index_and_usage(
    kind: str, native: Emulator
) -> None:
    """Azure streams a call whole, without `index`: the stream gives it one; usage is whole."""
    client = _client(kind, native.url)
    chunks = await _stream(kind, client, ChatRequest(USER, TOOLS, tool_calling="native"))
    calls = [
        c
        for ch in chunks
        if ch["choices"]
        for c in ch["choices"][0]["delta"].get("tool_calls") or []
    ]
    assert [(c["function"]["name"], c["index"]) for c in calls] == [("get_weather", 0)]
    (usage,) = [ch["usage"] for ch in chunks if ch.get("usage")]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def _text_handler(seen: list[str], *, status: int = 200) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/info":
            return httpx.Response(
                200, json={"model_name": "Llama-3.3-70B-Instruct", "model_type": "chat-completion"}
            )
        if status != 200:
            return httpx.Response(status, text="NOT FOUND")
        body = {
            "id": "cmpl-1",
            "model": "Meta-Llama-3.1-70B",  # a base model Azure has not retired
            "choices": [{"index": 0, "text": "Math is fun", "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3},
        }
        return httpx.Response(200, json=body)

    return handler


async def _complete(kind: str, client: Any, request: TextRequest) -> dict[str, Any]:
    if kind == "sync":
        return dict(complete(client, request))
    return dict(await acomplete(client, request))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_text_call_normalises_usage(kind: str) -> None:
    seen: list[str] = []
    client = _fake_text(kind, seen)
    answer = await _complete(kind, client, TextRequest("Math is", {"max_tokens": 8}))
    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_text_call_refuses_max_tokens_before_sending(kind: str) -> None:
    seen: list[str] = []
    client = _fake_text(kind, seen)
    request = TextRequest("Math is", {"max_tokens": 10**7}, model="Meta-Llama-3.1-8B")
    with pytest.raises(RequestValidationError, match="max_tokens"):
        await _complete(kind, client, request)
    assert seen == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_text_call_to_a_chat_deployment_says_what_to_use(kind: str) -> None:
    seen: list[str] = []
    client = _fake_text(kind, seen, status=404)
    request = TextRequest("Math is", use_instead="Use the chat model for it.")
    with pytest.raises(NotFoundError, match=r"a chat model.*Use the chat model for it"):
        await _complete(kind, client, request)


def _fake_text(kind: str, seen: list[str], *, status: int = 200) -> Any:
    handler = _text_handler(seen, status=status)
    return make_sync(handler) if kind == "sync" else make_async(handler)
