"""`litellm.completion(model="azure_llama/...")` end to end against the emulator over loopback."""

from __future__ import annotations

import json

import httpx
import litellm
import pytest

from azure_llama_emulator import Emulator
from tests._support.litellm import MODEL, MODES, call_kwargs, run

REPLY = f"Emulated reply from {MODEL}: hello there"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize("mode", MODES)
async def test_content_usage_and_finish_reason(emu: Emulator, mode: str) -> None:
    result = await run(mode, **call_kwargs(emu))
    assert result.text == REPLY
    assert result.finish_reason == "stop"
    (request,) = emu.requests
    assert request.path == "/chat/completions"
    assert request.query == {"api-version": "2024-05-01-preview"}
    assert request.headers["authorization"] == "Bearer emulator-key"
    if mode in ("sync", "async"):
        assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 6)


@pytest.mark.parametrize("mode", [p for p in MODES if p.id in ("stream", "astream")])
async def test_stream_options_include_usage_gives_the_real_usage(emu: Emulator, mode: str) -> None:
    result = await run(mode, stream_options={"include_usage": True}, **call_kwargs(emu))
    assert result.text == REPLY
    last = result.chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (2, 6)
    assert last.usage.total_tokens == 8
    # Never sent to Azure: the transport refuses it and usage comes on the last chunk anyway.
    assert "stream_options" not in emu.requests[0].json


@pytest.mark.parametrize("mode", [p for p in MODES if p.id in ("stream", "astream")])
async def test_streamed_chunks_start_with_the_role_and_all_carry_content(
    emu: Emulator, mode: str
) -> None:
    """Azure's role-only first chunk is not one of the chunks users see (LiteLLM drops it, and
    the provider no longer hands it over): the first carries the role and the first words."""
    result = await run(mode, **call_kwargs(emu))
    *pieces, last = result.chunks
    assert pieces[0].choices[0].delta.role == "assistant"
    assert all(chunk.choices[0].delta.content for chunk in pieces)
    assert [chunk.choices[0].delta.role for chunk in pieces[1:]] == [None] * (len(pieces) - 1)
    assert "".join(chunk.choices[0].delta.content for chunk in pieces) == REPLY
    assert last.choices[0].finish_reason == "stop" and not last.choices[0].delta.content


@pytest.mark.parametrize("mode", MODES)
async def test_native_tool_calls_carry_an_index(emu: Emulator, mode: str) -> None:
    kwargs = call_kwargs(emu, messages=[{"role": "user", "content": "use get_weather"}])
    result = await run(mode, tools=[WEATHER_TOOL], tool_choice="auto", **kwargs)
    assert result.finish_reason == "tool_calls"
    (call,) = result.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "example"}
    assert call.type == "function"
    if mode in ("stream", "astream"):
        assert call.index == 0
    body = emu.requests[0].json
    assert body["tools"] == [WEATHER_TOOL] and body["tool_choice"] == "auto"


async def test_streamed_tool_call_assembles_with_stream_chunk_builder(emu: Emulator) -> None:
    kwargs = call_kwargs(emu, messages=[{"role": "user", "content": "use get_weather"}])
    result = await run("stream", tools=[WEATHER_TOOL], **kwargs)
    whole = litellm.stream_chunk_builder(result.chunks)
    (call,) = whole.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert whole.choices[0].finish_reason == "tool_calls"


async def test_tool_result_round_trip(emu: Emulator) -> None:
    first = litellm.completion(
        tools=[WEATHER_TOOL],
        **call_kwargs(emu, messages=[{"role": "user", "content": "use get_weather"}]),
    )
    message = first.choices[0].message
    messages = [
        {"role": "user", "content": "use get_weather"},
        message,  # LiteLLM's own Message object, appended as OpenAI users do
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "sunny"},
    ]
    second = litellm.completion(tools=[WEATHER_TOOL], **call_kwargs(emu, messages=messages))
    assert second.choices[0].finish_reason == "stop"
    sent = emu.requests[1].json["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_call_id": message.tool_calls[0].id}


