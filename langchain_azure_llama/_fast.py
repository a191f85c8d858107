"""The LangChain objects of text answers and text stream chunks, built without re-validating.

`AIMessage(...)`, `ChatGeneration(message=...)`, `ChatResult(generations=...)`,
`AIMessageChunk(...)` and `ChatGenerationChunk(message=...)` run langchain-core's validators on
values this package has just built and checked, and for text those validators change nothing;
running them is a fifth of what `invoke` adds to an HTTP call and a third of a stream's time. So
a validated object serves as a template: a shallow copy with the new values and fresh containers
is the same object field for field (fields set included). One `_Copier` per kind checks that
once against the real constructor and falls back to the constructor for good if a
langchain-core version ever makes them differ. Anything but plain text (tool calls, list
content) always takes the constructor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel

__all__ = [
    "chat_generation",
    "chat_result",
    "generation_chunk",
    "same_model",
    "text_chunk",
    "text_message",
]

M = TypeVar("M", bound=BaseModel)


def same_model(left: BaseModel, right: BaseModel) -> bool:
    """Equal as pydantic objects: type, values, fields set, extras and private state."""
    return (
        type(left) is type(right)
        and left.__dict__ == right.__dict__
        and left.model_fields_set == right.model_fields_set
        and left.__pydantic_extra__ == right.__pydantic_extra__
        and left.__pydantic_private__ == right.__pydantic_private__
    )


class _Copier(Generic[M]):
    """Copies of one validated template; `build` is the real constructor, `samples` the
    keyword sets the copies are checked against, `fresh` the containers each copy owns."""

    __slots__ = ("_template", "_trusted")

    def __init__(self) -> None:
        self._template: M | None = None
        self._trusted: bool | None = None  # None until checked

    def build(self, **fields: Any) -> M:
        raise NotImplementedError

    def fresh(self) -> dict[str, Any]:
        return {}

    def samples(self) -> Sequence[dict[str, Any]]:
        raise NotImplementedError

    def make(self, **fields: Any) -> M:
        if self._trusted is None:
            self._trusted = self._check()
        if not self._trusted or self._template is None:
            return self.build(**fields)
        copy = self._template.__copy__()
        values = copy.__dict__
        values.update(self.fresh())  # never share a mutable field between two answers
        values.update(fields)
        return copy

    def _check(self) -> bool:
        samples = self.samples()
        self._template = self.build(**samples[0])
        self._trusted = True
        return all(same_model(self.make(**s), self.build(**s)) for s in samples)


class _TextMessages(_Copier[AIMessage]):
    __slots__ = ()

    def build(self, **fields: Any) -> AIMessage:
        return AIMessage(tool_calls=[], invalid_tool_calls=[], **fields)

    def fresh(self) -> dict[str, Any]:
        return {"additional_kwargs": {}, "tool_calls": [], "invalid_tool_calls": []}

    def samples(self) -> Sequence[dict[str, Any]]:
        usage = {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}
        metadata = {"model_name": "m", "finish_reason": "stop", "model_provider": "p"}
        return (
            {"content": "", "id": None, "usage_metadata": None, "response_metadata": {}},
            {"content": "tok é😀", "id": "c1", "usage_metadata": usage, "response_metadata": {}},
            {"content": "x", "id": None, "usage_metadata": None, "response_metadata": metadata},
        )


class _Generations(_Copier[ChatGeneration]):
    __slots__ = ()

    def build(self, **fields: Any) -> ChatGeneration:
        return ChatGeneration(message=fields["message"])

    def samples(self) -> Sequence[dict[str, Any]]:
        return (
            {"message": AIMessage(content=""), "text": ""},
            {"message": AIMessage(content="tok é😀", id="c1"), "text": "tok é😀"},
        )


class _Results(_Copier[ChatResult]):
    __slots__ = ()

    def build(self, **fields: Any) -> ChatResult:
        return ChatResult(generations=fields["generations"])

    def samples(self) -> Sequence[dict[str, Any]]:
        one = ChatGeneration(message=AIMessage(content="a"))
        return ({"generations": [one]}, {"generations": [one, one]}, {"generations": []})


class _TextChunks(_Copier[AIMessageChunk]):
    __slots__ = ()

    def build(self, **fields: Any) -> AIMessageChunk:
        return AIMessageChunk(content=fields["content"], tool_call_chunks=[], id=fields["id"])

    def fresh(self) -> dict[str, Any]:
        return {
            "additional_kwargs": {},
            "response_metadata": {},
            "tool_calls": [],
            "invalid_tool_calls": [],
            "tool_call_chunks": [],
        }

    def samples(self) -> Sequence[dict[str, Any]]:
        return (
            {"content": "", "id": None},
            {"content": "tok", "id": "chatcmpl-1"},
            {"content": " é😀", "id": None},
        )


class _GenerationChunks(_Copier[ChatGenerationChunk]):
    __slots__ = ()

    def build(self, **fields: Any) -> ChatGenerationChunk:
        return ChatGenerationChunk(message=fields["message"])

    def samples(self) -> Sequence[dict[str, Any]]:
        finished = AIMessageChunk(content=" é😀", response_metadata={"finish_reason": "stop"})
        return (
            {"message": AIMessageChunk(content=""), "text": ""},
            {"message": AIMessageChunk(content="tok", id="chatcmpl-1"), "text": "tok"},
            {"message": finished, "text": " é😀"},
        )


_TEXT_MESSAGES = _TextMessages()
_GENERATIONS = _Generations()
_RESULTS = _Results()
_TEXT_CHUNKS = _TextChunks()
_GENERATION_CHUNKS = _GenerationChunks()


def text_message(
    content: str,
    *,
    id: str | None,
    usage_metadata: UsageMetadata | None,
    response_metadata: dict[str, Any],
) -> AIMessage:
    """`AIMessage(content=..., tool_calls=[], invalid_tool_calls=[], id=..., usage_metadata=...,
    response_metadata=...)` for a text answer; the caller passes dicts it owns."""
    return _TEXT_MESSAGES.make(
        content=content, id=id, usage_metadata=usage_metadata, response_metadata=response_metadata
    )


def chat_generation(message: AIMessage) -> ChatGeneration:
    """`ChatGeneration(message=message)`; a copy only for text content (`text` is the content)."""
    content = message.content
    if type(content) is not str:
        return ChatGeneration(message=message)
    return _GENERATIONS.make(message=message, text=content)


def chat_result(generations: list[ChatGeneration]) -> ChatResult:
    """`ChatResult(generations=generations)` (the list is the caller's, kept as is)."""
    return _RESULTS.make(generations=generations)


def text_chunk(text: str, id: str | None) -> AIMessageChunk:
    """`AIMessageChunk(content=text, tool_call_chunks=[], id=id)`: most chunks of a stream are
    one token of text."""
    return _TEXT_CHUNKS.make(content=text, id=id)


def generation_chunk(message: AIMessageChunk) -> ChatGenerationChunk:
    """`ChatGenerationChunk(message=message)`; a copy only for text content (`text` is the
    content, which the constructor would set through pydantic's `__setattr__`)."""
    content = message.content
    if type(content) is not str:
        return ChatGenerationChunk(message=message)
    return _GENERATION_CHUNKS.make(message=message, text=content)
