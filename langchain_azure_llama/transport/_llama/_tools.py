"""Prompted tool calling on wire dicts: Meta's Llama 3.1 JSON-based format, there and back.

Sources: Meta's Llama 3.1 model card and `llama-models` `models/llama3_1/prompt_format.md`
("JSON based tool calling"), and the reference chat template of the Llama 3.1 Instruct models.

* Offer: the tool definitions go into the system prompt as JSON, after Meta's instruction
  ("Given the following functions, please respond with a JSON for a function call ..."), each
  as ``{"type": "function", "function": {...}}``. No `tools` key is sent.
* History: an earlier call is replayed as the assistant's own JSON text ``{"name": ...,
  "parameters": ...}`` (what the model wrote); a result goes back as a `tool` message with its
  `tool_call_id`. Meta's role for results is `ipython`, which Azure does not accept (its roles
  are system/user/assistant/tool, docs/wire-protocol.md §6); the Llama 3.1 chat template renders a
  `tool` message as the `ipython` turn, so this is Meta's documented turn in Azure's roles.
* Answer: parsed back into OpenAI-shaped `tool_calls` (`parse_tool_calls`), tolerating
  whitespace, a ```` ```json ```` fence, `<|python_tag|>`, `<|eom_id|>`/`<|eot_id|>`,
  `"arguments"` for `"parameters"`, a `"type": "function"` key, the OpenAI wrapping, and several
  calls in a list or one per line. An answer naming no offered tool stays text.
* Streams: `ToolCallBuffer` holds chunks back only while the text may still be a call.
* Bounds (`Limits`): an answer over `max_model_text` characters, or JSON nested deeper than
  `max_json_depth`, is not a call (it stays text; a held stream is released as text once it
  passes the size); more than `max_tool_calls` calls raise `ResponseTooLargeError`. A native
  `tool_calls` entry naming a tool that was not offered raises `ResponseDecodeError`: in
  prompted mode only the offered tools ever become tool calls.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._errors import ResponseDecodeError, ResponseTooLargeError, StructuredOutputError
from .._limits import DEFAULT_LIMITS, Limits
from ._bounds import check_depth, excerpt, fits, loads, unfence

__all__ = [
    "FILTERED",
    "PROMPT_FORMAT",
    "PROMPT_INTRO",
    "ToolCallBuffer",
    "apply_to_completion",
    "check_native_calls",
    "new_call_id",
    "offered_names",
    "parse_tool_calls",
    "prompted_history",
    "tools_prompt",
    "with_system_text",
]

PROMPT_INTRO = (
    "Given the following functions, please respond with a JSON for a function call with its "
    "proper arguments that best answers the given prompt."
)
PROMPT_FORMAT = (
    'Respond in the format {"name": function name, "parameters": dictionary of argument name '
    "and its value}. Do not use variables."
)
_AUTO_RULE = (
    "Call a function only when one of them helps to answer. Answer in plain text, without "
    "JSON, when none fits or when the tool results in this conversation already answer it."
)
_REQUIRED_RULE = "You must call one of these functions: respond with the JSON of the call only."
_NAMED_RULE = 'You must call the function "{name}": respond with the JSON of the call only.'
_PYTHON_TAG = "<|python_tag|>"
_END_TOKENS = ("<|eom_id|>", "<|eot_id|>")
_CALL_STARTS = ("{", "[", "```", _PYTHON_TAG)
_CALL_KEYS = frozenset({"name", "parameters", "arguments", "type", "id"})
_SEPARATORS = re.compile(r"[ \t\r\n;,]*")  # one class, matches empty: linear, never fails
# Enough of a stream's head to tell whether it starts a call (the longest start is the tag).
_HEAD_CHARS = 2 * len(_PYTHON_TAG)
_DECODER = json.JSONDecoder()
FILTERED = frozenset({"content_filter", "content_filter_error"})


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def _chosen_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, Mapping) and isinstance(tool_choice.get("function"), Mapping):
        name = tool_choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def _offered(tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> list[Mapping[str, Any]]:
    if not tools or tool_choice == "none":
        return []
    name = _chosen_name(tool_choice)
    named = [t for t in tools if (t.get("function") or {}).get("name") == name]
    return named or list(tools)


def offered_names(tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> frozenset[str]:
    """The tools a prompted answer may call (none when `tool_choice` is "none")."""
    return frozenset(
        str(t["function"]["name"])
        for t in _offered(tools, tool_choice)
        if isinstance(t.get("function"), Mapping)
    )


def tools_prompt(tools: Sequence[Mapping[str, Any]], tool_choice: Any = None) -> str | None:
    """The system-prompt text offering `tools` (None when nothing is offered)."""
    offered = _offered(tools, tool_choice)
    if not offered:
        return None
    name = _chosen_name(tool_choice)
    if name is not None and len(offered) == 1:
        rule = _NAMED_RULE.format(name=name)
    elif tool_choice == "required":
        rule = _REQUIRED_RULE
    else:
        rule = _AUTO_RULE
    definitions = "\n\n".join(json.dumps(t, ensure_ascii=False) for t in offered)
    return f"{PROMPT_INTRO}\n\n{PROMPT_FORMAT}\n\n{definitions}\n\n{rule}"


def prompted_history(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Native-shaped history → prompted: assistant `tool_calls` become their JSON text."""
    out: list[dict[str, Any]] = []
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if not calls:
            out.append(dict(message))
            continue
        lines = [message["content"].strip()] if isinstance(message.get("content"), str) else []
        lines += [_call_text(call) for call in calls]
        out.append({"role": "assistant", "content": "\n".join(line for line in lines if line)})
    return out


