"""A client that is closed stays closed: every later send is refused, as httpx's client does.

httpx raises `RuntimeError("Cannot send a request, as the client has been closed.")`; so do the
transport clients, on every path (the own sync pool, a caller's `http_client`, aiohttp, httpx
async, a caller's async factory), for whole calls and streams alike, before anything is sent.
A chat model owns its clients: `close()` closes its sync side, `aclose()` its async side, and
each then refuses in the same way (as an openai client does once closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

import azure_llama_transport as t
from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama

KEY = "emulator-key"
USER = [{"role": "user", "content": "hi"}]
CLOSED = "has been closed"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY)) as emu:
        yield emu


async def _drain(stream: Any) -> list[Any]:
    if hasattr(stream, "__aiter__"):
        return [chunk async for chunk in stream]
    with stream:
        return list(stream)


Send = Callable[[Any], Awaitable[Any]]


async def _chat(client: Any) -> Any:
    result = client.chat(USER)
    return await result if isinstance(client, t.AsyncAzureLlamaClient) else result


async def _stream(client: Any) -> Any:
    opened = client.chat_stream(USER)
    if isinstance(client, t.AsyncAzureLlamaClient):
        opened = await opened
    return await _drain(opened)


async def _info(client: Any) -> Any:
    result = client.get_model_info(refresh=True)
    return await result if isinstance(client, t.AsyncAzureLlamaClient) else result


SENDS = [
    pytest.param(_chat, id="chat"),
    pytest.param(_stream, id="stream"),
    pytest.param(_info, id="info"),
]

Make = Callable[[str], Any]
CLIENTS = [
    pytest.param(lambda url: t.AzureLlamaClient(url, api_key=KEY), id="sync-own-pool"),
    pytest.param(
        lambda url: t.AzureLlamaClient(url, api_key=KEY, http_client=httpx.Client()),
        id="sync-callers-client",
    ),
    pytest.param(lambda url: t.AsyncAzureLlamaClient(url, api_key=KEY), id="async-aiohttp"),
    pytest.param(
        lambda url: t.AsyncAzureLlamaClient(url, api_key=KEY, backend="httpx"), id="async-httpx"
    ),
    pytest.param(
        lambda url: t.AsyncAzureLlamaClient(
            url, api_key=KEY, http_client_factory=httpx.AsyncClient
        ),
        id="async-callers-factory",
    ),
]


async def _close(client: Any) -> None:
    if isinstance(client, t.AsyncAzureLlamaClient):
        await client.aclose()
    else:
        client.close()


@pytest.mark.parametrize("send", SENDS)
@pytest.mark.parametrize("make", CLIENTS)
async def test_a_closed_client_refuses_to_send(emulator: Emulator, make: Make, send: Send) -> None:
    client = make(emulator.url)
    await _chat(client)  # the pool is open and has a connection
    assert not client.is_closed
    await _close(client)
    assert client.is_closed
    emulator.clear()
    with pytest.raises(RuntimeError, match=CLOSED) as refused:
        await send(client)
    assert type(client).__name__ in str(refused.value)
    assert emulator.requests == []  # refused before anything was sent
    await _close(client)  # closing again is harmless


@pytest.mark.parametrize("make", CLIENTS)
async def test_a_client_closed_before_its_first_call_refuses_it(
    emulator: Emulator, make: Make
) -> None:
    client = make(emulator.url)
    await _close(client)
    emulator.clear()
    with pytest.raises(RuntimeError, match=CLOSED):
        await _chat(client)
    assert emulator.requests == []


async def test_an_async_client_closed_on_one_loop_refuses_on_another(emulator: Emulator) -> None:
    """Closing is for the client, not for one event loop's pool: a new loop gets no new pool."""
    import asyncio
    import threading

    client = t.AsyncAzureLlamaClient(emulator.url, api_key=KEY)
    await client.chat(USER)
    await client.aclose()
    seen: list[BaseException] = []

    def other_loop() -> None:
        try:
            asyncio.run(client.chat(USER))
        except BaseException as exc:  # what the other loop saw is the result
            seen.append(exc)

    thread = threading.Thread(target=other_loop)
    thread.start()
    thread.join(30)
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError), seen
    assert CLOSED in str(seen[0])


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_closed_chat_model_refuses_on_the_side_it_closed(
    emulator: Emulator, mode: str
) -> None:
    model = ChatAzureLlama(endpoint=emulator.url, api_key=KEY, model="Llama-3.3-70B-Instruct")
    if mode == "sync":
        assert model.invoke("hi").content
        model.close()
        with pytest.raises(RuntimeError, match=CLOSED):
            model.invoke("hi")
        with pytest.raises(RuntimeError, match=CLOSED):
            list(model.stream("hi"))
        assert (await model.ainvoke("hi")).content  # the async side is its own
        await model.aclose()
    else:
        assert (await model.ainvoke("hi")).content
        await model.aclose()
        with pytest.raises(RuntimeError, match=CLOSED):
            await model.ainvoke("hi")
        with pytest.raises(RuntimeError, match=CLOSED):
            [chunk async for chunk in model.astream("hi")]
        assert model.invoke("hi").content
        model.close()
