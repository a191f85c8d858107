"""One call's kwargs → the transport's `ChatRequest`: LangChain's spellings, merged once.

Pure. The chat model hands over its settings and the call's kwargs; what comes back is an
OpenAI-shaped request (wire messages, typed params with `tools` / `tool_choice` /
`response_format`, extras, client options). How tools and schemas reach Llama (native or
prompted) is the transport's Llama protocol (`transport.chat`), not decided here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage

import azure_llama_transport as _t

from ._convert import messages_to_wire
from ._errors import RequestValidationError
from ._typos import CALL_NAMES, warn_call_typos

__all__ = [
    "KNOWN_CALL_NAMES",
    "LLAMA_PARAMS",
    "TYPED_PARAMS",
    "build_request",
    "choice_logprobs",
    "merge_params",
    "refuse_llama_fields",
    "wire_tool_choice",
]

# The transport's typed chat keys a call may set directly, less those with spellings of their
# own here: `stop` (merged from three places) and `tools` / `tool_choice` (see `build_request`).
TYPED_PARAMS = tuple(k for k in _t.CHAT_PARAMS if k not in ("stop", "tools", "tool_choice"))
# The Llama-native API's own parameters, typed on its /v1 routes only.
LLAMA_PARAMS = _t.LLAMA_PARAMS
# Every name a call's keyword may mean; one close to these is warned about as a likely typo.
KNOWN_CALL_NAMES = frozenset(TYPED_PARAMS + LLAMA_PARAMS + CALL_NAMES)
_CLIENT_OPTIONS = ("headers", "timeout")


def build_request(
    messages: Sequence[BaseMessage],
    defaults: Mapping[str, Any],
    *,
    stop: Sequence[str] | None,
    model_extras: Mapping[str, Any] | None,
    kwargs: Mapping[str, Any],
    api: _t.Api = "inference",
    tool_calling: Literal["auto", "native", "prompt"] = "auto",
    use_instead: str,
    model: str | None = None,
) -> _t.ChatRequest:
    """Merge the model's settings with one call's kwargs (see `merge_params`).

    `tools` and `tool_choice` (already in wire form, see `wire_tool_choice`) join the typed
    params; a `tool_choice` without tools is dropped. `model`: the name the model object knows
    its model by, handed to the transport as is (a call's own `model` wins).
    """
    rest = dict(kwargs)
    tools = list(rest.pop("tools", None) or [])
    tool_choice = rest.pop("tool_choice", None)
    typed = TYPED_PARAMS + LLAMA_PARAMS if api == "llama" else TYPED_PARAMS
    params, options, extras = merge_params(
        defaults, typed=typed, stop=stop, model_extras=model_extras, kwargs=rest
    )
    if tools:
        params["tools"] = tools
        if tool_choice is not None:
            params["tool_choice"] = tool_choice
    return _t.ChatRequest(
        messages=messages_to_wire(messages),
        params=params,
        model_extras=extras or None,
        api=api,
        headers=options.get("headers"),
        timeout=options.get("timeout"),
        tool_calling=tool_calling,
        use_instead=use_instead,
        model=params.get("model") or model,
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
    params = {key: value for key, value in defaults.items() if value is not None}
    if not kwargs:  # most calls: the model's settings alone
        _set_stop(params, stop if stop is not None else defaults.get("stop"))
        return params, {}, dict(model_extras or {})
    rest = dict(kwargs)
    for key in typed:
        if key in rest:
            value = rest.pop(key)
            if value is None:
                params.pop(key, None)  # a call's explicit None unsets the model's value
            else:
                params[key] = value
    call_stop = rest.pop("stop", None)
    chosen = next((s for s in (stop, call_stop, defaults.get("stop")) if s is not None), None)
    _set_stop(params, chosen)
    options = {key: rest.pop(key) for key in _CLIENT_OPTIONS if key in rest}
    options = {key: value for key, value in options.items() if value is not None}
    if rest:
        warn_call_typos(rest, KNOWN_CALL_NAMES)
    extras = {**(model_extras or {}), **(rest.pop("model_extras", None) or {}), **rest}
    return params, options, extras


def _set_stop(params: dict[str, Any], stop: str | Sequence[str] | None) -> None:
    """`stop` as the wire's list (a single string wrapped); unset when empty."""
    if isinstance(stop, str):
        params["stop"] = [stop]
    elif stop:
        params["stop"] = stop
    else:
        params.pop("stop", None)


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
        raise RequestValidationError(
            f"tool_choice {choice!r} names no bound tool; tools are {names}.", param="tool_choice"
        )
    return {"type": "function", "function": {"name": choice}}


def choice_logprobs(payload: Mapping[str, Any], index: int = 0) -> Any:
    """The `logprobs` of choice `index` (Llama-native API, when asked for), else None."""
    choices = payload["choices"]
    return choices[index].get("logprobs") if index < len(choices) else None
