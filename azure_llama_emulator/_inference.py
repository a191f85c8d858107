"""The inference pipeline, after auth and routing, in the order the service applies its checks.

JSON (422) -> fault (header or queue) -> rate limit (429, the gateway) -> prompt filter (400,
serverless, foundry and openai-v1, not the Llama-native routes) -> body validation (400/422)
-> backend checks (vLLM 400: tools, images, context window) -> answer, from the deterministic
responder or the upstream server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from . import _openai_errors, _shapes, _stream, _wire
from ._config import EmulatorConfig
from ._faults import Fault, FaultSyntaxError, parse_fault
from ._models import facts
from ._responder import Prompt, Reply, count_prompt_tokens, respond, text_of
from ._state import State
from ._upstream import Upstream, azure_events, reshape
from ._validate import (
    Route,
    check_backend,
    check_context,
    check_images,
    parse_body,
    response_schema,
    validate,
)

# `x-emulator-reply-tokens` beyond this is a 400: the answer is built in memory.
MAX_REPLY_TOKENS = 100_000


async def answer(
    request: web.Request, state: State, route: Route, model: str, deployment: str | None, raw: bytes
) -> web.StreamResponse:
    """Run the inference pipeline (module docstring) for one authenticated, routed request."""
    config = state.config
    body = parse_body(raw)
    fault = await _apply_fault(request, state, streaming=_streaming(body))
    messages = _messages(body, route)
    prompt_tokens = count_prompt_tokens(messages)
    _rate_limit(state, body, prompt_tokens)
    # Foundry deployments carry a content filter too (docs/wire-protocol.md §19).
    safety = config.kind in ("serverless", "foundry", "openai-v1") and not route.native
    if safety:
        _prompt_filter(messages, config, openai=route.openai)
    accept_schema = config.response_format_mode == "accept"
    extra_mode = request.headers.get("extra-parameters")
    body = validate(body, route, extra_mode, accept_json_schema=accept_schema)
    check_backend(body, reject_tools=config.tool_mode == "reject")
    model_facts = facts(model)
    if route.chat:
        check_images(body, model_facts.images, model_facts.max_images)
    check_context(prompt_tokens, _max_tokens(body), model_facts.context_window)
    if config.tool_mode == "ignore":
        body = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}
    headers = _wire.answer_headers(deployment, safety=safety)
    writer = _Answer(request, state, route, body, _shapes.Meta.new(model), headers)
    if state.upstream is not None:
        return await writer.relay(state.upstream, fault, prompt_tokens)
    return await writer.local(_prompt(request, body, messages, model, safety, config), fault)


async def _apply_fault(request: web.Request, state: State, *, streaming: bool) -> Fault | None:
    """Start the fault due for this request; return it when it acts on the stream later."""
    fault = _fault_for(request, state, streaming=streaming)
    if fault is None:
        return None
    if fault.kind == "slow_first_byte":
        await asyncio.sleep(fault.seconds)
        return None
    if fault.kind == "status":
        raise _wire.from_fault(fault)
    return fault if streaming else None


def _fault_for(request: web.Request, state: State, *, streaming: bool) -> Fault | None:
    header = request.headers.get("x-emulator-fault")
    if header is None:
        return state.faults.take(streaming=streaming)
    try:
        return parse_fault(header)
    except FaultSyntaxError as exc:
        raise _wire.bad_emulator_header(str(exc)) from exc


def _streaming(body: dict[str, Any]) -> bool:
    flag = body.get("stream")
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def _messages(body: dict[str, Any], route: Route) -> list[dict[str, Any]]:
    if route.chat:
        messages = body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        prompt = "\n".join(str(p) for p in prompt)
    return [{"role": "user", "content": prompt if isinstance(prompt, str) else ""}]


def _rate_limit(state: State, body: dict[str, Any], prompt_tokens: int) -> None:
    max_tokens = _max_tokens(body)
    cost = prompt_tokens + (max_tokens if isinstance(max_tokens, int) else 0)
    wait = state.limiter.admit(cost)
    if wait is not None:
        raise _wire.rate_limited(wait)


def _prompt_filter(messages: list[dict[str, Any]], config: EmulatorConfig, *, openai: bool) -> None:
    for message in messages:
        text = text_of(message)
        if config.jailbreak_trigger and config.jailbreak_trigger in text:
            raise (
                _openai_errors.content_filtered("jailbreak")
                if openai
                else _wire.jailbreak_filtered()
            )
        if config.prompt_filter_trigger and config.prompt_filter_trigger in text:
            raise _openai_errors.content_filtered("violence") if openai else _wire.prompt_filtered()


def _max_tokens(body: dict[str, Any]) -> Any:
    # OpenAI clients on the v1 route may send the newer spelling.
    value = body.get("max_tokens")
    return body.get("max_completion_tokens") if value is None else value


def _prompt(
    request: web.Request,
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    model: str,
    safety: bool,
    config: EmulatorConfig,
) -> Prompt:
    stop = body.get("stop")
    tools = body.get("tools") if isinstance(body.get("tools"), list) else ()
    return Prompt(
        messages=messages,
        model_name=model,
        tools=tools or (),
        tool_choice=body.get("tool_choice"),
        response_schema=response_schema(body) if config.response_format_mode == "accept" else None,
        max_tokens=_max_tokens(body),
        family=facts(model).family,
        parallel_calls=_parallel_calls(request),
        stop=[stop] if isinstance(stop, str) else list(stop or ()),
        reply_tokens=_reply_tokens(request),
        output_filter=config.output_filter_trigger if safety else "",
        json_fence=config.json_fence,
        seed_text=_wire.dumps(body),
    )


def _parallel_calls(request: web.Request) -> int | None:
    header = request.headers.get("x-emulator-parallel-calls")
    if header is None:
        return None
    if not header.strip().isdigit() or not 1 <= int(header) <= _MAX_PARALLEL:
        raise _wire.bad_emulator_header(
            f"x-emulator-parallel-calls must be a count from 1 to {_MAX_PARALLEL}, not {header!r}"
        )
    return int(header)


_MAX_PARALLEL = 16


def _reply_tokens(request: web.Request) -> int | None:
    header = request.headers.get("x-emulator-reply-tokens")
    if header is None:
        return None
    if not header.strip().isdigit():
        raise _wire.bad_emulator_header(f"x-emulator-reply-tokens must be a count, not {header!r}")
    count = int(header)
    if count > MAX_REPLY_TOKENS:
        raise _wire.bad_emulator_header(
            f"x-emulator-reply-tokens is {count}; at most {MAX_REPLY_TOKENS}"
        )
    return count


class _Answer:
    """Writes the success answer of one inference request, locally or from upstream."""

    def __init__(
        self,
        request: web.Request,
        state: State,
        route: Route,
        body: dict[str, Any],
        meta: _shapes.Meta,
        headers: dict[str, str],
    ) -> None:
        self.request = request
        self.state = state
        self.route = route
        self.body = body
        self.meta = meta
        self.headers = headers

    async def local(self, prompt: Prompt, fault: Fault | None) -> web.StreamResponse:
        reply = respond(prompt)
        streaming = bool(self.body.get("stream"))
        # `n` is honoured in plain answers only; streams always carry one choice.
        replies = [reply] * (1 if streaming else _choice_count(self.body))
        if prompt.max_tokens is None:
            self.state.limiter.charge(sum(r.completion_tokens for r in replies))
        if streaming:
            if self.route.chat:
                chunks = _shapes.chat_events(self.meta, reply, indexed=self.route.openai)
            else:
                chunks = _shapes.text_events(self.meta, reply)
            source = _stream.from_iterable(chunks)
            return await self._send(source, fault, live=False)
        return self._complete(replies)

    async def relay(
        self, upstream: Upstream, fault: Fault | None, prompt_tokens: int
    ) -> web.StreamResponse:
        path = "/v1/chat/completions" if self.route.chat else "/v1/completions"
        chat = self.route.chat
        if not self.body.get("stream"):
            result = await upstream.complete(path, self.body)
            shaped = reshape(result, self.meta, chat=chat, prompt_tokens=prompt_tokens)
            return _wire.json_response(shaped, self.headers)
        async with upstream.stream(path, self.body) as chunks:
            events = azure_events(chunks, self.meta, chat=chat, prompt_tokens=prompt_tokens)
            return await self._send(events, fault, live=True)

    def _complete(self, replies: list[Reply]) -> web.Response:
        shape = _shapes.chat_completion if self.route.chat else _shapes.text_completion
        used = _shapes.reply_usage(replies)
        # Recorded on non-streaming MaaS answers only.
        headers = {
            **self.headers,
            "prompt_token_len": str(used["prompt_tokens"]),
            "sampling_token_len": str(used["completion_tokens"]),
        }
        return _wire.json_response(shape(self.meta, replies), headers)

    async def _send(self, events: Any, fault: Fault | None, *, live: bool) -> web.StreamResponse:
        delay = self.state.config.chunk_delay
        return await _stream.send(
            self.request, self.headers, events, fault=fault, delay=delay, live=live
        )


def _choice_count(body: dict[str, Any]) -> int:
    # `n` only survives validation on /v1 routes or with extra-parameters: pass-through.
    n = body.get("n")
    return n if isinstance(n, int) and n > 1 else 1
