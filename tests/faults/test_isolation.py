"""Isolation between threads, calls, endpoints and keys (issue 19, item 4).

- Threads that each open and close their own event loop share one async client: every call gets
  its answer (the per-loop pool dict was changed from several threads without a lock, and 14-25
  of 200 calls failed with a bare `KeyError`).
- Cookies an endpoint sets are never sent back (they piled up into a 783 KB `Cookie` header).
- LiteLLM's memo of calls whose retries were spent answers only the repeat of that call: a
  `litellm_call_id` reused for another endpoint or key gets its own request.
- Refusal memory: a 400 that quotes vLLM's sentence is not a refusal; a refusal holds for its
  route and expires.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import litellm
import pytest

import azure_llama_transport as t
from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama, RequestValidationError
from tests._support.faults import KEY, LITELLM_MODEL, MODEL, REPLY, TOKENS_HEADER
from tests._support.raw_server import RawServer, chat_completion, http_response, reply

THREADS = 8
CALLS = 25  # per thread: 200 calls, each on a loop of its own that is closed right after
# Threads switch every 1 µs instead of 5 ms, so that races show up in a short run.
SWITCH_S = 1e-6
HANG_GUARD = 120.0  # seconds for all threads together
MESSAGES = [{"role": "user", "content": "hi"}]
Call = Callable[[], Awaitable[str]]


def _transport(url: str, backend: t.AsyncBackend) -> tuple[Call, Any]:
    client = t.AsyncAzureLlamaClient(
        url, api_key=KEY, max_retries=0, backend=backend, default_headers=TOKENS_HEADER
    )

    async def call() -> str:
        answer = await client.chat(MESSAGES)
        return str(answer["choices"][0]["message"]["content"])

    return call, client


def _langchain(url: str) -> tuple[Call, Any]:
    model = ChatAzureLlama(
        endpoint=url, api_key=KEY, model=MODEL, max_retries=0, default_headers=TOKENS_HEADER
    )

    async def call() -> str:
        return (await model.ainvoke("hi")).text

    return call, model._async_client


# (make, shut down async generators before closing the loop). The aiohttp pool of a loop closed
# under it is released without the loop; an httpx pool can only close on its loop, as
# `asyncio.run` lets it (`shutdown_asyncgens`), else its sockets are left to the collector.
FRONTS = [
    pytest.param(lambda url: _transport(url, "aiohttp"), False, id="transport-aiohttp"),
    pytest.param(lambda url: _transport(url, "httpx"), True, id="transport-httpx"),
    pytest.param(_langchain, False, id="langchain-ainvoke"),
]


@pytest.mark.parametrize(("make", "shutdown"), FRONTS)
def test_threads_with_their_own_short_lived_loops_all_get_their_answer(
    make: Callable[[str], tuple[Call, Any]], shutdown: bool, emu: Emulator
) -> None:
    """The reproducer's pattern: each thread runs `new_event_loop()`, one call, `close()`, 25
    times; 8 threads at once, one client (one model) between them. (LiteLLM's `acompletion`
    goes through the same transport client, but LiteLLM's own logging worker does not survive
    a loop closed under it, so it is not driven this way.)"""
    call, _ = make(emu.url)
    answers: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker() -> None:
        for _ in range(CALLS):
            # All threads call at once: each finds the others' closed loops to forget.
            start.wait(HANG_GUARD)
            loop = asyncio.new_event_loop()
            try:
                text = loop.run_until_complete(call())
            except Exception as exc:
                with lock:
                    failures.append(exc)
            else:
                with lock:
                    answers.append(text)
            finally:
                if shutdown:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_S)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "calls hung"
    assert [repr(exc) for exc in failures] == []
    assert answers == [REPLY] * THREADS * CALLS


# -- cookies ------------------------------------------------------------------------------------

COOKIES_PER_ANSWER = 100
COOKIE_CALLS = 5


def _cookie_flood(call: int) -> bytes:
    """An answer setting 100 new cookies (the hostile endpoint's pattern: new names every time)."""
    body = chat_completion()
    lines = [
        "HTTP/1.1 200 OK",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"Set-Cookie: c{call}_{n}={'x' * 20}; Path=/" for n in range(COOKIES_PER_ANSWER)),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("mode", ["sync", "async-aiohttp", "async-httpx", "langchain-invoke"])
async def test_cookies_an_endpoint_sets_are_never_sent_back(mode: str) -> None:
    """The own pools keep no cookie jar: whatever an answer sets, no request carries a `Cookie`
    header (it grew to 783 KB after 200 calls of 100 new cookies each)."""
    scripts = [reply(_cookie_flood(n)) for n in range(COOKIE_CALLS)]
    with RawServer(scripts) as server:
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY, max_retries=0) as client:
                for _ in range(COOKIE_CALLS):
                    client.chat(MESSAGES)
        elif mode == "langchain-invoke":
            model = ChatAzureLlama(endpoint=server.url, api_key=KEY, model=MODEL)
            for _ in range(COOKIE_CALLS):
                model.invoke("hi")
            model.close()
        else:
            backend: t.AsyncBackend = "httpx" if mode == "async-httpx" else "aiohttp"
            async with t.AsyncAzureLlamaClient(
                server.url, api_key=KEY, max_retries=0, backend=backend
            ) as aclient:
                for _ in range(COOKIE_CALLS):
                    await aclient.chat(MESSAGES)
    assert len(server.requests) == COOKIE_CALLS
    assert [b"\r\ncookie:" in request.lower() for request in server.requests] == [
        False
    ] * COOKIE_CALLS


