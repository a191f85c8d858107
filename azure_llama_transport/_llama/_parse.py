"""One tolerant parser for the tool calls Llama writes as text, whole and streamed.

Used whatever format the prompt asked for (`_formats`): a Llama 4 that answers JSON under a
pythonic prompt still yields its call. The forms, from Meta's prompt-format pages
(meta-llama/llama-models `models/llama3_1/prompt_format.md`,
`models/llama3_2/text_prompt_format.md`, `models/llama3_3/prompt_format.md`,
`models/llama4/prompt_format.md`) and from what the models emit in practice (vLLM's
`pythonic`, `llama3_json`, `llama4_pythonic` and `llama4_json` tool parsers;
ai-dynamo/dynamo PR #9536 for `;`):

* pythonic: ``[f(a=1, b='x'), g()]``, single or double quotes, nested dicts and lists,
  ``True``/``False``/``None`` and JSON's ``true``/``false``/``null``; a bare ``f(a=1)``;
  several calls separated by ``;`` or new lines. Parsed with `ast` and a literal walk that
  accepts constants, dicts, lists and tuples only (never `eval`).
* JSON: ``{"name", "parameters" | "arguments"}`` (a dict or a JSON string), Meta's
  ``"type": "function"`` key, OpenAI's ``{"type": "function", "function": {...}}``; alone, in a
  list, one per line or separated by ``;``.
* wrappers: ``<|python_tag|>`` before the call; Llama 4's ``<|python_start|>…<|python_end|>``
  printed as text; ``<function=name>{…}</function>`` (Llama 3.1's alternative, Llama 4's custom
  format); a ```` ```json ```` / ```` ```python ```` / ```` ``` ```` fence; ``<|eot_id|>``,
  ``<|eom_id|>``, ``<|eot|>``, ``<|eom|>`` at the end.

Rules:

* **Prose before a call** is kept: a call may follow prose when it starts at a line start, after
  whitespace or ``:`` (``[`` / ``{``), or at a wrapper (tag, fence). The call must then be the
  whole rest of the answer, and a bare ``f(...)`` counts only as the whole answer. So "I could
  use get_weather(city='Paris') but ..." is text. Whole answers: the prose becomes the message
  content next to the calls; streams: the prose is released as text as soon as it cannot start
  a call (`CallSplitter`). Call syntax never reaches the user unless the call fails to parse.
* **Unbound names**: an answer calling any tool that was not offered is text as a whole (the
  model is inventing tools; running part of its plan is worse than showing it), as in the Llama
  3.1 parser before. The stream classifier says "text" as soon as it reads an unbound name.
* **Bounds** (issue 19): input over `max_chars` is text before any parse; nesting deeper than
  `max_depth` (a linear, quote-aware scan before `ast` / `json`, both of which recurse) is
  text; more than `max_calls` calls is text; `RecursionError`, `MemoryError`, `SyntaxError` and
  `ValueError` from the decoders are text. No regular expression touches model text: plain
  string scanning only, each character read a bounded number of times.

Unlike Meta's reference parser (`models/llama3/tool_utils.py`: a non-greedy ``{.*?}``, Python
string quoting that breaks on apostrophes, the first call only), values are decoded whole,
quotes inside strings survive, and every call of a list is returned.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any, Literal

__all__ = [
    "Call",
    "CallSplitter",
    "Verdict",
    "could_be_call",
    "parse_calls",
    "split_calls",
]

Call = tuple[str, dict[str, Any]]
Verdict = Literal["call", "text", "undecided"]

_PYTHON_TAG = "<|python_tag|>"
_PYTHON_START = "<|python_start|>"
_PYTHON_END = "<|python_end|>"
_FUNCTION_TAG = "<function="
_FUNCTION_END = "</function>"
_FENCE = "```"
_END_TOKENS = ("<|eot_id|>", "<|eom_id|>", "<|eot|>", "<|eom|>", "<|end_of_text|>")
_WRAPPERS = (_PYTHON_TAG, _PYTHON_START)
_SEPARATORS = " \t\r\n;,"
_CALL_KEYS = frozenset({"name", "parameters", "arguments", "type", "id"})
_JSON_WORDS = {"true": True, "false": False, "null": None}
_HEAD = 256  # characters a stream's call start is decided within (names are <= 64 on Azure)
_DECODER = json.JSONDecoder(parse_constant=lambda word: _refuse(word))


def _refuse(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON value")  # NaN / Infinity: not JSON arguments


# -- classifying the start of a call -------------------------------------------------------------


def could_be_call(prefix: str, names: frozenset[str] | None = None) -> Verdict:
    """Can an answer (or the rest of one, from a call candidate on) that begins with `prefix`
    be a tool call? "undecided" while more text is needed; decided within a bounded head.

    `names`: the offered tools (a call to another name is "text"); None accepts any name.
    """
    head = prefix[:_HEAD].lstrip()
    verdict = _classify(head, names, depth=0)
    if verdict == "undecided" and len(prefix) >= _HEAD:
        return "text"
    return verdict


def _classify(head: str, names: frozenset[str] | None, *, depth: int) -> Verdict:
    if not head:
        return "undecided"
    for marker in (*_WRAPPERS, _FENCE, _FUNCTION_TAG):
        if marker.startswith(head):
            return "undecided"
    if depth < 3 and head.startswith(_WRAPPERS):
        inner = head[len(_PYTHON_TAG if head.startswith(_PYTHON_TAG) else _PYTHON_START) :]
        return _classify(inner.lstrip(), names, depth=depth + 1)
    if depth < 3 and head.startswith(_FENCE):
        return _classify_fenced(head[len(_FENCE) :], names, depth)
    if head.startswith(_FUNCTION_TAG):
        return _named(head[len(_FUNCTION_TAG) :], names, ">")
    if head[0] == "{":
        return _classify_object(head[1:].lstrip())
    if head[0] == "[":
        rest = head[1:].lstrip()
        if not rest:
            return "undecided"
        return "call" if rest[0] == "{" else _named(rest, names, "(")
    return _named(head, names, "(")


def _classify_fenced(rest: str, names: frozenset[str] | None, depth: int) -> Verdict:
    end = rest.find("\n")
    if end < 0:
        return "undecided" if _is_word(rest.rstrip(" \t")) else "text"
    if not _is_word(rest[:end].rstrip(" \t\r")):
        return "text"
    return _classify(rest[end + 1 :].lstrip(), names, depth=depth + 1)


def _classify_object(rest: str) -> Verdict:
    if not rest:
        return "undecided"
    return "call" if rest[0] in "\"'" else "text"


def _named(text: str, names: frozenset[str] | None, stop: str) -> Verdict:
    """`text` starts with a name followed by `stop`: "call" if the name is offered."""
    if text[:1].isdigit():
        return "text"
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    if end == len(text):
        if end > 64 or (names is not None and not any(n.startswith(text) for n in names)):
            return "text"  # no offered name starts so: prose, released at once
        return "undecided"
    if end == 0 or text[end] != stop:
        return "text"
    return "call" if names is None or text[:end] in names else "text"


def _is_word(text: str) -> bool:
    return all(c.isalnum() or c in "_+-" for c in text)


# -- streams (and whole answers, fed as one piece) -----------------------------------------------


class CallSplitter:
    """Splits a streamed answer into released prose and held calls, in linear time.

    `feed(piece)` returns the text that can be shown now; `close()` returns the rest of the
    text and the calls (None when the answer held no call). A call candidate (see the module
    docstring) is held while `could_be_call` is undecided; once it says "call", the rest of
    the answer is held to the end and parsed once. Past `max_chars` held characters the
    splitter gives up: what it held is released as text and the rest passes through.
    Leading whitespace is held until the first other character, and dropped before a call.
    """

    def __init__(
        self, names: frozenset[str], *, max_chars: int, max_depth: int, max_calls: int
    ) -> None:
        self._names = names
        self._limits = (max_chars, max_depth, max_calls)
        self.state: Literal["scan", "hold", "text"] = "scan" if names else "text"
        self._started = False  # a non-whitespace character was seen
        self._pending = ""  # scan: unreleased text, starting at an undecided candidate
        self._held: list[str] = []  # leading whitespace, then (hold) the call's pieces
        self._held_chars = 0
        self._before = "\n"  # the last released character (a call may follow a blank)

    def feed(self, piece: str) -> str:
        if self.state == "text":
            return piece
        if self.state == "hold":
            return self._hold(piece)
        if not self._started:
            stripped = piece.lstrip()
            if not stripped:
                self._held.append(piece)
                return ""
            self._started = True
            lead = "".join(self._held) + piece[: len(piece) - len(stripped)]
            self._held = []
            return self._scan(stripped, lead, at_candidate=True)
        return self._scan(self._pending + piece, "", at_candidate=bool(self._pending))

    @property
    def holding(self) -> bool:
        """Whether text fed so far is held back (a candidate, a call, leading whitespace)."""
        return self.state == "hold" or bool(self._pending) or bool(self._held)

    def release(self) -> str:
        """Everything held, as text, unparsed; later pieces pass through (`feed`)."""
        held = "".join(self._held) + self._pending
        self._held, self._pending, self.state = [], "", "text"
        return held

    def close(self) -> tuple[str, list[Call] | None]:
        if self.state == "text":
            return "", None
        if self.state == "scan":
            held, self._pending = "".join(self._held) + self._pending, ""
            if not _is_candidate_start(held.lstrip()):
                return held, None
        else:
            held = "".join(self._held)
        self._held, self.state = [], "text"
        max_chars, max_depth, max_calls = self._limits
        calls = _parse_region(held, self._names, max_chars, max_depth, max_calls)
        return ("", calls) if calls else (held, None)

    def _hold(self, piece: str) -> str:
        self._held.append(piece)
        self._held_chars += len(piece)
        if self._held_chars <= self._limits[0]:
            return ""
        self.state = "text"
        out, self._held = "".join(self._held), []
        return out

    def _scan(self, text: str, lead: str, *, at_candidate: bool) -> str:
        """Release `lead` and the text before the first candidate that may still be a call."""
        out: list[str] = []
        start = 0 if at_candidate else _next_candidate(text, 0, self._before)
        while start >= 0:
            verdict = could_be_call(text[start : start + _HEAD], self._names)
            if verdict == "text":
                start = _next_candidate(text, start + 1, self._before)
                continue
            # Leading whitespace goes with the prose before a call, and is dropped before one.
            lead_held = lead if start == 0 else ""
            out += [lead, text[:start]] if start else []
            if verdict == "call":
                self.state, self._pending = "hold", ""
                out.append(self._hold(lead_held + text[start:]))
            else:
                self._pending = lead_held + text[start:]
            return "".join(out)
        self._pending = ""
        out += [lead, text]
        released = "".join(out)
        self._before = released[-1:] or self._before
        return released


def _is_candidate_start(text: str) -> bool:
    return bool(text) and could_be_call(text) != "text"


def _next_candidate(text: str, position: int, before: str) -> int:
    """The next index from `position` where a call may start after prose, or -1."""
    for index in range(position, len(text)):
        char = text[index]
        if char in "<`":
            return index
        previous = text[index - 1] if index else before
        if char in "[{" and previous in " \t\r\n:":
            return index
    return -1


def split_calls(
    text: str, names: frozenset[str], *, max_chars: int, max_depth: int, max_calls: int
) -> tuple[str, list[Call]] | None:
    """(prose before the calls, the calls) of a whole answer, or None when it is text."""
    if len(text) > max_chars or not names:
        return None
    splitter = CallSplitter(names, max_chars=max_chars, max_depth=max_depth, max_calls=max_calls)
    prose = splitter.feed(text)
    _, calls = splitter.close()
    return (prose.strip(), calls) if calls else None


def parse_calls(
    text: str, names: frozenset[str], *, max_chars: int, max_depth: int, max_calls: int
) -> list[Call] | None:
    """The calls in a whole answer (prose before them dropped), or None when it is text."""
    found = split_calls(text, names, max_chars=max_chars, max_depth=max_depth, max_calls=max_calls)
    return found[1] if found else None


# -- parsing a held region -----------------------------------------------------------------------


def _parse_region(
    region: str, names: frozenset[str], max_chars: int, max_depth: int, max_calls: int
) -> list[Call] | None:
    if len(region) > max_chars or _too_deep(region, max_depth):
        return None
    try:
        calls = _parse_body(_unwrap(region), max_calls)
    except (RecursionError, MemoryError, SyntaxError, ValueError, TypeError):
        return None
    if not calls or len(calls) > max_calls or any(name not in names for name, _ in calls):
        return None
    return calls


def _too_deep(text: str, max_depth: int) -> bool:
    """Nesting of brackets outside string literals exceeds `max_depth` (one linear pass)."""
    depth, quote, escaped = 0, "", False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in ")]}":
            depth -= 1
    return False


def _strip_end(body: str) -> str:
    body = body.strip()
    trimmed = True
    while trimmed:
        trimmed = False
        for token in _END_TOKENS:
            if body.endswith(token):
                body, trimmed = body[: -len(token)].rstrip(), True
    return body


def _unwrap(region: str) -> str:
    body = _strip_end(region)
    for _ in range(3):  # a tag around a fence, or the reverse
        if body.startswith(_PYTHON_TAG):
            body = _strip_end(body[len(_PYTHON_TAG) :])
        elif body.startswith(_PYTHON_START):
            body = body[len(_PYTHON_START) :]
            body = _strip_end(body[: -len(_PYTHON_END)] if body.endswith(_PYTHON_END) else body)
        elif body.startswith(_FENCE) and body.endswith(_FENCE) and len(body) >= 6:
            inner = body[len(_FENCE) : -len(_FENCE)]
            newline = inner.find("\n")
            if newline >= 0 and _is_word(inner[:newline].strip()):
                inner = inner[newline + 1 :]
            body = _strip_end(inner)
        else:
            break
    return body


def _parse_body(body: str, max_calls: int) -> list[Call] | None:
    if body.startswith(_FUNCTION_TAG):
        return _function_tags(body, max_calls)
    if body.startswith("{") or (body.startswith("[") and body[1:].lstrip().startswith("{")):
        calls = _json_calls(body, max_calls)
        if calls is not None:
            return calls
    return _pythonic_calls(body)


# JSON forms


def _json_calls(body: str, max_calls: int) -> list[Call] | None:
    calls: list[Call] = []
    position = 0
    while position < len(body):
        try:
            value, position = _DECODER.raw_decode(body, position)
        except ValueError:
            return None
        for item in value if isinstance(value, list) else [value]:
            call = _as_call(item)
            if call is None or len(calls) >= max_calls:
                return None
            calls.append(call)
        position = _skip(body, position, _SEPARATORS)
    return calls


def _skip(text: str, position: int, chars: str) -> int:
    while position < len(text) and text[position] in chars:
        position += 1
    return position


def _as_call(value: Any) -> Call | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict):  # OpenAI's {"type": "function", "function": …}
        value = value["function"]
    name = value.get("name")
    if not isinstance(name, str) or not set(value) <= _CALL_KEYS:
        return None
    args = value.get("parameters", value.get("arguments"))
    if isinstance(args, str):
        args = _DECODER.decode(args) if args.strip() else {}
    args = {} if args is None else args
    return (name, args) if isinstance(args, dict) else None


def _function_tags(body: str, max_calls: int) -> list[Call] | None:
    """``<function=name>{…}</function>``, one or more, separated by blanks or ``;``."""
    calls: list[Call] = []
    position = 0
    while position < len(body):
        if not body.startswith(_FUNCTION_TAG, position) or len(calls) >= max_calls:
            return None
        close = body.find(">", position)
        if close < 0:
            return None
        name = body[position + len(_FUNCTION_TAG) : close].strip()
        position = _skip(body, close + 1, " \t\r\n")
        args: Any = {}
        if position < len(body) and body[position] == "{":
            args, position = _DECODER.raw_decode(body, position)
        if body.startswith(_FUNCTION_END, position):
            position += len(_FUNCTION_END)
        if not isinstance(args, dict):
            return None
        calls.append((name, args))
        position = _skip(body, position, _SEPARATORS)
    return calls


# pythonic forms


def _pythonic_calls(body: str) -> list[Call] | None:
    """Calls in a pythonic answer: statements that are calls, lists of calls, or dicts."""
    tree = ast.parse(body, mode="exec")
    calls: list[Call] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Expr):
            return None
        value = statement.value
        items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
        for item in items:
            call = _ast_call(item)
            if call is None:
                return None
            calls.append(call)
    return calls


def _ast_call(node: ast.expr) -> Call | None:
    if isinstance(node, ast.Dict):  # a single-quoted JSON-like object
        return _as_call(_literal(node))
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
        return None
    args: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:  # f(**x)
            return None
        args[keyword.arg] = _literal(keyword.value)
    return node.func.id, args


def _literal(node: ast.expr) -> Any:
    """The JSON value of a literal node; ValueError for anything else (names, calls, ...)."""
    if isinstance(node, ast.Constant) and _is_json_scalar(node.value):
        return node.value
    if isinstance(node, ast.Name) and node.id in _JSON_WORDS:
        return _JSON_WORDS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Dict):
        return _literal_dict(node)
    raise ValueError(f"not a literal: {type(node).__name__}")


def _literal_dict(node: ast.Dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        name = _literal(key) if key is not None else None
        if not isinstance(name, str):
            raise ValueError("dict keys must be strings")
        out[name] = _literal(value)
    return out


def _is_json_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, bool, int))
