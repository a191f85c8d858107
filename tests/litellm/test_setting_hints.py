"""Every capability error names the setting to change (issue 24), through `litellm.completion`.

The twin of tests/langchain/test_setting_hints.py: the same hints, from the transport, with the
provider's own keywords (`deployment=`, `tool_calling=`, `endpoint_kind=`, `api_base`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.litellm import KEY, MODEL, MODES, call_kwargs, run

# A Foundry resource sells today's models (the seed's 3.1 rows are retired there).
FOUNDRY_MODEL = "Llama-3.3-70B-Instruct"
_FOUNDRY = f"azure_llama/{FOUNDRY_MODEL}"

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


class _Credential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:
        self.calls += 1
        return "entra-token", 4_000_000_000.0


@pytest.fixture(scope="module")
def managed() -> Iterator[Emulator]:
    config = EmulatorConfig(
        api_key=KEY, kind="managed", deployments={"blue": MODEL, "green": MODEL}
    )
    with Emulator(config) as emu:
        yield emu


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, kind="foundry", models=(FOUNDRY_MODEL,))) as emu:
        yield emu


@pytest.mark.parametrize("mode", MODES)
async def test_serverless_with_entra_credential_refused_before_sending(
    emu: Emulator, mode: str
) -> None:
    credential = _Credential()
    kwargs = call_kwargs(
        emu, api_key=None, azure_ad_token_provider=credential, endpoint_kind="serverless"
    )
    # The provider maps a refused credential setting to LiteLLM's AuthenticationError.
    with pytest.raises(litellm.AuthenticationError, match=r"keys only.*pass api_key="):
        await run(mode, **kwargs)
    assert emu.requests == [] and credential.calls == 0


@pytest.mark.parametrize("mode", MODES)
async def test_native_tools_refused_names_tool_calling(refusing: Emulator, mode: str) -> None:
    kwargs = call_kwargs(refusing, tools=[TOOL], tool_calling="native")
    with pytest.raises(litellm.BadRequestError) as info:
        await run(mode, **kwargs)
    message = str(info.value)
    assert "--enable-auto-tool-choice" in message
    assert "tool_calling='auto'" in message and "tool_calling='prompt'" in message


@pytest.mark.parametrize("mode", MODES)
async def test_managed_without_deployment_names_deployment(managed: Emulator, mode: str) -> None:
    with pytest.raises(litellm.NotFoundError) as info:
        await run(mode, **call_kwargs(managed, endpoint_kind="managed"))
    assert "deployment specific header to route" in str(info.value)
    assert "deployment='<deployment name>'" in str(info.value)
    result = await run(mode, **call_kwargs(managed, endpoint_kind="managed", deployment="green"))
    assert result.text


@pytest.mark.parametrize("mode", MODES)
async def test_foundry_endpoint_without_its_route_names_the_path(
    foundry: Emulator, mode: str
) -> None:
    with pytest.raises(litellm.NotFoundError) as info:
        await run(mode, **call_kwargs(foundry, model=_FOUNDRY, endpoint_kind="foundry"))
    assert f"{foundry.url}/models" in str(info.value)
    fixed = call_kwargs(
        foundry, model=_FOUNDRY, api_base=f"{foundry.url}/models", endpoint_kind="foundry"
    )
    assert (await run(mode, **fixed)).text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spelling", ["max_completion_tokens", "max_output_tokens"])
async def test_other_spellings_of_max_tokens_are_sent_as_max_tokens(
    emu: Emulator, mode: str, spelling: str
) -> None:
    await run(mode, **call_kwargs(emu, **{spelling: 7}))
    (request,) = emu.requests
    assert request.json["max_tokens"] == 7
    assert spelling not in request.json
