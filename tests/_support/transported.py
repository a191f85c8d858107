"""Wire chunks as the transport's chat stream hands them to a front end (for converter tests).

The transport numbers every streamed tool call (`ToolCallNumbers`) and normalises `usage`
(`normalize_usage`) before a front end sees a chunk; a front end's converter is tested on what
it is given, built here from those two public steps.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import azure_llama_transport as t


def transported(chunks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `chunks`, each tool call with its `index` and `usage` normalised."""
    numbers = t.ToolCallNumbers()
    out = []
    for chunk in chunks:
        chunk = copy.deepcopy(chunk)
        choices = chunk.get("choices") or []
        if choices and (choices[0].get("delta") or {}).get("tool_calls"):
            numbers.number(choices[0]["delta"]["tool_calls"])
        if chunk.get("usage"):
            chunk["usage"] = t.normalize_usage(chunk["usage"])
        out.append(chunk)
    return out