def _call_text(call: Mapping[str, Any]) -> str:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    try:
        parameters = loads(arguments) if isinstance(arguments, str) and arguments else {}
    except (ValueError, RecursionError):
        parameters = arguments  # replay what the caller had, rather than drop it
    name = function.get("name") or ""
    return json.dumps({"name": name, "parameters": parameters}, ensure_ascii=False)


def with_system_text(messages: Sequence[Mapping[str, Any]], text: str) -> list[dict[str, Any]]:
    """Append `text` to the leading system message, or put a system message first."""
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        content = out[0].get("content")
        if isinstance(content, list):
            out[0]["content"] = [*content, {"type": "text", "text": text}]
        else:
            out[0]["content"] = f"{content}\n\n{text}" if content else text
        return out
    return [{"role": "system", "content": text}, *out]


# -- parsing the answer -----------------------------------------------------------------------


def parse_tool_calls(
    text: str, names: frozenset[str], *, limits: Limits | None = None
) -> list[dict[str, Any]] | None:
    """OpenAI-shaped `tool_calls` in a prompted answer; None when it is not (only) calls.

    Linear in the text. Text over `Limits.max_model_text` characters, or JSON nested deeper
    than `Limits.max_json_depth`, is not a call (None). More than `Limits.max_tool_calls`
    calls raise `ResponseTooLargeError`.
    """
    limits = limits or DEFAULT_LIMITS
    if not names or not fits(text, limits):
        return None
    body = _unwrap(text)
    if not body.startswith(("{", "[")):
        return None
    values = _decode_all(body, limits)
    if not values:
        return None
    calls = []
    for value in values[: limits.max_tool_calls + 1]:
        call = _as_call(value, names, limits)
        if call is None:
            return None
        calls.append(call)
    if len(values) > limits.max_tool_calls:
        raise _too_many_calls(limits.max_tool_calls)
    return [
        {
            "id": new_call_id(),
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for name, args in calls
    ]


def _too_many_calls(limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The model answered with more than {limit:,} tool calls (Limits.max_tool_calls). "
        "Pass limits=Limits(max_tool_calls=...) if such answers are expected.",
        limit="max_tool_calls",
        limit_bytes=limit,
    )


def _unwrap(text: str) -> str:
    body = text.strip()
    if body.startswith(_PYTHON_TAG):
        body = body[len(_PYTHON_TAG) :].strip()
    for token in _END_TOKENS:
        if body.endswith(token):
            body = body[: -len(token)].strip()
    return unfence(body)


def _decode_all(body: str, limits: Limits) -> list[Any] | None:
    """Every JSON value in `body` (lists flattened), up to one more than the call limit."""
    try:
        check_depth(body, limits)  # once for the whole body: per value would be quadratic
    except ValueError:
        return None
    values: list[Any] = []
    position = 0
    while position < len(body) and len(values) <= limits.max_tool_calls:
        try:
            value, position = _DECODER.raw_decode(body, position)
        except (ValueError, RecursionError):  # RecursionError: not reached under the check
            return None
        values.extend(value if isinstance(value, list) else [value])
        position = _SEPARATORS.match(body, position).end()  # type: ignore[union-attr]
    return values


def _as_call(
    value: Any, names: frozenset[str], limits: Limits
) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict):  # {"type": "function", "function": {...}}
        value = value["function"]
    name = value.get("name")
    if not isinstance(name, str) or name not in names or not set(value) <= _CALL_KEYS:
        return None
    args = value.get("parameters", value.get("arguments"))
    if isinstance(args, str):
        try:
            args = loads(args, limits) if args.strip() else {}
        except ValueError:
            return None
    args = {} if args is None else args
    return (name, args) if isinstance(args, dict) else None


def check_native_calls(calls: Any, names: frozenset[str]) -> None:
    """Raise `ResponseDecodeError` when a native `tool_calls` list names a tool not offered.

    Prompted mode sends no `tools`, yet an endpoint may parse calls out of the model's text on
    its own; only the offered tools may become calls. A call without a name (a later delta of
    a streamed call) is not checked.
    """
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if name is not None and name not in names:
            offered = ", ".join(sorted(names)) or "none"
            raise ResponseDecodeError(
                f"The endpoint answered with a native call to the tool "
                f"{excerpt(repr(name), 100)}, which this request did not offer (offered: "
                f"{excerpt(offered, 200)}). Tools are prompted here, and only the offered ones "
                "become tool calls.",
                body=excerpt(json.dumps(calls, ensure_ascii=False, default=str)),
            )


