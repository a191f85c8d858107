"""Model text before any parser reads it: a size cap, a JSON depth check, fences, excerpts.

Every parser of model output (the JSON tool-call format in `_tools`, structured output in
`_schema`, and any later one) calls these first, so that whatever the model writes costs time
linear in its length and never reaches `json` deeper than `Limits.max_json_depth` (`json`
raises `RecursionError`, not `ValueError`, on deep input, and takes the C stack with it when
the recursion limit is raised). Nothing here uses a regex that can backtrack: each pattern
below consumes every character through exactly one branch, and can match empty or runs to the
end of the text, so no attempt fails and restarts.
"""

from __future__ import annotations

import json
import operator
import re
from itertools import accumulate
from typing import Any

from .._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "EXCERPT_CHARS",
    "REPAIR_ECHO_CHARS",
    "TooDeep",
    "check_depth",
    "excerpt",
    "fits",
    "json_depth",
    "loads",
    "unfence",
]

# What an error message quotes of a bad answer, and what a repair request echoes of it.
EXCERPT_CHARS = 500
REPAIR_ECHO_CHARS = 8_000

# A JSON string (closed, or running to the end of the text: it never fails, so never restarts).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# After the opening fence: a language tag, spaces, one newline (all optional: never fails).
_FENCE_TAG = re.compile(r"[A-Za-z]*[ \t]*\n?")
_FENCE = "```"


class TooDeep(ValueError):
    """JSON nested deeper than `Limits.max_json_depth` (a `ValueError`, as bad JSON is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels (Limits.max_json_depth)")


def fits(text: str, limits: Limits | None = None) -> bool:
    """Whether `text` is short enough to parse (`Limits.max_model_text` characters)."""
    return len(text) <= (limits or DEFAULT_LIMITS).max_model_text


def json_depth(text: str) -> int:
    """The deepest bracket nesting in `text`, brackets inside JSON strings not counted.

    Depth is counted from the lowest point before each bracket, so stray closing brackets
    never hide what follows (a value decoded further on is no deeper than this). Linear, and
    in C: only the brackets, a handful in most answers, go through `accumulate`.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text) if '"' in text else text)
    if not brackets:
        return 0
    sums = list(accumulate(map(_STEP.__getitem__, brackets)))
    lows = accumulate(sums, min, initial=0)
    deepest: int = max(map(operator.sub, sums, lows))
    return deepest


def check_depth(text: str, limits: Limits | None = None) -> None:
    """Raise `TooDeep` when JSON in `text` would nest deeper than `Limits.max_json_depth`.

    Check a text once, before decoding any part of it (not once per value: that is quadratic).
    """
    limit = (limits or DEFAULT_LIMITS).max_json_depth
    # Fewer brackets than the limit cannot nest deeper than it: most answers stop here.
    if text.count("[") + text.count("{") > limit and json_depth(text) > limit:
        raise TooDeep(limit)


def loads(text: str, limits: Limits | None = None) -> Any:
    """`json.loads` that refuses deep nesting first (`TooDeep`, a `ValueError`)."""
    check_depth(text, limits)
    try:
        return json.loads(text)
    except RecursionError:  # not reached under the depth check; never let one out
        raise TooDeep((limits or DEFAULT_LIMITS).max_json_depth) from None


def unfence(text: str) -> str:
    """The inside of a Markdown code fence (```` ```json ... ``` ````), else `text` as is.

    `text` is already stripped. String operations only: the regex this replaces
    (```` ^```[A-Za-z]*[ \\t]*\\n?(.*?)\\s*```$ ````) is cubic on a fence followed by spaces.
    """
    if len(text) < 2 * len(_FENCE) or not (text.startswith(_FENCE) and text.endswith(_FENCE)):
        return text
    inner = text[len(_FENCE) : -len(_FENCE)]
    tag = _FENCE_TAG.match(inner)
    return inner[tag.end() if tag else 0 :].strip()


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` if short, else its head and tail with the number of characters left out.

    The tail is kept because messages put the point last ("<repr of the value> is not of
    type 'object'").
    """
    if len(text) <= limit:
        return text
    tail = limit // 4
    cut = len(text) - limit
    return f"{text[: limit - tail]} ...[{cut:,} characters]... {text[-tail:]}"
