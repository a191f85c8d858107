"""Success bodies and SSE events in the recorded shapes (docs/wire-protocol.md §7, §8, §10).

Stream chunks are serialised with sorted keys, as the recordings show them
(`{"choices":[{"delta":...,"finish_reason":...,"index":0,"logprobs":null}],"created":...}`).
Per-token events come from a template serialised once per stream, so a 5,000-token stream costs
one `json.dumps` of a short string per token.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._responder import Reply, ToolCall

DONE = b"data: [DONE]\n\n"
_MARK = "\x00token\x00"


@dataclass(frozen=True)
class Meta:
    """What every body and chunk of one answer repeats."""

    id: str
    created: int
    model: str

    @classmethod
    def new(cls, model: str) -> Meta:
        return cls(uuid.uuid4().hex, int(time.time()), model)


def event(value: object) -> bytes:
    return b"data: " + json.dumps(value, separators=(",", ":"), sort_keys=True).encode() + b"\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    total = prompt_tokens + completion_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total,
    }


def reply_usage(replies: Sequence[Reply]) -> dict[str, int]:
    return usage(replies[0].prompt_tokens, sum(r.completion_tokens for r in replies))


def wire_tool_call(call: ToolCall) -> dict[str, Any]:
    # Real MaaS adds "call_id": null inside `function` (REC).
    function = {"name": call.name, "arguments": call.arguments, "call_id": None}
    return {"id": call.id, "type": "function", "function": function}


def chat_completion(meta: Meta, replies: Sequence[Reply]) -> dict[str, Any]:
    choices = [_chat_choice(i, r) for i, r in enumerate(replies)]
    return _envelope(meta, "chat.completion", choices, reply_usage(replies))


def _chat_choice(index: int, reply: Reply) -> dict[str, Any]:
    calls = [wire_tool_call(call) for call in reply.tool_calls] or None
    # With tool calls the recorded content is "" rather than null.
    message = {"role": "assistant", "content": reply.text, "tool_calls": calls}
    return {
        "index": index,
        "message": message,
        "finish_reason": reply.finish_reason,
        "logprobs": None,
    }


def text_completion(meta: Meta, replies: Sequence[Reply]) -> dict[str, Any]:
    choices = [
        {"index": i, "text": r.text, "finish_reason": r.finish_reason, "logprobs": None}
        for i, r in enumerate(replies)
    ]
    return _envelope(meta, "text_completion", choices, reply_usage(replies))


def _envelope(meta: Meta, kind: str, choices: list[Any], used: dict[str, int]) -> dict[str, Any]:
    return {
        "id": meta.id,
        "object": kind,
        "created": meta.created,
        "model": meta.model,
        "choices": choices,
        "usage": used,
    }


class ChatChunks:
    """Builds the events of one chat stream."""

    def __init__(self, meta: Meta) -> None:
        self._meta = meta
        self._head, self._tail = _template(self._chunk({"content": _MARK}, None))

    def role(self) -> bytes:
        return event(self._chunk({"role": "assistant", "content": ""}, None))

    def content(self, token: str) -> bytes:
        return self._head + json.dumps(token).encode() + self._tail

    def final(self, token: str, finish: str, used: dict[str, int]) -> bytes:
        return event({**self._chunk({"content": token}, finish), "usage": used})

    def tool_calls(
        self, calls: Sequence[ToolCall], used: dict[str, int], *, indexed: bool = False
    ) -> bytes:
        # Recorded MaaS shape: each call whole in one delta, no `index`, no `type`. `indexed`
        # adds OpenAI's `index` and `type` (the v1 route, an OpenAI-compatible surface).
        wire: list[dict[str, Any]] = [
            {"function": {"arguments": c.arguments, "name": c.name}, "id": c.id} for c in calls
        ]
        if indexed:
            wire = [{**w, "index": i, "type": "function"} for i, w in enumerate(wire)]
        return event({**self._chunk({"tool_calls": wire}, "tool_calls"), "usage": used})

    def _chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}
        return {**self._base(), "choices": [choice], "object": "chat.completion.chunk"}

    def _base(self) -> dict[str, Any]:
        return {"created": self._meta.created, "id": self._meta.id, "model": self._meta.model}


class TextChunks:
    """Builds the events of one `/completions` stream: the non-stream shape, per token."""

    def __init__(self, meta: Meta) -> None:
        self._meta = meta
        self._head, self._tail = _template(self._chunk(_MARK, None))

    def content(self, token: str) -> bytes:
        return self._head + json.dumps(token).encode() + self._tail

    def final(self, token: str, finish: str, used: dict[str, int]) -> bytes:
        return event({**self._chunk(token, finish), "usage": used})

    def _chunk(self, text: str, finish: str | None) -> dict[str, Any]:
        choice = {"finish_reason": finish, "index": 0, "logprobs": None, "text": text}
        meta = self._meta
        return {
            "choices": [choice],
            "created": meta.created,
            "id": meta.id,
            "model": meta.model,
            "object": "text_completion",
        }


def chat_events(meta: Meta, reply: Reply, *, indexed: bool = False) -> Iterator[bytes]:
    chunks = ChatChunks(meta)
    yield chunks.role()
    used = reply_usage([reply])
    if reply.tool_calls:
        yield chunks.tool_calls(reply.tool_calls, used, indexed=indexed)
        return
    yield from _token_events(chunks, reply, used)


def text_events(meta: Meta, reply: Reply) -> Iterator[bytes]:
    yield from _token_events(TextChunks(meta), reply, reply_usage([reply]))


def _token_events(
    chunks: ChatChunks | TextChunks, reply: Reply, used: dict[str, int]
) -> Iterator[bytes]:
    # The last token rides on the finish chunk with the usage: no usage-only chunk (REC).
    tokens = reply.tokens
    for token in tokens[:-1]:
        yield chunks.content(token)
    yield chunks.final(tokens[-1] if tokens else "", reply.finish_reason, used)


def _template(chunk: dict[str, Any]) -> tuple[bytes, bytes]:
    text = json.dumps(chunk, separators=(",", ":"), sort_keys=True)
    head, _, tail = text.partition(json.dumps(_MARK))
    return b"data: " + head.encode(), tail.encode() + b"\n\n"
