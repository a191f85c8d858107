"""Keywords that look like a misspelt setting: found by `difflib`, warned at the caller's line.

Pass-through extras are a feature (`model_extras`: any body key the model understands), so an
unknown keyword is not an error. Only a keyword close to a known name (``temprature``,
``max_token``) is named as a likely typo, once per key for call-time keywords, with a warning
that points at the user's line rather than at this package, pydantic or langchain-core.
"""

from __future__ import annotations

import difflib
import os
import sys
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import langchain_core
import pydantic

__all__ = ["caller_stacklevel", "close_name", "warn_call_typos"]

# `top_k` is not a typo of `top_p` (ratio 0.8); `temprature` (0.95) and `max_token` (0.95) are.
_CUTOFF = 0.85
# Frames of these packages sit between the user's line and the code that warns.
_OWN_PREFIXES = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (pydantic.__file__ or "", langchain_core.__file__ or "", __file__)
)
# What a call's keywords may name besides the wire parameters (see `_calls.merge_params`).
CALL_NAMES = ("stop", "tools", "tool_choice", "headers", "timeout", "model_extras", "stream")

_warned: set[str] = set()
_lock = threading.Lock()


def close_name(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is most likely a misspelling of, if any."""
    if name in known:
        return None
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=_CUTOFF)
    return close[0] if close else None


def caller_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the first frame outside this package,
    pydantic and langchain-core: the user's line that built the model or made the call."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_OWN_PREFIXES):
        frame = frame.f_back
        level += 1
    return level


def warn_call_typos(kwargs: Mapping[str, Any], known: Iterable[str]) -> None:
    """Warn, once per key per process, about call keywords close to a known parameter; they
    are still sent as pass-through extras, as asked."""
    names = set(known)
    for key in kwargs:
        if key in names or key in _warned:
            continue
        guess = close_name(key, names)
        if guess is None:
            continue
        with _lock:
            if key in _warned:
                continue
            _warned.add(key)
        warnings.warn(
            f"{key!r} is not a parameter (did you mean {guess!r}?): it is sent to the model as "
            "a pass-through extra. Pass it in model_extras={...} to say it is meant.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
