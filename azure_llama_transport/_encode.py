"""JSON out: a request body's bytes, and a tool call's arguments as the wire's JSON string.

A body is what `json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()` writes,
through orjson when it is installed (langchain-core's langsmith installs it on CPython): a
200-turn agent history encodes in a fifth of the time, a 4 MB message or a 5 MB image data URL
in a small fraction of it (benchmarks/RESULTS.md). Only float spellings differ (`1e-5` for
`1e-05`), which parse to the same number. What orjson cannot write (an int outside 64 bits, a
key that is not a string, a namedtuple, a lone surrogate, nesting 254 deep) is written by json,
or refused:
- a value neither writes is a `RequestValidationError` naming where it is, never a `TypeError`;
- NaN and infinities are refused in parameters and `model_extras`: orjson would write `null`,
  which Azure reads as unset (a NaN `seed` silently none). Messages, tools and response
  formats are not walked for them (`_NO_NUMBERS`): there orjson writes `null`, json refuses.
Enums and UUIDs are written as orjson writes them (the value, the string), on both paths.
"""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from ._errors import RequestValidationError

try:
    import orjson
except ImportError:  # langsmith installs orjson on CPython only
    orjson = None  # type: ignore[assignment]

__all__ = ["arguments_json", "encode_body"]


def _default(value: Any) -> Any:
    """What orjson writes beyond json's types (it cannot be told not to), for json too."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _orjson_default(value: Any) -> Any:
    raise TypeError  # datetimes and dataclasses (passed through): json decides, and refuses


# One encoder for every body: `json.dumps` with non-default arguments builds a new one per call.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
# Not walked for NaN: messages hold no number in Azure's schema, and tools' and response
# formats' JSON schemas are hundreds of nodes every call of an agent (a walk cost 25x their
# encoding); a NaN there (a schema's bound) is written as null by orjson, refused by json.
_NO_NUMBERS = frozenset({"messages", "tools", "response_format"})
_OPTIONS = (
    0 if orjson is None else orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """`body` as the request's bytes; anything JSON cannot carry is refused, with where."""
    for key, value in body.items():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None or key in _NO_NUMBERS:
            continue
        _check_finite(value, key)
    if orjson is not None:
        try:
            return orjson.dumps(body, default=_orjson_default, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: json writes it, or says why not
            pass
    try:
        return _ENCODER.encode(body).encode()
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise _refusal(_unwritable(body) or (None, "value", None, exc)) from exc


def _check_finite(value: Any, key: str) -> None:
    if _holds_non_finite(value):  # then again, to say where (an error's path only)
        deep = ValueError("it holds NaN or infinity, which JSON cannot carry.")  # past the walk
        raise _refusal(_unwritable({key: value}) or (key, key, None, deep))


def _refusal(found: tuple[str | None, str, Any, BaseException]) -> RequestValidationError:
    """The error for the first value JSON cannot carry: (body key, where, value, why)."""
    param, where, leaf, why = found
    if isinstance(leaf, float):  # allow_nan=False: a NaN or an infinity
        text = f"The request body's {where} is {leaf!r}, which JSON cannot carry."
    elif isinstance(why, UnicodeEncodeError):
        text = (
            f"The request body's {where} cannot be sent as JSON: it holds the lone surrogate "
            f"{why.object[why.start]!r}, which UTF-8 cannot carry."
        )
    else:
        text = f"The request body's {where} cannot be sent as JSON: {why}"
    return RequestValidationError(text, param=param)


def _holds_non_finite(value: Any) -> bool:
    # Every call walks its parameters and extras: no path is built on the way.
    stack = [value]
    seen: set[int] = set()  # a circular value is json's to refuse, not a loop here
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, (Mapping, list, tuple)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, Mapping) else item)
    return False


_KEYS = (str, int, float, bool, type(None))  # the keys json writes (as strings)


def _unwritable(body: Mapping[str, Any]) -> tuple[str, str, Any, BaseException] | None:
    """The body's key holding the first value json cannot write, where it is, the value, and
    why (an error's path only: any cost)."""
    try:
        for key, value in body.items():
            found = _first_unwritable(value, key, set())
            if found is not None:
                return (key, *found)
    except RecursionError:  # too deep to walk as to write: no one place to name
        pass
    return None


def _first_unwritable(
    value: Any, path: str, ancestors: set[int]
) -> tuple[str, Any, BaseException] | None:
    if isinstance(value, (dict, list, tuple)):
        if id(value) in ancestors:
            return path, value, ValueError("it holds itself (a circular reference).")
        if isinstance(value, dict):
            bad = next((k for k in value if not isinstance(k, _KEYS)), _KEYS)
            if bad is not _KEYS:
                return path, value, TypeError(f"the key {bad!r} is not a string.")
            items = [(_child(path, k), v) for k, v in value.items()]
        else:
            items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        ancestors.add(id(value))
        for child, item in items:
            found = _first_unwritable(item, child, ancestors)
            if found is not None:
                return found
        ancestors.discard(id(value))
        return None
    try:
        _ENCODER.encode(value).encode()
    except (TypeError, ValueError) as exc:
        return path, value, exc
    return None


def _child(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


# Tool-call arguments as the wire's JSON string, exactly `json.dumps(value, ensure_ascii=False)`:
# a front end writes every earlier call's arguments again each turn of an agent loop, and
# `json.dumps` builds a new C encoder (and a dict for its circular check) per call. Built once
# here, without the check, with the arguments `JSONEncoder.iterencode` gives it (the same
# from Python 3.10 to 3.14): half the time. A circular or too deep value makes it raise
# `RecursionError`; the full encoder then encodes the value again and raises what `json.dumps`
# raises ("Circular reference detected", or `RecursionError`).
_ARGUMENTS_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _one_encoder() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python implementation)
        return None
    e = _ARGUMENTS_ENCODER
    try:
        return make(None, e.default, json.encoder.encode_basestring, e.indent, e.key_separator,
                    e.item_separator, e.sort_keys, e.skipkeys, e.allow_nan)  # fmt: skip
    except TypeError:  # a Python whose encoder takes other arguments: the full one alone
        return None


_C_ARGUMENTS_ENCODER = _one_encoder()


def arguments_json(value: Any) -> str:
    """`value` (a tool call's arguments) as JSON text, exactly as `json.dumps(value,
    ensure_ascii=False)` writes it, errors included."""
    if _C_ARGUMENTS_ENCODER is not None:
        try:
            return "".join(_C_ARGUMENTS_ENCODER(value, 0))
        except RecursionError:
            pass
    return _ARGUMENTS_ENCODER.encode(value)
