"""Prompted tool calling: Llama 3.1's JSON tool-call format, spoken through the system prompt.

Azure lists Llama 3.1 serverless with "tool calling: No", and vLLM-backed deployments answer a
request carrying `tools` with HTTP 400. Prompted mode sends no `tools` key. Instead:

* the tools go into the system prompt in Meta's documented JSON-based format (`tools_prompt`):
  the instruction, then each tool as ``{"type": "function", "function": {...}}``;
* earlier tool calls are replayed as the assistant's JSON text ``{"name": ..., "parameters":
  ...}``, and tool results as user turns starting with ``Tool result (<tool name>):`` (Llama's
  own `ipython` role does not exist on Azure, whose roles are system/user/assistant/tool, and a
  `tool` turn without native tool calls before it is not valid there);
* the answer is parsed back (`parse_tool_calls`), tolerating surrounding whitespace, a
  ```` ```json ```` fence, a `<|python_tag|>` prefix, `<|eom_id|>`/`<|eot_id|>` suffixes,
  `"arguments"` instead of `"parameters"`, several calls in a list or one per line; each call
  gets a fresh `call_...` id. An answer that names no bound tool stays text;
* a stream is held back only while it may be a tool call (`PromptedStream`): once the first
  non-space text cannot start one, chunks flow through unchanged.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.tool import ToolCall, tool_call, tool_call_chunk

from ._convert import FILTERED_FINISH_REASONS, content_to_wire, message_to_wire, text_of
from ._errors import RequestValidationError

__all__ = [
    "PROMPT_FORMAT",
    "PROMPT_INTRO",
    "PromptedStream",
    "apply_to_message",
    "history_to_wire",
    "new_call_id",
    "parse_tool_calls",
    "tool_names",
    "tools_prompt",
]

# Meta's Llama 3.1 JSON-based tool-calling prompt, word for word.
PROMPT_INTRO = (
    "Given the following functions, please respond with a JSON for a function call with its "
    "proper arguments that best answers the given prompt."
)
PROMPT_FORMAT = (
    'Respond in the format {"name": function name, "parameters": dictionary of argument name '
    "and its value}. Do not use variables."
)
_AUTO_RULE = (
    "Call a function only when one of them helps to answer. Answer in plain text, without "
    "JSON, when none fits or when the tool results in this conversation already answer it."
)
_REQUIRED_RULE = "You must call one of these functions: respond with the JSON of the call only."
_NAMED_RULE = 'You must call the function "{name}": respond with the JSON of the call only.'
_PYTHON_TAG = "<|python_tag|>"
_END_TOKENS = ("<|eom_id|>", "<|eot_id|>")
_FENCE = re.compile(r"^```[A-Za-z]*[ \t]*\n?(.*?)\s*```$", re.DOTALL)
_CALL_STARTS = ("{", "```", _PYTHON_TAG)
_CALL_KEYS = frozenset({"name", "parameters", "arguments", "type", "id"})
_SEPARATORS = " \t\r\n;,"
_DECODER = json.JSONDecoder()


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def tool_names(tools: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(t["function"]["name"] for t in tools if isinstance(t.get("function"), dict))


def _chosen_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, Mapping) and isinstance(tool_choice.get("function"), Mapping):
        name = tool_choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def tools_prompt(tools: Sequence[Mapping[str, Any]], tool_choice: Any = None) -> str | None:
    """The system-prompt text that offers `tools` to Llama (None when there is nothing to offer).

    `tool_choice` "none" offers nothing; a named choice offers only that tool; "required"
    demands a call; "auto" (or None) lets the model answer in text.
    """
    if not tools or tool_choice == "none":
        return None
    name = _chosen_name(tool_choice)
    offered = [t for t in tools if t.get("function", {}).get("name") == name] or list(tools)
    if name is not None and len(offered) == 1:
        rule = _NAMED_RULE.format(name=name)
    elif tool_choice == "required":
        rule = _REQUIRED_RULE
    else:
        rule = _AUTO_RULE
    definitions = "\n\n".join(json.dumps(t, ensure_ascii=False) for t in offered)
    return f"{PROMPT_INTRO}\n\n{PROMPT_FORMAT}\n\n{definitions}\n\n{rule}"


def history_to_wire(
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]] | None,
    tool_choice: Any = None,
) -> list[dict[str, Any]]:
    """The conversation for prompted mode: tools in the system prompt, calls and results as text."""
    names: dict[str, str] = {}
    wire: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, AIMessage) and (message.tool_calls or message.invalid_tool_calls):
            names.update((c["id"], c["name"]) for c in message.tool_calls if c["id"])
            wire.append({"role": "assistant", "content": _calls_as_text(message)})
        elif isinstance(message, ToolMessage):
            wire.append({"role": "user", "content": _result_as_text(message, names)})
        else:
            wire.append(message_to_wire(message))
    prompt = tools_prompt(tools or [], tool_choice)
    return _with_system_text(wire, prompt) if prompt else wire


def _calls_as_text(message: AIMessage) -> str:
    lines = [text_of(message.content).strip()]
    lines += [
        json.dumps({"name": c["name"], "parameters": c["args"]}, ensure_ascii=False)
        for c in message.tool_calls
    ]
    lines += [
        f'{{"name": {json.dumps(c.get("name") or "")}, "parameters": {c.get("args") or "{}"}}}'
        for c in message.invalid_tool_calls
    ]
    return "\n".join(line for line in lines if line)


def _result_as_text(message: ToolMessage, names: Mapping[str, str]) -> str:
    name = message.name or names.get(message.tool_call_id) or "tool"
    status = ", error" if message.status == "error" else ""
    content = content_to_wire(message.content)
    if not isinstance(content, str):
        raise RequestValidationError(
            f"The result of tool {name!r} holds non-text content: Meta Llama models on Azure "
            "are text-only (images, audio and files are not accepted).",
            param="messages",
        )
    return f"Tool result ({name}{status}): {content}"


def _with_system_text(wire: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Append `text` to the leading system message, or put a system message first."""
    if wire and wire[0].get("role") == "system":
        first = dict(wire[0])
        content = first.get("content")
        if isinstance(content, list):
            first["content"] = [*content, {"type": "text", "text": text}]
        else:
            first["content"] = f"{content}\n\n{text}" if content else text
        return [first, *wire[1:]]
    return [{"role": "system", "content": text}, *wire]


