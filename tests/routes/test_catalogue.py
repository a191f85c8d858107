"""The one model catalogue: the seed page's models, each figure sourced, read by both front ends.

LangChain's model profile, LiteLLM's model info (`litellm.get_model_info("azure_llama/...")`)
and the `max_tokens` check made before sending all read `transport.CATALOGUE`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import litellm
import pytest

import litellm_azure_llama
from azure_llama_emulator import Emulator
from azure_llama_transport import CATALOGUE, check_max_tokens, lookup
from azure_llama_transport import RequestValidationError as TransportValidationError
from langchain_azure_llama import ChatAzureLlama, RequestValidationError
from tests._support.routes import (
    BASE_MODEL,
    CHAT_MODEL,
    chat_model,
    lc_call,
    litellm_call,
    litellm_kwargs,
    litellm_text_kwargs,
    text_model,
)

# The models the seed page (deploy-models-llama.md) lists, and their type.
SEED_PAGE = {
    "Llama-2-7b-chat": "chat-completion",
    "Llama-2-13b-chat": "chat-completion",
    "Llama-2-70b-chat": "chat-completion",
    "Meta-Llama-3-8B-Instruct": "chat-completion",
    "Meta-Llama-3-70B-Instruct": "chat-completion",
    "Meta-Llama-3.1-8B-Instruct": "chat-completion",
    "Meta-Llama-3.1-70B-Instruct": "chat-completion",
    "Meta-Llama-3.1-405B-Instruct": "chat-completion",
    "Meta-Llama-3.1-8B": "text-generation",
    "Meta-Llama-3.1-70B": "text-generation",
    "Meta-Llama-3-8B": "text-generation",
    "Llama-2-7b": "text-generation",
}


def test_the_seed_pages_models_are_all_there() -> None:
    names = {entry.name: entry.model_type for entry in CATALOGUE}
    assert {name: names.get(name) for name in SEED_PAGE} == SEED_PAGE


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e.name for e in CATALOGUE])
def test_every_figure_names_its_source(entry: Any) -> None:
    for source in dataclasses.astuple(entry.sources):
        assert "docs/wire-protocol.md §" in source, (entry.name, source)
    assert entry.context_window >= 4_096
    assert entry.max_output_tokens is None or entry.max_output_tokens <= entry.context_window
    assert entry.native_tools is False  # Azure documents no native tools for any Llama row
    assert set(entry.offers) <= {"serverless", "managed", "foundry"} and entry.offers
    assert entry.response_formats == ("text",)  # "Response formats: Text" (wire-protocol §21)
    if entry.retired is not None:
        assert re.fullmatch(r"20\d\d-\d\d-\d\d", entry.retired.date)
        assert "concepts-model-lifecycle-retirement-content.md" in entry.retired.source
        assert entry.retired.replacement


TODAY = {
    # name: (context window, image inputs, images per request)
    "Llama-3.3-70B-Instruct": (128_000, False, None),
    "Llama-4-Maverick-17B-128E-Instruct-FP8": (1_000_000, True, 1),
    "Llama-4-Scout-17B-16E-Instruct": (10_000_000, True, None),
}


@pytest.mark.parametrize("name", sorted(TODAY), ids=sorted(TODAY))
def test_todays_models_are_known_and_current(name: str) -> None:
    entry = lookup(name)
    assert entry is not None and entry.retired is None
    assert (entry.context_window, entry.image_inputs, entry.max_images) == TODAY[name]
    assert "foundry" in entry.offers


@pytest.mark.parametrize(
    ("name", "date", "replacement"),
    [
        pytest.param("Llama-2-70b-chat", "2025-06-30", "Llama-3.3-70B-Instruct", id="llama2"),
        pytest.param("Meta-Llama-3.1-70B-Instruct", "2025-06-30", "Llama-3.3-70B", id="3.1-70b"),
        pytest.param("Meta-Llama-3.1-8B-Instruct", "2026-06-13", "Llama-4-Maverick", id="3.1-8b"),
        pytest.param("Meta-Llama-3.1-405B-Instruct", "2026-06-13", "Llama-3.3", id="3.1-405b"),
    ],
)
def test_retired_models_keep_their_rows(name: str, date: str, replacement: str) -> None:
    entry = lookup(name)
    assert entry is not None and entry.retired is not None
    assert entry.retired.date == date
    assert replacement in entry.retired.replacement


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        pytest.param("Meta-Llama-3.1-8B-Instruct", "Meta-Llama-3.1-8B-Instruct", id="exact"),
        pytest.param("META-LLAMA-3.1-8B-INSTRUCT", "Meta-Llama-3.1-8B-Instruct", id="case"),
        pytest.param(
            "azure_llama/Meta-Llama-3.1-70B-Instruct", "Meta-Llama-3.1-70B-Instruct", id="provider"
        ),
        pytest.param(
            "meta-llama-3-1-405b-instruct", "Meta-Llama-3.1-405B-Instruct", id="deployment-style"
        ),
        pytest.param(
            "azureml://registries/azureml-meta/models/Meta-Llama-3.1-8B/versions/4",
            "Meta-Llama-3.1-8B",
            id="azureml-uri",
        ),
        pytest.param("azureml:Llama-2-7b:3", "Llama-2-7b", id="azureml-short"),
        pytest.param("Meta-Llama-2-7B-Chat", "Llama-2-7b-chat", id="meta-prefix"),
        pytest.param("meta-llama/Meta-Llama-3-8B", "Meta-Llama-3-8B", id="hub-style"),
    ],
)
def test_lookup_folds_spellings(spelling: str, name: str) -> None:
    entry = lookup(spelling)
    assert entry is not None and entry.name == name


@pytest.mark.parametrize("name", [None, "", "blue", "Meta-Llama-3.1-8B-Instruct-ft"], ids=repr)
def test_lookup_knows_only_catalogue_models(name: str | None) -> None:
    assert lookup(name) is None


def test_spellings_never_collide() -> None:
    assert len({lookup(e.name) for e in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e.name for e in CATALOGUE])
def test_langchain_and_litellm_read_the_same_row(entry: Any) -> None:
    chat = ChatAzureLlama(
        endpoint="https://x.eastus2.models.ai.azure.com", api_key="k", model=entry.name
    )
    profile = chat.profile or {}
    assert profile["max_input_tokens"] == entry.context_window
    assert profile.get("max_output_tokens") == entry.max_output_tokens
    chat.close()
    litellm_azure_llama.register()
    info = litellm.get_model_info(f"azure_llama/{entry.name}")
    assert info["max_input_tokens"] == entry.context_window
    assert info["max_output_tokens"] == entry.max_output_tokens
    assert info["mode"] == ("chat" if entry.model_type == "chat-completion" else "completion")
    assert info["supports_function_calling"] is entry.native_tools


def test_litellm_get_model_info_carries_the_sourced_price() -> None:
    litellm_azure_llama.register()
    info = litellm.get_model_info("azure_llama/Meta-Llama-3.1-405B-Instruct")
    assert (info["input_cost_per_token"], info["output_cost_per_token"]) == (5.33e-06, 1.6e-05)
    # No source, no price: the map's implausible Llama 3 70B row is not used (§17).
    unpriced = litellm.model_cost["azure_llama/Meta-Llama-3-70B-Instruct"]
    assert "input_cost_per_token" not in unpriced


# -- max_tokens, checked before sending -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "max_tokens", "refused"),
    [
        pytest.param("Meta-Llama-3.1-8B-Instruct", 8_192, False, id="3.1-at-limit"),
        pytest.param("Meta-Llama-3.1-8B-Instruct", 8_193, True, id="3.1-over"),
        pytest.param("Meta-Llama-3-70B-Instruct", 4_000, True, id="3-70b-over-2048"),
        pytest.param("Llama-2-7b-chat", 4_096, False, id="llama2-context-bound"),
        pytest.param("Llama-2-7b-chat", 4_097, True, id="llama2-over-context"),
        pytest.param("my-finetune", 1_000_000, False, id="unknown-model"),
        pytest.param(None, 1_000_000, False, id="no-model"),
    ],
)
def test_check_max_tokens(model: str | None, max_tokens: int, refused: bool) -> None:
    if not refused:
        check_max_tokens(model, max_tokens)
        return
    with pytest.raises(TransportValidationError, match="lower max_tokens") as caught:
        check_max_tokens(model, max_tokens)
    assert caught.value.param == "max_tokens"


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_langchain_refuses_max_tokens_over_the_limit_before_sending(
    chat_emu: Emulator, base_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    chat = chat_model(make_lc, chat_emu, max_tokens=9_000)
    with pytest.raises(RequestValidationError, match="max output of 8,192 tokens"):
        await lc_call(chat, mode, "hello")
    text = text_model(make_lc, base_emu)
    with pytest.raises(RequestValidationError, match="context window of 131,072 tokens"):
        await lc_call(text, mode, "Math is a", max_tokens=200_000)
    assert chat_emu.requests == [] and base_emu.requests == []


@pytest.mark.parametrize("mode", ["sync", "async", "stream", "astream"])
async def test_litellm_refuses_max_tokens_over_the_limit_before_sending(
    chat_emu: Emulator, base_emu: Emulator, mode: str
) -> None:
    with pytest.raises(litellm.BadRequestError, match="max output of 8,192"):
        await litellm_call(mode, **litellm_kwargs(chat_emu, model=CHAT_MODEL, max_tokens=9_000))
    kwargs = litellm_text_kwargs(base_emu, model=BASE_MODEL, max_tokens=200_000)
    with pytest.raises(litellm.BadRequestError, match="context window"):
        await litellm_call(mode, fn="text_completion", **kwargs)
    assert chat_emu.requests == [] and base_emu.requests == []
