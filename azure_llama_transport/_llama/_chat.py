"""One chat call through the Llama protocol: plan, send, switch on refusal, parse back, repair.

`chat` / `achat` return a native-looking chat completion dict; `chat_stream` / `achat_stream`
return a `LlamaStream` / `AsyncLlamaStream` yielding native-looking chunk dicts, every streamed
tool call with its `index` (`_answers.ToolCallNumbers`) and `usage` normalised. A `max_tokens`
above what the model can produce is refused before anything is sent; a 404 from a base-model
deployment is explained (`explain_not_found`). Whatever mode
was used, prompted tool calls come back as `tool_calls` (deltas on streams), a prompted JSON
answer as its canonical JSON text, and the mode is reported in the answer's `llama_protocol`
key (`{"tool_calling", "structured_output", "repaired"}`, plus `reason` / `format` / `family` when
tools were prompted; streams: the `.protocol` attribute). A deployment that ignores native
`tools` in "auto" (it answers as a model Azure lists without tool calling, or with text where a
tool was forced) is asked again prompted, once, inside the same call, and remembered. A prompted
answer without a call where the caller forced one (``tool_choice`` "required" or a named tool)
raises `ResponseDecodeError`: never a plain answer where a call was required.

The sync and async twins share every pure step (`plan_chat`, `_learn`, `_check`, `_Reader`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

from .._answers import ToolCallNumbers, normalize_answer
from .._catalogue import aexplain_not_found, check_max_tokens, explain_not_found
from .._client import AsyncAzureLlamaClient, AzureLlamaClient
from .._errors import AzureLlamaError, NotFoundError, ResponseDecodeError, StructuredOutputError
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
from ._formats import style_of
from ._plan import ChatRequest, ModelFacts, Plan, model_facts, model_name, plan_chat
from ._schema import repair_messages
from ._tools import FILTERED, ToolCallBuffer, apply_to_completion

__all__ = ["AsyncLlamaStream", "LlamaStream", "achat", "achat_stream", "chat", "chat_stream"]

logger = logging.getLogger("azure_llama_transport")
T = TypeVar("T")
_ATTEMPTS = 3  # native, then at most one switch per feature (tools, response_format)
_ERROR_TEXT = 1000  # characters of a forced stream's text kept for its error
_NO_DELTA: dict[str, Any] = {}


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
        "model_hint": request.model,
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
    """How the call ran; for prompted tools also why, in which of Meta's formats, for which
    family (`reason`: "requested", "catalogue", "refused" or "ignored", see `_plan.Reason`)."""
    out: dict[str, Any] = {
        "tool_calling": plan.tools,
        "structured_output": plan.structured,
        "repaired": repaired,
    }
    if plan.tools == "prompt":
        out["reason"] = plan.reason
        out["format"] = style_of(plan.facts.family)
        out["family"] = plan.facts.family
    return out


# -- asking again, prompted, when native tools were ignored -------------------------------------


def _watching(plan: Plan, request: ChatRequest) -> bool:
    """Whether this attempt's answer may show that the endpoint ignores native `tools`."""
    return request.tool_calling == "auto" and plan.tools == "native" and "tools" in plan.params


def _served_without_tools(served: object) -> bool:
    return isinstance(served, str) and model_facts(served).tools_listed_no


def _ignored_whole(data: dict[str, Any], plan: Plan, request: ChatRequest) -> bool:
    """Native `tools` were sent and the answer has no call, yet it names a model Azure lists
    without tool calling, or the caller forced a tool: the call is asked again, prompted."""
    if not _watching(plan, request):
        return False
    choices = data.get("choices") or []
    for choice in choices:
        message = choice.get("message") or {}
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            return False
    return bool(choices) and (_served_without_tools(data.get("model")) or plan.forced)


def _reasked(
    client: AzureLlamaClient | AsyncAzureLlamaClient,
    request: ChatRequest,
    capabilities: CapabilityStore | None,
    served: object,
) -> Plan:
    """Remember that the endpoint ignores native tools; plan the prompted attempt."""
    store = capabilities or CAPABILITIES
    key = _key(client, request)
    store.record_refusal(key, "tools")
    logger.info("%s ignored native tools; asking again prompted, and from now on", key[0])
    if _served_without_tools(served):
        facts = model_facts(cast("str", served))
    else:
        facts = model_facts(model_name(request, client.config.deployment))
    return plan_chat(request, store.get(key), facts=facts, ignored=True)


def _uncalled(plan: Plan, text: str) -> ResponseDecodeError:
    """A prompted answer with no call where the caller forced one (a plain answer would end a
    LangChain agent's `ToolStrategy` with no structured response and no error)."""
    return ResponseDecodeError(
        f"tool_choice forced a call to {_forced_what(plan)}, but the model (tools prompted, "
        f"{plan.facts.family or 'unknown'} format) answered without one: {excerpt(text)!r}.",
        partial_text=text,
    )


