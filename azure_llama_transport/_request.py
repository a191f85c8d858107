"""Build and check a request: route, query, headers and body. Bad input is refused here.

Pure functions, shared by the sync and async clients. Body keys follow the official SDK's
order, `None` values are dropped, then `model_extras` are merged at the root and announced with
`extra-parameters` (docs/wire-protocol.md §5-§6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._config import ExtraParametersMode, check_headers
from ._encode import encode_body
from ._errors import RequestValidationError
from ._images import check_image_count, check_image_part, pick_model

__all__ = [
    "CHAT_PARAMS",
    "COMPLETION_PARAMS",
    "LLAMA_PARAMS",
    "ROUTES",
    "Api",
    "PreparedRequest",
    "Route",
    "build_chat_request",
    "build_completion_request",
    "build_info_request",
]

Api = Literal["inference", "llama"]
Route = Literal["chat", "completions", "llama_chat", "llama_completions", "info"]
ROUTES: dict[Route, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "llama_chat": "/v1/chat/completions",
    "llama_completions": "/v1/completions",
    "info": "/info",
}
_DEPLOYMENT_HEADER = "azureml-model-deployment"
_ROLES = frozenset({"system", "user", "assistant", "tool"})
# The SDK's serialisation order; the wire does not care, but recorded requests compare equal.
CHAT_PARAMS = (
    "frequency_penalty",
    "max_tokens",
    "model",
    "presence_penalty",
    "response_format",
    "seed",
    "stop",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
)
COMPLETION_PARAMS = (
    "frequency_penalty",
    "max_tokens",
    "model",
    "presence_penalty",
    "seed",
    "stop",
    "temperature",
    "top_p",
)
LLAMA_PARAMS = (
    "n",
    "best_of",
    "logprobs",
    "ignore_eos",
    "use_beam_search",
    "stop_token_ids",
    "skip_special_tokens",
)
_RESERVED = frozenset({"messages", "prompt", "stream", "stream_options"})
# The typed keys of each (kind, api), as the ordered tuple the body follows and as a set.
_TYPED: dict[tuple[str, bool], tuple[str, ...]] = {
    ("chat", False): CHAT_PARAMS,
    ("chat", True): CHAT_PARAMS + LLAMA_PARAMS,
    ("text", False): COMPLETION_PARAMS,
    ("text", True): COMPLETION_PARAMS + LLAMA_PARAMS,
}
_TYPED_SETS = {typed: frozenset(typed) for typed in _TYPED.values()}
_MESSAGES_HELP = "messages must be a non-empty list of {'role': ..., 'content': ...} dicts."
_JSON_OBJECT_HELP = (
    "Meta Llama on Azure does not support response_format={'type': 'json_object'} (Azure "
    "answers 422 parameter_not_supported). Ask for a JSON schema instead: "
    "response_format={'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}} "
    "(sent natively or in the prompt, and the answer validated against it), from any OpenAI "
    "client through the LiteLLM proxy alike; litellm.completion also takes a pydantic model "
    "as response_format, and LangChain's with_structured_output(...) does the same."
)


@dataclass(frozen=True)
class PreparedRequest:
    """Everything the client needs to send one request; the body is already serialised."""

    method: Literal["GET", "POST"]
    route: Route
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes | None
    stream: bool
    # The image parts of a chat request, and the model name they were checked against (both
    # named in the hint of an image-count 400).
    images: int = 0
    model: str | None = None


def build_chat_request(
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
    *,
    api: Api = "inference",
    stream: bool = False,
    model_extras: Mapping[str, Any] | None = None,
    extra_parameters: ExtraParametersMode = "pass-through",
    api_version: str | None = None,
    headers: Mapping[str, str] | None = None,
    deployment: str | None = None,
    model_hint: str | None = None,
) -> PreparedRequest:
    """Build a chat request for `/chat/completions` (api="inference") or `/v1/chat/completions`.

    Images are checked against the call's `model`, else the deployment (a per-call
    `azureml-model-deployment` header), else `model_hint` (a name the caller knows and the body
    does not carry, e.g. LiteLLM's model on a serverless endpoint; never sent), else
    `deployment`, the client's: see `_images`.
    """
    images = _check_messages(messages)
    params = params or {}
    typed = _TYPED["chat", api == "llama"]
    _check_params(params, typed, stream=stream, api=api)
    model = None
    if images:
        header = (headers or {}).get(_DEPLOYMENT_HEADER)
        model = pick_model(params.get("model"), header, model_hint, deployment)
        check_image_count(images, model)
    body: dict[str, Any] = {"messages": list(messages)}
    _add_params(body, params, typed, stream)
    route: Route = "llama_chat" if api == "llama" else "chat"
    prepared = _finish(route, body, typed, model_extras, extra_parameters, api_version, headers)
    if images:
        prepared = dataclasses.replace(prepared, images=images, model=model)
    return prepared


def build_completion_request(
    prompt: str | Sequence[str],
    params: Mapping[str, Any] | None = None,
    *,
    api: Api = "inference",
    stream: bool = False,
    model_extras: Mapping[str, Any] | None = None,
    extra_parameters: ExtraParametersMode = "pass-through",
    api_version: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> PreparedRequest:
    """Build a text-completion request for base models (`/completions` or `/v1/completions`)."""
    if isinstance(prompt, str):
        if not prompt:
            raise RequestValidationError("prompt must not be empty.", param="prompt")
    elif not prompt or not all(isinstance(p, str) and p for p in prompt):
        raise RequestValidationError(
            "prompt must be a non-empty string or list of strings.", param="prompt"
        )
    params = params or {}
    typed = _TYPED["text", api == "llama"]
    _check_params(params, typed, stream=stream, api=api)
    body: dict[str, Any] = {"prompt": prompt}
    _add_params(body, params, typed, stream)
    route: Route = "llama_completions" if api == "llama" else "completions"
    return _finish(route, body, typed, model_extras, extra_parameters, api_version, headers)


def build_info_request(
    api_version: str | None = None, headers: Mapping[str, str] | None = None
) -> PreparedRequest:
    query = {"api-version": api_version} if api_version else {}
    out_headers = dict(headers or {})
    check_headers(out_headers)
    return PreparedRequest("GET", "info", ROUTES["info"], query, out_headers, None, False)


def _add_params(
    body: dict[str, Any], params: Mapping[str, Any], typed: tuple[str, ...], stream: bool
) -> None:
    """`stream` (when true) and the set typed params, in the SDK's order; None is not sent."""
    if stream:
        body["stream"] = True
    for key in typed:
        value = params.get(key)
        if value is not None:
            body[key] = value


def _finish(
    route: Route,
    body: dict[str, Any],
    typed: tuple[str, ...],
    model_extras: Mapping[str, Any] | None,
    mode: ExtraParametersMode,
    api_version: str | None,
    headers: Mapping[str, str] | None,
) -> PreparedRequest:
    out_headers = dict(headers or {})
    check_headers(out_headers)  # CR/LF would split headers; non-ASCII fails late in httpx
    if model_extras and not _MAX_TOKENS_SPELLINGS.isdisjoint(model_extras):
        model_extras = _max_tokens_spelt_otherwise(body, model_extras)
    if model_extras:
        _check_extras(model_extras, typed)
        body.update(model_extras)
        out_headers["extra-parameters"] = mode
    is_llama = route.startswith("llama")
    # The Llama-native /v1 routes never take api-version (docs/wire-protocol.md §3).
    query = {"api-version": api_version} if api_version and not is_llama else {}
    content = encode_body(body)
    return PreparedRequest(
        "POST", route, ROUTES[route], query, out_headers, content, bool(body.get("stream"))
    )


def check_messages(messages: Sequence[Mapping[str, Any]]) -> None:
    """Refuse what Azure would reject (or silently misread) before anything is sent.

    The number of images is not checked here: that needs the model (`build_chat_request`).
    """
    _check_messages(messages)


def check_message_list(messages: Sequence[Mapping[str, Any]]) -> None:
    """Only that `messages` is a non-empty list of dicts (what a step reading them before the
    request build needs); `check_messages` checks each message."""
    _check_list(messages)
    for i, message in enumerate(messages):
        if type(message) is not dict and not isinstance(message, Mapping):
            raise RequestValidationError(f"messages[{i}] is not a dict.", param="messages")


def _check_list(messages: Sequence[Mapping[str, Any]]) -> None:
    # `type(...) is` first: the list of dicts every front end sends skips the ABC checks.
    plain = type(messages) is list
    if not plain and (isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence)):
        raise RequestValidationError(_MESSAGES_HELP, param="messages")
    if not messages:
        raise RequestValidationError(_MESSAGES_HELP, param="messages")


