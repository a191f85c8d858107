"""Timeouts that hold: the deadline the transport gets is the one LiteLLM resolved for the call.

LiteLLM resolves a call's timeout (the call's `timeout`, the deployment's `litellm_params.timeout`,
the Router's `timeout`, `litellm.request_timeout`, else its own 600 s) and hands the provider the
result only, with nothing marking it as a default. So an explicit 600 (or 6000) must reach the
transport as itself, never as the transport's own 60 s. The spy reads the deadline each request
of the transport is given; nothing here waits for a timeout to fire except the one short case.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

import azure_llama_transport as t
from azure_llama_emulator import Emulator, Fault
from tests._support.litellm import KEY, MODEL, MODES, call_kwargs, run


@pytest.fixture
def deadlines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The seconds of every deadline the transport's clients build (sync and async alike)."""
    seen: list[float] = []
    original = t.AzureLlamaClient._deadline

    def spy(self: Any, timeout: float | None) -> Any:
        seen.append(self.config.timeout if timeout is None else timeout)
        return original(self, timeout)

    monkeypatch.setattr(t.AzureLlamaClient, "_deadline", spy)
    monkeypatch.setattr(t.AsyncAzureLlamaClient, "_deadline", spy)
    yield seen


SDK_TIMEOUTS = [
    pytest.param({"timeout": 600}, 600.0, id="explicit-600"),
    pytest.param({"timeout": 6000}, 6000.0, id="explicit-6000"),
    pytest.param({"timeout": 61}, 61.0, id="explicit-61"),
    # Nothing given: LiteLLM's own default, as its built-in providers get it.
    pytest.param({}, 600.0, id="litellm-default"),
]


@pytest.mark.parametrize(("given", "seconds"), SDK_TIMEOUTS)
@pytest.mark.parametrize("mode", MODES)
async def test_the_sdk_timeout_is_the_transports_deadline(
    emu: Emulator, deadlines: list[float], mode: str, given: dict[str, Any], seconds: float
) -> None:
    result = await run(mode, **call_kwargs(emu, **given))
    assert result.text.endswith("hello there")
    assert deadlines == [seconds]


def _router(emu: Emulator, deployment: dict[str, Any], **settings: Any) -> litellm.Router:
    params = {"model": f"azure_llama/{MODEL}", "api_base": emu.url, "api_key": KEY}
    model_list = [{"model_name": "llama", "litellm_params": {**params, **deployment}}]
    return litellm.Router(model_list=model_list, num_retries=0, **settings)  # type: ignore[arg-type]


ROUTER_TIMEOUTS = [
    pytest.param({"timeout": 600}, {}, 600.0, id="litellm_params-600"),
    pytest.param({"timeout": 6000}, {}, 6000.0, id="litellm_params-6000"),
    pytest.param({}, {"timeout": 600}, 600.0, id="router-timeout-600"),
    pytest.param({"timeout": 45}, {"timeout": 600}, 45.0, id="deployment-over-router"),
    # Nothing set anywhere: the Router's own default (`litellm.request_timeout`).
    pytest.param({}, {}, float(litellm.request_timeout), id="router-default"),
]
ROUTER_MODES = [
    pytest.param("sync", id="completion"),
    pytest.param("async", id="acompletion"),
    pytest.param("astream", id="astream"),
]


@pytest.mark.parametrize(("deployment", "settings", "seconds"), ROUTER_TIMEOUTS)
@pytest.mark.parametrize("mode", ROUTER_MODES)
async def test_the_routers_timeout_is_the_transports_deadline(
    emu: Emulator,
    deadlines: list[float],
    mode: str,
    deployment: dict[str, Any],
    settings: dict[str, Any],
    seconds: float,
) -> None:
    router = _router(emu, deployment, **settings)
    messages = [{"role": "user", "content": "hello there"}]
    if mode == "sync":
        text = router.completion(model="llama", messages=messages).choices[0].message.content
    elif mode == "async":
        answer = await router.acompletion(model="llama", messages=messages)
        text = answer.choices[0].message.content
    else:
        stream = await router.acompletion(model="llama", messages=messages, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text.endswith("hello there")
    assert deadlines == [seconds]


def test_a_small_router_timeout_fires(emu: Emulator) -> None:
    """The deadline is really applied: a deployment's 0.5 s against a 5 s silence."""
    emu.inject(Fault.slow_first_byte(5), times=1)
    router = _router(emu, {"timeout": 0.5})
    with pytest.raises(litellm.Timeout):
        router.completion(model="llama", messages=[{"role": "user", "content": "hello there"}])
