"""Tools and `response_format` through LiteLLM, on Llama endpoints that refuse them and on ones
that take them: the transport's Llama protocol picks native or prompted, and LiteLLM always sees
OpenAI-shaped `tool_calls` and JSON content."""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError
from pydantic import BaseModel

from azure_llama_emulator import Emulator
from tests._support.litellm import KEY, MODEL, MODES, call_kwargs, run, unwrap

STREAMS = [p for p in MODES if p.id in ("stream", "astream")]
ASK = [{"role": "user", "content": "What is the weather in 'Lisbon'?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class Weather(BaseModel):
    city: str
    temperature: int


WEATHER_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "Weather", "schema": Weather.model_json_schema()},
}
FORMATS = [
    pytest.param(WEATHER_SCHEMA, id="json-schema-dict"),
    pytest.param(Weather, id="pydantic-class"),
]


def _system_text(body: dict[str, Any]) -> str:
    return " ".join(m["content"] for m in body["messages"] if m["role"] == "system")


def _assert_weather_call(calls: list[Any]) -> None:
    (call,) = calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Lisbon"}
    assert call.id and call.type == "function"


# -- endpoints that refuse: prompted, parsed back -------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_tools_on_a_refusing_endpoint_arrive_as_tool_calls(
    refusing: Emulator, mode: str
) -> None:
    result = await run(mode, tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=ASK))
    assert result.finish_reason == "tool_calls"
    _assert_weather_call(result.tool_calls)
    if mode in ("stream", "astream"):
        assert result.tool_calls[0].index == 0
    native, prompted = (r.json for r in refusing.requests)
    assert native["tools"] == [WEATHER_TOOL]  # tried natively, refused with vLLM's 400
    assert "tools" not in prompted and "tool_choice" not in prompted
    assert '"name": "get_weather"' in _system_text(prompted)


@pytest.mark.parametrize("mode", STREAMS)
async def test_a_prompted_streamed_call_rebuilds_with_stream_chunk_builder(
    refusing: Emulator, mode: str
) -> None:
    result = await run(mode, tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=ASK))
    whole = litellm.stream_chunk_builder(result.chunks)
    assert whole is not None
    assert whole.choices[0].finish_reason == "tool_calls"  # type: ignore[union-attr]
    _assert_weather_call(whole.choices[0].message.tool_calls)  # type: ignore[union-attr]


async def test_the_refusal_is_remembered_for_the_endpoint(refusing: Emulator) -> None:
    litellm.completion(tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=ASK))
    refusing.clear()
    response = litellm.completion(tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=ASK))
    _assert_weather_call(response.choices[0].message.tool_calls)  # type: ignore[union-attr]
    (only,) = refusing.requests
    assert "tools" not in only.json


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_loop_round_trip_on_a_refusing_endpoint(refusing: Emulator, mode: str) -> None:
    first = litellm.completion(tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=ASK))
    message = first.choices[0].message  # type: ignore[union-attr]
    messages = [
        *ASK,
        message,  # LiteLLM's own Message, appended as OpenAI users do
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "21 C and sunny"},
    ]
    result = await run(mode, tools=[WEATHER_TOOL], **call_kwargs(refusing, messages=messages))
    assert result.finish_reason == "stop"
    assert "21 C and sunny" in result.text
    assert result.tool_calls == []
    sent = refusing.requests[-1].json
    assert "tools" not in sent
    assert "21 C and sunny" in json.dumps(sent["messages"])


