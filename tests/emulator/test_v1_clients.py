"""Other clients work against the openai-v1 emulator unchanged, as against a Foundry resource:
the `openai` SDK with `base_url=<emulator>/openai/v1` and LiteLLM's built-in `azure_ai/`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import litellm
import openai
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.emulator import KEY

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
LLAMA33 = "Llama-3.3-70B-Instruct"
MESSAGES: list[Any] = [{"role": "user", "content": "hello there"}]
MODES = [pytest.param(False, id="sync"), pytest.param(True, id="async")]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(kind="openai-v1", models=(f"my-maverick={MAVERICK}", LLAMA33))
    with Emulator(config) as emulator:
        yield emulator


def run(is_async: bool, sync_call: Any, async_call: Any) -> Any:
    return asyncio.run(async_call()) if is_async else sync_call()


def clients(emu: Emulator) -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
    base = f"{emu.url}/openai/v1"
    return (
        openai.OpenAI(base_url=base, api_key=KEY, max_retries=0),
        openai.AsyncOpenAI(base_url=base, api_key=KEY, max_retries=0),
    )


@pytest.mark.parametrize("is_async", MODES)
def test_openai_sdk_chat(emu: Emulator, is_async: bool) -> None:
    sync, aio = clients(emu)

    async def acall() -> Any:
        async with aio:
            return await aio.chat.completions.create(model="my-maverick", messages=MESSAGES)

    answer = run(
        is_async,
        lambda: sync.chat.completions.create(model="my-maverick", messages=MESSAGES),
        acall,
    )
    assert answer.model == MAVERICK
    assert answer.choices[0].message.content == f"Emulated reply from {MAVERICK}: hello there"
    assert answer.usage is not None and answer.usage.total_tokens > 0


@pytest.mark.parametrize("is_async", MODES)
def test_openai_sdk_stream(emu: Emulator, is_async: bool) -> None:
    sync, aio = clients(emu)

    def scall() -> list[str]:
        stream = sync.chat.completions.create(model=LLAMA33, messages=MESSAGES, stream=True)
        return [c.choices[0].delta.content or "" for c in stream if c.choices]

    async def acall() -> list[str]:
        async with aio:
            stream = await aio.chat.completions.create(
                model=LLAMA33, messages=MESSAGES, stream=True
            )
            return [c.choices[0].delta.content or "" async for c in stream if c.choices]

    pieces = run(is_async, scall, acall)
    assert len(pieces) > 2
    assert "".join(pieces) == f"Emulated reply from {LLAMA33}: hello there"


@pytest.mark.parametrize("is_async", MODES)
def test_openai_sdk_models_list(emu: Emulator, is_async: bool) -> None:
    sync, aio = clients(emu)

    async def acall() -> list[str]:
        async with aio:
            return [m.id async for m in aio.models.list()]

    ids = run(is_async, lambda: [m.id for m in sync.models.list()], acall)
    assert sorted(ids) == sorted([MAVERICK, LLAMA33])


@pytest.mark.parametrize("is_async", MODES)
def test_openai_sdk_tool_calls_in_parallel(emu: Emulator, is_async: bool) -> None:
    sync, aio = clients(emu)
    tools: Any = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("get_weather", "get_time")
    ]
    kwargs: Any = {
        "model": "my-maverick",
        "messages": MESSAGES,
        "tools": tools,
        "extra_headers": {"x-emulator-parallel-calls": "2"},
    }

    async def acall() -> Any:
        async with aio:
            return await aio.chat.completions.create(**kwargs)

    message = run(is_async, lambda: sync.chat.completions.create(**kwargs), acall)
    calls = message.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert len({c.id for c in calls}) == 2


@pytest.mark.parametrize(
    ("model", "messages", "error", "code"),
    [
        pytest.param("nope", MESSAGES, openai.NotFoundError, "DeploymentNotFound", id="404"),
        pytest.param(
            LLAMA33,
            [{"role": "user", "content": "JAILBREAK"}],
            openai.BadRequestError,
            "content_filter",
            id="content-filter",
        ),
    ],
)
def test_openai_sdk_raises_its_typed_errors(
    emu: Emulator, model: str, messages: Any, error: type[openai.APIStatusError], code: str
) -> None:
    sync, _ = clients(emu)
    with pytest.raises(error) as caught:
        sync.chat.completions.create(model=model, messages=messages)
    assert caught.value.code == code


def test_openai_sdk_bad_key_is_authentication_error(emu: Emulator) -> None:
    client = openai.OpenAI(base_url=f"{emu.url}/openai/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model=LLAMA33, messages=MESSAGES)
    assert "Access denied due to invalid subscription key" in caught.value.message


# litellm's TypedDicts make pydantic warn about `ReadOnly` items (tests/litellm/conftest.py).
@pytest.mark.filterwarnings(
    r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning"
)
@pytest.mark.parametrize("stream", [pytest.param(False, id="whole"), pytest.param(True, id="sse")])
def test_litellm_azure_ai_provider(emu: Emulator, stream: bool) -> None:
    answer: Any = litellm.completion(
        model="azure_ai/my-maverick",
        api_base=f"{emu.url}/openai/v1",
        api_key=KEY,
        messages=MESSAGES,
        stream=stream,
    )
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in answer)
    else:
        text = answer.choices[0].message.content
        assert answer.model.endswith(MAVERICK)
    assert text == f"Emulated reply from {MAVERICK}: hello there"
