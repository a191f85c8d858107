"""Fixtures for issue #5: every endpoint kind and route, on both front ends.

Three emulators run for the session: `chat` (a serverless Llama 3.1 Instruct deployment),
`base` (a managed-compute base model, Meta-Llama-3.1-8B, `text-generation`) and `managed` (a
managed endpoint with two chat deployments that also takes Entra tokens). `Call` drives one
test body in four modes (sync, async, stream, astream) for LangChain and for LiteLLM alike.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._support.routes import (
    BASE_MODEL,
    CHAT_MODEL,
    DEPLOYMENTS,
    KEY,
    TOKENS,
)

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm

import litellm_azure_llama
from azure_llama_emulator import Emulator, EmulatorConfig

litellm.suppress_debug_info = True
_HERE = Path(__file__).parent
# litellm's pydantic types warn about their own `ReadOnly` TypedDict items on first use.
_LITELLM_WARNINGS = (
    r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            for spec in _LITELLM_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


# -- emulators ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _route_emulators() -> Iterator[dict[str, Emulator]]:
    configs = {
        "chat": EmulatorConfig(api_key=KEY, model_name=CHAT_MODEL),
        "base": EmulatorConfig(
            api_key=KEY, kind="managed", model_name=BASE_MODEL, model_type="text-generation"
        ),
        "managed": EmulatorConfig(
            api_key=KEY, kind="managed", deployments=DEPLOYMENTS, accepted_tokens=TOKENS
        ),
    }
    emulators = {name: Emulator(config).start() for name, config in configs.items()}
    yield emulators
    for emulator in emulators.values():
        emulator.stop()


@pytest.fixture
def chat_emu(_route_emulators: dict[str, Emulator]) -> Emulator:
    _route_emulators["chat"].clear()
    return _route_emulators["chat"]


@pytest.fixture
def base_emu(_route_emulators: dict[str, Emulator]) -> Emulator:
    _route_emulators["base"].clear()
    return _route_emulators["base"]


@pytest.fixture
def managed_emu(_route_emulators: dict[str, Emulator]) -> Emulator:
    _route_emulators["managed"].clear()
    return _route_emulators["managed"]


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start an emulator with custom settings; each one stops after the test."""
    started: list[Emulator] = []

    def make(**settings: Any) -> Emulator:
        emulator = Emulator(EmulatorConfig(api_key=KEY, **settings)).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


# -- front ends ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _registered() -> None:
    litellm_azure_llama.register()


@pytest.fixture(autouse=True)
async def _close_litellm_pools() -> AsyncIterator[None]:
    """Each test has its own event loop: close the provider's pools opened on it."""
    yield
    await litellm_azure_llama.handler.aclose()
    litellm_azure_llama.handler.close()


@pytest.fixture
async def make_lc() -> AsyncIterator[Callable[..., Any]]:
    """Build `ChatAzureLlama` / `AzureLlama` models; their pools close in the test's loop."""
    made: list[Any] = []

    def make(cls: type[Any], emu: Emulator, **settings: Any) -> Any:
        settings.setdefault("endpoint", emu.url)
        if "credential" not in settings:
            settings.setdefault("api_key", KEY)
        model = cls(**settings)
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()
        await model.aclose()


# -- one body, four modes ------------------------------------------------------------------------


# -- Entra ID -------------------------------------------------------------------------------------