# -- LiteLLM's memo of calls whose retries were spent -------------------------------------------

OTHER_KEY = "fault-suite-other-key-91b3c07d5e2a"


@pytest.mark.parametrize("mode", ["completion", "acompletion"])
@pytest.mark.parametrize(
    ("first", "repeat"),
    [
        pytest.param("wrong-key", True, id="same-endpoint-same-key-is-a-repeat"),
        pytest.param("wrong-key", False, id="same-endpoint-other-key"),
        pytest.param("other-endpoint", False, id="other-endpoint-other-key"),
    ],
)
async def test_a_reused_litellm_call_id_elsewhere_gets_its_own_request(
    mode: str, first: str, repeat: bool, emu: Emulator
) -> None:
    """A call fails after its retries (the provider remembers it, so that LiteLLM's own repeat
    of it sends nothing); a second call with the same `litellm_call_id` to another endpoint or
    with another key is not that repeat: it is sent and gets its own answer."""
    call_id = f"shared-call-id-{mode}-{first}-{repeat}"
    send = litellm.acompletion if mode == "acompletion" else litellm.completion

    async def call(api_base: str, api_key: str, max_retries: int) -> Any:
        answer = send(
            model=LITELLM_MODEL,
            api_base=api_base,
            api_key=api_key,
            messages=MESSAGES,
            max_retries=max_retries,
            litellm_call_id=call_id,
            extra_headers=TOKENS_HEADER,
        )
        return await answer if mode == "acompletion" else answer

    with RawServer(reply(http_response("401 Unauthorized", b"{}"))) as other:
        first_base = other.url if first == "other-endpoint" else emu.url
        with pytest.raises(litellm.AuthenticationError):
            await call(first_base, OTHER_KEY, 1)
        sent = len(emu.requests)
        second_key = OTHER_KEY if repeat else KEY
        if repeat:  # LiteLLM's own repeat of the failed call: the remembered error, not sent
            with pytest.raises(litellm.AuthenticationError):
                await call(first_base, second_key, 0)
            assert len(emu.requests) == sent
        else:
            answer = await call(emu.url, second_key, 0)
            assert answer.choices[0].message.content == REPLY
            assert len(emu.requests) == sent + 1


# -- refusal memory -----------------------------------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
VLLM = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