@pytest.mark.parametrize("mode", MODES)
async def test_model_extras_and_unknown_kwargs_reach_the_wire(emu: Emulator, mode: str) -> None:
    result = await run(
        mode,
        model_extras={"ignore_eos": False},
        top_k=5,
        extra_body={"skip_special_tokens": True},
        temperature=0.5,
        max_completion_tokens=30,
        seed=7,
        stop=["zzz"],
        **call_kwargs(emu),
    )
    assert result.text == REPLY
    (request,) = emu.requests
    assert request.headers["extra-parameters"] == "pass-through"
    body = request.json
    assert {k: body[k] for k in ("ignore_eos", "top_k", "skip_special_tokens")} == {
        "ignore_eos": False,
        "top_k": 5,
        "skip_special_tokens": True,
    }
    assert (body["temperature"], body["max_tokens"], body["seed"], body["stop"]) == (
        0.5,
        30,
        7,
        ["zzz"],
    )


async def test_litellm_keys_never_reach_the_wire(emu: Emulator) -> None:
    litellm.completion(
        user="end-user-1",
        metadata={"tag": "x"},
        max_retries=0,
        stream_options={"include_usage": True},
        **call_kwargs(emu),
    )
    (request,) = emu.requests
    assert set(request.json) == {"messages"}
    assert "extra-parameters" not in request.headers


async def test_headers_deployment_and_api_version_are_honoured(emu: Emulator) -> None:
    litellm.completion(
        extra_headers={"x-trace": "t-1"},
        deployment="blue",
        api_version="2024-04-01-preview",
        **call_kwargs(emu),
    )
    (request,) = emu.requests
    assert request.headers["x-trace"] == "t-1"
    assert request.headers["azureml-model-deployment"] == "blue"
    assert request.query == {"api-version": "2024-04-01-preview"}
    assert "deployment" not in request.json


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param({"azure_llama_api": "llama"}, id="kwarg"),
        pytest.param({"api_base_suffix": "/v1"}, id="api-base-v1"),
    ],
)
async def test_llama_native_route(emu: Emulator, selector: dict[str, str]) -> None:
    kwargs = call_kwargs(emu)
    if "api_base_suffix" in selector:
        kwargs["api_base"] += selector["api_base_suffix"]
    else:
        kwargs.update(selector)
    response = litellm.completion(n=1, best_of=2, ignore_eos=False, **kwargs)
    assert response.choices[0].message.content == REPLY
    (request,) = emu.requests
    assert request.path == "/v1/chat/completions"
    assert request.query == {}  # the /v1 routes never take api-version
    assert request.json["best_of"] == 2
    assert "extra-parameters" not in request.headers  # all typed on the Llama-native API


@pytest.mark.parametrize("mode", MODES)
async def test_output_filter_ends_with_content_filter(emu: Emulator, mode: str) -> None:
    result = await run(mode, **call_kwargs(emu, messages=[{"role": "user", "content": "FILTERME"}]))
    assert result.finish_reason == "content_filter"
    assert result.text  # the part produced before the cut is kept, as OpenAI does


async def test_env_settings_are_used(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_ENDPOINT", emu.url)
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", "emulator-key")
    response = litellm.completion(
        model=f"azure_llama/{MODEL}", messages=[{"role": "user", "content": "hello there"}]
    )
    assert response.choices[0].message.content == REPLY


async def test_timeout_is_honoured(emu: Emulator) -> None:
    from azure_llama_emulator import Fault

    emu.inject(Fault.slow_first_byte(2.0))
    with pytest.raises(litellm.Timeout):
        litellm.completion(timeout=httpx.Timeout(0.2), max_retries=0, **call_kwargs(emu))


async def test_clients_are_cached_per_endpoint_and_key_never_by_the_key_itself(
    emu: Emulator,
) -> None:
    from litellm_azure_llama import handler

    for _ in range(3):
        litellm.completion(**call_kwargs(emu))
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(**call_kwargs(emu, api_key="wrong-key"))
    keys = list(handler._clients._sync)
    assert len(keys) == 2
    assert not any(
        "emulator-key" in part or "wrong-key" in part for key in keys for part in map(str, key)
    )


@pytest.mark.parametrize("mode", MODES)
async def test_max_tokens_above_the_models_output_limit_is_refused_before_sending(
    emu: Emulator, mode: str
) -> None:
    with pytest.raises(litellm.BadRequestError, match="max_tokens=1000000 exceeds"):
        await run(mode, **call_kwargs(emu, max_tokens=1_000_000))
    assert emu.requests == []


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_endpoint_kind_is_refused_before_sending(emu: Emulator, mode: str) -> None:
    with pytest.raises(litellm.BadRequestError, match="endpoint_kind must be one of"):
        await run(mode, **call_kwargs(emu, endpoint_kind="mainframe"))
    assert emu.requests == []