def _check_messages(messages: Sequence[Mapping[str, Any]]) -> int:
    """`check_messages`, returning how many image parts the messages hold."""
    _check_list(messages)
    images = 0
    # An agent's history is hundreds of messages per call: text content (the common case) is
    # checked here, without a call per message; anything else takes `_check_content`.
    for i, message in enumerate(messages):
        if type(message) is not dict and not isinstance(message, Mapping):
            raise RequestValidationError(f"messages[{i}] is not a dict.", param="messages")
        role = message.get("role")
        try:
            known = role in _ROLES
        except TypeError:  # an unhashable role (a list, a dict): refused like any unknown one
            known = False
        if not known:
            raise RequestValidationError(
                f"messages[{i}] has role {role!r}; Llama on Azure accepts "
                "'system', 'user', 'assistant' and 'tool'.",
                param="messages",
            )
        if type(message.get("content")) is not str:
            images += _check_content(i, message)
        calls = message.get("tool_calls")
        if calls is not None:
            check_tool_calls(i, calls)
    return images


def check_tool_calls(i: int, calls: Any) -> None:
    """An earlier turn's calls as Azure takes them back: `arguments` a JSON string (wire table
    §6). Anything else would be a 400 from Azure, or (replayed as prompted text) lost."""
    if type(calls) is not list and not isinstance(calls, (list, tuple)):
        raise RequestValidationError(
            f"messages[{i}].tool_calls must be a list of tool calls.", param="messages"
        )
    for j, call in enumerate(calls):
        # `type(...) is` first: an agent's history holds hundreds of plain dicts.
        plain = type(call) is dict
        function = call.get("function") if plain or isinstance(call, Mapping) else None
        if type(function) is not dict and not isinstance(function, Mapping):
            raise RequestValidationError(
                f'messages[{i}].tool_calls[{j}] must be {{"id": ..., "type": "function", '
                '"function": {"name": ..., "arguments": ...}}.',
                param="messages",
            )
        if type(function.get("name")) is not str or type(function.get("arguments")) is not str:
            _refuse_tool_call(i, j, function)


