"""Every capability error names the setting to change (issue 24), through ChatAzureLlama.

Refused before sending where the answer is known (a serverless endpoint given an Entra ID
credential); otherwise Azure's own sentence comes with the setting that fixes it: native tools
refused under tool_calling="native", a managed endpoint with several deployments and none
chosen, a Foundry resource endpoint without its `/models` route. The LiteLLM twin is
tests/litellm/test_setting_hints.py; the hints live in the transport, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.exceptions import ModelInvalidRequestError, ModelNotFoundError

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama
from langchain_azure_llama import _errors as lc
from tests._support.langchain import EMULATOR_KEY, MODEL, Api

# A Foundry resource sells today's models (the seed's 3.1 rows are retired there).
FOUNDRY_MODEL = "Llama-3.3-70B-Instruct"


class _Credential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:
        self.calls += 1
        return "entra-token", 4_000_000_000.0


@pytest.fixture(scope="module")
def managed() -> Iterator[Emulator]:
    deployments = {"blue": MODEL, "green": MODEL}
    config = EmulatorConfig(api_key=EMULATOR_KEY, kind="managed", deployments=deployments)
    with Emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    config = EmulatorConfig(api_key=EMULATOR_KEY, kind="foundry", models=(FOUNDRY_MODEL,))
    with Emulator(config) as emu:
        yield emu


@pytest.mark.parametrize(
    "where",
    [
        pytest.param({"endpoint": "https://my-llama.eastus2.models.ai.azure.com"}, id="by-host"),
        pytest.param({"endpoint_kind": "serverless"}, id="by-kind"),
    ],
)
def test_serverless_with_entra_credential_refused_before_sending(
    reject_emu: Emulator, where: dict[str, str]
) -> None:
    credential = _Credential()
    settings = {"endpoint": reject_emu.url, "model": MODEL, **where}
    with pytest.raises(lc.RequestValidationError, match=r"keys only.*pass api_key=") as info:
        ChatAzureLlama(credential=credential, **settings)
    assert isinstance(info.value, ModelInvalidRequestError)
    assert info.value.param == "credential"
    assert reject_emu.requests == [] and credential.calls == 0


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_native_tools_refused_names_tool_calling(
    api: Api, make_model: Any, reject_emu: Emulator, streamed: bool
) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    model = make_model(reject_emu, tool_calling="native").bind_tools([tool])
    call = api.stream if streamed else api.invoke
    with pytest.raises(lc.BadRequestError) as info:
        await call(model, "hi")
    message = str(info.value)
    assert "--enable-auto-tool-choice" in message  # Azure's (vLLM's) own sentence, kept
    assert "tool_calling='auto'" in message and "tool_calling='prompt'" in message


async def test_managed_without_deployment_names_deployment(
    api: Api, make_model: Any, managed: Emulator
) -> None:
    with pytest.raises(lc.NotFoundError) as info:
        await api.invoke(make_model(managed, endpoint_kind="managed"), "hi")
    assert isinstance(info.value, ModelNotFoundError)
    message = str(info.value)
    assert "deployment specific header to route" in message
    assert "deployment='<deployment name>'" in message
    reply = await api.invoke(make_model(managed, endpoint_kind="managed", deployment="green"), "hi")
    assert reply.content  # the setting named is the one that works


async def test_foundry_endpoint_without_its_route_names_the_path(
    api: Api, make_model: Any, foundry: Emulator
) -> None:
    model = make_model(foundry, endpoint_kind="foundry", model=FOUNDRY_MODEL)  # no /models
    with pytest.raises(lc.NotFoundError) as info:
        await api.invoke(model, "hi")
    assert f"{foundry.url}/models" in str(info.value)
    assert f"{foundry.url}/openai/v1" in str(info.value)
    fixed = make_model(
        foundry, endpoint=f"{foundry.url}/models", endpoint_kind="foundry", model=FOUNDRY_MODEL
    )
    assert (await api.invoke(fixed, "hi")).content
