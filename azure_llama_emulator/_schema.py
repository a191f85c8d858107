"""Deterministic JSON instances from a JSON schema (tool arguments, structured output).

Values: an `enum`/`const` gives its first value; a `<prop>=<value>` or `<prop>: <value>` hint in
the user's text wins for that property; other strings take a sample for a known `format`, else
the user's next quoted phrase ('...' or "..."), else "example"; integers are 1 and numbers 1.0
(clamped into minimum/maximum); booleans true; arrays hold `minItems` copies of their item;
objects list every property, required ones first.
Local `$ref`s (`#/$defs/X`, `#/definitions/X`) are followed, as pydantic emits them.
"""

from __future__ import annotations

import math
import re
from typing import Any

_MAX_DEPTH = 12
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


_QUOTED = re.compile(
    "(?<!\\w)'([^']+)'(?!\\w)|\"([^\"]+)\""
)  # 'phrase' (not an apostrophe) or "phrase"


def instance(schema: Any, hint_text: str = "") -> Any:
    """Build a value that validates against `schema`, using hints from `hint_text`."""
    return _value(schema, _Context(schema, hint_text), None, 0)


class _Context:
    def __init__(self, root: Any, text: str) -> None:
        self.root = root
        self.text = text
        self._quoted = [single or double for single, double in _QUOTED.findall(text)]

    def next_quoted(self) -> str | None:
        return self._quoted.pop(0) if self._quoted else None


def _value(node: Any, ctx: _Context, prop: str | None, depth: int) -> Any:
    node = _resolve(node, ctx.root)
    if depth > _MAX_DEPTH or not isinstance(node, dict):
        return None
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        branch = _first_branch(node.get(key))
        if branch is not None:
            return _value(branch, ctx, prop, depth + 1)
    kind = _type_of(node)
    hinted = _hint(ctx.text, prop, kind) if prop else None
    if hinted is not None:
        return hinted
    return _BUILDERS[kind](node, ctx, depth)


def _resolve(node: Any, root: Any) -> Any:
    for _ in range(_MAX_DEPTH):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node


def _first_branch(branches: Any) -> Any:
    if not isinstance(branches, list):
        return None
    # Prefer a branch that is not the bare {"type": "null"} of an Optional[...] field.
    for branch in branches:
        if not (isinstance(branch, dict) and branch.get("type") == "null"):
            return branch
    return branches[0] if branches else None


def _type_of(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str) and kind in _BUILDERS:
        return kind
    if "properties" in node:
        return "object"
    return "array" if "items" in node else "string"


def _object(node: dict[str, Any], ctx: _Context, depth: int) -> dict[str, Any]:
    props = node.get("properties")
    if not isinstance(props, dict):
        return {}
    required = [name for name in node.get("required") or [] if name in props]
    names = required + [name for name in props if name not in required]
    return {name: _value(props[name], ctx, name, depth + 1) for name in names}


def _array(node: dict[str, Any], ctx: _Context, depth: int) -> list[Any]:
    count = node.get("minItems")
    count = count if isinstance(count, int) and count > 0 else 0
    return [_value(node.get("items", {}), ctx, None, depth + 1) for _ in range(count)]


def _string(node: dict[str, Any], ctx: _Context, depth: int) -> str:
    sample = _FORMATS.get(str(node.get("format")))
    return sample or ctx.next_quoted() or "example"


def _integer(node: dict[str, Any], ctx: _Context, depth: int) -> int:
    return int(_clamp(1, node, integer=True))


def _number(node: dict[str, Any], ctx: _Context, depth: int) -> float:
    return float(_clamp(1.0, node, integer=False))


def _clamp(value: float, node: dict[str, Any], *, integer: bool) -> float:
    low, high = node.get("minimum"), node.get("maximum")
    if isinstance(low, (int, float)) and value < low:
        value = math.ceil(low) if integer else low
    if isinstance(high, (int, float)) and value > high:
        value = math.floor(high) if integer else high
    return value


_BUILDERS: dict[str, Any] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": _integer,
    "number": _number,
    "boolean": lambda node, ctx, depth: True,
    "null": lambda node, ctx, depth: None,
}


def _hint(text: str, prop: str, kind: str) -> Any:
    """The value the user spelt out as `prop=value` / `prop: value` / `prop: "two words"`."""
    if kind not in ("string", "integer", "number", "boolean") or prop not in text:
        return None
    pattern = rf'(?<![\w"]){re.escape(prop)}\s*[=:]\s*(?:"([^"]*)"|([^\s,;"{{}}()]+))'
    match = re.search(pattern, text)
    if match is None:
        return None
    raw = match.group(1) if match.group(1) is not None else match.group(2).rstrip(".!?")
    return _convert(raw, kind)


def _convert(raw: str, kind: str) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return None
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.lower())
    return raw
