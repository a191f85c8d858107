"""`litellm.completion` against a Foundry Models endpoint (the emulator in foundry kind): the
call's model name is sent in the body, so the endpoint can pick the deployment."""

from __future__ import annotations

from collections.abc import Iterator

import litellm
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.litellm import KEY, MODES, run

MODELS = ("Meta-Llama-3.1-8B-Instruct", "Llama-3.3-70B-Instruct")


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, kind="foundry", models=MODELS)) as emu:
        yield emu


def _kwargs(emu: Emulator, model: str) -> dict[str, object]:
    return {
        "model": f"azure_llama/{model}",
        "api_base": emu.url + "/models",
        "api_key": KEY,
        "endpoint_kind": "foundry",
        "messages": [{"role": "user", "content": "hello there"}],
    }


@pytest.mark.parametrize("mode", MODES)
async def test_completion_sends_the_model_on_foundry(foundry: Emulator, mode: str) -> None:
    foundry.clear()
    result = await run(mode, **_kwargs(foundry, MODELS[1]))
    assert result.text == f"Emulated reply from {MODELS[1]}: hello there"
    (request,) = foundry.requests
    assert request.path == "/models/chat/completions"
    assert request.json["model"] == MODELS[1]
    assert request.query == {"api-version": "2024-05-01-preview"}


def test_an_unknown_deployment_is_foundrys_404(foundry: Emulator) -> None:
    with pytest.raises(litellm.NotFoundError, match="Unknown model: Llama-9"):
        litellm.completion(**_kwargs(foundry, "Llama-9"))


def test_serverless_endpoints_still_get_no_model(emu: Emulator) -> None:
    litellm.completion(
        model="azure_llama/Meta-Llama-3.1-8B-Instruct",
        api_base=emu.url,
        api_key=KEY,
        messages=[{"role": "user", "content": "hi"}],
    )
    (request,) = emu.requests
    assert "model" not in request.json
