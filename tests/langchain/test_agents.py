"""LangChain v1 agents and LangGraph loops on endpoints that refuse tools and schemas, and on
endpoints that take them: `create_agent(..., response_format=...)` with both strategies, and a
tool loop streamed with ``stream_mode="messages"``.

A forced tool_choice (ToolStrategy's) ends in the structured response or a typed error, never
in a silent None: on Llama 3.3 (prompted from the first call), on an endpoint that ignores
native tools (asked again prompted), and when a prompted model answers text anyway.

"reject" is the emulator answering native `tools` with vLLM's 400 and `response_format:
json_schema` with Azure's documented 422, as real Llama deployments do; "native" accepts both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama, ResponseDecodeError
from tests._support.langchain import EMULATOR_KEY, MODEL, Api

Make = Callable[..., ChatAzureLlama]


class Weather(BaseModel):
    """The weather in a city."""

    city: str = Field(description="The city")
    summary: str = Field(description="The weather, in a few words")


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(zone: str) -> str:
    """Get the current time in a time zone."""
    return f"noon in {zone}"


def _chat_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.path == "/chat/completions"]


def _protocols(messages: list[Any]) -> set[tuple[str, str]]:
    return {
        (m.response_metadata["llama_protocol"]["tool_calling"],
         m.response_metadata["llama_protocol"]["structured_output"])
        for m in messages
        if isinstance(m, AIMessage)
    }  # fmt: skip


# A tool call first, then the structured answer after the tool's result.
PROVIDER_FORMATS = {
    "auto": Weather,  # the profile says structured_output=True: LangChain picks the provider
    "provider": ProviderStrategy(Weather),
}


@pytest.mark.parametrize("strategy", list(PROVIDER_FORMATS), ids=list(PROVIDER_FORMATS))
async def test_provider_strategy_on_a_refusing_endpoint(
    api: Api, make_model: Make, reject_emu: Emulator, strategy: str
) -> None:
    agent = create_agent(
        make_model(reject_emu), tools=[get_weather], response_format=PROVIDER_FORMATS[strategy]
    )
    state = await api.invoke(agent, {"messages": [("user", "get_weather for city: Paris")]})
    assert state["structured_response"] == Weather(city="Paris", summary="example")
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert state["messages"][2].content == "sunny in Paris"
    assert _protocols(state["messages"]) == {("prompt", "prompt")}
    bodies = _chat_bodies(reject_emu)
    # Each native feature refused once (the vLLM 400, the 422; in the emulator's order), then
    # both prompted from then on.
    sent = [("tools" in b, "response_format" in b) for b in bodies]
    assert sent[0] == (True, True)
    assert sent[1] in [(True, False), (False, True)]
    assert sent[2:] == [(False, False), (False, False)]
    assert [m["role"] for m in bodies[-1]["messages"]] == ["system", "user", "assistant", "tool"]


@pytest.mark.parametrize("strategy", list(PROVIDER_FORMATS), ids=list(PROVIDER_FORMATS))
async def test_provider_strategy_on_a_native_endpoint_stays_native(
    api: Api, make_model: Make, native_emu: Emulator, strategy: str
) -> None:
    agent = create_agent(
        make_model(native_emu), tools=[get_weather], response_format=PROVIDER_FORMATS[strategy]
    )
    state = await api.invoke(agent, {"messages": [("user", "get_weather for city: Paris")]})
    assert state["structured_response"] == Weather(city="Paris", summary="example")
    assert state["messages"][2].content == "sunny in Paris"
    assert _protocols(state["messages"]) == {("native", "native")}
    bodies = _chat_bodies(native_emu)
    assert len(bodies) == 2
    for body in bodies:
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert body["response_format"]["json_schema"]["name"] == "Weather"
        assert all(m["role"] != "system" for m in body["messages"])  # nothing prompted
    assert bodies[1]["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("emulator", ["reject", "native"], ids=["reject", "native"])
async def test_tool_strategy(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str
) -> None:
    emu = emulators[emulator]
    emu.clear()
    agent = create_agent(
        make_model(emu), tools=[get_weather], response_format=ToolStrategy(Weather)
    )
    state = await api.invoke(agent, {"messages": [("user", "Report the Weather for city: Oslo")]})
    assert state["structured_response"] == Weather(city="Oslo", summary="example")
    [call] = state["messages"][1].tool_calls
    assert call["name"] == "Weather"
    mode = "prompt" if emulator == "reject" else "native"
    assert _protocols(state["messages"]) == {(mode, "none")}
    bodies = _chat_bodies(emu)
    assert all("response_format" not in b for b in bodies)
    if emulator == "native":
        [body] = bodies
        assert body["tool_choice"] == "required"
        assert {t["function"]["name"] for t in body["tools"]} == {"get_weather", "Weather"}
    else:
        assert ["tools" in b for b in bodies] == [True, False]


@pytest.mark.parametrize("emulator", ["reject", "native"], ids=["reject", "native"])
async def test_langgraph_tool_loop_streamed_as_messages(
    api: Api, make_model: Make, emulators: dict[str, Emulator], emulator: str
) -> None:
    emu = emulators[emulator]
    emu.clear()
    agent = create_agent(make_model(emu), tools=[get_weather, get_time])
    events = await api.stream(
        agent, {"messages": [("user", "get_time for zone: UTC")]}, stream_mode="messages"
    )
    chunks = [message for message, _ in events if isinstance(message, AIMessageChunk)]
    tool_chunks = [c for chunk in chunks for c in chunk.tool_call_chunks]
    assert [c["name"] for c in tool_chunks] == ["get_time"]
    assert tool_chunks[0]["index"] == 0
    assert tool_chunks[0]["id"]
    results = [m for m, _ in events if isinstance(m, ToolMessage)]
    assert [r.content for r in results] == ["noon in UTC"]
    answer = "".join(c.text for c in chunks if not c.tool_call_chunks)
    assert "noon in UTC" in answer  # the loop went on after the tool and finished
    mode = "prompt" if emulator == "reject" else "native"
    protocols = [
        c.response_metadata["llama_protocol"]["tool_calling"]
        for c in chunks
        if "llama_protocol" in c.response_metadata
    ]
    assert protocols == [mode, mode]


# -- a forced tool_choice is answered with the structured response or a typed error -------------
#
# `ToolStrategy` forces a call (tool_choice "required") on every turn. A model that answers
# with text instead must never end the agent with `structured_response` missing: the transport
# asks again prompted (native tools ignored), or raises `ResponseDecodeError` (a prompted
# answer without a call).

LLAMA33 = "Llama-3.3-70B-Instruct"
DIRECT = "Report the Weather for city: Oslo"  # the schema tool is the call asked for
TOOL_FIRST = "get_weather for city: Oslo"  # the agent's tool first, then the schema tool


@pytest.fixture(scope="module")
def llama33_reject() -> Iterator[Emulator]:
    config = EmulatorConfig(
        api_key=EMULATOR_KEY, model_name=LLAMA33, tool_mode="reject", response_format_mode="reject"
    )
    with Emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def ignoring() -> Iterator[Emulator]:
    """Answers native `tools` (forced or not) in plain text, as if none were sent."""
    with Emulator(
        EmulatorConfig(api_key=EMULATOR_KEY, model_name=MODEL, tool_mode="ignore")
    ) as emu:
        yield emu


def _structured_agent(llm: ChatAzureLlama) -> Any:
    return create_agent(llm, tools=[get_weather], response_format=ToolStrategy(Weather))


@pytest.mark.parametrize("question", [DIRECT, TOOL_FIRST], ids=["direct", "tool-first"])
async def test_tool_strategy_on_llama33_prompted_from_the_first_call(
    api: Api, make_model: Make, llama33_reject: Emulator, question: str
) -> None:
    llama33_reject.clear()
    state = await api.invoke(
        _structured_agent(make_model(llama33_reject, model=LLAMA33)),
        {"messages": [("user", question)]},
    )
    assert state["structured_response"] == Weather(city="Oslo", summary="example")
    bodies = _chat_bodies(llama33_reject)
    assert bodies and all("tools" not in b and "tool_choice" not in b for b in bodies)
    assert "You must call" in bodies[0]["messages"][0]["content"]  # the forced choice, prompted
    protocol = state["messages"][1].response_metadata["llama_protocol"]
    assert (protocol["tool_calling"], protocol["reason"]) == ("prompt", "catalogue")


async def test_tool_strategy_when_the_endpoint_ignores_native_tools_asks_again_prompted(
    api: Api, make_model: Make, ignoring: Emulator
) -> None:
    ignoring.clear()
    state = await api.invoke(
        _structured_agent(make_model(ignoring)), {"messages": [("user", DIRECT)]}
    )
    assert state["structured_response"] == Weather(city="Oslo", summary="example")
    first, again = _chat_bodies(ignoring)
    assert first["tool_choice"] == "required" and "tools" not in again
    protocol = state["messages"][1].response_metadata["llama_protocol"]
    assert (protocol["tool_calling"], protocol["reason"]) == ("prompt", "ignored")


async def test_tool_strategy_answered_with_text_after_a_tool_raises_a_typed_error(
    api: Api, make_model: Make, ignoring: Emulator
) -> None:
    # The ignored native call is asked again prompted and runs get_weather; on the next turn
    # the (prompted, forced) model answers the tool's result in text: that is an error, not
    # an agent that ends with no structured response.
    ignoring.clear()
    agent = _structured_agent(make_model(ignoring))
    with pytest.raises(ResponseDecodeError, match="tool_choice forced a call") as caught:
        await api.invoke(agent, {"messages": [("user", TOOL_FIRST)]})
    assert caught.value.partial_text == "The tool get_weather returned: sunny in Oslo."
    bodies = _chat_bodies(ignoring)
    assert ["tools" in b for b in bodies] == [True, False, False]
    assert [m["role"] for m in bodies[-1]["messages"]] == ["system", "user", "assistant", "tool"]


STREAMED = [pytest.param(False, id="whole"), pytest.param(True, id="streamed")]
CHOICES = [pytest.param("required", id="required"), pytest.param("get_weather", id="named")]


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("choice", CHOICES)
async def test_a_forced_prompted_call_answered_with_text_raises(
    api: Api, make_model: Make, native_emu: Emulator, streamed: bool, choice: str
) -> None:
    llm = make_model(native_emu, tool_calling="prompt").bind_tools(
        [get_weather, get_time], tool_choice=choice
    )
    history = [
        ("user", "get_weather for city: Oslo"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        ToolMessage("sunny in Oslo", tool_call_id="c1"),
    ]
    with pytest.raises(ResponseDecodeError, match="answered without one") as caught:
        if streamed:
            await api.stream(llm, history)
        else:
            await api.invoke(llm, history)
    assert caught.value.partial_text == "The tool get_weather returned: sunny in Oslo."
    assert "tools" not in native_emu.requests[-1].json


@pytest.mark.parametrize("streamed", STREAMED)
async def test_an_unforced_prompted_answer_in_text_is_an_answer(
    api: Api, make_model: Make, native_emu: Emulator, streamed: bool
) -> None:
    llm = make_model(native_emu, tool_calling="prompt").bind_tools([get_weather])
    history = [
        ("user", "get_weather for city: Oslo"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        ToolMessage("sunny in Oslo", tool_call_id="c1"),
    ]
    if streamed:
        chunks = await api.stream(llm, history)
        text = "".join(c.text for c in chunks)
    else:
        text = (await api.invoke(llm, history)).text
    assert text == "The tool get_weather returned: sunny in Oslo."