async def _llama_chat(mode: str, url: str, request: t.ChatRequest, store: Any) -> Any:
    if mode == "sync":
        with t.AzureLlamaClient(url, api_key=KEY, max_retries=0) as client:
            return t.chat(client, request, capabilities=store)
    async with t.AsyncAzureLlamaClient(url, api_key=KEY, max_retries=0) as aclient:
        return await t.achat(aclient, request, capabilities=store)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_400_quoting_vllms_refusal_does_not_switch_the_endpoint(mode: str) -> None:
    """A caller's text that contains vLLM's sentence, quoted back in an ordinary 400, is that
    caller's error: it is raised, and the next caller with tools still gets native tools."""
    quoted = {"error": {"code": "Bad Request", "message": f"Invalid content: '{VLLM}'"}}
    answer = http_response("400 Bad Request", json.dumps(quoted).encode())
    store = t.CapabilityStore()
    with RawServer(reply(answer)) as server:
        with pytest.raises(t.BadRequestError, match="Invalid content"):
            await _llama_chat(
                mode, server.url, t.ChatRequest(MESSAGES, {"tools": [WEATHER]}), store
            )
        assert server.hits == 1  # not retried as a prompted call
        key = t.capability_key(server.url, None, {}, api_version=t.DEFAULT_API_VERSION)
    assert not store.get(key).refuses_tools


@pytest.fixture(scope="module")
def rejecting() -> Iterator[Emulator]:
    """An endpoint whose vLLM was started without tool parsing: `tools` get vLLM's 400."""
    with Emulator(EmulatorConfig(api_key=KEY, model_name=MODEL, tool_mode="reject")) as emu:
        yield emu


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_refusal_holds_for_its_route_only_and_expires(
    mode: str, rejecting: Emulator
) -> None:
    """Learned on `/chat/completions`, a refusal does not switch `/v1/chat/completions`; after
    the store's `ttl` native tools are tried again (one refused request, then prompted)."""
    now = [0.0]
    store = t.CapabilityStore(ttl=60, clock=lambda: now[0])

    async def tools_sent(api: t.Api) -> list[bool]:
        rejecting.clear()
        request = t.ChatRequest(MESSAGES, {"tools": [WEATHER]}, api=api)
        await _llama_chat(mode, rejecting.url, request, store)
        return ["tools" in json.loads(r.body) for r in rejecting.requests]

    assert await tools_sent("inference") == [True, False]  # refused, then prompted
    assert await tools_sent("inference") == [False]  # remembered
    assert await tools_sent("llama") == [True, False]  # another route: learned on its own
    now[0] = 61.0
    assert await tools_sent("inference") == [True, False]  # expired: native tried again


# -- model_copy ---------------------------------------------------------------------------------


def _head(request: bytes) -> dict[str, str]:
    lines = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (ln.partition(":") for ln in lines)}


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_model_copy_to_another_endpoint_and_key_sends_there(mode: str) -> None:
    """`model_copy(update={"endpoint": ..., "api_key": ...})` reported the new values but sent to
    the old endpoint with the old key (its clients were the original's)."""
    answer = reply(http_response(body=chat_completion()))
    with RawServer(answer) as old, RawServer(answer) as new:
        new_url = new.url
        model = ChatAzureLlama(endpoint=old.url, api_key=KEY, model=MODEL, max_retries=0)
        copy = model.model_copy(update={"endpoint": new_url, "api_key": OTHER_KEY})
        cooler = model.model_copy(update={"temperature": 0.1})
        for each in (copy, model, cooler):
            if mode == "ainvoke":
                await each.ainvoke("hi")
            else:
                each.invoke("hi")
        # `cooler` shares `model`'s clients (same endpoint and key): closed once, after both.
        for each in (copy, model):
            await each.aclose()
            each.close()
    assert copy.endpoint == new_url and copy.api_key is not None
    assert copy.api_key.get_secret_value() == OTHER_KEY
    assert [_head(r)["api-key"] for r in new.requests] == [OTHER_KEY]
    assert [_head(r)["api-key"] for r in old.requests] == [KEY, KEY]
    assert OTHER_KEY not in repr(copy)


def test_model_copy_refuses_a_bad_endpoint_with_the_typed_error() -> None:
    model = ChatAzureLlama(endpoint="http://127.0.0.1:1", api_key=KEY, model=MODEL)
    with pytest.raises(RequestValidationError):
        model.model_copy(update={"endpoint": "ftp://nowhere"})
