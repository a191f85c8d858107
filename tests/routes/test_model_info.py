"""`/info` on both front ends, and the wrong model type caught with a message naming the fix.

`/info` spells chat models three ways (docs/wire-protocol.md §9); every spelling reads the same. A
chat call sent to a base model's deployment (or a text call to a chat deployment) is answered 404
`NOT FOUND`; the front ends then read the deployment's cached `/info` and raise a NotFound error
that says which class (LangChain) or function (LiteLLM) to use. A correct call sends nothing
extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import litellm
import pytest

import litellm_azure_llama
from azure_llama_emulator import Emulator
from azure_llama_transport import model_type_error
from langchain_azure_llama import NotFoundError
from tests._support.routes import (
    BASE_MODEL,
    BLUE,
    CHAT_MODEL,
    DEPLOYMENTS,
    GREEN,
    KEY,
    MODES,
    WHOLE_MODES,
    chat_model,
    lc_call,
    litellm_call,
    litellm_kwargs,
    litellm_text_kwargs,
    text_model,
)

SPELLINGS = [
    pytest.param("chat-completion", id="chat-completion-real"),
    pytest.param("chat-completions", id="chat-completions-docs"),
    pytest.param("chat_completion", id="chat_completion-sdk-enum"),
]


def _paths(emu: Emulator) -> list[str]:
    return [request.path for request in emu.requests]


# -- /info, every spelling, both front ends ------------------------------------------------------


async def _langchain_info(model: Any, mode: str) -> Any:
    return model.get_model_info() if mode == "sync" else await model.aget_model_info()


async def _litellm_info(emu: Emulator, mode: str, **kwargs: Any) -> Any:
    if mode == "sync":
        return litellm_azure_llama.get_model_info(api_base=emu.url, api_key=KEY, **kwargs)
    return await litellm_azure_llama.aget_model_info(api_base=emu.url, api_key=KEY, **kwargs)


@pytest.mark.parametrize("mode", WHOLE_MODES)
@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("front", ["langchain", "litellm"])
async def test_info_reads_every_spelling(
    make_emulator: Callable[..., Emulator],
    make_lc: Callable[..., Any],
    front: str,
    spelling: str,
    mode: str,
) -> None:
    emu = make_emulator(model_name=CHAT_MODEL, info_spelling=spelling)
    if front == "langchain":
        info = await _langchain_info(chat_model(make_lc, emu), mode)
    else:
        info = await _litellm_info(emu, mode)
    assert info["model_type"] == "chat-completion"
    assert info["raw_model_type"] == spelling
    assert info["model_name"] == info["served_model_name"] == CHAT_MODEL
    assert info["served_model_type"] == "chat-completion"
    assert info["model_provider_name"] == "Meta"
    (request,) = emu.requests
    assert (request.method, request.path) == ("GET", "/info")
    assert request.query == {"api-version": "2024-05-01-preview"}


@pytest.mark.parametrize("mode", WHOLE_MODES)
async def test_azure_llama_reads_a_text_generation_info(
    base_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    info = await _langchain_info(text_model(make_lc, base_emu), mode)
    assert (info["model_type"], info["model_name"]) == ("text-generation", BASE_MODEL)


@pytest.mark.parametrize("mode", WHOLE_MODES)
@pytest.mark.parametrize("front", ["langchain", "litellm"])
async def test_info_is_cached_per_client(
    make_emulator: Callable[..., Emulator], make_lc: Callable[..., Any], front: str, mode: str
) -> None:
    emu = make_emulator(model_name=CHAT_MODEL)  # a new endpoint: nothing cached for it yet
    if front == "langchain":
        model = chat_model(make_lc, emu)
        first = await _langchain_info(model, mode)
        assert await _langchain_info(model, mode) == first
        if mode == "sync":
            model.get_model_info(refresh=True)
        else:
            await model.aget_model_info(refresh=True)
    else:
        first = await _litellm_info(emu, mode)
        assert await _litellm_info(emu, mode) == first
        await _litellm_info(emu, mode, refresh=True)
    assert _paths(emu) == ["/info", "/info"]  # the second read came from the cache


@pytest.mark.parametrize("mode", WHOLE_MODES)
async def test_litellm_info_is_cached_per_deployment(
    make_emulator: Callable[..., Emulator], mode: str
) -> None:
    emu = make_emulator(kind="managed", deployments=DEPLOYMENTS)
    for _ in range(2):
        blue = await _litellm_info(emu, mode, deployment=BLUE)
        green = await _litellm_info(emu, mode, deployment=GREEN)
    assert (blue["model_name"], green["model_name"]) == (DEPLOYMENTS[BLUE], DEPLOYMENTS[GREEN])
    assert [r.headers["azureml-model-deployment"] for r in emu.requests] == [BLUE, GREEN]


async def test_litellm_info_errors_are_litellm_errors(chat_emu: Emulator) -> None:
    with pytest.raises(litellm.AuthenticationError):
        litellm_azure_llama.get_model_info(api_base=chat_emu.url, api_key="wrong")


# -- the wrong model type, caught early with the fix named ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_chat_model_on_a_base_model_says_use_azure_llama(
    base_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    model = chat_model(make_lc, base_emu, model=BASE_MODEL)
    for attempt in range(2):
        base_emu.clear()
        with pytest.raises(NotFoundError) as caught:
            await lc_call(model, mode, "hello")
        error = caught.value
        assert "Use AzureLlama (langchain_azure_llama.AzureLlama)" in str(error)
        assert f"{BASE_MODEL} is a text-generation (base) model" in str(error)
        assert (error.status_code, error.code) == (404, "model_type_mismatch")
        assert "NOT FOUND" in str(error)  # what Azure answered is kept
        # /info is read after the first 404 only, then cached.
        expected = ["/chat/completions", "/info"] if attempt == 0 else ["/chat/completions"]
        assert _paths(base_emu) == expected


@pytest.mark.parametrize("mode", MODES)
async def test_azure_llama_on_a_chat_model_says_use_chat_azure_llama(
    chat_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    model = text_model(make_lc, chat_emu, model=CHAT_MODEL)
    with pytest.raises(NotFoundError) as caught:
        await lc_call(model, mode, "Math is a")
    assert "Use ChatAzureLlama (langchain_azure_llama.ChatAzureLlama)" in str(caught.value)
    assert f"{CHAT_MODEL} is a chat model" in str(caught.value)
    assert _paths(chat_emu) == ["/completions", "/info"]


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_completion_on_a_base_model_says_use_text_completion(
    base_emu: Emulator, mode: str
) -> None:
    with pytest.raises(litellm.NotFoundError) as caught:
        await litellm_call(mode, **litellm_kwargs(base_emu, model=BASE_MODEL))
    assert f"Use litellm.text_completion(model='azure_llama/{BASE_MODEL}'" in str(caught.value)
    # /info is cached by the provider's long-lived client: read once per process at most.
    assert _paths(base_emu) in (["/chat/completions", "/info"], ["/chat/completions"])


@pytest.mark.parametrize("mode", MODES)
async def test_litellm_text_completion_on_a_chat_model_says_use_completion(
    chat_emu: Emulator, mode: str
) -> None:
    kwargs = litellm_text_kwargs(chat_emu, model=CHAT_MODEL)
    with pytest.raises(litellm.NotFoundError) as caught:
        await litellm_call(mode, fn="text_completion", **kwargs)
    assert f"Use litellm.completion(model='azure_llama/{CHAT_MODEL}'" in str(caught.value)
    assert _paths(chat_emu) in (["/completions", "/info"], ["/completions"])


@pytest.mark.parametrize("mode", WHOLE_MODES)
async def test_check_model_type_checks_up_front(
    chat_emu: Emulator, base_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    right = [chat_model(make_lc, chat_emu), text_model(make_lc, base_emu)]
    wrong = [chat_model(make_lc, base_emu), text_model(make_lc, chat_emu)]
    for model in right:
        info = model.check_model_type() if mode == "sync" else await model.acheck_model_type()
        assert info["model_type"] in ("chat-completion", "text-generation")
    for model in wrong:
        with pytest.raises(NotFoundError, match=r"Use (Chat)?AzureLlama"):
            model.check_model_type() if mode == "sync" else await model.acheck_model_type()
    assert set(_paths(chat_emu)) == set(_paths(base_emu)) == {"/info"}


async def test_a_404_that_is_not_the_model_type_is_left_alone(
    managed_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    """An unknown deployment is a 404 on every route, /info included: the 404 stands."""
    model = chat_model(make_lc, managed_emu, deployment="no-such-deployment")
    with pytest.raises(NotFoundError) as caught:
        model.invoke("hello")
    assert "No valid deployments to route to" in str(caught.value)
    assert caught.value.code != "model_type_mismatch"
    assert _paths(managed_emu) == ["/chat/completions", "/info"]


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        pytest.param({"model_type": "chat-completion"}, "chat-completion", id="chat-ok"),
        pytest.param({"model_type": "text-generation"}, "text-generation", id="text-ok"),
        pytest.param({}, "chat-completion", id="no-type"),
    ],
)
def test_model_type_error_is_none_when_nothing_is_wrong(
    info: dict[str, Any], expected: Any
) -> None:
    assert model_type_error(info, expected=expected, use="-") is None


def test_model_type_error_names_other_types_too() -> None:
    error = model_type_error(
        {"model_type": "embeddings", "model_name": "Cohere-embed"},
        expected="chat-completion",
        use="!",
    )
    assert error is not None
    assert str(error).startswith("Cohere-embed is an 'embeddings' model")
