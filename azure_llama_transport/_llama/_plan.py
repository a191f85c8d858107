"""The planner: an OpenAI-shaped request + what the endpoint refuses → the wire request.

Pure. `plan_chat` decides, for one attempt, whether tools and structured output go natively
(`tools` / `response_format` in the body) or prompted (in the system prompt), and returns the
messages and params for `client.chat` / `client.chat_stream`, plus what the answer must be
parsed against (`Plan.tool_names`, `Plan.schema`).

Modes (`tool_calling`, `structured_output`): "native" always sends the key; "prompt" never
does; "auto" prompts from the first call for a model Azure's current tables list with "Tool
calling: No" / "Response formats: Text" (the catalogue's `listed_today` rows: Llama 3.3, Llama
4), else sends the key until the endpoint has refused (or ignored) it once (`_capabilities`).

Prompted tools follow the model's family (`_formats`): Llama 3.1 Meta's JSON format, Llama
3.2 / 3.3 / 4 and unknown names Meta's pythonic one. The family is read from the model name the
call decides by (`model_name`): the front end's `ChatRequest.model`, else the body's `model`,
the call's deployment header, the client's deployment; a deployment name the catalogue has
seen answering as a known model ("my-maverick") counts as that model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._catalogue import lookup
from .._config import DEPLOYMENT_HEADER
from .._request import Api, check_message_list
from ._capabilities import NOTHING_REFUSED, Capabilities
from ._formats import Family, family_of, prompted_history, tools_prompt
from ._schema import Schema, schema_of
from ._tools import offered_names, with_system_text

__all__ = [
    "ChatRequest",
    "Mode",
    "ModelFacts",
    "Plan",
    "Reason",
    "Rendering",
    "model_facts",
    "model_name",
    "plan_chat",
]

Mode = Literal["auto", "native", "prompt"]
Rendering = Literal["native", "prompt", "none"]
# Why tools went prompted: the caller asked; the catalogue lists the model without tools; the
# endpoint refused native `tools` (now or before); it ignored them (answered as a model listed
# without tools, or with text where a tool was forced) and the call was asked again.
Reason = Literal["requested", "catalogue", "refused", "ignored"]
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
        model: The model or deployment name the front end knows the call by (LangChain's
            `model` / `deployment`, LiteLLM's model name); not sent. The protocol decides the
            prompt format and "auto"'s first attempt by it (`model_name`).
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
    model: str | None = None


@dataclass(frozen=True)
class ModelFacts:
    """What the protocol knows of the model a call goes to."""

    name: str | None
    family: Family = "unknown"
    tools_listed_no: bool = False  # Azure's current tables: "Tool calling: No"
    schemas_listed_no: bool = False  # Azure's current tables: "Response formats: Text"


UNKNOWN_MODEL = ModelFacts(None)


def model_name(request: ChatRequest, deployment: str | None = None) -> str | None:
    """The name a call decides by: `request.model`, the body's `model`, the call's deployment
    header, else the client's `deployment`."""
    if request.model:
        return request.model
    model = request.params.get("model")
    if isinstance(model, str) and model:
        return model
    for key, value in (request.headers or {}).items():
        if key.lower() == DEPLOYMENT_HEADER and value:
            return value
    return deployment or None


def model_facts(name: str | None) -> ModelFacts:
    """The family and Azure's listing of `name` (the catalogue, served-model memory included)."""
    entry = lookup(name)
    family = family_of(entry.name if entry is not None else name)
    if entry is None or not entry.listed_today:
        return ModelFacts(name, family)
    schemas = "json_schema" in entry.response_formats
    return ModelFacts(name, family, not entry.native_tools, not schemas)


@dataclass(frozen=True)
class Plan:
    """One attempt's wire request, and how its answer is read back."""

    messages: list[dict[str, Any]]
    params: dict[str, Any]
    tools: Rendering
    structured: Rendering
    tool_names: frozenset[str]
    schema: Schema | None
    facts: ModelFacts = UNKNOWN_MODEL
    reason: Reason | None = None  # why tools are prompted (None: not prompted)
    forced: bool = False  # the caller forced a tool ("required" or a named function)

    @property
    def prompted_tools(self) -> bool:
        return self.tools == "prompt" and bool(self.tool_names)


def _tool_rendering(
    request: ChatRequest, known: Capabilities, facts: ModelFacts, present: bool
) -> tuple[Rendering, Reason | None]:
    if not present:
        return "none", None
    if request.tool_calling == "prompt":
        return "prompt", "requested"
    if request.tool_calling == "native":
        return "native", None
    if known.refuses_tools:
        return "prompt", "refused"
    if facts.tools_listed_no:
        return "prompt", "catalogue"
    return "native", None


def _structured_rendering(
    mode: Mode, known: Capabilities, facts: ModelFacts, present: bool
) -> Rendering:
    if not present:
        return "none"
    if mode == "prompt" or (
        mode == "auto" and (known.refuses_response_format or facts.schemas_listed_no)
    ):
        return "prompt"
    return "native"


def _is_forced(tool_choice: Any) -> bool:
    return tool_choice == "required" or (
        isinstance(tool_choice, Mapping) and isinstance(tool_choice.get("function"), Mapping)
    )


def plan_chat(
    request: ChatRequest,
    known: Capabilities | None = None,
    *,
    facts: ModelFacts | None = None,
    ignored: bool = False,
) -> Plan:
    """Plan one attempt of `request` on an endpoint with the `known` refusals.

    `facts`: the model the call goes to (default: `model_facts(model_name(request))`).
    `ignored`: the endpoint just ignored native `tools` (the re-asked attempt is prompted).
    """
    # Read below before the request build checks them: a list of dicts (the replay checks the
    # calls it turns into text, which the build then no longer sees).
    check_message_list(request.messages)
    known = known or NOTHING_REFUSED
    facts = facts or model_facts(model_name(request))
    params = dict(request.params)
    tools = list(params.pop("tools", None) or [])
    tool_choice = params.pop("tool_choice", None)
    schema = schema_of(params.get("response_format"))
    has_history = any(m.get("role") == "tool" or m.get("tool_calls") for m in request.messages)
    tool_mode, reason = _tool_rendering(request, known, facts, bool(tools) or has_history)
    if ignored and tool_mode == "prompt":
        reason = "ignored"
    structured = _structured_rendering(request.structured_output, known, facts, schema is not None)
    # One copy of each message (a history is hundreds of them every turn of an agent loop).
    if tool_mode == "prompt":
        messages = prompted_history(request.messages, facts.family)
    else:
        messages = [dict(m) for m in request.messages]
    if tool_mode == "native" and tools:
        params["tools"] = tools
        if tool_choice is not None:
            params["tool_choice"] = tool_choice
    elif tool_mode == "prompt":
        prompt = tools_prompt(tools, tool_choice, facts.family)
        if prompt:
            messages = with_system_text(messages, prompt)
    if schema is not None:
        if structured == "native":
            params["response_format"] = schema.response_format
        else:
            params.pop("response_format")
            messages = with_system_text(messages, _schema_text(schema, bool(tools)))
    names = offered_names(tools, tool_choice) if tool_mode == "prompt" else frozenset()
    forced = bool(tools) and _is_forced(tool_choice)
    return Plan(messages, params, tool_mode, structured, names, schema, facts, reason, forced)


def _schema_text(schema: Schema, with_tools: bool) -> str:
    if not with_tools:
        return schema.instruction
    return f"When you answer without calling a function: {schema.instruction}"
