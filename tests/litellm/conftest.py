"""Fixtures for the LiteLLM provider: the provider registered once, emulators on loopback, and
one `run` helper that drives completion / acompletion / stream / astream from one test body."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests._support.litellm import KEY, MODEL

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm

import azure_llama_transport as t
import litellm_azure_llama
from azure_llama_emulator import Emulator, EmulatorConfig

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
    litellm_azure_llama.register()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, model_name=MODEL)) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The shared chat emulator, with no recorded requests and no pending faults."""
    emulator.clear()
    return emulator


@pytest.fixture(scope="session")
def refusing_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        api_key=KEY, model_name=MODEL, tool_mode="reject", response_format_mode="reject"
    )
    with Emulator(config) as emu:
        yield emu


@pytest.fixture
def refusing(refusing_emulator: Emulator) -> Emulator:
    """An endpoint that refuses native `tools` (vLLM's 400) and `json_schema` (the documented
    422), as Llama deployments on Azure do; nothing recorded, and no refusal remembered yet."""
    refusing_emulator.clear()
    t.CAPABILITIES.forget()
    return refusing_emulator


@pytest.fixture(autouse=True)
async def _close_pools() -> AsyncIterator[None]:
    """Each test has its own event loop: close the provider's pools opened on it."""
    yield
    await litellm_azure_llama.handler.aclose()
    litellm_azure_llama.handler.close()
