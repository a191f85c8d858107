"""Today's Llama through `ChatAzureLlama` (issue 21): every form Llama writes a call in becomes
the right tool calls (names, typed arguments, distinct ids), whole and streamed, sync and async;
nothing goes natively to a model Azure lists without tools or schemas; a deployment that ignores
`tools` still yields the call. Against the independent fake of the v1 route
(tests/_support/openai_v1.py) and the emulator's v1 route."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import tool
from pydantic import BaseModel

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama
from tests._support.langchain import Api, merged
from tests._support.llama_forms import FORM_PARAMS, FORMS, NOT_CALLS, TOOLS
from tests._support.openai_v1 import FakeV1

LLAMA33 = "Llama-3.3-70B-Instruct"
MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
LLAMA31 = "Meta-Llama-3.1-8B-Instruct"
NATIVE_KEYS = ("tools", "tool_choice", "response_format")


@pytest.fixture
def fake() -> FakeV1:
    return FakeV1({LLAMA33: LLAMA33, MAVERICK: MAVERICK})


@pytest.fixture
def base(fake: FakeV1) -> Iterator[str]:
    with fake.serve() as url:
        yield url


def _llm(base: str, model: str, key: str = "fake-v1-key", **extra: Any) -> ChatAzureLlama:
    return ChatAzureLlama(
        endpoint=base, api_key=key, endpoint_kind="openai-v1", model=model, max_retries=0, **extra
    )


async def _answer(api: Api, runnable: Any, streamed: bool, value: Any = "go") -> AIMessage:
    if not streamed:
        message = await api.invoke(runnable, value)
        assert isinstance(message, AIMessage)
        return message
    chunks = await api.stream(runnable, value)
    for chunk in chunks:  # no call syntax ever reaches the user as text
        assert "get_weather" not in str(chunk.content) and "<|" not in str(chunk.content)
    total = merged(chunks)
    assert isinstance(total, AIMessageChunk)
    indexes = [c["index"] for chunk in chunks for c in chunk.tool_call_chunks]
    assert len(set(indexes)) == len(indexes)  # one index per call
    return total


def _calls(message: AIMessage) -> list[tuple[str, dict[str, Any]]]:
    ids = [c["id"] for c in message.tool_calls]
    assert all(ids) and len(set(ids)) == len(ids), ids
    return [(c["name"], c["args"]) for c in message.tool_calls]


def _nothing_native(fake: FakeV1) -> None:
    for seen in fake.requests:
        assert not set(NATIVE_KEYS) & set(seen.json), seen.json


STREAMED = [pytest.param(False, id="whole"), pytest.param(True, id="streamed")]


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("model", [LLAMA33, MAVERICK])
@pytest.mark.parametrize("form", FORM_PARAMS)
async def test_every_form_becomes_tool_calls_and_nothing_goes_natively(
    fake: FakeV1, base: str, api: Api, form: str, model: str, streamed: bool
) -> None:
    text, expected, prose = FORMS[form]
    fake.reply, fake.piece = text, 3
    message = await _answer(api, _llm(base, model).bind_tools(TOOLS), streamed)
    assert _calls(message) == expected
    assert str(message.content).strip() == prose
    _nothing_native(fake)
    protocol = message.response_metadata["llama_protocol"]
    assert protocol["tool_calling"] == "prompt" and protocol["reason"] == "catalogue"
    assert protocol["format"] == "pythonic"
    (seen,) = fake.requests
    assert "[func_name1(" in seen.json["messages"][0]["content"]  # Meta's pythonic prompt


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("text", [pytest.param(v, id=k) for k, v in NOT_CALLS.items()])
async def test_names_in_prose_and_unbound_tools_stay_text(
    fake: FakeV1, base: str, api: Api, text: str, streamed: bool
) -> None:
    fake.reply, fake.piece = text, 4
    message = await _answer_text(api, _llm(base, LLAMA33).bind_tools(TOOLS), streamed)
    assert message.tool_calls == [] and message.content == text


async def _answer_text(api: Api, runnable: Any, streamed: bool) -> AIMessage:
    if not streamed:
        message = await api.invoke(runnable, "go")
        assert isinstance(message, AIMessage)
        return message
    total = merged(await api.stream(runnable, "go"))
    assert isinstance(total, AIMessage)
    return total


@pytest.mark.parametrize("streamed", STREAMED)
async def test_a_deployment_that_ignores_tools_still_yields_the_call(
    fake: FakeV1, base: str, api: Api, streamed: bool
) -> None:
    # A name of the user's own: the catalogue cannot know it is Llama 3.3 before it answers.
    name = f"mine-{uuid.uuid4().hex[:8]}"
    fake.deployments[name] = LLAMA33
    fake.reply, fake.piece = FORMS["pythonic-parallel"][0], 5
    llm = _llm(base, name).bind_tools(TOOLS)
    message = await _answer(api, llm, streamed)
    assert _calls(message) == FORMS["pythonic-parallel"][1]
    first, again = fake.requests
    assert first.json["tools"] and not set(NATIVE_KEYS) & set(again.json)
    assert message.response_metadata["llama_protocol"]["reason"] == "ignored"
    # Remembered: the next call goes prompted at once.
    fake.requests.clear()
    message = await _answer(api, llm, streamed)
    assert len(_calls(message)) == 2 and len(fake.requests) == 1
    _nothing_native(fake)


# The point is Llama 3.1's native-first tools and JSON prompt; 3.1 is retired on this route.
@pytest.mark.filterwarnings("ignore::azure_llama_transport.RetiredModelWarning")
@pytest.mark.parametrize("streamed", STREAMED)
async def test_a_forced_tool_answered_with_text_is_asked_again_prompted(
    fake: FakeV1, base: str, api: Api, streamed: bool
) -> None:
    # A Llama 3.1 name: native tools first; the deployment answers the forced call as text.
    name = f"{LLAMA31}-{uuid.uuid4().hex[:6]}"
    fake.deployments[name] = LLAMA31
    fake.reply, fake.piece = FORMS["json-parameters"][0], 7
    llm = _llm(base, name).bind_tools(TOOLS, tool_choice="get_weather")
    message = await _answer(api, llm, streamed)
    assert _calls(message) == FORMS["json-parameters"][1]
    first, again = fake.requests
    assert first.json["tool_choice"] and "tools" not in again.json
    assert "Given the following functions" in again.json["messages"][0]["content"]  # 3.1: JSON


class City(BaseModel):
    city: str
    days: int


async def test_structured_output_is_prompted_for_a_model_listed_text_only(
    fake: FakeV1, base: str, api: Api
) -> None:
    fake.reply = '{"city": "Paris", "days": 3}'
    answer = await api.invoke(_llm(base, LLAMA33).with_structured_output(City), "go")
    assert answer == City(city="Paris", days=3)
    _nothing_native(fake)


async def test_a_create_agent_loop_runs_the_parallel_calls(fake: FakeV1, base: str) -> None:
    ran: list[tuple[str, Any]] = []

    @tool
    def get_weather(city: str, days: int = 1) -> str:
        """Weather for a city, some days ahead."""
        ran.append(("get_weather", (city, days)))
        return f"sunny in {city} for {days} days"

    @tool
    def get_time(tz: str) -> str:
        """Clock time in a timezone."""
        ran.append(("get_time", tz))
        return "12:00"

    fake.replies = [FORMS["pythonic-parallel"][0], "Sunny, and it is noon."]
    agent = create_agent(_llm(base, MAVERICK), tools=[get_weather, get_time])
    state = agent.invoke({"messages": [{"role": "user", "content": "weather and time?"}]})
    assert sorted(ran) == [("get_time", "Europe/Paris"), ("get_weather", ("Paris", 3))]
    assert state["messages"][-1].content == "Sunny, and it is noon."
    _nothing_native(fake)
    second = fake.requests[1].json["messages"]
    # The results go back as tool messages, the calls as Meta's pythonic list.
    assert [m["role"] for m in second[-3:]] == ["assistant", "tool", "tool"]
    assert second[-3]["content"].startswith("[get_weather(")


# -- the emulator's v1 route ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    models = (LLAMA33, MAVERICK, f"ignoring={LLAMA33}")
    with Emulator(EmulatorConfig(kind="openai-v1", models=models, tool_mode="ignore")) as emu:
        yield emu


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("model", [LLAMA33, MAVERICK])
async def test_emulator_parallel_calls(
    emulator: Emulator, api: Api, model: str, streamed: bool
) -> None:
    emulator.clear()
    llm = _llm(emulator.url + "/openai/v1", model, key="emulator-key").bind_tools(
        TOOLS, headers={"x-emulator-parallel-calls": "2"}
    )
    message = await _answer(api, llm, streamed, "get_weather city=Oslo")
    names = [name for name, _ in _calls(message)]
    assert names == ["get_weather", "get_time"]
    assert message.tool_calls[0]["args"]["city"] == "Oslo"
    for request in emulator.requests:
        assert not set(NATIVE_KEYS) & set(request.json or {})


@pytest.mark.parametrize("streamed", STREAMED)
async def test_emulator_deployment_ignoring_tools_still_yields_the_call(
    emulator: Emulator, api: Api, streamed: bool
) -> None:
    emulator.clear()
    llm = _llm(emulator.url + "/openai/v1", "ignoring", key="emulator-key").bind_tools(TOOLS)
    message = await _answer(api, llm, streamed, "get_weather city=Oslo")
    ((name, args),) = _calls(message)
    assert name == "get_weather" and args["city"] == "Oslo" and isinstance(args["days"], int)
    # The last request (the first one re-asked, or one after the refusal was remembered).
    assert not set(NATIVE_KEYS) & set(emulator.requests[-1].json or {})
