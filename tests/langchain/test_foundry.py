"""ChatAzureLlama on a Foundry Models endpoint (the emulator in foundry kind): `model` picks the
deployment, invoke and stream, and a missing model is refused before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama, RequestValidationError
from tests._support.langchain import EMULATOR_KEY, Api

MODELS = ("Llama-4-Maverick-17B-128E-Instruct-FP8", "Llama-3.3-70B-Instruct")


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=EMULATOR_KEY, kind="foundry", models=MODELS)) as emu:
        yield emu


@pytest.fixture
def foundry_emu(foundry: Emulator) -> Emulator:
    foundry.clear()
    return foundry


def _params(emu: Emulator, **overrides: object) -> dict[str, object]:
    base = {"endpoint": emu.url + "/models", "api_key": EMULATOR_KEY, "endpoint_kind": "foundry"}
    return {**base, **overrides}


@pytest.mark.parametrize("model", MODELS, ids=["maverick", "70b"])
async def test_invoke_and_stream_reach_the_named_model(
    foundry_emu: Emulator, make_model: Callable[..., ChatAzureLlama], api: Api, model: str
) -> None:
    llm = make_model(foundry_emu, **_params(foundry_emu, model=model))
    answer = await api.invoke(llm, "hello")
    chunks = await api.stream(llm, "hello")
    assert answer.content == f"Emulated reply from {model}: hello"
    assert answer.response_metadata["model_name"] == model
    assert "".join(str(c.content) for c in chunks) == answer.content
    assert [r.path for r in foundry_emu.requests] == ["/models/chat/completions"] * 2
    assert {r.json["model"] for r in foundry_emu.requests} == {model}
    assert all(r.headers["api-key"] == EMULATOR_KEY for r in foundry_emu.requests)


async def test_model_can_be_chosen_per_call(
    foundry_emu: Emulator, make_model: Callable[..., ChatAzureLlama], api: Api
) -> None:
    llm = make_model(foundry_emu, **_params(foundry_emu, model=MODELS[0]))
    answer = await api.invoke(llm, "hello", model=MODELS[1])
    assert answer.response_metadata["model_name"] == MODELS[1]


async def test_missing_model_is_refused_before_sending(
    foundry_emu: Emulator, make_model: Callable[..., ChatAzureLlama], api: Api
) -> None:
    llm = make_model(foundry_emu, **_params(foundry_emu, model=None))
    with pytest.raises(RequestValidationError, match="model='<deployment name>'"):
        await api.invoke(llm, "hello")
    assert foundry_emu.requests == []


def test_foundry_host_picks_the_cognitive_services_scope() -> None:
    llm = ChatAzureLlama(
        endpoint="https://my-resource.services.ai.azure.com/models",
        credential=_Credential(),
        model=MODELS[1],
    )
    assert llm._client.config.kind == "foundry"
    assert llm._client.config.credential_scopes == ("https://cognitiveservices.azure.com/.default",)
    scoped = ChatAzureLlama(
        endpoint="https://my-resource.services.ai.azure.com/models",
        credential=_Credential(),
        credential_scopes=["https://ai.azure.com/.default"],
    )
    assert scoped._client.config.credential_scopes == ("https://ai.azure.com/.default",)


class _Credential:
    def get_token(self, *scopes: str, **kwargs: object) -> tuple[str, float]:
        return ("token", 2e10)
