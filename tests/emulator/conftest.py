"""Fixtures: a shared default emulator, per-test custom ones, and httpx clients for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.emulator import AUTH


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig()) as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator: Emulator) -> Iterator[Emulator]:
    shared_emulator.clear()
    yield shared_emulator
    shared_emulator.clear()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers=AUTH, timeout=10, verify=False) as http:
        yield http


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start an emulator with custom settings; every one is stopped after the test."""
    started: list[Emulator] = []

    def make(**settings: Any) -> Emulator:
        emulator = Emulator(EmulatorConfig(**settings)).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(emulator: Emulator, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("headers", AUTH)
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", False)  # plain http; skips loading the CA bundle (slow)
        http = httpx.Client(base_url=emulator.url, **kwargs)
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()
