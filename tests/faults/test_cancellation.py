"""A caller that stops reading a stream early releases its connection: checked in the pools.

Each stream asks for 3,000 tokens (far more than the two chunks read), so the connection is
mid-body when it is abandoned. Busy connections are counted in the pool itself: httpcore's pool
for the sync clients, aiohttp's connector (`_acquired`) for the async ones. After abandoning, a
whole call on the same pool must still give the complete answer.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import litellm
import pytest

import azure_llama_transport as t
from azure_llama_emulator import Emulator
from tests._support.faults import KEY, REPLY, Driver, Drivers

LONG = {"x-emulator-reply-tokens": "3000"}
USER = [{"role": "user", "content": "tell me everything"}]
# Abandoned async generators are closed by the event loop's async-generator finalizer on a
# later loop iteration; this many iterations (each yielding to the loop) is the hang guard.
_MAX_TICKS = 200


def sync_busy(client: t.AzureLlamaClient) -> int:
    pool = client._http.pool  # type: ignore[union-attr]  # the own transport's httpcore pool
    active = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return len(active) + len(pool._requests)


async def async_busy(client: t.AsyncAzureLlamaClient) -> int:
    http = await client._http()
    session = http.session  # type: ignore[union-attr]  # the direct aiohttp path's session
    return len(session.connector._acquired)


async def released_sync(client: t.AzureLlamaClient, *, collect: bool = False) -> bool:
    # A dropped LiteLLM stream is finalised by the garbage collector, and LiteLLM's logging
    # thread may still hold it for a moment: poll (bounded, ~2 s) rather than check once.
    for _ in range(100 if collect else 1):
        if collect:
            gc.collect()
        if sync_busy(client) == 0:
            return True
        if collect:
            await asyncio.sleep(0.02)
    return False


async def released_async(client: t.AsyncAzureLlamaClient) -> bool:
    for _ in range(_MAX_TICKS):
        if await async_busy(client) == 0:
            return True
        await asyncio.sleep(0.001)
    return False


# -- the ways to walk away, per front end -------------------------------------------------------


async def langchain_stream_close(driver: Driver) -> None:
    assert driver.model is not None
    gen = driver.model.stream("hi")
    next(gen), next(gen)
    gen.close()


async def langchain_stream_break(driver: Driver) -> None:
    assert driver.model is not None
    for n, _ in enumerate(driver.model.stream("hi")):
        if n == 1:
            break


async def langchain_astream_aclose(driver: Driver) -> None:
    assert driver.model is not None
    gen = driver.model.astream("hi")
    await gen.__anext__(), await gen.__anext__()
    await gen.aclose()


async def langchain_astream_break(driver: Driver) -> None:
    assert driver.model is not None
    n = 0
    async for _ in driver.model.astream("hi"):
        n += 1
        if n == 2:
            break


def _litellm_kwargs(driver: Driver) -> dict[str, Any]:
    return driver.litellm_kwargs(USER, {"stream": True})


async def litellm_stream_close(driver: Driver) -> None:
    stream = litellm.completion(**_litellm_kwargs(driver))
    next(stream), next(stream)
    stream.close()


async def litellm_stream_with(driver: Driver) -> None:
    with litellm.completion(**_litellm_kwargs(driver)) as stream:
        next(stream), next(stream)


async def litellm_stream_break_and_drop(driver: Driver) -> None:
    stream = litellm.completion(**_litellm_kwargs(driver))
    for n, _ in enumerate(stream):
        if n == 1:
            break
    del stream  # no close(): released when the garbage collector finalizes the stream


async def litellm_astream_aclose(driver: Driver) -> None:
    stream = await litellm.acompletion(**_litellm_kwargs(driver))
    await stream.__anext__(), await stream.__anext__()
    await stream.aclose()


async def litellm_astream_with(driver: Driver) -> None:
    async with await litellm.acompletion(**_litellm_kwargs(driver)) as stream:
        await stream.__anext__(), await stream.__anext__()


async def litellm_astream_break(driver: Driver) -> None:
    n = 0
    async for _ in await litellm.acompletion(**_litellm_kwargs(driver)):
        n += 1
        if n == 2:
            break


Walk = Callable[[Driver], Awaitable[None]]
WAYS = [
    pytest.param("langchain", "sync", langchain_stream_close, id="langchain-stream-close"),
    pytest.param("langchain", "sync", langchain_stream_break, id="langchain-stream-break"),
    pytest.param("langchain", "async", langchain_astream_aclose, id="langchain-astream-aclose"),
    pytest.param("langchain", "async", langchain_astream_break, id="langchain-astream-break"),
    pytest.param("litellm", "sync", litellm_stream_close, id="litellm-stream-close"),
    pytest.param("litellm", "sync", litellm_stream_with, id="litellm-stream-with"),
    pytest.param("litellm", "gc", litellm_stream_break_and_drop, id="litellm-stream-break-drop"),
    pytest.param("litellm", "async", litellm_astream_aclose, id="litellm-astream-aclose"),
    pytest.param("litellm", "async", litellm_astream_with, id="litellm-astream-with"),
    pytest.param("litellm", "async", litellm_astream_break, id="litellm-astream-break"),
]


@pytest.mark.parametrize(("front", "kind", "walk_away"), WAYS)
async def test_stream_abandoned_early_releases_its_connection(
    front: str, kind: str, walk_away: Walk, emu: Emulator, drive: Drivers
) -> None:
    mode = "invoke" if kind in ("sync", "gc") else "ainvoke"
    driver = drive((front, mode), emu.url, headers=LONG)
    sync_client, async_client = driver.clients()
    await walk_away(driver)
    if kind == "async":
        assert await released_async(async_client), "the abandoned stream kept its connection"
    else:
        released = await released_sync(sync_client, collect=kind == "gc")
        assert released, "the abandoned stream kept its connection"
    # The pool is healthy: a whole call on it gets the whole answer.
    after = drive((front, mode), emu.url)
    assert (await after.call()).text == REPLY


KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", ["close", "context-manager"])
async def test_transport_stream_abandoned_early_releases_its_connection(
    kind: str, how: str, emu: Emulator
) -> None:
    if kind == "sync":
        client = t.AzureLlamaClient(emu.url, api_key=KEY, default_headers=LONG)
        if how == "close":
            stream = client.chat_stream(USER)
            chunks = iter(stream)
            next(chunks), next(chunks)
            stream.close()
        else:
            with client.chat_stream(USER) as stream:
                next(iter(stream))
        assert sync_busy(client) == 0
        client.close()
        return
    aclient = t.AsyncAzureLlamaClient(emu.url, api_key=KEY, default_headers=LONG)
    if how == "close":
        astream = await aclient.chat_stream(USER)
        achunks = aiter(astream)
        await anext(achunks), await anext(achunks)
        await astream.aclose()
    else:
        async with await aclient.chat_stream(USER) as astream:
            await anext(aiter(astream))
    assert await async_busy(aclient) == 0
    await aclient.aclose()