def _refuse_tool_call(i: int, j: int, function: Mapping[str, Any]) -> None:
    where = f"messages[{i}].tool_calls[{j}].function"
    name, arguments = function.get("name"), function.get("arguments")
    if not isinstance(name, str):
        raise RequestValidationError(
            f"{where}.name must be the tool's name (a string).", param="messages"
        )
    if not isinstance(arguments, str):
        raise RequestValidationError(
            f"{where}.arguments must be a JSON string, as the model returned it "
            f"(got {type(arguments).__name__}); json.dumps it.",
            param="messages",
        )


def _check_content(i: int, message: Mapping[str, Any]) -> int:
    content = message.get("content")
    if content is None:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            return 0
        raise RequestValidationError(f"messages[{i}] has no content.", param="messages")
    if isinstance(content, str):
        return 0
    if not isinstance(content, list):
        raise RequestValidationError(
            f"messages[{i}].content must be a string or a list of text and image_url parts.",
            param="messages",
        )
    images = 0
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            continue
        if kind == "image_url":
            check_image_part(f"messages[{i}].content[{j}]", message.get("role"), part)
            images += 1
            continue
        raise RequestValidationError(
            f"messages[{i}].content[{j}] is a {kind!r} part: Meta Llama models on Azure take "
            "text and, on the vision models (Llama 4), image_url parts; audio and files are not "
            "accepted.",
            param="messages",
        )
    return images


