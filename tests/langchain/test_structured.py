"""Structured output: prompted JSON schema (with one repair round) and function calling."""

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

from langchain_azure_llama import ChatAzureLlama, ContentFilterWarning
from langchain_azure_llama._structured import JSON_SCHEMA_INSTRUCTION, extract_json
from langchain_azure_llama.emulator import Emulator
from tests._support.langchain import Api

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


@pytest.mark.parametrize("schema", SCHEMAS, ids=SCHEMA_IDS)
async def test_json_schema(api: Api, make_model: Make, native_emu: Emulator, schema: Any) -> None:
    chain = make_model(native_emu).with_structured_output(schema)
    _check(await api.invoke(chain, "Describe name: Ann"), schema)
    [body] = _bodies(native_emu)
    system = body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith(JSON_SCHEMA_INSTRUCTION)
    shown = extract_json(system["content"][len(JSON_SCHEMA_INSTRUCTION) + 1 :])
    assert shown["properties"].keys() == {"name", "age"}
    assert "response_format" not in body
    assert "tools" not in body


async def test_json_schema_joins_an_existing_system_message(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    chain = make_model(native_emu).with_structured_output(Person)
    await api.invoke(chain, [SystemMessage("You are exact."), ("user", "name: Ann")])
    [body] = _bodies(native_emu)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"].startswith("You are exact.\n\n" + JSON_SCHEMA_INSTRUCTION)


async def test_json_schema_streams_one_result(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    chain = make_model(native_emu).with_structured_output(Person)
    assert await api.stream(chain, "name: Ann") == [Person(name="Ann", age=1)]


async def test_json_mode_takes_the_same_path(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    chain = make_model(native_emu).with_structured_output(Person, method="json_mode")
    assert await api.invoke(chain, "name: Ann") == Person(name="Ann", age=1)
    assert all("response_format" not in body for body in _bodies(native_emu))


async def test_include_raw(api: Api, make_model: Make, native_emu: Emulator) -> None:
    chain = make_model(native_emu).with_structured_output(Person, include_raw=True)
    result = await api.invoke(chain, "name: Ann")
    assert set(result) == {"raw", "parsed", "parsing_error"}
    assert isinstance(result["raw"], AIMessage)
    assert json.loads(result["raw"].content) == {"name": "Ann", "age": 1}
    assert result["parsed"] == Person(name="Ann", age=1)
    assert result["parsing_error"] is None


async def test_one_repair_round(api: Api, make_model: Make, native_emu: Emulator) -> None:
    chain = make_model(native_emu).with_structured_output(Person, include_raw=True)
    result = await api.invoke(chain, [SystemMessage("BADJSON"), ("user", "name: Ann")])
    # The emulator takes its hints from the last user turn, here the repair request.
    assert isinstance(result["parsed"], Person)
    assert result["parsing_error"] is None
    first, repair = _bodies(native_emu)
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
    with pytest.raises(ValueError, match="needs a schema"):
        model.with_structured_output(None)
    with pytest.raises(ValueError, match="Unknown method"):
        model.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported arguments"):
        model.with_structured_output(Person, tools=[])
    model.close()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  ```json\n{"a": 1}\n```  ', {"a": 1}),
        ('Here you go: {"a": 1} enjoy', {"a": 1}),
        ("[1, 2]", [1, 2]),
    ],
    ids=["plain", "fenced", "with-prose", "array"],
)
def test_extract_json(text: str, value: Any) -> None:
    assert extract_json(text) == value
