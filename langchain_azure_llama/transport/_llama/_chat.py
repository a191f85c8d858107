"""One chat call through the Llama protocol: plan, send, switch on refusal, parse back, repair.

`chat` / `achat` return a native-looking chat completion dict; `chat_stream` / `achat_stream`
return a `LlamaStream` / `AsyncLlamaStream` yielding native-looking chunk dicts. Whatever mode
was used, prompted tool calls come back as `tool_calls` (deltas on streams), a prompted JSON
answer as its canonical JSON text, and the mode is reported in the answer's `llama_protocol`
key (`{"tool_calling", "structured_output", "repaired"}`; streams: the `.protocol` attribute).

The sync and async twins share every pure step (`plan_chat`, `_learn`, `_check`, `_Reader`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

from .._catalogue import aexplain_not_found, explain_not_found
from .._client import AsyncAzureLlamaClient, AzureLlamaClient
from .._errors import AzureLlamaError, NotFoundError, StructuredOutputError
from .._limits import Limits
from .._streaming import AsyncStream, Stream
from ._bounds import excerpt
from ._capabilities import (
    CAPABILITIES,
    CapabilityKey,
    CapabilityStore,
    capability_key,
    refused_feature,
)
from ._plan import ChatRequest, Plan, plan_chat
from ._schema import repair_messages
from ._tools import FILTERED, ToolCallBuffer, apply_to_completion

__all__ = ["AsyncLlamaStream", "LlamaStream", "achat", "achat_stream", "chat", "chat_stream"]

logger = logging.getLogger("langchain_azure_llama.transport")
T = TypeVar("T")
_ATTEMPTS = 3  # native, then at most one switch per feature (tools, response_format)


def _key(client: AzureLlamaClient | AsyncAzureLlamaClient, request: ChatRequest) -> CapabilityKey:
    cfg = client.config
    return capability_key(
        cfg.endpoint,
        cfg.deployment,
        request.params,
        request.headers,
        api=request.api,
        api_version=cfg.api_version,
    )


def _client_kwargs(request: ChatRequest) -> dict[str, Any]:
    return {
        "api": request.api,
        "model_extras": request.model_extras or None,
        "headers": request.headers,
        "timeout": request.timeout,
    }


def _learn(
    store: CapabilityStore, key: CapabilityKey, plan: Plan, request: ChatRequest, exc: Exception
) -> bool:
    """Record a refusal that "auto" may switch on; False means the error stands."""
    if not isinstance(exc, AzureLlamaError):
        return False
    feature = refused_feature(exc, plan.params)
    mode = request.tool_calling if feature == "tools" else request.structured_output
    if feature is None or mode != "auto":
        return False
    store.record_refusal(key, feature)
    logger.info("%s refused native %s; prompting for it from now on", key[0], feature)
    return True


def _protocol(plan: Plan, repaired: bool = False) -> dict[str, Any]:
    return {"tool_calling": plan.tools, "structured_output": plan.structured, "repaired": repaired}


def _check(data: dict[str, Any], plan: Plan, limits: Limits) -> tuple[str, str] | None:
    """Parse prompted calls in place and validate the JSON answer: (answer, problem) or None."""
    if plan.tools == "prompt":
        apply_to_completion(data, plan.tool_names, limits=limits)
    if plan.schema is None:
        return None
    for choice in data["choices"]:
        message = choice.get("message") or {}
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            continue
        text = message.get("content") or ""
        value, problem = plan.schema.parse(text, limits=limits)
        if problem is not None:
            return text, problem
        choice["message"] = {**message, "content": json.dumps(value, ensure_ascii=False)}
    return None


def _invalid(text: str, problem: str) -> StructuredOutputError:
    return StructuredOutputError(
        f"The answer does not match the requested JSON schema, even after one repair round: "
        f"{excerpt(problem)}.",
        partial_text=text,
        validation_error=problem,
    )


# -- whole answers ------------------------------------------------------------------------------


def chat(
    client: AzureLlamaClient,
    request: ChatRequest,
    *,
    capabilities: CapabilityStore | None = None,
    info_client: AzureLlamaClient | None = None,
) -> dict[str, Any]:
    """One whole chat completion through the Llama protocol (see the module docstring).

    Args:
        client: The transport client of the endpoint.
        request: The call, in OpenAI's shapes.
        capabilities: Where refusals are remembered (default: the process-wide store).
        info_client: The client whose `/info` explains a 404 (default: `client`; LiteLLM
            passes one bound to the call's deployment).
    """
    try:
        plan, answer = _send(client.chat, client, request, capabilities)
        data = cast("dict[str, Any]", answer)
        problem = _check(data, plan, client.limits)
        repaired = problem is not None
        if problem is not None:
            messages = repair_messages(plan.messages, *problem)
            data = cast(
                "dict[str, Any]", client.chat(messages, plan.params, **_client_kwargs(request))
            )
            problem = _check(data, dataclasses.replace(plan, messages=messages), client.limits)
            if problem is not None:
                raise _invalid(*problem)
    except NotFoundError as exc:
        better = _explained(info_client or client, exc, request)
        if better is None:
            raise
        raise better from exc
    data["llama_protocol"] = _protocol(plan, repaired)
    return data


async def achat(
    client: AsyncAzureLlamaClient,
    request: ChatRequest,
    *,
    capabilities: CapabilityStore | None = None,
    info_client: AsyncAzureLlamaClient | None = None,
) -> dict[str, Any]:
    """Async twin of `chat`."""
    try:
        plan, answer = await _asend(client.chat, client, request, capabilities)
        data = cast("dict[str, Any]", answer)
        problem = _check(data, plan, client.limits)
        repaired = problem is not None
        if problem is not None:
            messages = repair_messages(plan.messages, *problem)
            again = await client.chat(messages, plan.params, **_client_kwargs(request))
            data = cast("dict[str, Any]", again)
            problem = _check(data, dataclasses.replace(plan, messages=messages), client.limits)
            if problem is not None:
                raise _invalid(*problem)
    except NotFoundError as exc:
        better = await _aexplained(info_client or client, exc, request)
        if better is None:
            raise
        raise better from exc
    data["llama_protocol"] = _protocol(plan, repaired)
    return data


def _send(
    send: Callable[..., T],
    client: AzureLlamaClient,
    request: ChatRequest,
    capabilities: CapabilityStore | None,
) -> tuple[Plan, T]:
    store = capabilities or CAPABILITIES
    key = _key(client, request)
    for _ in range(_ATTEMPTS):
        plan = plan_chat(request, store.get(key))
        try:
            return plan, send(plan.messages, plan.params, **_client_kwargs(request))
        except AzureLlamaError as exc:
            if not _learn(store, key, plan, request, exc):
                raise
    raise AssertionError("unreachable: each retry follows a new refusal")  # pragma: no cover


async def _asend(
    send: Callable[..., Awaitable[T]],
    client: AsyncAzureLlamaClient,
    request: ChatRequest,
    capabilities: CapabilityStore | None,
) -> tuple[Plan, T]:
    store = capabilities or CAPABILITIES
    key = _key(client, request)
    for _ in range(_ATTEMPTS):
        plan = plan_chat(request, store.get(key))
        try:
            return plan, await send(plan.messages, plan.params, **_client_kwargs(request))
        except AzureLlamaError as exc:
            if not _learn(store, key, plan, request, exc):
                raise
    raise AssertionError("unreachable: each retry follows a new refusal")  # pragma: no cover


def _explained(
    client: AzureLlamaClient, exc: NotFoundError, request: ChatRequest
) -> NotFoundError | None:
    return explain_not_found(client, exc, expected="chat-completion", use=request.use_instead)


async def _aexplained(
    client: AsyncAzureLlamaClient, exc: NotFoundError, request: ChatRequest
) -> NotFoundError | None:
    return await aexplain_not_found(
        client, exc, expected="chat-completion", use=request.use_instead
    )


# -- streams --------------------------------------------------------------------------------------


class _Reader:
    """The pure per-stream step shared by both stream twins: wire chunk → chunks to pass on."""

    def __init__(self, plan: Plan, limits: Limits) -> None:
        self.plan = plan
        self.limits = limits
        self.protocol = _protocol(plan)
        prompted_schema = plan.schema is not None and plan.structured == "prompt"
        self._buffer = (
            ToolCallBuffer(plan.tool_names, hold_all=prompted_schema, limits=limits)
            if plan.tools == "prompt" or prompted_schema
            else None
        )

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        return self._buffer.feed(chunk) if self._buffer is not None else [chunk]

    def close(self) -> list[dict[str, Any]]:
        if self._buffer is None:
            return []
        out = self._buffer.close()
        schema = self.plan.schema
        if schema is None or self._buffer.called or self._buffer.passing:
            return out
        for chunk in out:
            choice = chunk["choices"][0]
            if choice.get("finish_reason") in FILTERED:
                continue
            text = choice["delta"].get("content") or ""
            value, problem = schema.parse(text, limits=self.limits)
            if problem is not None:
                raise _invalid(text, problem)
            choice["delta"]["content"] = json.dumps(value, ensure_ascii=False)
        return out


class _StreamView:
    """What both stream twins expose of the transport stream underneath."""

    def __init__(self, inner: Stream[Any] | AsyncStream[Any], plan: Plan) -> None:
        self.inner = inner
        self._reader = _Reader(plan, inner.limits)

    @property
    def plan(self) -> Plan:
        return self._reader.plan

    @property
    def protocol(self) -> dict[str, Any]:
        """`{"tool_calling", "structured_output", "repaired"}` of this stream."""
        return self._reader.protocol

    @property
    def finish_reason(self) -> str | None:
        return self.inner.finish_reason

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.inner.usage

    @property
    def completed(self) -> bool:
        return self.inner.completed

    @property
    def content_filtered(self) -> bool:
        return self.inner.content_filtered

    @property
    def request_id(self) -> str | None:
        return self.inner.request_id


class LlamaStream(_StreamView):
    """A sync stream of native-looking chunk dicts (prompted calls arrive as tool-call deltas)."""

    inner: Stream[Any]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for chunk in self.inner:
                yield from self._reader.feed(chunk)
            yield from self._reader.close()
        finally:
            self.inner.close()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> LlamaStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncLlamaStream(_StreamView):
    """The async twin of `LlamaStream`."""

    inner: AsyncStream[Any]

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        try:
            async for chunk in self.inner:
                for out in self._reader.feed(chunk):
                    yield out
            for out in self._reader.close():
                yield out
        finally:
            await self.inner.aclose()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> AsyncLlamaStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def chat_stream(
    client: AzureLlamaClient,
    request: ChatRequest,
    *,
    capabilities: CapabilityStore | None = None,
    info_client: AzureLlamaClient | None = None,
) -> LlamaStream:
    """Open a streamed chat completion through the Llama protocol.

    Refusals (and the switch to prompted mode) happen before the first byte, so they never
    show in the stream. A prompted JSON schema is validated when the stream ends (no repair
    round: the answer is held back and released once valid, else `StructuredOutputError`).
    """
    try:
        plan, stream = _send(client.chat_stream, client, request, capabilities)
    except NotFoundError as exc:
        better = _explained(info_client or client, exc, request)
        if better is None:
            raise
        raise better from exc
    return LlamaStream(stream, plan)


async def achat_stream(
    client: AsyncAzureLlamaClient,
    request: ChatRequest,
    *,
    capabilities: CapabilityStore | None = None,
    info_client: AsyncAzureLlamaClient | None = None,
) -> AsyncLlamaStream:
    """Async twin of `chat_stream`."""
    try:
        plan, stream = await _asend(client.chat_stream, client, request, capabilities)
    except NotFoundError as exc:
        better = await _aexplained(info_client or client, exc, request)
        if better is None:
            raise
        raise better from exc
    return AsyncLlamaStream(stream, plan)