def _forced_what(plan: Plan) -> str:
    names = sorted(plan.tool_names)
    return repr(names[0]) if len(names) == 1 else "one of " + ", ".join(map(repr, names))


def _answers_forced_call(data: dict[str, Any], plan: Plan) -> None:
    """Raise `_uncalled` when a prompted answer has no call although a tool was forced."""
    if plan.tools != "prompt" or not plan.forced or not plan.tool_names:
        return
    choices = data.get("choices") or []
    for choice in choices:
        message = choice.get("message") or {}
        if message.get("tool_calls") or choice.get("finish_reason") in FILTERED:
            return
    if choices:
        raise _uncalled(plan, (choices[0].get("message") or {}).get("content") or "")


def _check(data: dict[str, Any], plan: Plan, limits: Limits) -> tuple[str, str] | None:
    """Parse prompted calls in place and validate the JSON answer: (answer, problem) or None."""
    if plan.tools == "prompt":
        apply_to_completion(data, plan.tool_names, limits=limits)
        _answers_forced_call(data, plan)
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
        if _ignored_whole(data, plan, request):
            plan = _reasked(client, request, capabilities, data.get("model"))
            again = client.chat(plan.messages, plan.params, **_client_kwargs(request))
            data = cast("dict[str, Any]", again)
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
    return cast("dict[str, Any]", normalize_answer(data))


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
        if _ignored_whole(data, plan, request):
            plan = _reasked(client, request, capabilities, data.get("model"))
            again = await client.chat(plan.messages, plan.params, **_client_kwargs(request))
            data = cast("dict[str, Any]", again)
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
    return cast("dict[str, Any]", normalize_answer(data))


def _send(
    send: Callable[..., T],
    client: AzureLlamaClient,
    request: ChatRequest,
    capabilities: CapabilityStore | None,
) -> tuple[Plan, T]:
    store = capabilities or CAPABILITIES
    key = _key(client, request)
    facts = _checked_facts(request, client.config.deployment)
    for _ in range(_ATTEMPTS):
        plan = plan_chat(request, store.get(key), facts=facts)
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
    facts = _checked_facts(request, client.config.deployment)
    for _ in range(_ATTEMPTS):
        plan = plan_chat(request, store.get(key), facts=facts)
        try:
            return plan, await send(plan.messages, plan.params, **_client_kwargs(request))
        except AzureLlamaError as exc:
            if not _learn(store, key, plan, request, exc):
                raise
    raise AssertionError("unreachable: each retry follows a new refusal")  # pragma: no cover


