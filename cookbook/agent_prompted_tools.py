"""A LangGraph agent with two tools, on an endpoint that refuses native tool calling.

Shows: a tool-using loop (model -> tools -> model, until the model answers in text) built
from LangGraph's `StateGraph`, `ToolNode` and `tools_condition`, with memory across turns.
Azure lists Llama 3.3 and Llama 4 with "Tool calling: No", so `ChatAzureLlama(tool_calling="auto")`
prompts for tools from the first call (the tools in the system prompt in Meta's format for the
model's family: pythonic `[f(a=1)]` for 3.3 and 4, JSON for 3.1; the answer parsed back into
`tool_calls`, tool results sent back as `tool` turns). For a model the catalogue does not list so,
"auto" sends native `tools`; a deployment that answers them with a 400 is remembered for the
endpoint and asked again prompted. Each answer's `response_metadata["llama_protocol"]` says which
happened and why (printed as `how`). The agent code does not change. (LangGraph 1.x deprecates
`create_react_agent` for `langchain.agents.create_agent`; this is the same loop, written out.)

Run:  make install && .venv/bin/python cookbook/agent_prompted_tools.py   (langgraph is a dev
      dependency, installed by `make install`; elsewhere `pip install langgraph`)
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers, set to refuse native tools as real Llama does.
Offline, the emulator's responder is deterministic, not a model: it calls the tool whose name
the question contains and then reports the tool's result, so each question names one tool.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from _target import target  # cookbook/ is on sys.path when a recipe runs as a script
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_azure_llama import ChatAzureLlama

QUESTIONS = [
    'Is it sunny in Lisbon today? Call get_weather("Lisbon").',
    'And how much is 250 euros in US dollars? Call convert_currency(250, "USD").',
]


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return f"{city}: 21 C and sunny"


@tool
def convert_currency(amount: float, to_currency: str) -> str:
    """Convert an amount of euros into another currency."""
    rates = {"USD": 1.08, "GBP": 0.85, "JPY": 162.0}
    return f"{amount:.2f} EUR = {amount * rates.get(to_currency.upper(), 1.0):.2f} {to_currency}"


def build_agent(llm: ChatAzureLlama) -> CompiledStateGraph[MessagesState, None, Any, Any]:
    tools = [get_weather, convert_currency]
    model = llm.bind_tools(tools)

    def call_model(state: MessagesState) -> dict[str, list[AIMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)  # tool calls -> "tools", else end
    graph.add_edge("tools", "model")
    return graph.compile(checkpointer=InMemorySaver())  # keeps the conversation per thread


def main() -> None:
    # The switch to prompted mode is logged at INFO (by the transport); show it inline.
    logging.basicConfig(stream=sys.stdout, format="log    : %(message)s")
    logging.getLogger("langchain_azure_llama").setLevel(logging.INFO)
    with target(tool_mode="reject") as t:
        print(f"Talking to {t.describe()}\n")
        # "auto" is the default: prompted for models Azure lists without tools, else native
        # tools until the endpoint refuses them, then prompted.
        llm = ChatAzureLlama(
            model=t.model, endpoint=t.endpoint, api_key=t.api_key, tool_calling="auto"
        )
        agent = build_agent(llm)
        config: RunnableConfig = {"configurable": {"thread_id": "cookbook"}}
        seen = 0
        for question in QUESTIONS:
            print(f"user   : {question}")
            result = agent.invoke({"messages": [("user", question)]}, config)
            new, seen = result["messages"][seen:], len(result["messages"])
            for message in new:
                if isinstance(message, AIMessage) and message.tool_calls:
                    how = message.response_metadata.get("llama_protocol") or {}
                    print(f"how    : {how.get('tool_calling')} ({how.get('reason')})")
                    for call in message.tool_calls:
                        print(f"call   : {call['name']}({call['args']})")
                elif isinstance(message, ToolMessage):
                    print(f"result : {message.content}")
            print(f"answer : {result['messages'][-1].content}\n")


if __name__ == "__main__":
    main()
