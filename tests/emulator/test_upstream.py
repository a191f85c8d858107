"""Upstream mode: a tiny OpenAI-format server answers, the emulator re-shapes into Azure's wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from azure_llama_emulator import Emulator
from tests._support.emulator import AUTH, chunks, user

USAGE = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}


def _openai_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


TEXT_STREAM = [
    _openai_chunk({"role": "assistant", "content": ""}),
    _openai_chunk({"content": "Hello"}),
    _openai_chunk({"content": " from"}),
    _openai_chunk({"content": " upstream"}),
    _openai_chunk({}, "stop"),
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": USAGE},
]
TOOL_STREAM = [
    _openai_chunk({"role": "assistant"}),
    _openai_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
    _openai_chunk({}, "tool_calls"),
]


class FakeOpenAI:
    """Speaks just enough OpenAI for the relay; records what it received."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        self.paths.append(request.path)
        text = json.dumps(body)
        if "fail" in text:
            return web.json_response({"object": "error", "message": "upstream says no"}, status=400)
        if body.get("stream"):
            items = TOOL_STREAM if "tools" in body else TEXT_STREAM
            return await self._stream(request, items, drop="drop" in text)
        if request.path == "/v1/completions":
            choice = {"index": 0, "text": "Once upon", "finish_reason": "length"}
            return web.json_response({"choices": [choice], "usage": USAGE})
        message = {"role": "assistant", "content": "Hello from upstream"}
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": USAGE,
            }
        )

    async def _stream(
        self, request: web.Request, items: list[dict[str, Any]], *, drop: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for item in items[: 3 if drop else None]:
            await response.write(f"data: {json.dumps(item)}\n\n".encode())
        if drop:
            await response.write_eof()  # ends without [DONE]: an upstream that gave up
            return response
        await response.write(b"data: [DONE]\n\n")
        return response


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    app.router.add_post("/v1/completions", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def relay(upstream: tuple[FakeOpenAI, str], make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(upstream_url=upstream[1], upstream_model="llama3.1:8b")


async def _post(emu: Emulator, path: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emu.url, headers=AUTH, timeout=10, verify=False) as http:
        return await http.post(path, json=body, **kwargs)


async def test_non_stream_is_reshaped(relay: Emulator, upstream: tuple[FakeOpenAI, str]) -> None:
    response = await _post(
        relay, "/chat/completions", {**user("hi"), "top_k": 2}, headers={"extra-parameters": "drop"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "Meta-Llama-3.1-8B-Instruct" and len(body["id"]) == 32
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from upstream", "tool_calls": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == USAGE
    fake = upstream[0]
    assert fake.paths == ["/v1/chat/completions"]
    assert fake.bodies == [{**user("hi"), "stream": False, "model": "llama3.1:8b"}]  # top_k dropped


async def test_stream_is_reshaped_with_usage_on_the_finish_chunk(
    relay: Emulator, upstream: tuple[FakeOpenAI, str]
) -> None:
    response = await _post(relay, "/chat/completions", {**user("hi"), "stream": True})
    events = chunks(response.text)
    assert events[0]["choices"][0]["delta"] == {"content": "", "role": "assistant"}
    assert [e["choices"][0]["delta"].get("content") for e in events[1:]] == [
        "Hello",
        " from",
        " upstream",
    ]
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["usage"] == {"completion_tokens": 3, "prompt_tokens": 4, "total_tokens": 7}
    assert all("usage" not in e for e in events[:-1])
    assert response.text.endswith("data: [DONE]\n\n")
    assert upstream[0].bodies[0]["stream_options"] == {"include_usage": True}


async def test_streamed_tool_call_is_joined(relay: Emulator) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    response = await _post(
        relay, "/chat/completions", {**user("hi"), "tools": tools, "stream": True}
    )
    _role, call_chunk = chunks(response.text)
    choice = call_chunk["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["delta"]["tool_calls"] == [
        {"function": {"arguments": '{"city": "Oslo"}', "name": "get_weather"}, "id": "call_9"}
    ]
    assert "usage" in call_chunk


async def test_checks_run_before_forwarding(
    relay: Emulator, upstream: tuple[FakeOpenAI, str]
) -> None:
    assert (await _post(relay, "/chat/completions", user("BLOCKME"))).status_code == 400
    assert (
        await _post(relay, "/chat/completions", {**user("hi"), "stream_options": {}})
    ).status_code == 400
    assert upstream[0].bodies == []


async def test_upstream_error_is_wrapped(relay: Emulator) -> None:
    response = await _post(relay, "/chat/completions", user("fail"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and "upstream says no" in error["message"]


async def test_completions_relay(
    upstream: tuple[FakeOpenAI, str], make_emulator: Callable[..., Emulator]
) -> None:
    emu = make_emulator(
        upstream_url=upstream[1], model_type="text-generation", model_name="Meta-Llama-3.1-8B"
    )
    body = (await _post(emu, "/completions", {"prompt": "Tell me"})).json()
    assert body["object"] == "text_completion"
    assert (
        body["choices"][0]["text"] == "Once upon"
        and body["choices"][0]["finish_reason"] == "length"
    )
    assert upstream[0].paths == ["/v1/completions"]


async def test_unreachable_upstream_is_502(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(upstream_url="http://127.0.0.1:9")
    response = await _post(emu, "/chat/completions", user("hi"))
    assert response.status_code == 502


async def test_upstream_stream_cut_is_relayed_as_a_drop(relay: Emulator) -> None:
    lines: list[str] = []
    async with httpx.AsyncClient(
        base_url=relay.url, headers=AUTH, timeout=10, verify=False
    ) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            body = {**user("drop"), "stream": True}
            async with http.stream("POST", "/chat/completions", json=body) as response:
                async for line in response.aiter_lines():
                    lines.append(line)
    events = [line for line in lines if line]
    # The role chunk, then "Hello" (" from" was held back to ride on a finish that never came).
    assert len(events) == 2 and '"content":"Hello"' in events[1]
