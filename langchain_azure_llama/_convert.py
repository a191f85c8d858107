"""Pure conversions: LangChain messages → wire dicts, wire answers and chunks → AI messages.

No I/O here. Wire shapes follow docs/wire-protocol.md: `/chat/completions` bodies (§6-§7) and stream
chunks (§8), as the transport hands them on: usage normalised, every streamed tool call with its
`index`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import (
    ToolCall,
    ToolCallChunk,
    invalid_tool_call,
    tool_call,
    tool_call_chunk,
)

import azure_llama_transport as _t

from ._errors import RequestValidationError
from ._fast import generation_chunk, text_chunk, text_message

__all__ = [
    "PROVIDER",
    "ChunkConverter",
    "content_to_wire",
    "generation_chunk",
    "image_to_wire",
    "message_to_wire",
    "messages_to_wire",
    "response_to_messages",
    "text_of",
    "tool_call_to_wire",
    "usage_to_metadata",
    "wire_tool_calls",
]

PROVIDER = "azure_llama"
_ROLES = {"human": "user", "ai": "assistant", "user": "user", "assistant": "assistant"}
# Content blocks that describe the assistant's own tool calls or reasoning: the wire carries
# those in `tool_calls` (or not at all), never in `content`.
_NON_CONTENT_BLOCKS = frozenset(
    {"tool_use", "tool_call", "tool_call_chunk", "thinking", "reasoning", "redacted_thinking"}
)

_IMAGES = frozenset({"image", "image_url"})


# -- LangChain → wire ---------------------------------------------------------------------------


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert a conversation, message by message (see `message_to_wire`).

    An agent loop resends its whole history every turn, so this runs over hundreds of messages
    per call: the exact LangChain classes are dispatched by type (one lookup, not a chain of
    `isinstance` checks); subclasses take `message_to_wire`'s checks.
    """
    out = []
    for message in messages:
        convert = _BY_TYPE.get(type(message))
        out.append(convert(message) if convert is not None else message_to_wire(message))
    return out


