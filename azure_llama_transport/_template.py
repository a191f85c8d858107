"""A stream's text events parsed by their template: exactly what `json.loads` returns, faster.

An Azure stream's text events differ only in their token: `{"choices":[{"delta":{"content":"`
+ token + `"},"finish_reason":null,"index":0,"logprobs":null}],"created":…,"id":…,"model":…,
"object":"chat.completion.chunk"}` (docs/wire-protocol.md §8). Parsing the same hundred
characters around each token is most of what a chunk costs. So once one text event has been
parsed (and checked) the normal way, `cut` splits it into the text before its token (`prefix`)
and after it (`suffix`), and `learn` makes them a template. An event that starts with that
prefix, ends with that suffix and has between them a token with no `"`, no `\\` and no control
character is built from the template (`build`); any other event (escapes, another id, a finish
chunk, a hostile one) takes `json.loads` as before.

Why that is exact: `learn` parses `prefix + SENTINEL + suffix` with `json.loads` and keeps the
template only if the sentinel comes back as `choices[0].delta.content` of a plain text chunk.
A string with no quote, backslash or control character is read by JSON verbatim, so the
sentinel's characters are exactly one string literal opened by the last character of `prefix`
and closed by the first of `suffix`; the same prefix then reads the same way whatever token
follows, the token ends at the same quote, the suffix reads the same way, and duplicate keys
resolve the same way. So `json.loads(prefix + token + suffix)` is the sentinel's parse with
the token in its place, which `build` returns as fresh dicts and list, as `json.loads` would.
Only scalar values (strings, numbers, booleans, null) are shared between chunks, so no chunk
can change another. An event shorter than prefix and suffix together (the two overlapping in
one quote) does not fit. The stream learns templates only from events that passed the shape
check as plain text chunks (`_shape.plain_chunk`), and a built chunk differs from its
template's event only in a token that is a string: the same check holds for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["EventTemplate", "cut", "learn"]

# The characters JSON does not read verbatim inside a string: the quote, the backslash and the
# control characters (which `json.loads` refuses).
_NOT_VERBATIM = re.compile(r'["\\\x00-\x1f]').search
_SENTINEL = "\ue000\ue001template\ue002"  # private-use characters, verbatim in JSON
_KEY = '"content":'
_SPACE = frozenset({" ", "\t", "\n", "\r"})  # JSON's whitespace ("" ends the text: not in it)
_SCALARS = frozenset({str, int, float, bool, type(None)})


class EventTemplate:
    """The text around one text event's token, and the chunk it parses to (see the module)."""

    __slots__ = ("choice", "delta", "prefix", "size", "start", "suffix", "top")

    def __init__(
        self,
        prefix: str,
        suffix: str,
        top: dict[str, Any],
        choice: dict[str, Any],
        delta: dict[str, Any],
    ) -> None:
        self.prefix = prefix
        self.suffix = suffix
        self.start = len(prefix)
        self.size = len(prefix) + len(suffix)
        self.top = top
        self.choice = choice
        self.delta = delta

    def token(self, data: str) -> str | None:
        """The token of an event that fits the template, else None (then parse it in full)."""
        if len(data) < self.size or not data.startswith(self.prefix):
            return None
        if not data.endswith(self.suffix):
            return None
        token = data[self.start : len(data) - len(self.suffix)]
        return token if _NOT_VERBATIM(token) is None else None

    def build(self, token: str) -> dict[str, Any]:
        """What `json.loads` returns for `prefix + token + suffix` (fresh containers)."""
        delta = self.delta.copy()
        delta["content"] = token
        choice = self.choice.copy()
        choice["delta"] = delta
        top = self.top.copy()
        top["choices"] = [choice]
        return top


def cut(data: str, chunk: dict[str, Any]) -> tuple[str, str, str] | None:
    """(prefix, token, suffix) of a text event already parsed (`chunk`, a plain text chunk),
    or None when its token is not written verbatim (escapes) or cannot be found; cheap."""
    content = _content_of(chunk)
    if not content or type(content) is not str or _NOT_VERBATIM(content) is not None:
        return None
    at = data.find(_KEY)
    if at < 0 or _SENTINEL in data:
        return None
    start = at + len(_KEY)
    while data[start : start + 1] in _SPACE:  # `"content": "` (a server's `json.dumps`)
        start += 1
    if data[start : start + 1] != '"':
        return None
    start += 1
    end = start + len(content)
    if data[start:end] != content or data[end : end + 1] != '"':
        return None
    return data[:start], content, data[end:]


def learn(prefix: str, token: str, suffix: str, chunk: dict[str, Any]) -> EventTemplate | None:
    """The template of an event `cut` into (prefix, token, suffix) that parsed to `chunk`, or
    None when it cannot serve as one (nested values, an odd layout: see the module)."""
    try:
        probe = json.loads(prefix + _SENTINEL + suffix)
    except (ValueError, RecursionError):
        return None
    if _content_of(probe) != _SENTINEL:
        return None
    choice = probe["choices"][0]
    delta = choice["delta"]
    if not (_scalars(probe, "choices") and _scalars(choice, "delta") and _scalars(delta, "")):
        return None
    template = EventTemplate(prefix, suffix, probe, choice, delta)
    # The event itself, rebuilt from the template, is what it parsed to.
    return template if template.build(token) == chunk else None


def _content_of(chunk: Any) -> Any:
    """`choices[0].delta.content` of a chunk with one choice and a `delta` object, else None."""
    choices = chunk.get("choices") if type(chunk) is dict else None
    if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
        return None
    delta = choices[0].get("delta")
    return delta.get("content") if type(delta) is dict else None


def _scalars(node: dict[str, Any], nested: str) -> bool:
    """Every value but `nested` is a JSON scalar (safe to share between chunks)."""
    return all(type(value) in _SCALARS for key, value in node.items() if key != nested)
