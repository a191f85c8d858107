"""Every inference route, on both front ends, in four modes (sync, async, stream, astream).

Routes (docs/wire-protocol.md §2, §13): `/chat/completions` and `/completions` (Azure AI Model
Inference API, `api="inference"`), `/v1/chat/completions` and `/v1/completions` (Llama-native API,
`api="llama"`). Chat models go through `ChatAzureLlama` and `litellm.completion`; base models
through `AzureLlama` and `litellm.text_completion`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from azure_llama_emulator import Emulator
from tests._support.langchain import TokenRecorder
from tests._support.routes import (
    APIS,
    BASE_MODEL,
    CHAT_MODEL,
    CHAT_PATHS,
    KEY,
    MODES,
    TEXT_PATHS,
    chat_model,
    lc_call,
    litellm_call,
    litellm_kwargs,
    litellm_text_kwargs,
    text_model,
)

CHAT_REPLY = f"Emulated reply from {CHAT_MODEL}: hello there"
TEXT_REPLY = f"Emulated reply from {BASE_MODEL}: Math is a"


def _only_request(emu: Emulator) -> Any:
    (request,) = emu.requests
    return request


def _query_for(api: str) -> dict[str, str]:
    # The Llama-native /v1 routes never take api-version (docs/wire-protocol.md §3).
    return {} if api == "llama" else {"api-version": "2024-05-01-preview"}


# -- chat models: /chat/completions and /v1/chat/completions ------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_langchain_chat_route(
    chat_emu: Emulator, make_lc: Callable[..., Any], api: str, mode: str
) -> None:
    model = chat_model(make_lc, chat_emu, api=api, max_tokens=64)
    answer = await lc_call(model, mode, "hello there")
    assert answer.text == CHAT_REPLY
    assert answer.finish_reason == "stop"
    assert answer.usage is not None and answer.usage[1] > 0
    request = _only_request(chat_emu)
    assert request.path == CHAT_PATHS[api]
    assert request.query == _query_for(api)
    assert request.json["max_tokens"] == 64
    assert request.json.get("stream", False) == (mode in ("stream", "astream"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_litellm_chat_route(chat_emu: Emulator, api: str, mode: str) -> None:
    kwargs = litellm_kwargs(chat_emu, max_tokens=64, azure_llama_api=api)
    answer = await litellm_call(mode, **kwargs)
    assert answer.text == CHAT_REPLY
    assert answer.finish_reason == "stop"
    request = _only_request(chat_emu)
    assert request.path == CHAT_PATHS[api]
    assert request.query == _query_for(api)
    assert request.json.get("stream", False) == (mode in ("stream", "astream"))


# -- base models: /completions and /v1/completions ----------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_langchain_text_route(
    base_emu: Emulator, make_lc: Callable[..., Any], api: str, mode: str
) -> None:
    model = text_model(make_lc, base_emu, api=api, max_tokens=32, temperature=0)
    answer = await lc_call(model, mode, "Math is a")
    assert answer.text == TEXT_REPLY
    if mode in ("stream", "astream"):
        assert len(answer.pieces) > 1  # token by token, not one lump
    request = _only_request(base_emu)
    assert request.path == TEXT_PATHS[api]
    assert request.query == _query_for(api)
    assert request.json["prompt"] == "Math is a"
    assert request.json["max_tokens"] == 32 and request.json["temperature"] == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
async def test_litellm_text_route(base_emu: Emulator, api: str, mode: str) -> None:
    kwargs = litellm_text_kwargs(base_emu, max_tokens=32, azure_llama_api=api)
    answer = await litellm_call(mode, fn="text_completion", **kwargs)
    assert answer.text == TEXT_REPLY
    request = _only_request(base_emu)
    assert request.path == TEXT_PATHS[api]
    assert request.json["prompt"] == "Math is a" and request.json["max_tokens"] == 32


# -- AzureLlama: results, usage and batches -------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed-under-the-hood"])
async def test_azure_llama_generate_reports_usage_and_finish_reason(
    base_emu: Emulator, make_lc: Callable[..., Any], api: str, streaming: bool
) -> None:
    model = text_model(make_lc, base_emu, api=api, streaming=streaming, max_tokens=32)
    for result in (model.generate(["Math is a"]), await model.agenerate(["Math is a"])):
        (generation,) = result.generations[0]
        assert generation.text == TEXT_REPLY
        assert generation.generation_info == {"finish_reason": "stop"}
        assert result.llm_output is not None
        usage = result.llm_output["token_usage"]
        assert usage["completion_tokens"] == 7
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(r.path == TEXT_PATHS[api] for r in base_emu.requests)


@pytest.mark.parametrize("kind", ["sync", "async"], ids=["batch", "abatch"])
async def test_azure_llama_batch_sums_usage(
    base_emu: Emulator, make_lc: Callable[..., Any], kind: str
) -> None:
    model = text_model(make_lc, base_emu, max_tokens=32)
    prompts = ["one two", "three four", "five"]
    if kind == "sync":
        texts = model.batch(prompts)
        result = model.generate(prompts)
    else:
        texts = await model.abatch(prompts)
        result = await model.agenerate(prompts)
    assert texts == [f"Emulated reply from {BASE_MODEL}: {p}" for p in prompts]
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["prompt_tokens"] == 2 + 2 + 1
    assert result.llm_output["model_name"] == BASE_MODEL
    assert sorted(r.json["prompt"] for r in base_emu.requests) == sorted(prompts * 2)


async def test_azure_llama_stop_and_per_call_overrides_reach_the_wire(
    base_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    model = text_model(make_lc, base_emu, stop=["\n"], max_tokens=32)
    model.invoke("Math is a", max_tokens=8, seed=7, top_k=3)
    request = _only_request(base_emu)
    assert request.json["stop"] == ["\n"] and request.json["max_tokens"] == 8
    assert request.json["seed"] == 7
    # An unknown keyword is a model extra, announced with the pass-through header.
    assert request.json["top_k"] == 3
    assert request.headers["extra-parameters"] == "pass-through"


async def test_azure_llama_callbacks_see_every_token(
    base_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    seen = TokenRecorder()
    model = text_model(make_lc, base_emu, max_tokens=32)
    text = "".join(model.stream("Math is a", config={"callbacks": [seen]}))
    assert "".join(seen.tokens) == text == TEXT_REPLY


@pytest.mark.parametrize("kind", ["sync", "async"], ids=["invoke", "ainvoke"])
async def test_azure_llama_streamed_under_invoke_reports_tokens_to_callbacks(
    base_emu: Emulator, make_lc: Callable[..., Any], kind: str
) -> None:
    """langchain-core passes `run_manager` to `_generate` only if its signature (which this
    package precomputes) says it takes one; without it no token would reach a callback."""
    seen = TokenRecorder()
    model = text_model(make_lc, base_emu, max_tokens=32, streaming=True)
    config: Any = {"callbacks": [seen]}
    if kind == "sync":
        text = model.invoke("Math is a", config=config)
    else:
        text = await model.ainvoke("Math is a", config=config)
    assert len(seen.tokens) > 1
    assert "".join(seen.tokens) == text == TEXT_REPLY


def test_azure_llama_keeps_secrets_out_of_repr_and_serialisation(
    base_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    from langchain_core.load import dumps

    model = text_model(make_lc, base_emu)
    assert KEY not in repr(model) and KEY not in str(model)
    serialised = dumps(model)
    assert KEY not in serialised
    assert "AZURE_INFERENCE_CREDENTIAL" in serialised
    assert model._llm_type == "azure-llama"
    params = model._get_ls_params()
    assert params["ls_provider"] == "azure_llama" and params["ls_model_name"] == BASE_MODEL
