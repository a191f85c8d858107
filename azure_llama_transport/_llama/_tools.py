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
* Answer: read by the one tolerant parser (`_parse`), whatever format was asked for: Meta's
  JSON, pythonic lists, `<|python_tag|>`, `<|python_start|>`, `<function=…>`, fences, end
  tokens, several calls (each its own tool call with its own id), prose before the call (kept
  as content). An answer calling a tool that was not offered stays text.
* Streams: `ToolCallBuffer` releases prose as soon as it cannot start a call and holds a call
  back to the end (`_parse.CallSplitter`).
* Bounds (`Limits`): an answer over `max_model_text` characters, or JSON nested deeper than
  `max_json_depth`, is not a call (it stays text; a held stream is released as text once it
  passes the size); more than `max_tool_calls` calls raise `ResponseTooLargeError`. A native
  `tool_calls` entry naming a tool that was not offered raises `ResponseDecodeError`: in
  prompted mode only the offered tools ever become tool calls.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .._answers import FILTERED_FINISH_REASONS as FILTERED
from .._errors import ResponseDecodeError, ResponseTooLargeError, StructuredOutputError
from .._limits import DEFAULT_LIMITS, Limits
from .._request import check_tool_calls
from ._bounds import excerpt, loads
from ._parse import Call, CallSplitter, split_calls

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
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if not calls:
            out.append(dict(message))
            continue
        check_tool_calls(i, calls)  # they become text: the request build never sees them
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


