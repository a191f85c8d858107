"""What both front ends read of an answer, made uniform once: usage, tool-call indexes, filtering.

Azure's answers differ from OpenAI's in three ways a front end would otherwise handle itself
(docs/wire-protocol.md §7, §8, §12):

* `usage` may leave a count out (or null); `normalize_usage` gives the three counts as ints, the
  total as sent, else the sum. Whole answers are normalised by the protocol calls
  (`transport.chat`, `transport.complete`, ...), streams as each chunk is parsed.
* A streamed tool call arrives whole in one delta with no `index`; OpenAI-style fragments carry
  one. `ToolCallNumbers` gives every call of a chat stream its `index` under one rule: an index
  sent is kept; else the index its `id` got before; else the next free index. Chat streams
  (`transport.chat_stream`) number every call, so a front end reads `index` as given.
* Content safety ends an answer with `finish_reason` "content_filter", or on the `/v1` route
  "content_filter_error" (the filter could not decide; the answer is still withheld):
  `FILTERED_FINISH_REASONS`, asked through `content_filtered` (and a stream's
  `content_filtered`); `openai_finish_reason` reports both as OpenAI's "content_filter".
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

__all__ = [
    "FILTERED_FINISH_REASONS",
    "OPENAI_FINISH_REASONS",
    "ToolCallNumbers",
    "content_filtered",
    "normalize_answer",
    "normalize_usage",
    "openai_finish_reason",
]

FILTERED_FINISH_REASONS = frozenset({"content_filter", "content_filter_error"})
_OPENAI_FILTERED = "content_filter"
# OpenAI's finish reasons: what `openai_finish_reason` returns for every answer Azure ends.
OPENAI_FINISH_REASONS = frozenset(
    {"stop", "length", "tool_calls", _OPENAI_FILTERED, "function_call"}
)
_COUNTS = ("prompt_tokens", "completion_tokens", "total_tokens")


def content_filtered(finish_reason: object) -> bool:
    """Whether Azure AI Content Safety cut the answer that ended with `finish_reason`."""
    return finish_reason in FILTERED_FINISH_REASONS


def openai_finish_reason(finish_reason: str | None) -> str | None:
    """The finish reason in OpenAI's vocabulary: a filtered answer is "content_filter"."""
    if finish_reason in FILTERED_FINISH_REASONS:
        return _OPENAI_FILTERED
    return finish_reason


def normalize_usage(usage: Any) -> dict[str, Any] | None:
    """`usage` with its three counts as ints (a missing one 0; the total, else their sum).

    None (or an empty object) stays None: the answer carried no usage. Other keys are kept.
    """
    if not usage or not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = usage.get("total_tokens")
    counts = (prompt, completion, prompt + completion if total is None else int(total))
    return {**usage, **dict(zip(_COUNTS, counts, strict=True))}


def normalize_answer(data: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A whole answer with its `usage` normalised in place (see `normalize_usage`)."""
    usage = data.get("usage")
    if usage is not None:
        data["usage"] = normalize_usage(usage)
    return data


class ToolCallNumbers:
    """The `index` of each tool call of one chat stream (the rule: see the module docstring)."""

    __slots__ = ("_ids", "_next")

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._next = 0

    def number(self, calls: Sequence[MutableMapping[str, Any]]) -> None:
        """Set `index` on each call of one delta, in place."""
        for call in calls:
            call["index"] = self._index(call)

    def _index(self, call: Mapping[str, Any]) -> int:
        index = call.get("index")
        call_id = call.get("id")
        if isinstance(index, int) and not isinstance(index, bool):
            self._next = max(self._next, index + 1)
        elif isinstance(call_id, str) and call_id in self._ids:
            index = self._ids[call_id]
        else:
            index = self._next
            self._next += 1
        if isinstance(call_id, str) and call_id:
            self._ids.setdefault(call_id, index)
        return index
