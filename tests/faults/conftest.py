"""The fault suite's fixtures: one emulator, a network guard, a fake clock, and one driver that runs
the same call through either front end (LangChain `ChatAzureLlama`, LiteLLM `azure_llama/...`) in
any mode (whole or streamed, sync or async), so that a test body states a fault once.

Network: `_loopback_only` (autouse) makes every name lookup of a host that is not loopback fail
with `socket.gaierror`, so no test here can send a packet (not even a DNS query) off the machine;
it doubles as the simulated DNS failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._support.faults import (
    KEY,
    MODEL,
    Drivers,
    FakeClock,
    Lookups,
    is_loopback,
)
from tests._support.raw_server import RawServer

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm

import litellm_azure_llama
from azure_llama_emulator import Emulator, EmulatorConfig

_HERE = Path(__file__).parent
litellm.suppress_debug_info = True  # LiteLLM prints a banner for every exception it maps


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # litellm's own TypedDicts trip a pydantic warning the first time its `Message` is built (see
    # tests/litellm/conftest.py); it is LiteLLM's, not ours.
    spec = r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning"
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings(spec))


# -- network guard ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    """Refuse to resolve any host that is not loopback: nothing leaves the machine.

    httpx (sync and async) and aiohttp's default `ThreadedResolver` all resolve through
    `socket.getaddrinfo`, looked up at call time, so one patch covers every backend.
    """
    lookups = Lookups()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host):
            lookups.refused.append(host.decode() if isinstance(host, bytes) else str(host))
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@pytest.fixture
def lookups(_loopback_only: Lookups) -> Lookups:
    return _loopback_only


# -- emulator, fake clock -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, model_name=MODEL)) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The shared emulator with no recorded requests and no pending faults."""
    emulator.clear()
    return emulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def raw_server() -> Iterator[RawServer]:
    with RawServer(lifetime=None) as server:  # the whole session long
        yield server


# -- one driver for both front ends -------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _registered() -> None:
    litellm_azure_llama.register()


@pytest.fixture
async def drive(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Drivers]:
    drivers = Drivers(monkeypatch)
    yield drivers
    for driver in drivers.made:
        await driver.aclose()
    await litellm_azure_llama.handler.aclose()
    litellm_azure_llama.handler.close()