def apply_to_completion(
    data: dict[str, Any], names: frozenset[str], *, limits: Limits | None = None
) -> bool:
    """Turn each choice of a whole answer that is a prompted call into native `tool_calls`.

    Returns whether any choice was a call. A filtered or already-native choice is left alone
    (a native call must name an offered tool: `check_native_calls`).
    """
    found = False
    for choice in data["choices"]:
        message = choice.get("message") or {}
        check_native_calls(message.get("tool_calls"), names)
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            continue
        calls = parse_tool_calls(message.get("content") or "", names, limits=limits)
        if calls:
            choice["message"] = {**message, "content": "", "tool_calls": calls}
            choice["finish_reason"] = "tool_calls"
            found = True
    return found


# -- streaming --------------------------------------------------------------------------------

Verdict = Literal["call", "text", "undecided"]


def _verdict(text: str) -> Verdict:
    """Can a stream that begins with `text` still be a tool call?"""
    head = text.lstrip()
    if not head:
        return "undecided"
    if head.startswith(_CALL_STARTS):
        return "call"
    if any(start.startswith(head) for start in _CALL_STARTS):
        return "undecided"
    return "text"


class ToolCallBuffer:
    """Holds a prompted stream (choice 0) back while it may be a tool call.

    `feed` takes each wire chunk and returns the chunks to pass on. Text that cannot start a
    call is released at once as one chunk, and everything after passes straight through. A
    possible call is held to the end: `close` returns one chunk carrying the parsed calls as
    native tool-call deltas (`finish_reason` "tool_calls"), or the held text if it did not parse.
    With `hold_all` (a prompted JSON schema: the answer is validated before anyone sees it)
    text is held to the end too.

    Bounded: each event costs time in its own length (the verdict reads a short head kept as
    it comes), and at most `Limits.max_model_text` characters are held. Past that a possible
    call is released as text and the rest passes through; with `hold_all` it raises
    `StructuredOutputError` (no JSON answer that long is parsed). Native tool-call deltas must
    name an offered tool (`check_native_calls`), held or not.
    """

    def __init__(
        self, names: frozenset[str], *, hold_all: bool = False, limits: Limits | None = None
    ) -> None:
        self._names = names
        self._hold_all = hold_all
        self._limits = limits or DEFAULT_LIMITS
        self.verdict: Verdict = "undecided"
        # Nothing to hold when no tool is offered and nothing is validated.
        self.passing = not names and not hold_all
        self.called = False
        self._parts: list[str] = []
        self._held = 0  # characters in `_parts`
        self._head = ""  # the first characters after leading whitespace, for the verdict
        self._last: dict[str, Any] | None = None
        self._finish: str | None = None
        self._usage: Any = None

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        choices = chunk.get("choices") or []
        choice = choices[0] if choices else {}
        delta = choice.get("delta") or {}
        calls = delta.get("tool_calls")
        if calls:  # the endpoint answered natively after all
            check_native_calls(calls, self._names)
        if self.passing:
            return [chunk]
        if calls:
            self.passing = True
            return [*self._release(None), chunk]
        text = delta.get("content") or ""
        self._parts.append(text)
        self._held += len(text)
        self._last = chunk
        self._finish = choice.get("finish_reason") or self._finish
        self._usage = chunk.get("usage") or self._usage
        if self.verdict == "undecided" and text:
            self._head = (self._head + (text if self._head else text.lstrip()))[:_HEAD_CHARS]
            self.verdict = _verdict(self._head)
        if self._held > self._limits.max_model_text:
            return self._overflow()
        if self.verdict == "text" and not self._hold_all:
            self.passing = True
            return self._release(None)
        return []

    def _overflow(self) -> list[dict[str, Any]]:
        limit = self._limits.max_model_text
        if self._hold_all:
            text = "".join(self._parts)
            problem = f"The answer is longer than {limit:,} characters (Limits.max_model_text)"
            raise StructuredOutputError(
                f"The answer does not match the requested JSON schema: {problem}; it was not "
                "parsed.",
                partial_text=text,
                validation_error=problem,
            )
        self.passing = True  # too long to be a call: what was held is text, the rest follows
        return self._release(None)

    def close(self) -> list[dict[str, Any]]:
        if self.passing or self._last is None:
            return []
        calls = None
        if self.verdict == "call" and self._finish not in FILTERED:
            calls = parse_tool_calls("".join(self._parts), self._names, limits=self._limits)
        self.called = bool(calls)
        return self._release(calls)

    def _release(self, calls: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        if self._last is None:
            return []
        envelope = {k: v for k, v in self._last.items() if k not in ("choices", "usage")}
        if calls:
            delta: dict[str, Any] = {
                "role": "assistant",
                "content": "",
                "tool_calls": [{**c, "index": i} for i, c in enumerate(calls)],
            }
            finish: str | None = "tool_calls"
        else:
            delta = {"role": "assistant", "content": "".join(self._parts)}
            finish = self._finish
        out = {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if self._usage is not None:
            out["usage"] = self._usage
        self._parts, self._last, self._finish, self._usage = [], None, None, None
        self._held = 0
        return [out]
