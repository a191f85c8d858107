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
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "FILTERED",
    "PROMPT_FORMAT",
    "PROMPT_INTRO",
    "ToolCallBuffer",
    "apply_to_completion",
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
_FENCE = re.compile(r"^```[A-Za-z]*[ \t]*\n?(.*?)\s*```$", re.DOTALL)
_CALL_STARTS = ("{", "[", "```", _PYTHON_TAG)
_CALL_KEYS = frozenset({"name", "parameters", "arguments", "type", "id"})
_SEPARATORS = " \t\r\n;,"
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
        parameters = json.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except ValueError:
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


def parse_tool_calls(text: str, names: frozenset[str]) -> list[dict[str, Any]] | None:
    """OpenAI-shaped `tool_calls` in a prompted answer; None when it is not (only) calls."""
    body = _unwrap(text)
    if not names or not body.startswith(("{", "[")):
        return None
    values = _decode_all(body)
    if not values:
        return None
    calls = [_as_call(value, names) for value in values]
    if any(call is None for call in calls):
        return None
    return [
        {
            "id": new_call_id(),
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for name, args in (c for c in calls if c is not None)
    ]


def _unwrap(text: str) -> str:
    body = text.strip()
    if body.startswith(_PYTHON_TAG):
        body = body[len(_PYTHON_TAG) :].strip()
    for token in _END_TOKENS:
        if body.endswith(token):
            body = body[: -len(token)].strip()
    fenced = _FENCE.match(body)
    return fenced.group(1).strip() if fenced else body


def _decode_all(body: str) -> list[Any] | None:
    values: list[Any] = []
    position = 0
    while position < len(body):
        try:
            value, position = _DECODER.raw_decode(body, position)
        except ValueError:
            return None
        values.extend(value if isinstance(value, list) else [value])
        while position < len(body) and body[position] in _SEPARATORS:
            position += 1
    return values


def _as_call(value: Any, names: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
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
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            return None
    args = {} if args is None else args
    return (name, args) if isinstance(args, dict) else None


def apply_to_completion(data: dict[str, Any], names: frozenset[str]) -> bool:
    """Turn each choice of a whole answer that is a prompted call into native `tool_calls`.

    Returns whether any choice was a call. A filtered or already-native choice is left alone.
    """
    found = False
    for choice in data["choices"]:
        message = choice.get("message") or {}
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            continue
        calls = parse_tool_calls(message.get("content") or "", names)
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
    """

    def __init__(self, names: frozenset[str], *, hold_all: bool = False) -> None:
        self._names = names
        self._hold_all = hold_all
        self.verdict: Verdict = "undecided"
        self.passing = False
        self.called = False
        self._parts: list[str] = []
        self._last: dict[str, Any] | None = None
        self._finish: str | None = None
        self._usage: Any = None

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self.passing:
            return [chunk]
        choices = chunk.get("choices") or []
        choice = choices[0] if choices else {}
        delta = choice.get("delta") or {}
        if delta.get("tool_calls"):  # the endpoint answered natively after all
            self.passing = True
            return [*self._release(None), chunk]
        self._parts.append(delta.get("content") or "")
        self._last = chunk
        self._finish = choice.get("finish_reason") or self._finish
        self._usage = chunk.get("usage") or self._usage
        if self.verdict == "undecided":
            self.verdict = _verdict("".join(self._parts))
        if self.verdict == "text" and not self._hold_all:
            self.passing = True
            return self._release(None)
        return []

    def close(self) -> list[dict[str, Any]]:
        if self.passing or self._last is None:
            return []
        calls = None
        if self.verdict == "call" and self._finish not in FILTERED:
            calls = parse_tool_calls("".join(self._parts), self._names)
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
        return [out]
