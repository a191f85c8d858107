"""One chat call, planned before any I/O: wire params, tools, and native vs prompted tool calling.

Pure: the chat model builds a `ChatCall` from its settings and the call's kwargs, asks it for
the wire messages and params of a mode, and asks `is_tools_rejection` whether an error means
"this endpoint does not do native tools" (the cue for `tool_calling="auto"` to switch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessageChunk, BaseMessage

from . import transport as _t
from ._convert import ChunkConverter, messages_to_wire
from ._prompted_tools import PromptedStream, history_to_wire, tool_names

__all__ = [
    "LLAMA_PARAMS",
    "SHAPE_ERRORS",
    "TYPED_PARAMS",
    "ChatCall",
    "Mode",
    "StreamPipeline",
    "build_call",
    "choice_logprobs",
    "is_tools_rejection",
    "merge_params",
    "refuse_llama_fields",
    "unreadable",
    "wire_tool_choice",
]

Mode = Literal["native", "prompt"]
# Keys of the Model Inference API a call may set directly (azure-wire.md §6).
TYPED_PARAMS = (
    "frequency_penalty",
    "max_tokens",
    "model",
    "presence_penalty",
    "response_format",
    "seed",
    "temperature",
    "top_p",
)
# The Llama-native API's own parameters, typed on its /v1 routes only (azure-wire.md §13).
LLAMA_PARAMS = _t.LLAMA_PARAMS
_CLIENT_OPTIONS = ("headers", "timeout")


@dataclass
class ChatCall:
    """Everything one call sends, before it is rendered for a tool-calling mode."""

    messages: Sequence[BaseMessage]
    params: dict[str, Any]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    model_extras: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    fallback_model: str | None = None
    api: _t.Api = "inference"

    @property
    def names(self) -> frozenset[str]:
        """Tools a prompted answer may call (none when tool_choice is "none")."""
        return frozenset() if self.tool_choice == "none" else tool_names(self.tools)

    def wire(self, mode: Mode) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Wire messages and params for `mode`; prompted mode sends no `tools` key."""
        params = dict(self.params)
        if mode == "prompt":
            return history_to_wire(self.messages, self.tools, self.tool_choice), params
        if self.tools:
            params["tools"] = self.tools
            if self.tool_choice is not None:
                params["tool_choice"] = self.tool_choice
        return messages_to_wire(self.messages), params

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the transport's `chat` / `chat_stream`."""
        return {"api": self.api, "model_extras": self.model_extras or None, **self.options}


def build_call(
    messages: Sequence[BaseMessage],
    defaults: Mapping[str, Any],
    *,
    stop: Sequence[str] | None,
    model_extras: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
    api: _t.Api = "inference",
) -> ChatCall:
    """Merge the model's settings with one call's kwargs (see `merge_params`).

    `tools` and `tool_choice` are taken out of `kwargs` first.
    """
    rest = dict(kwargs)
    tools = list(rest.pop("tools", None) or [])
    tool_choice = rest.pop("tool_choice", None)
    typed = TYPED_PARAMS + LLAMA_PARAMS if api == "llama" else TYPED_PARAMS
    params, options, extras = merge_params(
        defaults, typed=typed, stop=stop, model_extras=model_extras, kwargs=rest
    )
    return ChatCall(
        messages=messages,
        params=params,
        tools=tools,
        tool_choice=tool_choice if tools else None,
        model_extras=extras,
        options=options,
        fallback_model=params.get("model"),
        api=api,
    )


