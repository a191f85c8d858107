"""The planner: an OpenAI-shaped request + what the endpoint refuses → the wire request.

Pure. `plan_chat` decides, for one attempt, whether tools and structured output go natively
(`tools` / `response_format` in the body) or prompted (in the system prompt), and returns the
messages and params for `client.chat` / `client.chat_stream`, plus what the answer must be
parsed against (`Plan.tool_names`, `Plan.schema`).

Modes (`tool_calling`, `structured_output`): "native" always sends the key; "prompt" never
does; "auto" sends it until the endpoint has refused it once (see `_capabilities`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._request import Api
from ._capabilities import NOTHING_REFUSED, Capabilities
from ._schema import Schema, schema_of
from ._tools import offered_names, prompted_history, tools_prompt, with_system_text

__all__ = ["ChatRequest", "Mode", "Plan", "Rendering", "plan_chat"]

Mode = Literal["auto", "native", "prompt"]
Rendering = Literal["native", "prompt", "none"]
_DEFAULT_USE_INSTEAD = "Use the text-completion routes (/completions) for it."


@dataclass(frozen=True)
class ChatRequest:
    """One chat call as both front ends describe it, in OpenAI's shapes.

    Attributes:
        messages: Wire messages; assistant turns may carry native `tool_calls`, results are
            `tool` messages, whatever the mode.
        params: Typed parameters (`CHAT_PARAMS`, plus `LLAMA_PARAMS` on api="llama"),
            including `tools`, `tool_choice` and `response_format` (a json_schema dict or a
            pydantic model class).
        model_extras: Body keys sent with `extra-parameters: pass-through`.
        api: "inference" (`/chat/completions`) or "llama" (`/v1/chat/completions`).
        headers: Per-call headers (e.g. `azureml-model-deployment`).
        timeout: Per-call timeout in seconds.
        tool_calling: "auto" (default), "native" or "prompt".
        structured_output: "auto" (default), "native" or "prompt".
        use_instead: What the caller should use when the deployment is a base model (the tail
            of the 404 explanation).
    """

    messages: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    model_extras: Mapping[str, Any] | None = None
    api: Api = "inference"
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    tool_calling: Mode = "auto"
    structured_output: Mode = "auto"
    use_instead: str = _DEFAULT_USE_INSTEAD


@dataclass(frozen=True)
class Plan:
    """One attempt's wire request, and how its answer is read back."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    tools: Rendering
    structured: Rendering
    tool_names: frozenset[str]
    schema: Schema | None

    @property
    def prompted_tools(self) -> bool:
        return self.tools == "prompt" and bool(self.tool_names)


def _rendering(mode: Mode, refused: bool, present: bool) -> Rendering:
    if not present:
        return "none"
    if mode == "prompt" or (mode == "auto" and refused):
        return "prompt"
    return "native"


def plan_chat(request: ChatRequest, known: Capabilities | None = None) -> Plan:
    """Plan one attempt of `request` on an endpoint with the `known` refusals."""
    known = known or NOTHING_REFUSED
    params = dict(request.params)
    tools = list(params.pop("tools", None) or [])
    tool_choice = params.pop("tool_choice", None)
    schema = schema_of(params.get("response_format"))
    has_history = any(m.get("role") == "tool" or m.get("tool_calls") for m in request.messages)
    tool_mode = _rendering(request.tool_calling, known.refuses_tools, bool(tools) or has_history)
    structured = _rendering(
        request.structured_output, known.refuses_response_format, schema is not None
    )
    messages = [dict(m) for m in request.messages]
    if tool_mode == "native" and tools:
        params["tools"] = tools
        if tool_choice is not None:
            params["tool_choice"] = tool_choice
    elif tool_mode == "prompt":
        messages = prompted_history(messages)
        prompt = tools_prompt(tools, tool_choice)
        if prompt:
            messages = with_system_text(messages, prompt)
    if schema is not None:
        if structured == "native":
            params["response_format"] = schema.response_format
        else:
            params.pop("response_format")
            messages = with_system_text(messages, _schema_text(schema, bool(tools)))
    names = offered_names(tools, tool_choice) if tool_mode == "prompt" else frozenset()
    return Plan(messages, params, tool_mode, structured, names, schema)


def _schema_text(schema: Schema, with_tools: bool) -> str:
    if not with_tools:
        return schema.instruction
    return f"When you answer without calling a function: {schema.instruction}"
