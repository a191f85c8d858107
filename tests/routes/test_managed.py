"""Managed compute: several deployments behind one endpoint, Entra ID tokens (with refresh), keys.

The emulator plays a managed online endpoint: `azureml-model-deployment` picks the deployment,
and Entra bearer tokens are accepted besides the key (docs/wire-protocol.md §1, §4, §5). The
credential is a stand-in for `DefaultAzureCredential` that counts `get_token` calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import litellm_azure_llama
from azure_llama_emulator import Emulator
from langchain_azure_llama import AuthenticationError, ChatAzureLlama
from tests._support.routes import (
    BASE_MODEL,
    BLUE,
    DEPLOYMENTS,
    GREEN,
    KEY,
    MODES,
    TOKENS,
    AsyncCountingCredential,
    CountingCredential,
    bearer_tokens,
    chat_model,
    lc_call,
    litellm_call,
    litellm_kwargs,
    litellm_text_kwargs,
    text_model,
)

ML_SCOPE = ("https://ml.azure.com/.default",)
MODE_NAMES = ("sync", "async", "stream", "astream")
BASE_DEPLOYMENTS = {"base-8b": BASE_MODEL, "base-70b": "Meta-Llama-3.1-70B"}


def _reply(model: str, text: str) -> str:
    return f"Emulated reply from {model}: {text}"


# -- deployments: the azureml-model-deployment header -------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_langchain_chat_picks_each_deployment(
    managed_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    for name, model_name in DEPLOYMENTS.items():
        model = chat_model(make_lc, managed_emu, model=None, deployment=name)
        answer = await lc_call(model, mode, "hello")
        assert answer.text == _reply(model_name, "hello")
        assert answer.raw is None or answer.raw.response_metadata["model_name"] == model_name
    sent = [r.headers["azureml-model-deployment"] for r in managed_emu.requests]
    assert sent == [BLUE, GREEN]


@pytest.mark.parametrize("mode", MODES)
async def test_langchain_text_picks_each_deployment(
    make_emulator: Callable[..., Emulator], make_lc: Callable[..., Any], mode: str
) -> None:
    emu = make_emulator(kind="managed", model_type="text-generation", deployments=BASE_DEPLOYMENTS)
    for name, model_name in BASE_DEPLOYMENTS.items():
        model = text_model(make_lc, emu, model=None, deployment=name, api="llama")
        answer = await lc_call(model, mode, "Math is a")
        assert answer.text == _reply(model_name, "Math is a")
    sent = [(r.path, r.headers["azureml-model-deployment"]) for r in emu.requests]
    assert sent == [("/v1/completions", name) for name in BASE_DEPLOYMENTS]


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_picks_each_deployment(managed_emu: Emulator, mode: str) -> None:
    for name, model_name in DEPLOYMENTS.items():
        answer = await litellm_call(mode, **litellm_kwargs(managed_emu, deployment=name))
        assert answer.text == _reply(model_name, "hello there")
    sent = [r.headers["azureml-model-deployment"] for r in managed_emu.requests]
    assert sent == [BLUE, GREEN]
    assert all("deployment" not in r.json for r in managed_emu.requests)


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_text_completion_picks_a_deployment(
    make_emulator: Callable[..., Emulator], mode: str
) -> None:
    emu = make_emulator(kind="managed", model_type="text-generation", deployments=BASE_DEPLOYMENTS)
    kwargs = litellm_text_kwargs(emu, deployment="base-70b")
    answer = await litellm_call(mode, fn="text_completion", **kwargs)
    assert answer.text == _reply("Meta-Llama-3.1-70B", "Math is a")
    (request,) = emu.requests
    assert (request.path, request.headers["azureml-model-deployment"]) == (
        "/completions",
        "base-70b",
    )


# -- Entra ID: tokens per request, refreshed on expiry and on a 401 ------------------------------


CREDENTIAL_MODES = [
    *(pytest.param(CountingCredential, mode, id=f"sync-cred-{mode}") for mode in MODE_NAMES),
    # azure-identity's aio credentials serve the async calls
    *(pytest.param(AsyncCountingCredential, m, id=f"async-cred-{m}") for m in ("async", "astream")),
]


@pytest.mark.parametrize(("flavour", "mode"), CREDENTIAL_MODES)
async def test_langchain_token_is_cached_and_refreshed_before_expiry(
    managed_emu: Emulator, make_lc: Callable[..., Any], flavour: type[Any], mode: str
) -> None:
    # token-1 lives 60 s (inside the transport's five-minute refresh margin), later ones 1 h.
    credential = flavour(60, 3600)
    model = chat_model(make_lc, managed_emu, credential=credential, deployment=BLUE)
    for _ in range(3):
        assert (await lc_call(model, mode, "hello")).text == _reply(DEPLOYMENTS[BLUE], "hello")
    assert credential.calls == 2  # token-1, then one refresh; the third call used the cache
    assert credential.scopes == [ML_SCOPE, ML_SCOPE]
    assert bearer_tokens(managed_emu) == ["token-1", "token-2", "token-2"]
    assert all("api-key" not in r.headers for r in managed_emu.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["chat", "text"], ids=["ChatAzureLlama", "AzureLlama"])
async def test_langchain_token_is_refreshed_once_on_a_401(
    make_emulator: Callable[..., Emulator], make_lc: Callable[..., Any], kind: str, mode: str
) -> None:
    # The endpoint no longer accepts token-1 (revoked): 401, then a fresh token passes.
    deployments = DEPLOYMENTS if kind == "chat" else BASE_DEPLOYMENTS
    model_type = "chat-completion" if kind == "chat" else "text-generation"
    emu = make_emulator(
        kind="managed",
        model_type=model_type,
        deployments=deployments,
        accepted_tokens=TOKENS[1:],
    )
    credential = CountingCredential()
    name = next(iter(deployments))
    make = chat_model if kind == "chat" else text_model
    llm = make(make_lc, emu, model=None, credential=credential, deployment=name)
    answer = await lc_call(llm, mode, "hello")
    assert answer.text == _reply(deployments[name], "hello")
    assert credential.calls == 2
    assert bearer_tokens(emu) == ["token-1", "token-2"]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_langchain_token_refused_twice_is_an_authentication_error(
    make_emulator: Callable[..., Emulator], make_lc: Callable[..., Any], mode: str
) -> None:
    emu = make_emulator(kind="managed", deployments=DEPLOYMENTS, accepted_tokens=("other",))
    credential = CountingCredential()
    llm = chat_model(make_lc, emu, credential=credential, deployment=BLUE)
    with pytest.raises(AuthenticationError, match="refused even after a refresh"):
        await lc_call(llm, mode, "hello")
    assert credential.calls == 2  # exactly one refresh, no loop


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_azure_ad_token_provider_credential(
    make_emulator: Callable[..., Emulator], mode: str
) -> None:
    emu = make_emulator(kind="managed", deployments=DEPLOYMENTS, accepted_tokens=TOKENS[1:])
    credential = CountingCredential(3600)
    kwargs = litellm_kwargs(emu, deployment=BLUE, azure_ad_token_provider=credential)
    del kwargs["api_key"]
    for _ in range(2):
        answer = await litellm_call(mode, **kwargs)
        assert answer.text == _reply(DEPLOYMENTS[BLUE], "hello there")
    # token-1 was refused (401) and refreshed once; token-2 then served both calls.
    assert credential.calls == 2
    assert bearer_tokens(emu) == ["token-1", "token-2", "token-2"]


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_azure_ad_token_provider_callable_is_asked_per_request(
    managed_emu: Emulator, mode: str
) -> None:
    """azure-identity's get_bearer_token_provider caches by itself: ask it every time."""
    asked: list[str] = []

    def provider() -> str:
        asked.append("token-7")
        return "token-7"

    kwargs = litellm_kwargs(managed_emu, deployment=GREEN, azure_ad_token_provider=provider)
    for _ in range(2):
        assert (await litellm_call(mode, **kwargs)).text.startswith("Emulated reply")
    assert len(asked) == 2
    assert bearer_tokens(managed_emu) == ["token-7", "token-7"]
    clients = litellm_azure_llama.handler._clients
    mine = [
        k for k in [*clients._sync, *clients._async] if getattr(k[1], "_provider", None) is provider
    ]
    assert len(mine) == 1  # one client for both calls, not one per call
    assert all("api-key" not in r.headers for r in managed_emu.requests)


# -- keys, and DefaultAzureCredential ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_key_auth_on_a_managed_endpoint(
    managed_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    llm = chat_model(make_lc, managed_emu, deployment=GREEN)
    await lc_call(llm, mode, "hello")
    await litellm_call(mode, **litellm_kwargs(managed_emu, deployment=GREEN))
    for request in managed_emu.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["api-key"] == KEY


def test_default_azure_credential_fetches_no_token_at_construction(managed_emu: Emulator) -> None:
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential()
    model = ChatAzureLlama(endpoint=managed_emu.url, credential=credential, deployment=BLUE)
    assert managed_emu.requests == []
    assert "credential" not in model.to_json()["kwargs"]  # type: ignore[index]
    model.close()
    credential.close()