def _checked_facts(request: ChatRequest, deployment: str | None) -> ModelFacts:
    """The model's facts, once a `max_tokens` above what it can produce is refused (before
    anything is sent; by the same name the protocol decides by)."""
    name = model_name(request, deployment)
    max_tokens = request.params.get("max_tokens")
    if max_tokens is not None:  # (the catalogue lookup behind the check is not free)
        check_max_tokens(name, max_tokens)
    return model_facts(name)


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
    """The pure per-stream step shared by both stream twins: wire chunk → chunks to pass on.

    While `watching` (native `tools` sent in "auto"), chunks are held until the answer shows
    whether the endpoint used them: a tool-call delta, or the first chunk naming a served
    model; when the caller forced a tool, text is held to the end. `reask` becomes True when
    the answer names a model Azure lists without tool calling, or ends as text although a tool
    was forced: nothing held has reached the user, and the stream asks again, prompted.
    """

    def __init__(self, plan: Plan, limits: Limits, *, watching: bool = False) -> None:
        self.plan = plan
        self.limits = limits
        self.protocol = _protocol(plan)
        self.watching = watching
        self.reask = False
        self.served: object = None
        self._waiting: list[dict[str, Any]] = []
        self._forced = plan.tools == "prompt" and plan.forced and bool(plan.tool_names)
        self._native_call = self._filtered = False
        self._text = ""
        self._numbers = ToolCallNumbers()
        prompted_schema = plan.schema is not None and plan.structured == "prompt"
        self._buffer = (
            ToolCallBuffer(plan.tool_names, hold_all=prompted_schema, limits=limits)
            if plan.tools == "prompt" or prompted_schema
            else None
        )

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if self.watching:
            return self._numbered(self._watch(chunk))
        if self._buffer is None:
            choices = chunk.get("choices")
            if choices and (choices[0].get("delta") or _NO_DELTA).get("tool_calls"):
                self._numbers.number(choices[0]["delta"]["tool_calls"])
            return [chunk]
        if self._forced:
            self._note(chunk)
        return self._numbered(self._buffer.feed(chunk))

    def _note(self, chunk: dict[str, Any]) -> None:
        """What `_check_forced` needs of a forced prompted stream: a native call, a filtered
        finish, and the start of the text (for the error)."""
        choices = chunk.get("choices") or []
        if not choices:
            return
        delta = choices[0].get("delta") or {}
        self._native_call = self._native_call or bool(delta.get("tool_calls"))
        self._filtered = self._filtered or choices[0].get("finish_reason") in FILTERED
        content = delta.get("content")
        if isinstance(content, str) and len(self._text) < _ERROR_TEXT:
            self._text += content[: _ERROR_TEXT - len(self._text)]

    def _numbered(self, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`chunks` with an `index` on every tool call (`ToolCallNumbers`' one rule)."""
        for chunk in chunks:
            choices = chunk.get("choices")
            if choices and (choices[0].get("delta") or _NO_DELTA).get("tool_calls"):
                self._numbers.number(choices[0]["delta"]["tool_calls"])
        return chunks

    def _watch(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        self._waiting.append(chunk)
        choices = chunk.get("choices") or []
        delta = (choices[0].get("delta") or {}) if choices else {}
        if delta.get("tool_calls") or (choices and choices[0].get("finish_reason") in FILTERED):
            return self._decided()  # the endpoint used the tools (or the answer was cut)
        if self.served is None and isinstance(chunk.get("model"), str):
            self.served = chunk["model"]
            if _served_without_tools(self.served):
                self.reask = True
                return []
            if not self.plan.forced:
                return self._decided()
        return []

    def _decided(self) -> list[dict[str, Any]]:
        self.watching = False
        out, self._waiting = self._waiting, []
        return out

    def close(self) -> list[dict[str, Any]]:
        if self.watching:
            if self.plan.forced and self._waiting:
                self.reask = True  # text where a tool was forced
                return []
            return self._numbered(self._decided())
        if self._buffer is None:
            return []
        out = self._numbered(self._buffer.close())
        self._check_forced(out)
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

    def _check_forced(self, out: list[dict[str, Any]]) -> None:
        """A prompted stream that ends without a call where one was forced raises (its text
        has already streamed: the error says what it was)."""
        if not self._forced or self._native_call or self._filtered:
            return
        for chunk in out:
            choices = chunk.get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("tool_calls"):
                return
        raise _uncalled(self.plan, self._text)


class _StreamView:
    """What both stream twins expose of the transport stream underneath."""

    def __init__(
        self,
        inner: Stream[Any] | AsyncStream[Any],
        plan: Plan,
        *,
        watching: bool = False,
        reopen: Callable[[object], Any] | None = None,
    ) -> None:
        self.inner = inner
        self._reader = _Reader(plan, inner.limits, watching=watching and reopen is not None)
        self._reopen = reopen

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
            yield from self._read()
            if self._reader.reask and self._reopen is not None:
                self.inner.close()  # nothing of it reached the caller
                plan, self.inner = self._reopen(self._reader.served)
                self._reader = _Reader(plan, self.inner.limits)
                yield from self._read()
        finally:
            self.inner.close()

    def _read(self) -> Iterator[dict[str, Any]]:
        for chunk in self.inner:
            yield from self._reader.feed(chunk)
            if self._reader.reask:
                return
        yield from self._reader.close()

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
            async for out in self._read():
                yield out
            if self._reader.reask and self._reopen is not None:
                await self.inner.aclose()  # nothing of it reached the caller
                plan, self.inner = await self._reopen(self._reader.served)
                self._reader = _Reader(plan, self.inner.limits)
                async for out in self._read():
                    yield out
        finally:
            await self.inner.aclose()

    async def _read(self) -> AsyncIterator[dict[str, Any]]:
        async for chunk in self.inner:
            for out in self._reader.feed(chunk):
                yield out
            if self._reader.reask:
                return
        for out in self._reader.close():
            yield out

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
    show in the stream. When native `tools` were sent in "auto", chunks are held until the
    answer shows the endpoint used them (see `_Reader`); if it ignored them, the stream is
    closed and the call re-sent prompted before anything reached the caller.
    A prompted JSON schema is validated when the stream ends (no repair
    round: the answer is held back and released once valid, else `StructuredOutputError`).
    """
    try:
        plan, stream = _send(client.chat_stream, client, request, capabilities)
    except NotFoundError as exc:
        better = _explained(info_client or client, exc, request)
        if better is None:
            raise
        raise better from exc

    def reopen(served: object) -> tuple[Plan, Stream[Any]]:
        again = _reasked(client, request, capabilities, served)
        return again, client.chat_stream(again.messages, again.params, **_client_kwargs(request))

    return LlamaStream(stream, plan, watching=_watching(plan, request), reopen=reopen)


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

    async def reopen(served: object) -> tuple[Plan, AsyncStream[Any]]:
        again = _reasked(client, request, capabilities, served)
        opened = await client.chat_stream(again.messages, again.params, **_client_kwargs(request))
        return again, opened

    return AsyncLlamaStream(stream, plan, watching=_watching(plan, request), reopen=reopen)