def _check_params(
    params: Mapping[str, Any], typed: tuple[str, ...], *, stream: bool, api: Api
) -> None:
    known = _TYPED_SETS.get(typed) or frozenset(typed)
    unknown = sorted(params.keys() - known)
    if unknown:
        where = "the Llama-native API" if api == "llama" else "the Azure AI Model Inference API"
        raise RequestValidationError(
            f"Unknown parameter(s) {unknown} for {where}; pass model-specific parameters in "
            "model_extras (sent with the 'extra-parameters' header).",
            param=unknown[0],
        )
    response_format = params.get("response_format")
    if (
        response_format is not None
        and isinstance(response_format, Mapping)
        and response_format.get("type") == "json_object"
    ):
        raise RequestValidationError(_JSON_OBJECT_HELP, param="response_format")
    _check_ranges(params)
    if api == "llama":
        check_llama_params(params, stream=stream)


def _check_ranges(params: Mapping[str, Any]) -> None:
    checks: tuple[tuple[str, float, float], ...] = (
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    )
    for name, low, high in checks:
        value = params.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not low <= value <= high
        ):
            raise RequestValidationError(
                f"{name} must be a number between {low} and {high}; got {value!r}.", param=name
            )
    max_tokens = params.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise RequestValidationError(
            f"max_tokens must be a positive integer; got {max_tokens!r}.", param="max_tokens"
        )


def check_llama_params(params: Mapping[str, Any], *, stream: bool) -> None:
    """The Llama-native API's documented rules, checked before sending.

    Source: docs/wire-protocol.md §13.
    """
    n = params.get("n") or 1
    best_of = params.get("best_of")
    if best_of is not None and best_of < n:
        raise RequestValidationError(
            f"best_of ({best_of}) must be greater than n ({n}): the service picks the n best "
            "of best_of candidates.",
            param="best_of",
        )
    if best_of is not None and best_of > 1 and stream:
        raise RequestValidationError(
            "best_of > 1 cannot be streamed (the candidates are ranked only once all are "
            "complete); call without streaming.",
            param="best_of",
        )
    if params.get("use_beam_search"):
        if best_of is None or best_of <= 1:
            raise RequestValidationError(
                "use_beam_search needs best_of > 1.", param="use_beam_search"
            )
        if params.get("temperature") != 0:
            raise RequestValidationError(
                "use_beam_search needs temperature=0 (beam search is greedy).",
                param="use_beam_search",
            )


# OpenAI's newer and Google's names for `max_tokens`: Llama on Azure knows only `max_tokens`.
_MAX_TOKENS_SPELLINGS = frozenset({"max_completion_tokens", "max_output_tokens"})


def _max_tokens_spelt_otherwise(
    body: dict[str, Any], model_extras: Mapping[str, Any]
) -> dict[str, Any]:
    """`max_completion_tokens` / `max_output_tokens` sent as what they mean, `max_tokens`."""
    extras = dict(model_extras)
    given = {key: extras.pop(key) for key in sorted(_MAX_TOKENS_SPELLINGS & set(extras))}
    values = {value for value in given.values() if value is not None}
    if body.get("max_tokens") is not None:
        values.add(body["max_tokens"])
    if len(values) > 1:
        raise RequestValidationError(
            f"{sorted(given)} mean max_tokens here, and the values differ from each other or "
            "from max_tokens: set max_tokens once.",
            param=next(iter(given)),
        )
    if values:
        body["max_tokens"] = values.pop()
    return extras


def _check_extras(model_extras: Mapping[str, Any], typed: tuple[str, ...]) -> None:
    collisions = sorted(set(model_extras) & (set(typed) | _RESERVED))
    if "stream_options" in collisions:
        raise RequestValidationError(
            "stream_options is not sent to Azure: usage already arrives on the last stream "
            "chunk, and Azure rejects the key without pass-through.",
            param="stream_options",
        )
    if collisions:
        raise RequestValidationError(
            f"model_extras {collisions} collide with typed parameters; set them as parameters, "
            "not extras, so that exactly one value is sent.",
            param=collisions[0],
        )
