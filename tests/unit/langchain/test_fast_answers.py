"""Whole text answers skip re-validation (issue 14); they must equal validated objects exactly."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import BaseModel

from langchain_azure_llama import _fast
from langchain_azure_llama._convert import response_to_messages
from langchain_azure_llama._fast import chat_generation, chat_result, text_message

USAGE: Any = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
METADATA = {"model_name": "m", "finish_reason": "stop", "model_provider": "azure_llama", "id": "c"}


def _state(obj: BaseModel) -> tuple[Any, ...]:
    return (
        type(obj),
        obj.__dict__,
        obj.model_fields_set,
        obj.__pydantic_extra__,
        obj.__pydantic_private__,
    )


@pytest.mark.parametrize(
    ("content", "message_id", "usage"),
    [("Hello", "c1", USAGE), ("", None, None), (" é😀\n" * 100, "x", None)],
    ids=["usage", "empty-no-id", "unicode-long"],
)
def test_text_message_equals_a_validated_message(
    content: str, message_id: str | None, usage: Any
) -> None:
    fast = text_message(
        content, id=message_id, usage_metadata=usage, response_metadata=dict(METADATA)
    )
    real = AIMessage(
        content=content,
        tool_calls=[],
        invalid_tool_calls=[],
        id=message_id,
        usage_metadata=usage,
        response_metadata=dict(METADATA),
    )
    assert _state(fast) == _state(real)
    assert fast == real and repr(fast) == repr(real)
    assert fast.model_dump() == real.model_dump()
    assert fast.text == real.text and fast.content_blocks == real.content_blocks


def test_text_messages_share_no_mutable_field() -> None:
    one, two = (text_message(t, id=None, usage_metadata=None, response_metadata={}) for t in "ab")
    one.additional_kwargs["k"] = 1
    one.tool_calls.append({"name": "n", "args": {}, "id": "1", "type": "tool_call"})
    one.invalid_tool_calls.append(
        {"name": "n", "args": "", "id": "1", "error": None, "type": "invalid_tool_call"}
    )
    assert two.additional_kwargs == {} and two.tool_calls == [] and two.invalid_tool_calls == []


def test_falls_back_to_the_constructors_when_a_copy_would_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fast, "same_model", lambda left, right: False)
    messages, generations, results = _fast._TextMessages(), _fast._Generations(), _fast._Results()
    message = messages.make(content="tok", id="i", usage_metadata=None, response_metadata={})
    generation = generations.make(message=message, text="tok")
    result = results.make(generations=[generation])
    assert (messages._trusted, generations._trusted, results._trusted) == (False, False, False)
    real = AIMessage(
        content="tok",
        tool_calls=[],
        invalid_tool_calls=[],
        id="i",
        usage_metadata=None,
        response_metadata={},
    )
    assert _state(message) == _state(real)
    assert _state(generation) == _state(ChatGeneration(message=message))
    assert _state(result) == _state(ChatResult(generations=[generation]))


@pytest.mark.parametrize(
    "message",
    [
        AIMessage(content="tok", id="c1", usage_metadata=USAGE),
        AIMessage(content=""),
        AIMessage(content=[{"type": "text", "text": "a"}, {"text": "legacy"}]),
    ],
    ids=["text", "empty", "list-content"],
)
def test_chat_generation_and_result_equal_validated_ones(message: AIMessage) -> None:
    fast = chat_generation(message)
    real = ChatGeneration(message=message)
    assert _state(fast) == _state(real)
    assert fast.message is message
    assert _state(chat_result([fast])) == _state(ChatResult(generations=[real]))


TEXT_ANSWER = {
    "id": "c1",
    "model": "Meta-Llama-3.1-8B-Instruct",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}},
        {"index": 1, "finish_reason": "length", "message": {"role": "assistant", "content": None}},
        {
            "index": 2,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            },
        },
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
}


def test_whole_answers_convert_the_same_with_and_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = [_state(m) for m in response_to_messages(TEXT_ANSWER, fallback_model="f")]
    assert _fast._TEXT_MESSAGES._trusted is True
    monkeypatch.setattr(_fast._TEXT_MESSAGES, "_trusted", False)
    slow = [_state(m) for m in response_to_messages(TEXT_ANSWER, fallback_model="f")]
    assert fast == slow


@pytest.mark.parametrize("bad_id", [123, {"x": 1}, ["a"], True])
def test_an_id_that_is_not_a_string_is_dropped_not_trusted(bad_id: Any) -> None:
    """Copies skip validation, so a broken endpoint's non-string `id` must not reach a message
    typed `id: str | None` (before the copies, AIMessage's validator raised on it)."""
    from langchain_azure_llama._convert import ChunkConverter

    body = {"id": bad_id, "model": "m", "choices": [{"message": {"content": "hi"}}]}
    (message,) = response_to_messages(body, fallback_model=None)
    assert message.id is None and message.content == "hi"
    assert AIMessage.model_validate(message.model_dump()) == message
    chunk = {"id": bad_id, "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    streamed = ChunkConverter(None).convert(chunk)
    assert streamed is not None and streamed.id is None and streamed.content == "hi"
