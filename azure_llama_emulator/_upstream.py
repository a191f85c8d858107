"""Upstream mode: an OpenAI-compatible server answers, re-shaped into Azure's wire shapes.

The body the emulator validated goes to `<upstream>/v1/chat/completions` or `/v1/completions`.
Streams are rewritten as Azure sends them: a role chunk first, content chunks, and one last
chunk with the last content, the finish_reason and the usage (a separate OpenAI usage chunk is
merged into it); streamed tool-call fragments are joined into one delta without index/type.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from . import _wire
from ._responder import ToolCall
from ._shapes import ChatChunks, Meta, TextChunks, usage, wire_tool_call
from ._stream import SourceFailed


class Upstream:
    """An httpx client bound to the upstream server (lives on the emulator's event loop)."""

    def __init__(self, base_url: str, model: str | None) -> None:
        timeout = httpx.Timeout(600.0, connect=10.0)
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._model = model

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=self._body(body, stream=False))
        except httpx.HTTPError as exc:
            raise _unreachable(exc) from exc
        if response.status_code != 200:
            raise _wire.upstream_error(response.status_code, response.reason_phrase, response.text)
        answer = response.json()
        if not isinstance(answer, dict):
            raise _wire.upstream_error(502, "Bad Gateway", "upstream answer is not an object")
        return answer

    @asynccontextmanager
    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[Any]]:
        """Open the upstream stream; errors before the first byte raise a `Rejection`."""
        request = self._client.build_request("POST", path, json=self._body(body, stream=True))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _unreachable(exc) from exc
        try:
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")
                raise _wire.upstream_error(response.status_code, response.reason_phrase, text)
            yield _sse_json(response)
        finally:
            await response.aclose()

    def _body(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        sent = {**body, "stream": stream}
        if self._model is not None:
            sent["model"] = self._model
        if stream:
            sent["stream_options"] = {"include_usage": True}  # Azure always reports usage
        return sent


def _unreachable(exc: Exception) -> _wire.Rejection:
    return _wire.upstream_error(502, "Bad Gateway", f"upstream unreachable: {exc!r}")


async def _sse_json(response: httpx.Response) -> AsyncIterator[Any]:
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            yield json.loads(data)
    except (httpx.HTTPError, ValueError) as exc:
        raise SourceFailed(str(exc)) from exc
    raise SourceFailed("upstream stream ended without [DONE]")


def reshape(
    answer: dict[str, Any], meta: Meta, *, chat: bool, prompt_tokens: int
) -> dict[str, Any]:
    """A non-stream OpenAI answer in Azure's non-stream shape."""
    choices = [_choice(c, chat) for c in answer.get("choices") or [] if isinstance(c, dict)]
    used = answer.get("usage") or usage(prompt_tokens, 0)
    kind = "chat.completion" if chat else "text_completion"
    return {
        "id": meta.id,
        "object": kind,
        "created": meta.created,
        "model": meta.model,
        "choices": choices,
        "usage": usage(used.get("prompt_tokens", 0), used.get("completion_tokens", 0)),
    }


def _choice(choice: dict[str, Any], chat: bool) -> dict[str, Any]:
    finish = choice.get("finish_reason") or "stop"
    index = choice.get("index", 0)
    if not chat:
        return {
            "index": index,
            "text": choice.get("text") or "",
            "finish_reason": finish,
            "logprobs": None,
        }
    message = choice.get("message") or {}
    calls = [wire_tool_call(c) for c in _calls(message.get("tool_calls"))] or None
    content = message.get("content") or ""
    body = {"role": "assistant", "content": content, "tool_calls": calls}
    return {"index": index, "message": body, "finish_reason": finish, "logprobs": None}


def _calls(raw: Any) -> list[ToolCall]:
    calls = []
    for item in raw if isinstance(raw, list) else []:
        function = item.get("function") if isinstance(item, dict) else None
        if isinstance(function, dict):
            arguments = function.get("arguments") or "{}"
            calls.append(ToolCall(str(item.get("id")), str(function.get("name")), str(arguments)))
    return calls


async def azure_events(
    chunks: AsyncIterator[Any], meta: Meta, *, chat: bool, prompt_tokens: int
) -> AsyncIterator[bytes]:
    """Re-emit an OpenAI chunk stream as Azure's (module docstring)."""
    state = _StreamState()
    builder: ChatChunks | TextChunks = ChatChunks(meta) if chat else TextChunks(meta)
    if isinstance(builder, ChatChunks):
        yield builder.role()
    async for chunk in chunks:
        for piece in state.take(chunk, chat):
            yield builder.content(piece)
    used = state.usage or usage(prompt_tokens, state.pieces)
    if isinstance(builder, ChatChunks) and state.calls:
        if state.pending:
            yield builder.content(state.pending)
        yield builder.tool_calls(state.tool_calls(), used)
        return
    yield builder.final(state.pending or "", state.finish or "stop", used)


class _StreamState:
    """Holds back one content piece so the last one can ride on the finish chunk."""

    def __init__(self) -> None:
        self.pending: str | None = None
        self.pieces = 0
        self.finish: str | None = None
        self.usage: dict[str, int] | None = None
        self.calls: dict[int, dict[str, str]] = {}

    def take(self, chunk: Any, chat: bool) -> list[str]:
        if not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("usage"), dict):
            used = chunk["usage"]
            self.usage = usage(used.get("prompt_tokens", 0), used.get("completion_tokens", 0))
        out: list[str] = []
        for choice in chunk.get("choices") or []:
            out.extend(self._choice(choice, chat))
        return out

    def _choice(self, choice: dict[str, Any], chat: bool) -> list[str]:
        self.finish = choice.get("finish_reason") or self.finish
        delta = (choice.get("delta") or {}) if chat else choice
        for fragment in delta.get("tool_calls") or []:
            self._merge_call(fragment)
        text = delta.get("content") if chat else delta.get("text")
        if not text:
            return []
        self.pieces += 1
        previous, self.pending = self.pending, text
        return [previous] if previous is not None else []

    def _merge_call(self, fragment: dict[str, Any]) -> None:
        # OpenAI streams a call in fragments keyed by `index`; Azure sends it whole.
        index = int(fragment.get("index", len(self.calls)))
        slot = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        function = fragment.get("function") or {}
        slot["id"] = fragment.get("id") or slot["id"]
        slot["name"] += function.get("name") or ""
        slot["arguments"] += function.get("arguments") or ""

    def tool_calls(self) -> list[ToolCall]:
        return [ToolCall(c["id"], c["name"], c["arguments"]) for _, c in sorted(self.calls.items())]
