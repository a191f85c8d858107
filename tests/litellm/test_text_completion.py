"""`litellm.text_completion(model="azure_llama/<base model>")` → `/completions` (or `/v1/...`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.litellm import KEY, MODES, call_kwargs, run

BASE = "Meta-Llama-3.1-8B"


@pytest.fixture(scope="module")
def base_model() -> Iterator[Emulator]:
    config = EmulatorConfig(api_key=KEY, model_name=BASE, model_type="text-generation")
    with Emulator(config) as emu:
        yield emu


def _kwargs(emu: Emulator, **extra: object) -> dict[str, object]:
    kwargs = call_kwargs(emu, model=f"azure_llama/{BASE}", prompt="Math is a", max_tokens=10)
    del kwargs["messages"]
    kwargs.update(extra)
    return kwargs


@pytest.mark.parametrize("mode", MODES)
async def test_text_completion_reaches_completions(base_model: Emulator, mode: str) -> None:
    base_model.clear()
    result = await run(mode, fn="text_completion", **_kwargs(base_model))
    assert result.text == f"Emulated reply from {BASE}: Math is a"
    (request,) = base_model.requests
    assert request.path == "/completions"
    assert request.json["prompt"] == "Math is a" and request.json["max_tokens"] == 10
    if mode in ("sync", "async"):
        assert result.finish_reason == "stop"
        assert result.usage.completion_tokens == 7


async def test_text_completion_on_the_llama_native_route(base_model: Emulator) -> None:
    base_model.clear()
    result = await run(
        "sync", fn="text_completion", **_kwargs(base_model, azure_llama_api="llama", best_of=2)
    )
    assert result.text.endswith("Math is a")
    (request,) = base_model.requests
    assert request.path == "/v1/completions"
    assert request.json["best_of"] == 2
