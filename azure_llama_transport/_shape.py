"""The one shape check of every answer: a 2xx body that is not a completion is a typed error.

The clients call `check_completion` on every whole answer and the streams `check_chunk` on every
event, so no front end ever meets a `{}`, a `null`, a `[1]` or a `choices` that is not a list
(and none catches `AttributeError`/`KeyError` to find out). Shapes: docs/wire-protocol.md §7 (chat),
§8 (chunks), §10 and §13 (text completions, whose whole and streamed answers share a shape).
Only what the front ends read is checked (`usage` included: its three token counts must be
JSON integers, so no front end meets `int("x")`); unknown keys (`logprobs`, `system_fingerprint`,
Azure's `call_id`) pass untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ._errors import ResponseDecodeError

__all__ = ["Kind", "check_chunk", "check_completion", "plain_chunk", "shape_problem"]

Kind = Literal["chat", "text"]
_USAGE_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def shape_problem(body: Any, kind: Kind, *, chunk: bool = False) -> str | None:
    """What is wrong with `body` as a completion (or a stream chunk) of `kind`; None when fine."""
    if not isinstance(body, dict):
        return f"the body is {type(body).__name__}, not an object"
    choices = body.get("choices")
    if not isinstance(choices, list):
        return "`choices` is not a list"
    if not choices and not chunk:
        return "`choices` is empty"
    usage = body.get("usage")
    if usage is not None:
        problem = _usage_problem(usage)
        if problem is not None:
            return problem
    check = _CHECKS[(kind, chunk)]
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            return f"choices[{i}] is not an object"
        problem = check(choice)
        if problem is not None:
            return f"choices[{i}]: {problem}"
        reason = choice.get("finish_reason")
        if reason is not None and not isinstance(reason, str):
            return f"choices[{i}].finish_reason is not a string"
    return None


def _usage_problem(usage: Any) -> str | None:
    """Token counts are JSON integers (no strings, floats or negatives), or absent/null."""
    if not isinstance(usage, dict):
        return "`usage` is not an object"
    for key in _USAGE_COUNTS:
        count = usage.get(key)
        if count is not None and (count.__class__ is not int or count < 0):
            return f"`usage.{key}` is not a token count"
    return None


def check_completion(body: Any, kind: Kind, host: str) -> Any:
    """Return a whole answer unchanged, or raise `ResponseDecodeError` naming what is wrong."""
    problem = shape_problem(body, kind)
    if problem is not None:
        raise ResponseDecodeError(
            f"Azure AI endpoint {host} answered with a body that is not a "
            f"{_NAMES[kind]} ({problem}).",
            body=body,
        )
    return body


def check_chunk(
    body: Any, kind: Kind, host: str, partial_text: str | Callable[[], str] = ""
) -> None:
    """Raise `ResponseDecodeError` for a stream event that is not a chunk of `kind`.

    `partial_text` may be a callable, called only when the chunk is refused: a stream's text
    so far costs a join of every piece, far too much to build for every good chunk.
    """
    if plain_chunk(body, kind):
        return
    problem = shape_problem(body, kind, chunk=True)
    if problem is not None:
        raise ResponseDecodeError(
            f"Azure AI endpoint {host} sent a stream event that is not a {_NAMES[kind]} "
            f"chunk ({problem}).",
            partial_text=partial_text if isinstance(partial_text, str) else partial_text(),
            body=body,
        )


def plain_chunk(body: Any, kind: Kind) -> bool:
    """The chunk nearly every event is (one choice, text or nothing, no tool calls, usage or
    finish reason), recognised in a few lookups; anything else takes the full check."""
    choices = body.get("choices") if body.__class__ is dict else None
    if choices.__class__ is not list or len(choices) != 1 or body.get("usage") is not None:
        return False
    choice = choices[0]
    if choice.__class__ is not dict or choice.get("finish_reason") is not None:
        return False
    if kind == "chat":
        delta = choice.get("delta")
        if delta.__class__ is not dict or "tool_calls" in delta:
            return False
        content = delta.get("content")
    else:
        content = choice.get("text")
    return content is None or content.__class__ is str


def _message(node: Any, name: str) -> str | None:
    if not isinstance(node, dict):
        return f"`{name}` is not an object"
    content = node.get("content")
    if content is not None and not isinstance(content, str):
        return f"`{name}.content` is not a string"
    calls = node.get("tool_calls")
    if calls is None:
        return None
    if not isinstance(calls, list):
        return f"`{name}.tool_calls` is not a list"
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name", ""), str):
            return f"`{name}.tool_calls` holds a call without a function name"
        if not isinstance(function.get("arguments", ""), (str, type(None))):
            return f"`{name}.tool_calls` holds arguments that are not a JSON string"
    return None


def _chat_choice(choice: dict[str, Any]) -> str | None:
    return _message(choice.get("message"), "message")


def _chat_chunk_choice(choice: dict[str, Any]) -> str | None:
    delta = choice.get("delta")
    return None if delta is None else _message(delta, "delta")


def _text_choice(choice: dict[str, Any]) -> str | None:
    text = choice.get("text")
    return None if text is None or isinstance(text, str) else "`text` is not a string"


_CHECKS: dict[tuple[Kind, bool], Callable[[dict[str, Any]], str | None]] = {
    ("chat", False): _chat_choice,
    ("chat", True): _chat_chunk_choice,
    ("text", False): _text_choice,
    ("text", True): _text_choice,
}
_NAMES: dict[Kind, str] = {"chat": "chat completion", "text": "text completion"}
