"""Pure conversions between LiteLLM's OpenAI-shaped world and the transport's wire dicts.

No I/O here. Requests: `plan_request` sorts LiteLLM's `optional_params` into the transport's typed
parameters (`tools`, `tool_choice` and `response_format` among them, passed as given: the
transport's Llama protocol decides native or prompted), the `model_extras` passthrough (sent with
`extra-parameters: pass-through`), the provider's own settings, and what is dropped (each drop
with its reason). Answers: `fill_response` writes a wire chat completion into LiteLLM's
`ModelResponse`; `StreamConverter` turns wire chunks into `GenericStreamingChunk`s, the one chunk
type whose `usage` LiteLLM's stream wrapper keeps. Answers arrive shape-checked by the transport,
with prompted tool calls already turned into native-looking `tool_calls`, usage normalised and
every streamed tool call numbered (`index`); finish reasons are put in OpenAI's words by the
transport (`t.openai_finish_reason`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from litellm.types.llms.openai import ChatCompletionUsageBlock
from litellm.types.utils import (
    ChatCompletionMessageToolCall,
    Choices,
    Function,
    GenericStreamingChunk,
    Message,
    ModelResponse,
    Usage,
    all_litellm_params,
)

import azure_llama_transport as t

from ._models import PROVIDER

__all__ = [
    "API_KEY",
    "DEPLOYMENT_KEY",
    "DROPPED",
    "EXTRAS_KEY",
    "TOOL_CALLING_KEY",
    "RequestPlan",
    "StreamConverter",
    "fill_response",
    "fill_text_response",
    "plan_request",
    "to_wire_messages",
]

logger = logging.getLogger("litellm_azure_llama")

Api = Literal["inference", "llama"]
ToolCalling = Literal["auto", "native", "prompt"]
# The provider's own keyword arguments (they never reach the wire as body keys).
API_KEY = "azure_llama_api"
EXTRAS_KEY = "model_extras"
DEPLOYMENT_KEY = "deployment"
ENDPOINT_KIND_KEY = "endpoint_kind"
# "auto" (native `tools` until the endpoint refuses them, then prompted), "native" or "prompt".
TOOL_CALLING_KEY = "tool_calling"
_TOOL_MODES = ("auto", "native", "prompt")
_PROVIDER_KEYS = frozenset(
    {API_KEY, EXTRAS_KEY, DEPLOYMENT_KEY, ENDPOINT_KIND_KEY, TOOL_CALLING_KEY, "extra_body"}
)

# The transport's typed keys, less `model`: a serverless or managed endpoint serves one model,
# and on a Foundry endpoint the handler sends the call's model name itself (see `_handler`).
_TYPED = tuple(key for key in t.CHAT_PARAMS if key != "model")
_TEXT_TYPED = tuple(key for key in t.COMPLETION_PARAMS if key != "model")
_LLAMA_TYPED = t.LLAMA_PARAMS
# The typed keys of each (text?, api), as sets: looked up for every key of every call.
_TYPED_KEYS: Mapping[tuple[bool, str], frozenset[str]] = {
    (text, api): frozenset(
        (_TEXT_TYPED if text else _TYPED) + (_LLAMA_TYPED if api == "llama" else ())
    )
    for text in (False, True)
    for api in ("inference", "llama")
}
# Keys LiteLLM itself puts into optional_params that are not model parameters, with the reason
# each is not sent. Everything else the caller passed goes to Azure, typed or as an extra.
DROPPED: Mapping[str, str] = {
    "stream": "set by the handler (streaming vs whole answer)",
    "stream_options": "handled by LiteLLM's stream wrapper; Azure rejects the key, and usage "
    "already arrives on the last chunk",
    "max_retries": "transport setting (retries before the first byte), not a body key",
    "user": "not in the Azure AI Model Inference API; it would fail with extra-parameters=error",
    "extra_headers": "sent as HTTP headers",
    "timeout": "transport setting",
    "api_version": "query parameter",
    "model": "the endpoint serves one model; the deployment header selects on managed compute; "
    "on Foundry the handler sends the call's model name",
}
_NONE_DROPPED = frozenset({"mock_response", "drop_params", "additional_drop_params"})
# LiteLLM's own keyword arguments (its list; `is_litellm_owned_kwarg` reads the same one).
_LITELLM_PARAMS = frozenset(all_litellm_params)


def _litellm_owned(name: str) -> bool:
    return name in _LITELLM_PARAMS or name.startswith(("litellm_", "_litellm_"))


@dataclass
class RequestPlan:
    """A LiteLLM call, sorted for the transport."""

    api: Api = "inference"
    params: dict[str, Any] = field(default_factory=dict)
    model_extras: dict[str, Any] = field(default_factory=dict)
    deployment: str | None = None
    tool_calling: ToolCalling = "auto"
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def extras(self) -> dict[str, Any] | None:
        return self.model_extras or None


def plan_request(
    optional_params: Mapping[str, Any],
    *,
    text: bool = False,
    default_api: Api = "inference",
) -> RequestPlan:
    """Sort `optional_params` (as LiteLLM hands them to a custom provider).

    Typed keys go to `params`; `model_extras`, `extra_body` and every other key the caller passed
    go to the passthrough; LiteLLM's own keys (`DROPPED`, `metadata`, `litellm_*`, ...) are dropped
    and listed in `dropped`. `azure_llama_api="llama"` selects the Llama-native `/v1/*` routes,
    where `n`, `best_of`, `logprobs`, ... are typed parameters rather than extras.
    `tool_calling` picks how tools are sent (see `TOOL_CALLING_KEY`).

    Raises:
        RequestValidationError: A provider setting has an unknown value, or a key is set both
            typed and in `model_extras` / `extra_body`.
    """
    api = _api_of(optional_params.get(API_KEY), default_api)
    typed = _TYPED_KEYS[text, api]
    plan = RequestPlan(
        api=api,
        deployment=_str_or_none(optional_params.get(DEPLOYMENT_KEY)),
        tool_calling=_tool_calling_of(optional_params.get(TOOL_CALLING_KEY)),
    )
    for key, value in optional_params.items():
        if key in _PROVIDER_KEYS:
            continue
        reason = _drop_reason(key, value)
        if reason is not None:
            plan.dropped[key] = reason
        elif key in typed:
            plan.params[key] = value
        else:
            plan.model_extras[key] = value
    for source in (optional_params.get("extra_body"), optional_params.get(EXTRAS_KEY)):
        if isinstance(source, Mapping):
            plan.model_extras.update(source)
    if plan.model_extras:
        _promote_typed_extras(plan, typed)
    if plan.dropped:
        logger.debug("azure_llama: not sent to Azure: %s", plan.dropped)
    return plan


def _api_of(value: Any, default: Api) -> Api:
    if value is None:
        return default
    if value in ("inference", "llama"):
        return value  # type: ignore[no-any-return]
    raise t.RequestValidationError(
        f"{API_KEY} must be 'inference' or 'llama', not {value!r}.", param=API_KEY
    )


def _tool_calling_of(value: Any) -> ToolCalling:
    if value is None:
        return "auto"
    if value in _TOOL_MODES:
        return value  # type: ignore[no-any-return]
    raise t.RequestValidationError(
        f"{TOOL_CALLING_KEY} must be 'auto', 'native' or 'prompt', not {value!r}.",
        param=TOOL_CALLING_KEY,
    )


def _drop_reason(key: str, value: Any) -> str | None:
    if key in DROPPED:
        return DROPPED[key]
    if key in _NONE_DROPPED or _litellm_owned(key):
        return "LiteLLM's own setting, not a model parameter"
    if value is None:
        return "None means unset"
    return None


def _promote_typed_extras(plan: RequestPlan, typed: frozenset[str]) -> None:
    """An extra that is really a typed key (e.g. `extra_body={"top_p": 0.5}`) is sent typed; one
    set both ways is refused, rather than one of its two values silently dropped."""
    for key in [k for k in plan.model_extras if k in typed]:
        if key in plan.params:
            raise t.RequestValidationError(
                f"{key!r} is set both as a parameter and in model_extras/extra_body; set it "
                "once, so that exactly one value is sent.",
                param=key,
            )
        plan.params[key] = plan.model_extras.pop(key)
    for key in [k for k in plan.model_extras if k in DROPPED]:
        plan.dropped[key] = DROPPED[key]
        del plan.model_extras[key]


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


# -- messages ---------------------------------------------------------------------------------

_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


def to_wire_messages(messages: Sequence[Any]) -> list[Any]:
    """OpenAI-style messages (dicts or LiteLLM `Message` objects) → wire message dicts.

    Keeps only the keys the Model Inference API defines, so a LiteLLM `Message` appended back
    into the conversation (with `function_call=None`, `provider_specific_fields`, ...) is sent
    cleanly. `developer` (OpenAI's newer name for `system`) is sent as `system`.
    """
    return [_wire_message(message) for message in messages]


def _wire_message(message: Any) -> Any:
    # An agent's history is hundreds of messages per call: a plain dict is read in place (no
    # copy); anything else is read through a dict of it. The keys are read one by one, in
    # `_MESSAGE_KEYS` order (the body's key order), without a loop: this runs per message.
    if type(message) is dict:
        get = message.get
    elif isinstance(message, Mapping) or hasattr(message, "model_dump"):
        get = _as_dict(message).get
    else:
        return message  # not a message at all: the transport refuses it with a clear error
    out = {}
    role = get("role")
    if role is not None:
        out["role"] = "system" if role == "developer" else role
    content = get("content")
    if content is not None:
        out["content"] = (
            [_wire_part(part) for part in content]
            if type(content) is not str and isinstance(content, list)
            else content
        )
    value = get("name")
    if value is not None:
        out["name"] = value
    calls = get("tool_calls")
    if calls is not None:
        out["tool_calls"] = [_wire_tool_call(call) for call in calls]
    value = get("tool_call_id")
    if value is not None:
        out["tool_call_id"] = value
    if calls is None and role == "assistant" and content is None:
        out["content"] = ""  # last, as before: a body's key order is kept
    return out


def _wire_part(part: Any) -> Any:
    """A content part as sent; an `image_url` given as a bare string (which LiteLLM accepts) is
    wrapped as OpenAI's `{"url": ...}`. Whether the model takes images is the transport's check."""
    if isinstance(part, Mapping) and part.get("type") == "image_url":
        image = part.get("image_url")
        if isinstance(image, str):
            return {**part, "image_url": {"url": image}}
    return part


def _wire_tool_call(call: Any) -> dict[str, Any]:
    data = call if type(call) is dict else _as_dict(call)
    function = data.get("function") or {}
    if type(function) is not dict:
        function = _as_dict(function)
    return {
        "id": data.get("id"),
        "type": data.get("type") or "function",
        "function": {"name": function.get("name"), "arguments": function.get("arguments") or ""},
    }


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        result: dict[str, Any] = dump()
        return result
    return dict(vars(value))


# -- whole answers ----------------------------------------------------------------------------


def fill_response(data: Mapping[str, Any], response: ModelResponse, model: str) -> ModelResponse:
    """Write a wire chat completion into the `ModelResponse` LiteLLM handed the provider."""
    response.choices = _choices(data, response, _chat_choice)
    _fill_common(data, response, model)
    return response


def fill_text_response(
    data: Mapping[str, Any], response: ModelResponse, model: str
) -> ModelResponse:
    """A `/completions` answer as a chat-shaped `ModelResponse` (LiteLLM converts it back)."""
    response.choices = _choices(data, response, _text_choice)
    _fill_common(data, response, model)
    return response


# (wire choice, its position) -> (index, finish reason, content, tool calls)
_Read = Callable[[Mapping[str, Any], int], tuple[Any, str, Any, Any]]
# Finish reasons LiteLLM's `Choices` keeps as given (OpenAI's; a test pins that LiteLLM keeps each);
# any other it rewrites and notes the original, so a choice with one is built by `Choices` itself.
_KEPT_REASONS = t.OPENAI_FINISH_REASONS


def _choices(data: Mapping[str, Any], response: ModelResponse, read: _Read) -> list[Choices]:
    """The answer's choices. LiteLLM's fresh `ModelResponse` already holds one blank `Choices`
    (with its blank `Message`): the first choice is written into it rather than built again,
    since building these pydantic objects was most of the cost of converting an answer."""
    blank = _blank(response.choices)
    out: list[Choices] = []
    for position, choice in enumerate(data.get("choices") or ()):
        index, reason, content, calls = read(choice, position)
        if blank is not None and reason in _KEPT_REASONS:
            blank.index = index
            blank.finish_reason = reason  # type: ignore[assignment]  # one of _KEPT_REASONS
            blank.message.content = content
            blank.message.tool_calls = calls
            out.append(blank)
            blank = None
            continue
        message = Message(role="assistant", content=content, tool_calls=calls)
        out.append(Choices(index=index, finish_reason=reason, message=message))
    return out


def _blank(choices: Sequence[Choices]) -> Choices | None:
    """The one untouched choice a fresh `ModelResponse()` holds, if that is what is there."""
    if len(choices) != 1 or type(choices[0]) is not Choices:
        return None
    choice = choices[0]
    message = choice.message
    untouched = (
        choice.index == 0
        and choice.finish_reason == "stop"
        and type(message) is Message
        and message.content is None
        and message.tool_calls is None
        and message.function_call is None
        and message.provider_specific_fields is None
        and "logprobs" not in choice.__dict__
        and "provider_specific_fields" not in choice.__dict__
    )
    return choice if untouched else None


def _chat_choice(choice: Mapping[str, Any], position: int) -> tuple[Any, str, Any, Any]:
    message = choice.get("message") or {}
    calls = message.get("tool_calls") or None
    return (
        choice.get("index", 0),
        t.openai_finish_reason(choice.get("finish_reason")) or "stop",
        message.get("content"),
        [_tool_call(call, i) for i, call in enumerate(calls)] if calls else None,
    )


def _text_choice(choice: Mapping[str, Any], position: int) -> tuple[Any, str, Any, Any]:
    return (
        choice.get("index", position),
        t.openai_finish_reason(choice.get("finish_reason")) or "stop",
        choice.get("text") or "",
        None,
    )


def _fill_common(data: Mapping[str, Any], response: ModelResponse, model: str) -> None:
    if data.get("id"):
        response.id = str(data["id"])
    if isinstance(data.get("created"), int):
        response.created = data["created"]
    # The model Azure says answered (a deployment may serve another than the one named), under
    # the provider's prefix so that LiteLLM can map it back to this provider without guessing.
    served = data.get("model")
    response.model = f"{PROVIDER}/{served}" if isinstance(served, str) and served else model
    usage = data.get("usage")
    if isinstance(usage, Mapping):
        response.usage = _usage(usage)  # type: ignore[attr-defined]


def _tool_call(call: Mapping[str, Any], position: int) -> ChatCompletionMessageToolCall:
    function = call.get("function") or {}
    return ChatCompletionMessageToolCall(
        id=call.get("id") or f"call_{position}",
        type="function",
        function=Function(name=function.get("name"), arguments=function.get("arguments") or ""),
    )


# `Usage(...)` runs LiteLLM's init (cache and reasoning-token mappings) and pydantic validation
# for three plain ints; a copy of a zero `Usage` with the counts set is the same object (pinned
# against `Usage(...)` by a test) at about half the cost.
_ZERO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


def _usage(usage: Mapping[str, Any]) -> Usage:
    """The transport's (normalised) usage as LiteLLM's `Usage`."""
    return _ZERO_USAGE.model_copy(update={key: usage[key] for key in _USAGE_KEYS})


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


# -- streams ----------------------------------------------------------------------------------


_NO_CHOICE: Mapping[str, Any] = {}


class StreamConverter:
    """Wire chunks → `GenericStreamingChunk`s, for one stream.

    LiteLLM's accumulator keys a streamed tool call on its `index`: the one the transport gave it.
    A `GenericStreamingChunk` carries one tool call, so a delta with several becomes several.
    A wire chunk that carries nothing (the role-only first chunk, an empty delta, prompt filter
    results) gives none: LiteLLM's stream wrapper would build a response for it only to drop it
    (about 0.15 ms of CPU before the first chunk); its users see the same chunks either way.
    """

    __slots__ = ("_raw_model", "_served")

    def __init__(self) -> None:
        self._served = ""
        self._raw_model: Any = None  # the last chunk's `model` (the same object while unchanged)

    def convert(self, chunk: Mapping[str, Any]) -> list[GenericStreamingChunk]:
        """The chunks for one (shape-checked) wire chunk (a list: most chunks give one)."""
        choices = chunk.get("choices") or ()
        choice = choices[0] if choices else _NO_CHOICE
        delta = choice.get("delta")
        text = (delta.get("content") if delta is not None else choice.get("text")) or ""
        calls = (delta.get("tool_calls") if delta is not None else None) or ()
        raw_reason = choice.get("finish_reason")
        usage = chunk.get("usage")
        served = chunk.get("model")
        if served is not self._raw_model:
            self._raw_model = served
            if isinstance(served, str) and served:
                self._served = served
        if not (calls or raw_reason or usage):
            # The common chunk: one token of text (or nothing at all).
            if not text:
                return []
            out: GenericStreamingChunk = {
                "text": text,
                "tool_use": None,
                "is_finished": False,
                "finish_reason": "",
                "usage": None,
                "index": choice.get("index", 0) if choices else 0,
            }
            if self._served:
                out["model"] = self._served  # type: ignore[typeddict-unknown-key]  # see below
            return [out]
        reason = t.openai_finish_reason(raw_reason)
        if not (text or calls or reason or usage):
            return []
        outs = []
        last = len(calls) - 1 if calls else 0
        for i in range(max(len(calls), 1)):
            ended = i == last and bool(reason)
            out = {
                "text": text if i == 0 else "",
                "tool_use": self._tool_use(calls[i]) if calls else None,
                "is_finished": ended,
                "finish_reason": (reason or "") if ended else "",
                "usage": _usage_block(usage) if i == last and usage else None,
                "index": choice.get("index", 0) if choices else 0,
            }
            if self._served:
                # Not a `GenericStreamingChunk` key, but LiteLLM's stream wrapper reads a chunk's
                # `model` as the served model (`provider_response_model`) and prices the stream
                # from it, as it prices a whole answer from `response.model`. The bare name: the
                # wrapper puts the provider's prefix in front itself.
                out["model"] = self._served  # type: ignore[typeddict-unknown-key]
            outs.append(out)
        return outs

    @staticmethod
    def _tool_use(call: Mapping[str, Any]) -> Any:
        function = call.get("function") or {}
        return {
            "id": call.get("id"),
            "type": "function",
            "function": {
                "name": function.get("name"),
                "arguments": function.get("arguments") or "",
            },
            "index": call.get("index"),
        }


def _usage_block(usage: Mapping[str, Any]) -> ChatCompletionUsageBlock:
    """The transport's (normalised) usage as LiteLLM's usage block."""
    return {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
    }
