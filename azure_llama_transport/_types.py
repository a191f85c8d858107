"""Wire shapes as TypedDicts: typed for callers, free at run time (chunks are the parsed JSON)."""

from __future__ import annotations

import sys
from typing import Any, Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover - Python 3.10
    from typing_extensions import NotRequired

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatParams",
    "Choice",
    "ChunkChoice",
    "Delta",
    "LlamaParams",
    "Message",
    "ModelInfo",
    "ModelKind",
    "TextCompletion",
    "ToolCall",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]
# What a deployment serves, as `/info` says once normalised; each front end serves one of them.
ModelKind = Literal["chat-completion", "text-generation"]


class FunctionCall(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: NotRequired[Literal["function"]]
    function: FunctionCall
    index: NotRequired[int]


class Message(TypedDict, total=False):
    role: Role
    content: str | list[dict[str, Any]] | None
    tool_calls: list[ToolCall] | None
    tool_call_id: str
    name: str


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Choice(TypedDict):
    index: int
    message: Message
    finish_reason: str | None


class ChatCompletion(TypedDict):
    id: str
    object: str
    created: int
    model: str
    choices: list[Choice]
    usage: NotRequired[Usage | None]


class Delta(TypedDict, total=False):
    role: str
    content: str | None
    tool_calls: list[ToolCall] | None


class ChunkChoice(TypedDict):
    index: int
    delta: Delta
    finish_reason: str | None


class ChatCompletionChunk(TypedDict):
    id: str
    object: str
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: NotRequired[Usage | None]


class TextChoice(TypedDict):
    index: int
    text: str
    finish_reason: str | None


class TextCompletion(TypedDict):
    """`/completions` and `/v1/completions`: streamed and whole answers share this shape."""

    id: str
    object: str
    created: int
    model: str
    choices: list[TextChoice]
    usage: NotRequired[Usage | None]


class ModelInfo(TypedDict):
    """`/info`, with `model_type` normalised to `chat-completion` / `text-generation` / ..."""

    model_name: str
    model_type: str
    model_provider_name: str
    served_model_name: NotRequired[str]
    served_model_type: NotRequired[str]
    raw_model_type: NotRequired[str]


class ChatParams(TypedDict, total=False):
    """The typed parameters of the Model Inference API (docs/wire-protocol.md §6)."""

    frequency_penalty: float
    max_tokens: int
    model: str
    presence_penalty: float
    response_format: dict[str, Any]
    seed: int
    stop: str | list[str]
    temperature: float
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    top_p: float


class LlamaParams(TypedDict, total=False):
    """The Llama-native API's own parameters, typed on `/v1/*` routes.

    Source: docs/wire-protocol.md §13.
    """

    n: int
    best_of: int
    logprobs: int | bool
    ignore_eos: bool
    use_beam_search: bool
    stop_token_ids: list[int]
    skip_special_tokens: bool