# -- parsing the answer -----------------------------------------------------------------------


def parse_tool_calls(text: str, names: frozenset[str]) -> list[ToolCall] | None:
    """Tool calls in a prompted answer, or None when the answer is not (only) tool calls."""
    body = _unwrap(text)
    if not body.startswith(("{", "[")):
        return None
    values = _decode_all(body)
    if not values:
        return None
    calls = [_as_call(value, names) for value in values]
    if any(call is None for call in calls):
        return None
    return [tool_call(name=c[0], args=c[1], id=new_call_id()) for c in calls if c is not None]


def _unwrap(text: str) -> str:
    body = text.strip()
    if body.startswith(_PYTHON_TAG):
        body = body[len(_PYTHON_TAG) :].strip()
    for token in _END_TOKENS:
        if body.endswith(token):
            body = body[: -len(token)].strip()
    fenced = _FENCE.match(body)
    return fenced.group(1).strip() if fenced else body


def _decode_all(body: str) -> list[Any] | None:
    values: list[Any] = []
    position = 0
    while position < len(body):
        try:
            value, position = _DECODER.raw_decode(body, position)
        except ValueError:
            return None
        values.extend(value if isinstance(value, list) else [value])
        while position < len(body) and body[position] in _SEPARATORS:
            position += 1
    return values


def _as_call(value: Any, names: frozenset[str]) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict):  # {"type": "function", "function": {...}}
        value = value["function"]
    name = value.get("name")
    if not isinstance(name, str) or name not in names or not set(value) <= _CALL_KEYS:
        return None
    args = value.get("parameters", value.get("arguments"))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            return None
    args = {} if args is None else args
    return (name, args) if isinstance(args, dict) else None


def apply_to_message(message: AIMessage, names: frozenset[str]) -> AIMessage:
    """Turn a whole prompted answer that is a tool call into an AIMessage with `tool_calls`."""
    if message.tool_calls or message.response_metadata.get("finish_reason") in (
        FILTERED_FINISH_REASONS
    ):
        return message
    calls = parse_tool_calls(message.text, names)
    if not calls:
        return message
    return AIMessage(
        content="",
        tool_calls=calls,
        id=message.id,
        usage_metadata=message.usage_metadata,
        response_metadata=_call_metadata(message.response_metadata),
    )


def _call_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {**metadata, "finish_reason": "tool_calls", "tool_calling": "prompt"}


# -- streaming --------------------------------------------------------------------------------


def _verdict(text: str) -> Literal["call", "text", "undecided"]:
    """Can a stream that begins with `text` still be a tool call?"""
    head = text.lstrip()
    if not head:
        return "undecided"
    if head.startswith(_CALL_STARTS):
        return "call"
    if any(start.startswith(head) for start in _CALL_STARTS):
        return "undecided"
    return "text"


class PromptedStream:
    """Holds a prompted-mode stream back while it may be a tool call.

    Feed it the converted chunks; it returns the chunks to emit. Text that cannot start a call
    is released at once (with any metadata held so far) and the rest passes straight through.
    A possible call is buffered to the end: `close()` returns one chunk with the parsed calls
    as `tool_call_chunks`, or the buffered text if it did not parse.
    """

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names
        self._state: Literal["call", "text", "undecided"] = "undecided"
        self._parts: list[str] = []
        self._held: dict[str, Any] = {}

    def feed(self, chunk: AIMessageChunk) -> list[AIMessageChunk]:
        if self._state == "text":
            return [chunk]
        self._parts.append(chunk.text)
        self._hold(chunk)
        if self._state == "undecided":
            self._state = _verdict("".join(self._parts))
            if self._state == "text":
                return [self._release(None)]
        return []

    def close(self) -> list[AIMessageChunk]:
        if self._state == "text" or not (self._parts or self._held):
            return []
        text = "".join(self._parts)
        metadata = self._held.get("response_metadata") or {}
        filtered = metadata.get("finish_reason") in FILTERED_FINISH_REASONS
        calls = None if filtered else parse_tool_calls(text, self._names)
        return [self._release(calls)]

    def _hold(self, chunk: AIMessageChunk) -> None:
        if chunk.id:
            self._held["id"] = chunk.id
        if chunk.usage_metadata:
            self._held["usage_metadata"] = chunk.usage_metadata
        if chunk.response_metadata:
            self._held["response_metadata"] = chunk.response_metadata

    def _release(self, calls: list[ToolCall] | None) -> AIMessageChunk:
        held, self._held = self._held, {}
        text, self._parts = "".join(self._parts), []
        if not calls:
            return AIMessageChunk(content=text, **held)
        if "response_metadata" in held:
            held["response_metadata"] = _call_metadata(held["response_metadata"])
        chunks = [
            tool_call_chunk(
                name=c["name"],
                args=json.dumps(c["args"], ensure_ascii=False),
                id=c["id"],
                index=i,
            )
            for i, c in enumerate(calls)
        ]
        return AIMessageChunk(content="", tool_call_chunks=chunks, **held)
