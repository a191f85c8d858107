"""Request validation, gateway first (extra-parameters, 422s) then backend (vLLM 400s).

Model Inference routes (`/chat/completions`, `/completions`) know only the keys of the API
(docs/wire-protocol.md §6, §10); the `extra-parameters` header decides what happens to the others.
Llama-native routes (`/v1/...`) take the Llama parameters (n, best_of, logprobs, ...) as they
are and check nothing about unknown keys, as vLLM does not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _wire

CHAT_KEYS = frozenset(
    {
        "messages", "stream", "frequency_penalty", "max_tokens", "model", "presence_penalty",
        "response_format", "seed", "stop", "temperature", "tool_choice", "tools", "top_p",
    }
)  # fmt: skip
COMPLETION_KEYS = frozenset(
    {
        "prompt", "stream", "frequency_penalty", "max_tokens", "model", "presence_penalty",
        "seed", "stop", "temperature", "top_p",
    }
)  # fmt: skip
_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "ipython"})
_NUMBERS = ("temperature", "top_p", "frequency_penalty", "presence_penalty")
_INTEGERS = ("max_tokens", "seed", "n", "best_of")
_BOOLEANS = ("stream", "ignore_eos", "use_beam_search", "skip_special_tokens")


@dataclass(frozen=True)
class Route:
    """One inference route: chat or text completion, Model Inference or Llama-native."""

    path: str
    chat: bool
    native: bool
    openai: bool = False  # the Azure OpenAI v1 route: OpenAI's parameters, no extra-parameters


ROUTES = {
    r.path: r
    for r in (
        Route("/chat/completions", chat=True, native=False),
        Route("/completions", chat=False, native=False),
        Route("/v1/chat/completions", chat=True, native=True),
        Route("/v1/completions", chat=False, native=True),
    )
}
OPENAI_CHAT = Route("/openai/v1/chat/completions", chat=True, native=False, openai=True)


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise _wire.invalid(["body", getattr(exc, "pos", 0)], "JSON decode error") from exc
    if not isinstance(body, dict):
        raise _wire.invalid(["body"], "Input should be a valid dictionary", body)
    return body


def validate(
    body: dict[str, Any], route: Route, extra_mode: str | None, *, accept_json_schema: bool
) -> dict[str, Any]:
    """The body the model sees, or a `Rejection` raised with the service's answer."""
    if route.native:
        body = _native_stream_flag(body)
    elif route.openai:
        # OpenAI's own parameters (n, user, stream_options, ...) pass; Llama has no JSON mode.
        _check_response_format(body, accept_json_schema)
    else:
        body = _apply_extra_mode(body, route, extra_mode)
        _check_response_format(body, accept_json_schema)
    _check_input(body, route)
    _check_types(body)
    return body


def check_backend(body: dict[str, Any], *, reject_tools: bool) -> None:
    """What the vLLM behind the deployment refuses (passed through as Azure's 400 wrapper)."""
    if reject_tools and body.get("tools"):
        raise _wire.tools_unsupported()
    n, best_of = body.get("n") or 1, body.get("best_of")
    if best_of is not None and body.get("stream"):
        raise _wire.backend_bad_request("best_of is not supported in streaming mode")
    if best_of is not None and best_of < n:
        raise _wire.backend_bad_request(
            f"best_of must be greater than or equal to n, got n={n} and best_of={best_of}."
        )
    if body.get("use_beam_search") and ((best_of or 1) <= 1 or body.get("temperature") != 0):
        raise _wire.backend_bad_request("use_beam_search requires best_of > 1 and temperature 0.")


def check_images(body: dict[str, Any], accepted: bool | None, limit: int | None) -> None:
    """vLLM's answers to `image_url` parts: a bad URL, too many images, or a text-only model.

    `accepted` None (a model the emulator cannot place) takes any number of images.
    """
    urls = [part.get("url") for part in _image_parts(body.get("messages"))]
    if not urls:
        return
    for url in urls:
        if not isinstance(url, str) or not url.startswith(_IMAGE_SCHEMES):
            raise _wire.backend_bad_request("The URL must be either a HTTP, data or file URL.")
    allowed = 0 if accepted is False else limit
    if allowed is not None and len(urls) > allowed:
        raise _wire.image_limit(allowed)


