"""Structured output: json_schema (native, or prompted after the 422; one repair round) and
function calling, with the emulator in both modes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import AIMessage, SystemMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from azure_llama_emulator import Emulator
from langchain_azure_llama import ChatAzureLlama, ContentFilterWarning, RequestValidationError
from tests._support.langchain import Api, merged

Make = Callable[..., ChatAzureLlama]


class Person(BaseModel):
    """A person."""

    name: str = Field(description="Their name")
    age: int = Field(ge=0)


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


PERSON_SCHEMA = Person.model_json_schema()
SCHEMAS = [Person, PersonDict, PERSON_SCHEMA]
SCHEMA_IDS = ["pydantic", "typeddict", "json-schema"]


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests]


def _check(result: Any, schema: Any) -> None:
    if schema is Person:
        assert result == Person(name="Ann", age=1)
    else:
        assert result == {"name": "Ann", "age": 1}


def _asked_schema(body: dict[str, Any]) -> dict[str, Any]:
    return body["response_format"]["json_schema"]["schema"]


@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
async def test_json_schema_native(
    api: Api, make_model: Make, native_emu: Emulator, schema: Any
) -> None:
    chain = make_model(native_emu).with_structured_output(schema)
    _check(await api.invoke(chain, "Describe name: Ann"), schema)
    [body] = _bodies(native_emu)
    assert body["response_format"]["type"] == "json_schema"
    assert _asked_schema(body)["properties"].keys() == {"name", "age"}
    assert body["messages"] == [{"role": "user", "content": "Describe name: Ann"}]
    assert "tools" not in body


@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
async def test_json_schema_prompted_after_the_422(
    api: Api, make_model: Make, reject_emu: Emulator, schema: Any
) -> None:
    chain = make_model(reject_emu).with_structured_output(schema)
    _check(await api.invoke(chain, "Describe name: Ann"), schema)
    refused, prompted = _bodies(reject_emu)
    assert _asked_schema(refused)["properties"].keys() == {"name", "age"}
    assert "response_format" not in prompted
    system = prompted["messages"][0]
    assert system["role"] == "system"
    assert json.dumps(_asked_schema(refused), ensure_ascii=False) in system["content"]
    # The refusal is remembered: the next call goes straight to the prompted schema.
    _check(await api.invoke(chain, "Describe name: Ann"), schema)
    assert ["response_format" in body for body in _bodies(reject_emu)] == [True, False, False]


async def test_prompted_schema_joins_an_existing_system_message(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    chain = make_model(reject_emu).with_structured_output(Person)
    await api.invoke(chain, [SystemMessage("You are exact."), ("user", "name: Ann")])
    prompted = _bodies(reject_emu)[-1]
    assert [m["role"] for m in prompted["messages"]] == ["system", "user"]
    assert prompted["messages"][0]["content"].startswith("You are exact.\n\n")
    assert '"properties"' in prompted["messages"][0]["content"]


@pytest.mark.parametrize("emulator", ["native", "reject"], ids=["native", "reject"])
async def test_json_schema_streams_one_result(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str
) -> None:
    chain = make_model(emulators[emulator]).with_structured_output(Person)
    assert await api.stream(chain, "name: Ann") == [Person(name="Ann", age=1)]


@pytest.mark.parametrize("emulator", ["native", "reject"], ids=["native", "reject"])
async def test_bind_response_format(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str
) -> None:
    emu = emulators[emulator]
    emu.clear()
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON_SCHEMA},
    }
    model = make_model(emu).bind(response_format=response_format)
    answer = await api.invoke(model, "Describe name: Ann")
    assert json.loads(answer.content) == {"name": "Ann", "age": 1}
    mode = "native" if emulator == "native" else "prompt"
    assert answer.response_metadata["llama_protocol"]["structured_output"] == mode
    streamed = merged(await api.stream(model, "Describe name: Ann"))
    assert json.loads(streamed.content) == {"name": "Ann", "age": 1}
    assert streamed.response_metadata["llama_protocol"]["structured_output"] == mode
    sent = ["response_format" in body for body in _bodies(emu)]
    assert sent == ([True, True] if emulator == "native" else [True, False, False])


async def test_json_mode_takes_the_same_path(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    chain = make_model(native_emu).with_structured_output(Person, method="json_mode")
    assert await api.invoke(chain, "name: Ann") == Person(name="Ann", age=1)
    [body] = _bodies(native_emu)
    assert body["response_format"]["type"] == "json_schema"


async def test_include_raw(api: Api, make_model: Make, native_emu: Emulator) -> None:
    chain = make_model(native_emu).with_structured_output(Person, include_raw=True)
    result = await api.invoke(chain, "name: Ann")
    assert set(result) == {"raw", "parsed", "parsing_error"}
    assert isinstance(result["raw"], AIMessage)
    assert json.loads(result["raw"].content) == {"name": "Ann", "age": 1}
    assert result["parsed"] == Person(name="Ann", age=1)
    assert result["parsing_error"] is None


@pytest.mark.parametrize("emulator", ["native", "reject"], ids=["native", "reject"])
async def test_one_repair_round(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str
) -> None:
    emu = emulators[emulator]
    emu.clear()
    chain = make_model(emu).with_structured_output(Person, include_raw=True)
    result = await api.invoke(chain, [SystemMessage("BADJSON"), ("user", "name: Ann")])
    # The emulator takes its hints from the last user turn, here the repair request.
    assert isinstance(result["parsed"], Person)
    assert result["parsing_error"] is None
    assert result["raw"].response_metadata["llama_protocol"]["repaired"] is True
    first, repair = _bodies(emu)[-2:]
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    assert repair["messages"][2]["content"] == '{"oops": '
    assert "corrected JSON object" in repair["messages"][3]["content"]


def _always(answer: str) -> tuple[httpx.Client, Callable[[], httpx.AsyncClient]]:
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer},
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    transport = httpx.MockTransport(handler)
    return httpx.Client(transport=transport), lambda: httpx.AsyncClient(transport=transport)


@pytest.mark.parametrize(
    "answer", ['{"name": "Ann"}', "no JSON here", '{"name": "Ann", "age": -3}'],
    ids=["missing-key", "no-json", "invalid-value"],
)  # fmt: skip
@pytest.mark.parametrize("include_raw", [False, True], ids=["raise", "include-raw"])
async def test_second_failure_raises(api: Api, answer: str, include_raw: bool) -> None:
    sync, factory = _always(answer)
    model = ChatAzureLlama(
        endpoint="https://my-llama.eastus2.models.ai.azure.com",
        api_key="k",
        http_client=sync,
        http_async_client_factory=factory,
    )
    schema = Person if answer != '{"name": "Ann"}' else PersonDict
    chain = model.with_structured_output(schema, include_raw=include_raw)
    if include_raw:
        result = await api.invoke(chain, "hi")
        assert isinstance(result["parsing_error"], OutputParserException)
        assert result["parsed"] is None
        assert result["raw"].content == answer
    else:
        with pytest.raises(OutputParserException):
            await api.invoke(chain, "hi")
    model.close()
    await model.aclose()


@pytest.mark.parametrize("include_raw", [False, True], ids=["raise", "include-raw"])
async def test_content_filter_is_a_refusal(
    api: Api, make_model: Make, native_emu: Emulator, include_raw: bool
) -> None:
    chain = make_model(native_emu).with_structured_output(Person, include_raw=include_raw)
    with pytest.warns(ContentFilterWarning):
        if include_raw:
            result = await api.invoke(chain, "FILTERME name: Ann")
            assert isinstance(result["parsing_error"], ModelRefusalError)
            assert result["raw"].response_metadata["finish_reason"] == "content_filter"
        else:
            with pytest.raises(ModelRefusalError) as info:
                await api.invoke(chain, "FILTERME name: Ann")
            assert info.value.raw_message is not None
    assert len(native_emu.requests) == 1  # no repair round for a refusal


@pytest.mark.parametrize("emulator", ["native", "reject"], ids=["native-tools", "prompted"])
@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
async def test_function_calling(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str, schema: Any
) -> None:
    emu = emulators[emulator]
    emu.clear()
    chain = make_model(emu).with_structured_output(schema, method="function_calling")
    _check(await api.invoke(chain, "Describe name: Ann"), schema)
    tools = [body for body in _bodies(emu) if "tools" in body]
    assert [body["tool_choice"] for body in tools] == [
        {
            "type": "function",
            "function": {"name": "Person" if schema is not PersonDict else "PersonDict"},
        }
    ]


async def test_function_calling_include_raw(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    chain = make_model(reject_emu).with_structured_output(
        Person, method="function_calling", include_raw=True
    )
    result = await api.invoke(chain, "name: Ann")
    assert result["parsed"] == Person(name="Ann", age=1)
    assert result["raw"].tool_calls[0]["name"] == "Person"
    assert result["parsing_error"] is None


@pytest.mark.parametrize("include_raw", [False, True], ids=["raise", "include-raw"])
async def test_function_calling_refusal(
    api: Api, make_model: Make, reject_emu: Emulator, include_raw: bool
) -> None:
    model = make_model(reject_emu, tool_calling="prompt")
    chain = model.with_structured_output(Person, method="function_calling", include_raw=include_raw)
    with pytest.warns(ContentFilterWarning):
        if include_raw:
            result = await api.invoke(chain, "FILTERME name: Ann")
            assert isinstance(result["parsing_error"], ModelRefusalError)
        else:
            with pytest.raises(ModelRefusalError):
                await api.invoke(chain, "FILTERME name: Ann")


def test_bad_arguments_are_refused(native_emu: Emulator) -> None:
    model = ChatAzureLlama(endpoint=native_emu.url, api_key="k")
    # Client-side refusals, of the one type (a `ValueError` and a `ModelInvalidRequestError`).
    with pytest.raises(RequestValidationError, match="needs a schema") as info:
        model.with_structured_output(None)
    assert info.value.param == "schema"
    with pytest.raises(RequestValidationError, match="Unknown method") as info:
        model.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    assert info.value.param == "method"
    with pytest.raises(RequestValidationError, match="unsupported arguments"):
        model.with_structured_output(Person, tools=[])
    model.close()