def message_to_wire(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as an Azure chat message.

    System → `system`, human → `user`, AI → `assistant` (with `tool_calls`, arguments as a JSON
    string), tool → `tool` (with `tool_call_id`). `name` is not sent: the Azure message schema
    has no such field for Llama.
    """
    if isinstance(message, SystemMessage):
        return _system_to_wire(message)
    if isinstance(message, HumanMessage):
        return _human_to_wire(message)
    if isinstance(message, AIMessage):
        return _assistant_to_wire(message)
    if isinstance(message, ToolMessage):
        return _tool_to_wire(message)
    if isinstance(message, ChatMessage):
        role = _ROLES.get(message.role, message.role)
        return {"role": role, "content": _content(message.content)}
    raise RequestValidationError(
        f"{type(message).__name__} cannot be sent to Llama on Azure; use system, human, AI "
        "or tool messages.",
        param="messages",
    )


def _content(content: str | list[str | dict[str, Any]]) -> str | list[dict[str, Any]]:
    # Most content is a string: no call for it.
    return content if type(content) is str else content_to_wire(content)


def _system_to_wire(message: SystemMessage) -> dict[str, Any]:
    return {"role": "system", "content": _content(message.content)}


def _human_to_wire(message: HumanMessage) -> dict[str, Any]:
    return {"role": "user", "content": _content(message.content)}


def _tool_to_wire(message: ToolMessage) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": message.tool_call_id,
        "content": _content(message.content),
    }


def _assistant_to_wire(message: AIMessage) -> dict[str, Any]:
    calls = [tool_call_to_wire(call) for call in message.tool_calls]
    if message.invalid_tool_calls:
        calls += [_invalid_call_to_wire(call) for call in message.invalid_tool_calls]
    content = message.content
    wire_content = content if type(content) is str else content_to_wire(content, assistant=True)
    wire: dict[str, Any] = {"role": "assistant"}
    if wire_content or not calls:
        wire["content"] = wire_content
    if calls:
        wire["tool_calls"] = calls
    return wire


# The exact classes `messages_to_wire` dispatches on (ChatMessage maps its role: not here).
_BY_TYPE: dict[type, Any] = {
    SystemMessage: _system_to_wire,
    HumanMessage: _human_to_wire,
    AIMessage: _assistant_to_wire,
    ToolMessage: _tool_to_wire,
}


def tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    """A LangChain tool call as a wire tool call (arguments as a JSON string)."""
    function = {"name": call["name"], "arguments": _t.arguments_json(call["args"])}
    return {"id": call.get("id") or "", "type": "function", "function": function}


def _invalid_call_to_wire(call: InvalidToolCall) -> dict[str, Any]:
    function = {"name": call.get("name") or "", "arguments": call.get("args") or "{}"}
    return {"id": call.get("id") or "", "type": "function", "function": function}


def content_to_wire(
    content: str | list[str | dict[str, Any]], *, assistant: bool = False
) -> str | list[dict[str, Any]]:
    """Message content as the wire takes it: a string when it is all text.

    Text parts are joined with newlines (Llama reads one string). Tool-use and reasoning blocks
    are dropped (tool calls travel in `tool_calls`). Images (OpenAI `image_url` parts and
    LangChain's image blocks, see `image_to_wire`) become `image_url` parts, in their place
    among the text parts; whether the model takes them is the transport's check. Anything else
    (audio, files) is passed on as a part, and the transport refuses it before sending.
    """
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    media = False
    for block in content:
        if isinstance(block, str):
            parts.append({"type": "text", "text": block})
        elif block.get("type") == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif block.get("type") in _NON_CONTENT_BLOCKS or assistant:
            continue
        else:
            media = True
            parts.append(image_to_wire(block) if block.get("type") in _IMAGES else dict(block))
    if media:
        return parts
    return "\n".join(part["text"] for part in parts)


def image_to_wire(block: Mapping[str, Any]) -> dict[str, Any]:
    """An image block as OpenAI's `{"type": "image_url", "image_url": {"url": ...}}`.

    Takes OpenAI's `image_url` part (its `url` and `detail` kept; a bare string URL wrapped),
    LangChain's image block (`{"type": "image", "url": ...}` or `"base64"` with `"mime_type"`)
    its older form (`"source_type": "url"` / `"base64"` with `"url"` / `"data"`), and Anthropic's
    (`"source": {"type": "base64", "media_type", "data"}` or `{"type": "url", "url"}`), which
    LangChain passes on as content. A base64 image becomes a `data:<mime_type>;base64,` URL.

    Raises:
        RequestValidationError: an image by file id, or base64 without a `mime_type`.
    """
    if block.get("type") == "image_url":
        image = block.get("image_url")
        return {
            "type": "image_url",
            "image_url": {"url": image} if isinstance(image, str) else image,
        }
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic's image block
        block = {
            "url": source.get("url"),
            "base64": source.get("data") if source.get("type") == "base64" else None,
            "mime_type": source.get("media_type"),
        }
    url = block.get("url")
    data = block.get("base64") if "base64" in block else None
    if block.get("source_type") == "base64":
        data = block.get("data")
    if isinstance(data, str):
        mime = block.get("mime_type")
        if not isinstance(mime, str) or not mime:
            raise RequestValidationError(
                "An image block with base64 data needs its mime_type (e.g. 'image/png').",
                param="messages",
            )
        url = f"data:{mime};base64,{data}"
    if not isinstance(url, str):
        raise RequestValidationError(
            "An image must be given by base64 data (with mime_type) or a URL; Llama on Azure "
            "has no file store to take an image by id.",
            param="messages",
        )
    return {"type": "image_url", "image_url": {"url": url}}


def text_of(content: str | list[str | dict[str, Any]]) -> str:
    """The plain text of LangChain message content."""
    wire = content_to_wire(content, assistant=True)
    return wire if isinstance(wire, str) else ""


# -- wire → LangChain ---------------------------------------------------------------------------


def usage_to_metadata(usage: Mapping[str, Any] | None) -> UsageMetadata | None:
    """The transport's (normalised) `usage` → LangChain `UsageMetadata` (None: none sent)."""
    if not usage:
        return None
    metadata = {
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
    }
    return cast("UsageMetadata", metadata)


def wire_tool_calls(
    calls: Sequence[Mapping[str, Any]] | None,
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Wire tool calls (arguments as JSON text) → parsed and unparseable LangChain calls."""
    parsed: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls or []:
        function = call.get("function") or {}
        name = function.get("name") or ""
        raw = function.get("arguments")
        try:
            args = json.loads(raw) if isinstance(raw, str) and raw.strip() else raw or {}
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep arguments
            error = str(exc) if isinstance(exc, ValueError) else "arguments nested too deep"
            invalid.append(invalid_tool_call(name=name, args=raw, id=call.get("id"), error=error))
            continue
        if not isinstance(args, dict):
            invalid.append(
                invalid_tool_call(
                    name=name, args=str(raw), id=call.get("id"), error="arguments not an object"
                )
            )
            continue
        parsed.append(tool_call(name=name, args=args, id=call.get("id")))
    return parsed, invalid


def response_to_messages(
    response: Mapping[str, Any], *, fallback_model: str | None
) -> list[AIMessage]:
    """A whole chat completion → one AIMessage per choice.

    `response_metadata` holds `model_name` (the model the response names, else
    `fallback_model`), `finish_reason`, `id` and `model_provider`; `usage_metadata` is set on
    the first message (Azure reports usage once per response).
    """
    usage = usage_to_metadata(response.get("usage"))
    messages = []
    for index, choice in enumerate(response.get("choices") or []):
        wire = choice.get("message") or {}
        calls, invalid = wire_tool_calls(wire.get("tool_calls"))
        content = wire.get("content") or ""
        fields: dict[str, Any] = {
            "id": _answer_id(response.get("id")),
            "usage_metadata": usage if index == 0 else None,
            "response_metadata": _metadata(response, choice.get("finish_reason"), fallback_model),
        }
        if calls or invalid or type(content) is not str:
            message = AIMessage(
                content=content, tool_calls=calls, invalid_tool_calls=invalid, **fields
            )
        else:
            message = text_message(content, **fields)
        messages.append(message)
    return messages


def _answer_id(value: Any) -> str | None:
    """The answer's `id` for the message: a non-empty string, else none (a hostile or broken
    endpoint's number or object is dropped rather than put into a message typed `str`)."""
    return value if type(value) is str and value else None


def _metadata(
    payload: Mapping[str, Any], finish_reason: str | None, fallback_model: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "model_name": payload.get("model") or fallback_model or "",
        "finish_reason": finish_reason,
        "model_provider": PROVIDER,
    }
    if payload.get("id"):
        metadata["id"] = payload["id"]
    return metadata


_EMPTY: Mapping[str, Any] = {}
_UNSEEN = object()


class ChunkConverter:
    """Wire stream chunks → `AIMessageChunk`s, with the stream's metadata exactly once.

    `usage_metadata` goes on the chunk that carries Azure's usage (the finish chunk), and
    `response_metadata` (`model_name`, `finish_reason`, `id`) on the chunk that carries the
    finish reason; `close()` supplies whichever never arrived. Tool calls keep the `index` the
    transport gave them, so the chunks of one call merge and different calls never do.
    """

    def __init__(self, fallback_model: str | None) -> None:
        self.fallback_model = fallback_model
        self.finish_reason: str | None = None
        self._model: str | None = None
        self._id: str | None = None
        # The last chunk's raw `model` and `id` (a fresh stream matches no chunk's).
        self._raw_model: Any = _UNSEEN
        self._raw_id: Any = _UNSEEN
        self._usage_sent = False
        self._metadata_sent = False

    def convert(self, chunk: Mapping[str, Any]) -> AIMessageChunk | None:
        """The message chunk for one wire chunk, or None when it carries nothing."""
        raw_model = chunk.get("model")
        raw_id = chunk.get("id")
        if raw_model is not self._raw_model or raw_id is not self._raw_id:
            # New values (the transport hands on the same `id`/`model` objects while a
            # stream's events share them: nothing to redo then).
            self._raw_model, self._raw_id = raw_model, raw_id
            self._model = raw_model or self._model
            self._id = _answer_id(raw_id) or self._id
        choices = chunk.get("choices")
        choice: Mapping[str, Any] = choices[0] if choices else _EMPTY
        delta = choice.get("delta") or _EMPTY
        text = delta.get("content") or ""
        wire_calls = delta.get("tool_calls")
        usage = chunk.get("usage")
        if not (wire_calls or usage or choice.get("finish_reason")):
            # The common chunk (one token of text, nothing else): no metadata to place.
            if not text:
                return None
            if type(text) is str:
                return text_chunk(text, self._id)
            return AIMessageChunk(content=text, tool_call_chunks=[], id=self._id)
        return self._full(choice, text, wire_calls or [], usage)

    def _full(
        self, choice: Mapping[str, Any], text: Any, wire_calls: list[Any], usage: Any
    ) -> AIMessageChunk | None:
        calls = self._tool_call_chunks(wire_calls)
        fields: dict[str, Any] = {}
        metadata = usage_to_metadata(usage)
        if metadata is not None and not self._usage_sent:
            self._usage_sent = True
            fields["usage_metadata"] = metadata
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
            if not self._metadata_sent:
                self._metadata_sent = True
                fields["response_metadata"] = self._response_metadata()
        if not (text or calls or fields):
            return None
        if not (calls or fields) and type(text) is str:
            return text_chunk(text, self._id)
        return AIMessageChunk(content=text, tool_call_chunks=calls, id=self._id, **fields)

    def close(self) -> AIMessageChunk | None:
        """A last chunk with the metadata, if no chunk carried a finish reason (else None)."""
        if self._metadata_sent:
            return None
        self._metadata_sent = True
        return AIMessageChunk(content="", id=self._id, response_metadata=self._response_metadata())

    def _response_metadata(self) -> dict[str, Any]:
        payload = {"model": self._model, "id": self._id}
        return _metadata(payload, self.finish_reason, self.fallback_model)

    @staticmethod
    def _tool_call_chunks(calls: Sequence[Mapping[str, Any]]) -> list[ToolCallChunk]:
        chunks = []
        for call in calls:
            function = call.get("function") or {}
            chunks.append(
                tool_call_chunk(
                    name=function.get("name"),
                    args=function.get("arguments"),
                    id=call.get("id"),
                    index=call.get("index"),
                )
            )
        return chunks
