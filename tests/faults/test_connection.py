"""Unreachable endpoints, both front ends, sync and async: a typed connection error naming the
host, retried within the budget, with no secret in it.

Nothing here leaves the machine: DNS failure is the suite's resolver guard refusing a made-up
`.invalid` host (see conftest), TLS failure is https:// spoken to the emulator's plain-HTTP port,
and the refused connection is a loopback port nobody listens on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import litellm
import pytest
from langchain_core.exceptions import ModelConnectionError, ModelTimeoutError

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator
from tests._support.faults import ALL_MODES, KEY, Case, Drivers, FakeClock, Lookups
from tests._support.raw_server import closed_port_url

MADE_UP = "https://llama-fault-suite.eastus2.models.ai.azure.invalid"


def endpoint_for(kind: str, emu: Emulator) -> str:
    if kind == "refused":
        return closed_port_url()
    if kind == "dns":
        return MADE_UP
    return emu.url.replace("http://", "https://")  # TLS to a plain-HTTP server


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        pytest.param("refused", "connect", id="connection-refused"),
        pytest.param("dns", "Name or service not known", id="dns-failure"),
        pytest.param("tls", "SSL", id="tls-failure"),
    ],
)
@pytest.mark.parametrize("case", ALL_MODES)
async def test_unreachable_endpoint_is_a_typed_connection_error(
    case: Case,
    kind: str,
    detail: str,
    emu: Emulator,
    drive: Drivers,
    clock: FakeClock,
    lookups: Lookups,
) -> None:
    endpoint = endpoint_for(kind, emu)
    host = urlsplit(endpoint).hostname
    assert host is not None
    reply = await drive(case, endpoint, clock=clock, max_retries=1).call()
    error: Any = reply.error
    if case[0] == "langchain":
        assert isinstance(error, lc.APIConnectionError) and isinstance(error, ModelConnectionError)
        assert not isinstance(error, ModelTimeoutError)
        assert error.host == host
    else:
        assert type(error) is litellm.APIConnectionError
    message = str(error)
    assert f"endpoint {host}" in message
    assert detail.lower() in message.lower()
    assert clock.waits == [0.5]  # a connection error is retried within the budget
    for text in (message, repr(error), repr(reply.caught), str(error.__cause__)):
        assert KEY not in text
    if kind == "dns":
        assert lookups.refused and set(lookups.refused) == {host}
    else:
        assert lookups.refused == []
    assert emu.requests == []
