"""LangChain v1 agents: `create_agent` with tools, and a structured response in each strategy.

Shows: `langchain.agents.create_agent(model, tools=[...])` on an endpoint without native tool
calling or response formats (as Azure serves Llama: "Tool calling: No" for Llama 3.3 and 4, a
400 for `tools` and a 422 for `response_format` on other deployments), then the same agent with
`response_format=` in each of LangChain's strategies:

* `ToolStrategy(WeatherReport)`: the schema is one more tool, and every model turn is forced to
  call a tool (`tool_choice="required"`) until the schema's tool is called;
* `ProviderStrategy(WeatherReport)`: the schema goes as `response_format` (json_schema); the
  transport prompts for it where the endpoint refuses it, and validates the answer (one repair);
* `WeatherReport` alone: LangChain picks the strategy from the model's profile.

`ChatAzureLlama` (`tool_calling="auto"`, the default) prompts for the tools in Meta's format for
the model's family and parses the answer back into `tool_calls`, so the agent code does not
change. `state["structured_response"]` holds the validated object; a model that answers in
text where a tool was forced is asked again (native tools ignored) or raises
`ResponseDecodeError`, never ends the agent with no structured response. Each model turn's
`response_metadata["llama_protocol"]` says how it ran (printed as `how`).

Run:  make install && .venv/bin/python cookbook/agents_create_agent.py
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers, set to refuse native tools and schemas as real Llama
does. Offline, the emulator's responder is deterministic, not a model: it calls the tools the
question names and fills a schema from the `field: value` pairs of the question (`summary`
comes out as "example" when the question gives none).
"""

from __future__ import annotations

from typing import Any

from _target import target  # cookbook/ is on sys.path when a recipe runs as a script
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_azure_llama import ChatAzureLlama, ResponseDecodeError

TOOLS_QUESTION = 'Is it sunny in Lisbon? Call get_weather("Lisbon").'
REPORT_QUESTION = "Call get_weather for city: Lisbon, then give the WeatherReport."


class WeatherReport(BaseModel):
    """A short weather report for one city."""

    city: str = Field(description="the city")
    summary: str = Field(description="the weather, in a few words")


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return f"{city}: 21 C and sunny"


def show(messages: list[Any]) -> None:
    """Print the agent's turns: how each model turn ran, its calls, the tools' results."""
    for message in messages:
        if isinstance(message, AIMessage):
            how = message.response_metadata.get("llama_protocol") or {}
            reason = f" ({how['reason']})" if "reason" in how else ""
            print(f"how    : tools {how.get('tool_calling')}{reason}, "
                  f"schema {how.get('structured_output')}")  # fmt: skip
            for call in message.tool_calls:
                print(f"call   : {call['name']}({call['args']})")
        elif isinstance(message, ToolMessage) and message.name == get_weather.name:
            print(f"result : {message.content}")


def main() -> None:
    with target(tool_mode="reject", response_format_mode="reject") as t:
        print(f"Talking to {t.describe()}\n")
        llm = ChatAzureLlama(model=t.model, endpoint=t.endpoint, api_key=t.api_key)

        print("== tools ==")
        agent = create_agent(llm, tools=[get_weather])
        state = agent.invoke({"messages": [{"role": "user", "content": TOOLS_QUESTION}]})
        show(state["messages"])
        print(f"answer : {state['messages'][-1].content}\n")

        strategies: dict[str, Any] = {
            "ToolStrategy": ToolStrategy(WeatherReport),
            "ProviderStrategy": ProviderStrategy(WeatherReport),
            "schema": WeatherReport,
        }
        for label, response_format in strategies.items():
            print(f"== response_format={label} ==")
            agent = create_agent(llm, tools=[get_weather], response_format=response_format)
            try:
                state = agent.invoke({"messages": [{"role": "user", "content": REPORT_QUESTION}]})
            except ResponseDecodeError as exc:  # text where a call was forced, even prompted
                print(f"error  : {type(exc).__name__}: {exc}\n")
                continue
            show(state["messages"])
            print(f"report : {state['structured_response']!r}\n")


if __name__ == "__main__":
    main()
