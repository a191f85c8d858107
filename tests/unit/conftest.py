"""The unit layer: every test below this folder runs with sockets disabled.

These tests need no server, no subprocess and no network: conversion tables, parsers, the Llama
protocol's plans and formats, settings, errors, the request build, SSE parsing and the chunk
copiers, against `httpx.MockTransport` where a client is involved. `make test-unit` (or
`pytest tests/unit`) runs them in seconds; a test here that opens a TCP socket fails with
`pytest_socket.SocketBlockedError` (Unix sockets stay allowed: asyncio's event loop wakes itself
through a socket pair). A test that needs a server belongs to the integration folders beside this
one (tests/transport, tests/langchain, tests/litellm, tests/faults, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._support.transport import FakeClock

# The root conftest sets these too; repeat them so this folder also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_HERE = Path(__file__).parent
# litellm's pydantic types warn about their own `ReadOnly` TypedDict items on first use.
_LITELLM_WARNING = (
    r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.unit)
            item.add_marker(pytest.mark.disable_socket)
            item.add_marker(pytest.mark.filterwarnings(_LITELLM_WARNING))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