@pytest.mark.parametrize("response_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
async def test_response_format_on_a_refusing_endpoint_answers_in_the_schema(
    refusing: Emulator, mode: str, response_format: Any
) -> None:
    result = await run(mode, response_format=response_format, **call_kwargs(refusing, messages=ASK))
    assert result.finish_reason == "stop"
    assert Weather.model_validate_json(result.text).city == "Lisbon"
    native, prompted = (r.json for r in refusing.requests)
    assert native["response_format"]["json_schema"]["schema"]["required"] == [
        "city",
        "temperature",
    ]  # tried natively, refused with the documented 422
    assert "response_format" not in prompted
    assert '"temperature"' in _system_text(prompted)


@pytest.mark.parametrize("mode", MODES)
async def test_an_answer_outside_the_schema_is_a_json_schema_validation_error(
    refusing: Emulator, mode: str
) -> None:
    schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[0-9]{3}$"}},
        "required": ["code"],
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "Code", "schema": schema}}
    with pytest.raises((litellm.JSONSchemaValidationError, MidStreamFallbackError)) as info:
        await run(mode, response_format=response_format, **call_kwargs(refusing))
    error = unwrap(info.value)
    assert isinstance(error, litellm.JSONSchemaValidationError)
    assert "does not match '^[0-9]{3}$'" in str(error)
    assert json.loads(error.schema) == schema
    assert "code" in error.raw_response
    # Whole answers get one repair round; a stream is validated once, at its end.
    assert len(refusing.requests) == (3 if mode in ("sync", "async") else 2)


# -- endpoints that accept: native only, prompted mode never entered -----------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_an_accepting_endpoint_gets_native_tools_only(emu: Emulator, mode: str) -> None:
    messages = [{"role": "user", "content": "use get_weather for 'Lisbon'"}]
    result = await run(mode, tools=[WEATHER_TOOL], **call_kwargs(emu, messages=messages))
    assert result.finish_reason == "tool_calls"
    (call,) = result.tool_calls
    assert call.function.name == "get_weather"
    (request,) = emu.requests
    assert request.json["tools"] == [WEATHER_TOOL]
    assert request.json["messages"] == messages  # no prompt added


@pytest.mark.parametrize("response_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
async def test_an_accepting_endpoint_gets_native_response_format_only(
    emu: Emulator, mode: str, response_format: Any
) -> None:
    result = await run(mode, response_format=response_format, **call_kwargs(emu, messages=ASK))
    assert Weather.model_validate_json(result.text).city == "Lisbon"
    (request,) = emu.requests
    sent = request.json["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"] == Weather.model_json_schema()["properties"]
    assert request.json["messages"] == ASK  # no prompt added


# -- tool_calling: the kwarg and the proxy's litellm_params key ------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_tool_calling_prompt_never_sends_native_tools(emu: Emulator, mode: str) -> None:
    kwargs = call_kwargs(emu, messages=ASK)
    result = await run(mode, tools=[WEATHER_TOOL], tool_calling="prompt", **kwargs)
    _assert_weather_call(result.tool_calls)
    (request,) = emu.requests
    assert "tools" not in request.json and "tool_calling" not in request.json
    assert "extra-parameters" not in request.headers  # a provider setting, not a body key


async def test_tool_calling_native_lets_the_refusal_stand(refusing: Emulator) -> None:
    with pytest.raises(litellm.BadRequestError, match=r"auto\W+tool choice requires"):
        litellm.completion(
            tools=[WEATHER_TOOL], tool_calling="native", **call_kwargs(refusing, messages=ASK)
        )
    assert len(refusing.requests) == 1


async def test_an_unknown_tool_calling_is_refused_before_sending(emu: Emulator) -> None:
    with pytest.raises(litellm.BadRequestError, match="tool_calling must be"):
        litellm.completion(tools=[WEATHER_TOOL], tool_calling="sometimes", **call_kwargs(emu))
    assert emu.requests == []


@pytest.mark.parametrize("drop_params", [False, True], ids=["kept", "drop-params"])
async def test_tool_calling_as_a_litellm_params_key(emu: Emulator, drop_params: bool) -> None:
    """The proxy's `litellm_params` reach the provider as a Router deployment's do."""
    params = {
        "model": f"azure_llama/{MODEL}",
        "api_base": emu.url,
        "api_key": KEY,
        "tool_calling": "prompt",
        "drop_params": drop_params,
    }
    router = litellm.Router(model_list=[{"model_name": "llama", "litellm_params": params}])
    response = await router.acompletion(model="llama", messages=ASK, tools=[WEATHER_TOOL])
    _assert_weather_call(response.choices[0].message.tool_calls)  # type: ignore[union-attr]
    (request,) = emu.requests
    assert "tools" not in request.json