_IMAGE_SCHEMES = ("data:image/", "https://", "http://")


def _image_parts(messages: Any) -> list[dict[str, Any]]:
    found = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                found.append(image if isinstance(image, dict) else {"url": image})
    return found


def check_context(prompt_tokens: int, max_tokens: Any, window: int | None) -> None:
    """vLLM's 400 when the prompt plus `max_tokens` passes the model's context window."""
    wanted = max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else 0
    if window is None or prompt_tokens + wanted <= window:
        return
    raise _wire.backend_bad_request(
        f"This model's maximum context length is {window} tokens. However, you requested "
        f"{prompt_tokens + wanted} tokens ({prompt_tokens} in the messages, {wanted} in the "
        "completion). Please reduce the length of the messages or completion."
    )


def _apply_extra_mode(body: dict[str, Any], route: Route, mode: str | None) -> dict[str, Any]:
    known = CHAT_KEYS if route.chat else COMPLETION_KEYS
    unknown = [key for key in body if key not in known]
    if not unknown or mode == "pass-through":
        return body
    # REF-COMPL spells "drop" as "ignore"; any other value behaves as the default, "error".
    if mode in ("drop", "ignore"):
        return {k: v for k, v in body.items() if k in known}
    raise _wire.extra_parameters(unknown)


def _native_stream_flag(body: dict[str, Any]) -> dict[str, Any]:
    # The azureml-examples notebooks send "stream": "True"; the Llama-native routes take it.
    flag = body.get("stream")
    if isinstance(flag, str) and flag.lower() in ("true", "false"):
        return {**body, "stream": flag.lower() == "true"}
    return body


def response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of a `json_schema` response format, else None."""
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None


def _check_response_format(body: dict[str, Any], accept_json_schema: bool) -> None:
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else fmt
    if fmt is None or kind == "text":
        return
    if kind == "json_schema" and accept_json_schema:
        if not isinstance(response_schema(body), dict):
            loc = ["body", "response_format", "json_schema", "schema"]
            raise _wire.invalid(loc, "Field required", fmt.get("json_schema"))
        return
    # Llama has no JSON mode (LLAMA-DOC); REF-API documents exactly this 422.
    raise _wire.parameter_not_supported("response_format", kind)


def _check_input(body: dict[str, Any], route: Route) -> None:
    if not route.chat:
        prompt = body.get("prompt")
        if not isinstance(prompt, (str, list)) or not prompt:
            raise _wire.invalid(["body", "prompt"], "Field required", prompt)
        return
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _wire.invalid(["body", "messages"], "Field required", messages)
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _ROLES:
            raise _wire.invalid(["body", "messages", index, "role"], "Invalid message role", role)


def _check_types(body: dict[str, Any]) -> None:
    for key, ok in _type_checks(body):
        if not ok:
            raise _wire.invalid(["body", key], "Input has the wrong type", body[key])
    stop = body.get("stop")
    if stop is not None and not _strings(stop):
        raise _wire.invalid(["body", "stop"], "Input should be a string or a list of strings", stop)


def _type_checks(body: dict[str, Any]) -> list[tuple[str, bool]]:
    checks = []
    for key in _NUMBERS + _INTEGERS + _BOOLEANS:
        value = body.get(key)
        if value is None:
            continue
        if key in _BOOLEANS:
            checks.append((key, isinstance(value, bool)))
        elif key in _INTEGERS:
            checks.append((key, isinstance(value, int) and not isinstance(value, bool)))
        else:
            checks.append((key, isinstance(value, (int, float)) and not isinstance(value, bool)))
    return checks


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, Sequence) and all(isinstance(v, str) for v in value)
    )