def with_system_text(messages: Sequence[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Append `text` to the leading system message, or put a system message first.

    A new list; only the message it changes is copied (the others are shared with `messages`).
    """
    if not messages or messages[0].get("role") != "system":
        return [{"role": "system", "content": text}, *messages]
    first = dict(messages[0])
    content = first.get("content")
    if isinstance(content, list):
        first["content"] = [*content, {"type": "text", "text": text}]
    else:
        first["content"] = f"{content}\n\n{text}" if content else text
    return [first, *messages[1:]]


# -- parsing the answer: `_parse` reads every form; here its calls become OpenAI's shapes ------


def _found(text: str, names: frozenset[str], limits: Limits) -> tuple[str, list[Call]] | None:
    """(prose, calls) of a whole answer; raises past `Limits.max_tool_calls`.

    `_parse` gives up (None) past the `max_calls` it is given, which would make an answer with
    too many calls text; it is given a bound that only the text size limits (its parse is
    linear in the text either way), so that too many calls are counted and refused here.
    """
    found = split_calls(
        text,
        names,
        max_chars=limits.max_model_text,
        max_depth=limits.max_json_depth,
        max_calls=_count_bound(limits),
    )
    if found is not None and len(found[1]) > limits.max_tool_calls:
        raise _too_many_calls(limits.max_tool_calls)
    return found


def _count_bound(limits: Limits) -> int:
    return max(limits.max_tool_calls + 1, limits.max_model_text)


def _tool_calls(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """OpenAI-shaped `tool_calls`, each with its own id."""
    return [
        {
            "id": new_call_id(),
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
        }
        for name, args in calls
    ]


def parse_tool_calls(
    text: str, names: frozenset[str], *, limits: Limits | None = None
) -> list[dict[str, Any]] | None:
    """OpenAI-shaped `tool_calls` in a prompted answer; None when it holds no call.

    Every form `_parse` reads (JSON, pythonic, tags, fences; prose before the call is allowed
    and dropped here: `apply_to_completion` keeps it as content). Linear in the text. Text over
    `Limits.max_model_text` characters, or nested deeper than `Limits.max_json_depth`, is not a
    call (None). More than `Limits.max_tool_calls` calls raise `ResponseTooLargeError`.
    """
    found = _found(text, names, limits or DEFAULT_LIMITS)
    return _tool_calls(found[1]) if found else None


def _too_many_calls(limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The model answered with more than {limit:,} tool calls (Limits.max_tool_calls). "
        "Pass limits=Limits(max_tool_calls=...) if such answers are expected.",
        limit="max_tool_calls",
        limit_bytes=limit,
    )


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
    """Turn each choice of a whole answer that holds prompted calls into native `tool_calls`.

    Prose before the calls stays the message's content (`_parse`'s rule). Returns whether any
    choice was a call. A filtered or already-native choice is left alone (a native call must
    name an offered tool: `check_native_calls`).
    """
    found_any = False
    for choice in data["choices"]:
        message = choice.get("message") or {}
        check_native_calls(message.get("tool_calls"), names)
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            continue
        found = _found(message.get("content") or "", names, limits or DEFAULT_LIMITS)
        if found:
            prose, calls = found
            choice["message"] = {**message, "content": prose, "tool_calls": _tool_calls(calls)}
            choice["finish_reason"] = "tool_calls"
            found_any = True
    return found_any


# -- streaming --------------------------------------------------------------------------------


class ToolCallBuffer:
    """Passes a prompted stream (choice 0) on, holding back only what may be a tool call.

    `feed` takes each wire chunk and returns the chunks to pass on; `_parse.CallSplitter`
    decides. Prose is released as soon as it cannot start a call (a chunk that is released
    whole passes on unchanged); a call candidate is held while undecided (a bounded head), and
    once it is a call, to the end: `close` returns one chunk carrying the parsed calls as
    native tool-call deltas with distinct indexes and ids (`finish_reason` "tool_calls"), or
    the held text if it did not parse. Call syntax never reaches the user as text unless it
    fails to parse. With `hold_all` (a prompted JSON schema: the answer is validated before
    anyone sees it) everything is held to the end.

    Bounded: each event costs time in its own length plus the bounded head, and at most
    `Limits.max_model_text` characters are held. Past that a held call is released as text and
    the rest passes through; with `hold_all` it raises `StructuredOutputError` (no JSON answer
    that long is parsed). More than `Limits.max_tool_calls` calls raise
    `ResponseTooLargeError`. Native tool-call deltas must name an offered tool
    (`check_native_calls`), held or not.
    """

    def __init__(
        self, names: frozenset[str], *, hold_all: bool = False, limits: Limits | None = None
    ) -> None:
        self._names = names
        self._hold_all = hold_all
        self._limits = limits or DEFAULT_LIMITS
        # Nothing to hold when no tool is offered and nothing is validated.
        self.passing = not names and not hold_all
        self.called = False
        self._splitter = CallSplitter(
            names,
            max_chars=self._limits.max_model_text,
            max_depth=self._limits.max_json_depth,
            max_calls=_count_bound(self._limits),
        )
        self._parts: list[str] = []  # hold_all: the whole answer
        self._held = 0  # characters in `_parts`
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
            held = self._unparsed()
            return [*self._release(held, None), chunk] if held else [chunk]
        text = delta.get("content") or ""
        if self._hold_all:
            self._remember(chunk, choice)
            self._parts.append(text)
            self._held += len(text)
            if self._held > self._limits.max_model_text:
                self._overflow()
            return []
        shown = self._splitter.feed(text)
        if self._splitter.holding:
            self._remember(chunk, choice)
            return self._release(shown, None, final=False) if shown else []
        self.passing = self._splitter.state == "text"  # gave up on a call: the rest passes
        if shown == text and self._last is None:
            return [chunk]  # released whole, as it came
        return [self._merged(chunk, shown)]

    def _remember(self, chunk: dict[str, Any], choice: Mapping[str, Any]) -> None:
        self._last = chunk
        self._finish = choice.get("finish_reason") or self._finish
        self._usage = chunk.get("usage") or self._usage

    def _merged(self, chunk: dict[str, Any], text: str) -> dict[str, Any]:
        """`chunk` carrying `text` (its own and what was held before it), nothing held now."""
        choices = chunk.get("choices") or [{"index": 0, "delta": {}, "finish_reason": None}]
        choice = dict(choices[0])
        choice["delta"] = {**(choice.get("delta") or {}), "content": text}
        choice["finish_reason"] = choice.get("finish_reason") or self._finish
        out = {**chunk, "choices": [choice, *choices[1:]]}
        usage = chunk.get("usage") or self._usage
        if usage is not None:
            out["usage"] = usage
        self._last, self._finish, self._usage = None, None, None
        return out

    def _overflow(self) -> None:
        limit = self._limits.max_model_text
        text = "".join(self._parts)
        problem = f"The answer is longer than {limit:,} characters (Limits.max_model_text)"
        raise StructuredOutputError(
            f"The answer does not match the requested JSON schema: {problem}; it was not parsed.",
            partial_text=text,
            validation_error=problem,
        )

    def _unparsed(self) -> str:
        """Whatever is held, as text, unparsed."""
        if self._hold_all:
            text, self._parts, self._held = "".join(self._parts), [], 0
            return text
        return self._splitter.release()

    def close(self) -> list[dict[str, Any]]:
        if self.passing or self._last is None:
            return []
        calls: list[Call] | None = None
        if self._finish in FILTERED:  # a filtered answer is never read as a call
            prose = self._unparsed()
        elif self._hold_all:
            text = self._unparsed()
            found = _found(text, self._names, self._limits) if self._names else None
            prose, calls = found if found else (text, None)
        else:
            prose, calls = self._splitter.close()
            if calls and len(calls) > self._limits.max_tool_calls:
                raise _too_many_calls(self._limits.max_tool_calls)
        self.called = bool(calls)
        return self._release(prose, _tool_calls(calls) if calls else None)

    def _release(
        self, text: str, calls: list[dict[str, Any]] | None, *, final: bool = True
    ) -> list[dict[str, Any]]:
        if self._last is None:
            return []
        envelope = {k: v for k, v in self._last.items() if k not in ("choices", "usage")}
        delta: dict[str, Any] = {"role": "assistant", "content": text}
        finish: str | None = self._finish if final else None
        if calls:
            delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(calls)]
            finish = "tool_calls"
        out = {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if final:
            if self._usage is not None:
                out["usage"] = self._usage
            self._last, self._finish, self._usage = None, None, None
        return [out]
