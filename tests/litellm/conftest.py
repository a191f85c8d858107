"""Fixtures for the LiteLLM provider: the provider registered once, emulators on loopback, and
one `run` helper that drives completion / acompletion / stream / astream from one test body."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm

import litellm_provider
from langchain_azure_llama.emulator import Emulator, EmulatorConfig

KEY = "emulator-key"
MODEL = "Meta-Llama-3.1-8B-Instruct"
MODES = [
    pytest.param("sync", id="completion"),
    pytest.param("async", id="acompletion"),
    pytest.param("stream", id="stream"),
    pytest.param("astream", id="astream"),
]

# LiteLLM prints a banner to stdout for every exception it maps; keep test output readable.
litellm.suppress_debug_info = True


_HERE = Path(__file__).parent
# litellm's `Message` builds its pydantic schema lazily, on first use, and pydantic warns that the
# `ReadOnly` items of litellm's TypedDicts (thinking blocks, reasoning items) are not enforced.
# Those are litellm's own types, not ours; the warning fires in whichever test touches them first.
_LITELLM_WARNINGS = (
    r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            for spec in _LITELLM_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


@pytest.fixture(scope="session", autouse=True)
def _registered() -> None:
    litellm_provider.register()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, model_name=MODEL)) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The shared chat emulator, with no recorded requests and no pending faults."""
    emulator.clear()
    return emulator


@pytest.fixture(autouse=True)
async def _close_pools() -> AsyncIterator[None]:
    """Each test has its own event loop: close the provider's pools opened on it."""
    yield
    await litellm_provider.handler.aclose()
    litellm_provider.handler.close()


@dataclass
class Result:
    """What one call produced, whatever the mode."""

    text: str
    finish_reason: str | None
    usage: Any
    tool_calls: list[Any] = field(default_factory=list)
    chunks: list[Any] = field(default_factory=list)
    response: Any = None


async def run(mode: str, *, fn: str = "completion", **kwargs: Any) -> Result:
    """Call LiteLLM in `mode` and gather the answer into one `Result`."""
    stream = mode in ("stream", "astream")
    call = getattr(litellm, f"a{fn}" if mode in ("async", "astream") else fn)
    answer = call(stream=stream, **kwargs) if stream else call(**kwargs)
    if mode in ("async", "astream"):
        answer = await answer
    if not stream:
        return _whole(answer)
    chunks = [c async for c in answer] if mode == "astream" else list(answer)
    return _streamed(chunks, kwargs.get("messages"))


def _whole(response: Any) -> Result:
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    text = message.content if message is not None else choice.text
    calls = (message.tool_calls or []) if message is not None else []
    return Result(text or "", choice.finish_reason, response.usage, calls, [], response)


def _streamed(chunks: list[Any], messages: Any) -> Result:
    text, finish, calls = "", None, []
    for chunk in chunks:
        for choice in chunk.choices:
            delta = getattr(choice, "delta", None)
            piece = delta.content if delta is not None else choice.text
            text += piece or ""
            calls += (getattr(delta, "tool_calls", None) or []) if delta is not None else []
            finish = choice.finish_reason or finish
    usage = next((c.usage for c in reversed(chunks) if getattr(c, "usage", None)), None)
    return Result(text, finish, usage, calls, chunks)


def call_kwargs(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": f"azure_llama/{MODEL}",
        "api_base": emu.url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    kwargs.update(overrides)
    return kwargs
