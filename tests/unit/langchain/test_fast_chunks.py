"""Text stream chunks skip re-validation (issue #8); they must equal validated ones exactly."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from langchain_azure_llama import _fast
from langchain_azure_llama._convert import ChunkConverter
from langchain_azure_llama._fast import generation_chunk, text_chunk
from tests._support.transported import transported


def _state(chunk: AIMessageChunk) -> tuple[Any, ...]:
    return (
        type(chunk),
        chunk.__dict__,
        chunk.model_fields_set,
        chunk.__pydantic_extra__,
        chunk.__pydantic_private__,
    )


@pytest.mark.parametrize(
    ("text", "chunk_id"),
    [("tok", "chatcmpl-1"), (" é😀", None), ("\n", "x"), ("a" * 5000, "id")],
    ids=["ascii", "unicode-no-id", "newline", "long"],
)
def test_text_chunk_equals_a_validated_chunk(text: str, chunk_id: str | None) -> None:
    fast = text_chunk(text, chunk_id)
    real = AIMessageChunk(content=text, tool_call_chunks=[], id=chunk_id)
    assert _state(fast) == _state(real)
    assert fast == real
    assert repr(fast) == repr(real)
    assert fast.model_dump() == real.model_dump()
    assert (fast + fast).model_dump() == (real + real).model_dump()


def test_text_chunks_share_no_mutable_field() -> None:
    one, two = text_chunk("a", "x"), text_chunk("b", "x")
    one.response_metadata["k"] = 1
    one.additional_kwargs["k"] = 1
    one.tool_calls.append({"name": "n", "args": {}, "id": "1", "type": "tool_call"})
    one.tool_call_chunks.append(
        {"name": "n", "args": "", "id": "1", "index": 0, "type": "tool_call_chunk"}
    )
    assert two.response_metadata == {} and two.additional_kwargs == {}
    assert two.tool_calls == [] and two.tool_call_chunks == [] and two.invalid_tool_calls == []
    assert text_chunk("c", None).response_metadata == {}


def test_falls_back_to_the_constructor_when_the_copy_would_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fast, "same_model", lambda left, right: False)
    chunks = _fast._TextChunks()
    chunk = chunks.make(content="tok", id="id")
    assert chunks._trusted is False
    assert _state(chunk) == _state(AIMessageChunk(content="tok", tool_call_chunks=[], id="id"))


WIRE: list[dict[str, Any]] = [
    {"id": "c1", "model": "m", "choices": [{"delta": {"role": "assistant", "content": ""}}]},
    {"id": "c1", "model": "m", "choices": [{"delta": {"content": "Hel"}, "finish_reason": None}]},
    {"id": "c1", "model": "m", "choices": [{"delta": {"content": "lo"}}]},
    {
        "id": "c1",
        "choices": [
            {"delta": {"tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]}}
        ],
    },
    {"id": "c1", "choices": [{"delta": {"content": "!"}}], "usage": {"prompt_tokens": 1}},
    {"id": "c1", "choices": [{"delta": {"content": ""}, "finish_reason": "stop"}]},
    {"id": "c1", "choices": []},
]


def _convert_all(monkeypatch: pytest.MonkeyPatch, trusted: bool) -> list[Any]:
    monkeypatch.setattr(_fast._TEXT_CHUNKS, "_trusted", trusted)
    converter = ChunkConverter("fallback")
    out = [converter.convert(chunk) for chunk in transported(WIRE)]
    out.append(converter.close())
    return [None if c is None else _state(c) for c in out]


def test_a_stream_converts_the_same_with_and_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text_chunk("warm", None)  # run the one-time check first
    assert _fast._TEXT_CHUNKS._trusted is True
    fast = _convert_all(monkeypatch, trusted=True)
    slow = _convert_all(monkeypatch, trusted=False)
    assert fast == slow
    assert [c is None for c in fast] == [True, False, False, False, False, False, True, True]


def _generation_state(generation: ChatGenerationChunk) -> tuple[Any, ...]:
    return (
        type(generation),
        generation.__dict__,
        generation.model_fields_set,
        generation.__pydantic_extra__,
        generation.__pydantic_private__,
    )


@pytest.mark.parametrize(
    "message",
    [
        AIMessageChunk(content="tok", id="chatcmpl-1"),
        AIMessageChunk(content="", response_metadata={"finish_reason": "stop"}),
        AIMessageChunk(content=[{"type": "text", "text": "a"}, {"text": "legacy"}]),
    ],
    ids=["text", "empty-finish", "list-content"],
)
def test_generation_chunk_equals_a_validated_one(message: AIMessageChunk) -> None:
    fast = generation_chunk(message)
    real = ChatGenerationChunk(message=message)
    assert _generation_state(fast) == _generation_state(real)
    assert fast.message is message
    assert (fast + fast).model_dump() == (real + real).model_dump()


def test_generation_chunk_falls_back_when_the_copy_would_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fast, "same_model", lambda left, right: False)
    generations = _fast._GenerationChunks()
    message = AIMessageChunk(content="tok")
    fast = generations.make(message=message, text="tok")
    assert generations._trusted is False
    assert _generation_state(fast) == _generation_state(ChatGenerationChunk(message=message))
