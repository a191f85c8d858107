"""Retries before the first byte, both front ends, sync and async, on a fake clock.

The waits are what the transport's `RetryPolicy` asked its (injected) clock for; nothing sleeps.
Retries after the first byte (never) are in test_streams.py.
"""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from langchain_core.exceptions import ModelAPIError, ModelRateLimitError

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator, Fault
from tests._support.faults import ALL_MODES, REPLY, Case, Drivers, FakeClock


def inject(emu: Emulator, *faults: Fault) -> None:
    for fault in faults:
        emu.inject(fault)


@pytest.mark.parametrize("case", ALL_MODES)
async def test_429_storm_within_budget_honours_every_wait(
    case: Case, emu: Emulator, drive: Drivers, clock: FakeClock
) -> None:
    inject(
        emu,
        Fault.status(429, retry_after=2),
        Fault.status(429, retry_after_ms=1500),
        Fault.status(429, retry_after=9, retry_after_ms=250),  # the finer header wins
    )
    reply = await drive(case, emu.url, clock=clock, max_retries=3).call()
    assert reply.caught is None, repr(reply.caught)
    assert clock.waits == [2.0, 1.5, 0.25]
    assert len(emu.requests) == 4
    assert reply.text == REPLY  # streamed once, from the request that succeeded


@pytest.mark.parametrize("case", ALL_MODES)
async def test_429_storm_past_budget_is_the_typed_rate_limit_error(
    case: Case, emu: Emulator, drive: Drivers, clock: FakeClock
) -> None:
    emu.inject(Fault.status(429, retry_after=2), times=5)
    reply = await drive(case, emu.url, clock=clock, max_retries=3).call()
    error: Any = reply.error
    assert clock.waits == [2.0, 2.0, 2.0]
    assert len(emu.requests) == 4  # the first try and max_retries=3 retries, no more
    if case[0] == "langchain":
        assert isinstance(error, lc.RateLimitError) and isinstance(error, ModelRateLimitError)
        assert error.retry_after == 2.0 and error.status_code == 429
    else:
        assert type(error) is litellm.RateLimitError
        assert error.response.headers["retry-after"] == "2"  # for LiteLLM's Router
    assert reply.text == ""


@pytest.mark.parametrize("case", ALL_MODES)
async def test_5xx_before_first_byte_is_retried_without_duplicated_text(
    case: Case, emu: Emulator, drive: Drivers, clock: FakeClock
) -> None:
    inject(emu, Fault.status(500), Fault.status(502), Fault.status(503))
    reply = await drive(case, emu.url, clock=clock, max_retries=3).call()
    assert reply.caught is None, repr(reply.caught)
    assert clock.waits == [0.5, 1.0, 2.0]  # no retry-after: exponential backoff (jitter off)
    assert len(emu.requests) == 4
    assert reply.text == REPLY


@pytest.mark.parametrize("case", ALL_MODES)
async def test_5xx_past_budget_is_the_typed_server_error(
    case: Case, emu: Emulator, drive: Drivers, clock: FakeClock
) -> None:
    emu.inject(Fault.status(503), times=3)
    reply = await drive(case, emu.url, clock=clock, max_retries=2).call()
    error: Any = reply.error
    assert clock.waits == [0.5, 1.0] and len(emu.requests) == 3
    if case[0] == "langchain":
        assert isinstance(error, lc.InternalServerError) and isinstance(error, ModelAPIError)
        assert error.status_code == 503
    else:
        assert type(error) is litellm.ServiceUnavailableError


@pytest.mark.parametrize("case", ALL_MODES)
async def test_timeout_before_first_byte_ends_the_call(
    case: Case, emu: Emulator, drive: Drivers, clock: FakeClock
) -> None:
    """`timeout` is a deadline for the whole call (retries included): an attempt that used it
    all up leaves nothing for a retry, so the timeout is final (see test_deadlines.py)."""
    emu.inject(Fault.slow_first_byte(2.0))
    reply = await drive(case, emu.url, clock=clock, max_retries=1, timeout=0.3).call()
    error: Any = reply.error
    assert clock.waits == [] and len(emu.requests) == 1
    if case[0] == "langchain":
        assert isinstance(error, lc.APITimeoutError), repr(error)
    else:
        assert isinstance(error, litellm.Timeout), repr(error)