def merge_params(
    defaults: Mapping[str, Any],
    *,
    typed: Sequence[str],
    stop: Sequence[str] | None,
    model_extras: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """One call's (params, client options, model extras), from the model's settings and kwargs.

    Typed parameters in `kwargs` override the defaults; `headers` and `timeout` are client
    options; `model_extras` merges over the model's; any other keyword is a model-specific
    extra and is sent with `extra-parameters: pass-through`.
    """
    rest = dict(kwargs)
    params = {key: value for key, value in defaults.items() if value is not None}
    params.update((key, rest.pop(key)) for key in typed if key in rest)
    call_stop = rest.pop("stop", None)
    chosen_stop = next((s for s in (stop, call_stop, defaults.get("stop")) if s is not None), None)
    params["stop"] = [chosen_stop] if isinstance(chosen_stop, str) else chosen_stop or None
    params = {key: value for key, value in params.items() if value is not None}
    options = {key: rest.pop(key) for key in _CLIENT_OPTIONS if key in rest}
    options = {key: value for key, value in options.items() if value is not None}
    extras = {**(model_extras or {}), **(rest.pop("model_extras", None) or {}), **rest}
    return params, options, extras


def refuse_llama_fields(model: object, api: _t.Api) -> None:
    """Refuse Llama-native fields set on a model that talks to the Model Inference API.

    They are typed on the `/v1` routes only; on `/chat/completions` and `/completions` they
    would have to travel as `model_extras`, so say both ways out instead of guessing.
    """
    if api == "llama":
        return
    found = {key: getattr(model, key) for key in LLAMA_PARAMS if getattr(model, key) is not None}
    if found:
        raise _t.RequestValidationError(
            f"{sorted(found)} are parameters of the Llama-native API: set api='llama' to send "
            f"them typed to the /v1 routes, or pass model_extras={found!r} to send them to the "
            "Azure AI Model Inference API with 'extra-parameters: pass-through'.",
            param=sorted(found)[0],
        )


def wire_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Any:
    """LangChain's `tool_choice` spellings → the wire's ("auto", "none", "required", named)."""
    if choice is None or choice is False:
        return None
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return choice
    if isinstance(choice, Mapping):
        name = choice.get("name")  # {"type": "tool", "name": ...} and similar spellings
        return dict(choice) if name is None else wire_tool_choice(name, tools)
    names = [t["function"]["name"] for t in tools]
    if choice not in names:
        raise ValueError(f"tool_choice {choice!r} names no bound tool; tools are {names}.")
    return {"type": "function", "function": {"name": choice}}


def is_tools_rejection(error: BaseException) -> bool:
    """Does this error say the endpoint cannot take native `tools`?

    Real Llama deployments answer `tools` with a 400 wrapping vLLM's "\"auto\" tool choice
    requires --enable-auto-tool-choice ..."; the Model Inference API documents a 422 naming
    the parameter. A content-filter 400 is never one.
    """
    if isinstance(error, _t.ContentFilterError):
        return False
    if not isinstance(error, (_t.BadRequestError, _t.UnprocessableEntityError)):
        return False
    if error.param in ("tools", "tool_choice"):
        return True
    return "tool" in str(error.message).lower()


def choice_logprobs(payload: Mapping[str, Any], index: int = 0) -> Any:
    """The `logprobs` of choice `index` (Llama-native API, when asked for), else None."""
    choices = payload.get("choices") or []
    if index >= len(choices) or not isinstance(choices[index], Mapping):
        return None
    return choices[index].get("logprobs")


class StreamPipeline:
    """Wire chunks → message chunks for one call: conversion, then the prompted-mode buffer."""

    def __init__(self, call: ChatCall, mode: Mode) -> None:
        self._converter = ChunkConverter(call.fallback_model)
        self._prompted = PromptedStream(call.names) if mode == "prompt" and call.names else None

    @property
    def finish_reason(self) -> str | None:
        return self._converter.finish_reason

    def feed(self, wire: Mapping[str, Any]) -> list[AIMessageChunk]:
        try:
            chunk = self._converter.convert(wire)
            logprobs = choice_logprobs(wire)
        except SHAPE_ERRORS as exc:
            raise unreadable(wire, exc) from exc
        if chunk is not None and logprobs is not None:
            chunk.response_metadata["logprobs"] = logprobs
        return self._filtered(chunk)

    def close(self) -> list[AIMessageChunk]:
        chunks = self._filtered(self._converter.close())
        return chunks + (self._prompted.close() if self._prompted else [])

    def _filtered(self, chunk: AIMessageChunk | None) -> list[AIMessageChunk]:
        if chunk is None:
            return []
        return self._prompted.feed(chunk) if self._prompted else [chunk]


# Errors a wire object of the wrong shape raises in conversion (pydantic's are ValueErrors).
SHAPE_ERRORS = (AttributeError, KeyError, IndexError, TypeError, ValueError)


def unreadable(body: Any, exc: BaseException) -> _t.ResponseDecodeError:
    """Valid JSON that is not a completion: typed, never a bare AttributeError or TypeError."""
    return _t.ResponseDecodeError(
        f"Azure AI endpoint sent a completion of an unexpected shape ({type(exc).__name__}: {exc})",
        body=body,
    )
