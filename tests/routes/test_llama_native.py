"""The Llama-native API (`api="llama"`): typed parameters, their rules, logprobs, content safety.

Broken combinations are refused before anything is sent, with a message that says what to
change (docs/wire-protocol.md §13: best_of >= n; beam search needs best_of > 1 and temperature 0;
best_of > 1 cannot stream).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import litellm
import pytest
from langchain_core.messages import HumanMessage

from azure_llama_emulator import Emulator
from langchain_azure_llama import (
    AzureLlama,
    ChatAzureLlama,
    ContentFilterError,
    RequestValidationError,
)
from tests._support.routes import (
    CHAT_MODEL,
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

LLAMA_SETTINGS = {
    "n": 2,
    "best_of": 3,
    "logprobs": 2,
    "ignore_eos": False,
    "stop_token_ids": [128009],
    "skip_special_tokens": True,
}

STREAMED_BEST_OF = ({"best_of": 2}, "best_of > 1 cannot be streamed")
# (settings, refusal of a whole answer, refusal of a stream): rules are checked in the order
# best_of >= n, no streaming with best_of > 1, then beam search.
BROKEN = [
    pytest.param(
        {"n": 3, "best_of": 2},
        "best_of (2) must be greater than n (3)",
        "best_of (2) must be greater than n (3)",
        id="best_of<n",
    ),
    pytest.param(
        {"use_beam_search": True, "temperature": 0},
        "use_beam_search needs best_of > 1",
        "use_beam_search needs best_of > 1",
        id="beam-without-best_of",
    ),
    pytest.param(
        {"use_beam_search": True, "best_of": 2, "temperature": 0.7},
        "use_beam_search needs temperature=0",
        STREAMED_BEST_OF[1],
        id="beam-warm",
    ),
]
STREAMS = ("stream", "astream")


# -- typed on /v1, and only there ----------------------------------------------------------------


@pytest.mark.parametrize("mode", WHOLE_MODES)
async def test_langchain_chat_sends_llama_fields_typed_on_v1(
    chat_emu: Emulator, make_lc: Callable[..., Any], mode: str
) -> None:
    model = chat_model(make_lc, chat_emu, api="llama", **LLAMA_SETTINGS)
    await lc_call(model, mode, "hello there")
    (request,) = chat_emu.requests
    assert request.path == "/v1/chat/completions"
    assert {key: request.json[key] for key in LLAMA_SETTINGS} == LLAMA_SETTINGS
    assert "extra-parameters" not in request.headers


async def test_langchain_chat_returns_n_generations(
    chat_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    model = chat_model(make_lc, chat_emu, api="llama", n=2, best_of=2)
    result = await model.agenerate([[HumanMessage("hi")]])
    assert len(result.generations[0]) == 2


async def test_langchain_text_sends_llama_fields_typed_on_v1(
    base_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    model = text_model(make_lc, base_emu, api="llama", **LLAMA_SETTINGS)
    result = model.generate(["Math is a"], best_of=4)  # a per-call override, typed too
    assert len(result.generations[0]) == 2  # n choices per prompt
    (request,) = base_emu.requests
    assert request.path == "/v1/completions"
    assert request.json["best_of"] == 4 and request.json["n"] == 2
    assert "extra-parameters" not in request.headers


@pytest.mark.parametrize("cls", [ChatAzureLlama, AzureLlama], ids=["chat", "text"])
def test_llama_fields_on_the_inference_api_are_refused_with_both_ways_out(
    cls: type[Any],
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        cls(endpoint="https://x.eastus2.models.ai.azure.com", api_key=KEY, best_of=3)
    message = str(caught.value)
    assert "api='llama'" in message and "model_extras={'best_of': 3}" in message


async def test_llama_extras_still_reach_the_inference_api_as_model_extras(
    chat_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    """LLAMA-DOC: the same parameters pass through /chat/completions with pass-through."""
    model = chat_model(make_lc, chat_emu, model_extras={"best_of": 3})
    model.invoke("hi", n=1)
    (request,) = chat_emu.requests
    assert request.path == "/chat/completions"
    assert (request.json["best_of"], request.json["n"]) == (3, 1)
    assert request.headers["extra-parameters"] == "pass-through"


@pytest.mark.parametrize("text", [False, True], ids=["completion", "text_completion"])
async def test_litellm_sends_llama_params_typed_on_v1(
    chat_emu: Emulator, base_emu: Emulator, text: bool
) -> None:
    emu = base_emu if text else chat_emu
    make = litellm_text_kwargs if text else litellm_kwargs
    kwargs = make(emu, azure_llama_api="llama", n=1, best_of=2, logprobs=1, ignore_eos=True)
    await litellm_call("sync", fn="text_completion" if text else "completion", **kwargs)
    (request,) = emu.requests
    assert request.path == ("/v1/completions" if text else "/v1/chat/completions")
    assert (request.json["best_of"], request.json["logprobs"], request.json["ignore_eos"]) == (
        2,
        1,
        True,
    )
    assert "extra-parameters" not in request.headers


# -- broken combinations: refused before sending -------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("settings", "whole", "streamed"), BROKEN)
@pytest.mark.parametrize("kind", ["chat", "text"])
async def test_langchain_refuses_broken_llama_combinations(
    chat_emu: Emulator,
    base_emu: Emulator,
    make_lc: Callable[..., Any],
    kind: str,
    settings: dict[str, Any],
    whole: str,
    streamed: str,
    mode: str,
) -> None:
    emu = chat_emu if kind == "chat" else base_emu
    make = chat_model if kind == "chat" else text_model
    model = make(make_lc, emu, api="llama", **settings)
    with pytest.raises(RequestValidationError) as caught:
        await lc_call(model, mode, "hello there")
    assert (streamed if mode in STREAMS else whole) in str(caught.value)
    assert caught.value.param in ("best_of", "use_beam_search")
    assert emu.requests == []


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize("kind", ["chat", "text"])
async def test_langchain_refuses_to_stream_best_of(
    chat_emu: Emulator, base_emu: Emulator, make_lc: Callable[..., Any], kind: str, mode: str
) -> None:
    settings, message = STREAMED_BEST_OF
    emu = chat_emu if kind == "chat" else base_emu
    make = chat_model if kind == "chat" else text_model
    model = make(make_lc, emu, api="llama", **settings)
    with pytest.raises(RequestValidationError, match=message):
        await lc_call(model, mode, "hello there")
    assert emu.requests == []
    assert (await lc_call(model, "async", "hello there")).text  # whole answers are fine


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("settings", "whole", "streamed"), BROKEN)
@pytest.mark.parametrize("fn", ["completion", "text_completion"])
async def test_litellm_refuses_broken_llama_combinations(
    chat_emu: Emulator,
    base_emu: Emulator,
    fn: str,
    settings: dict[str, Any],
    whole: str,
    streamed: str,
    mode: str,
) -> None:
    emu = base_emu if fn == "text_completion" else chat_emu
    make = litellm_text_kwargs if fn == "text_completion" else litellm_kwargs
    with pytest.raises(litellm.BadRequestError) as caught:
        await litellm_call(mode, fn=fn, **make(emu, azure_llama_api="llama", **settings))
    assert (streamed if mode in STREAMS else whole) in str(caught.value)
    assert emu.requests == []


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_litellm_refuses_to_stream_best_of(chat_emu: Emulator, mode: str) -> None:
    settings, message = STREAMED_BEST_OF
    with pytest.raises(litellm.BadRequestError, match=message):
        await litellm_call(mode, **litellm_kwargs(chat_emu, azure_llama_api="llama", **settings))
    assert chat_emu.requests == []


# -- logprobs -------------------------------------------------------------------------------------

LOGPROBS = {"tokens": ["Hi", "!"], "token_logprobs": [-0.1, -0.2], "text_offset": [0, 2]}


def _v1_answer(request: httpx.Request) -> httpx.Response:
    chat = request.url.path == "/v1/chat/completions"
    body = json.loads(request.content)
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": LOGPROBS}
    choice.update({"message": {"role": "assistant", "content": "Hi!"}} if chat else {"text": "Hi!"})
    answer = {"id": "a1", "object": "x", "created": 1, "model": CHAT_MODEL, "choices": [choice]}
    answer["usage"] = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    if not body.get("stream"):
        return httpx.Response(200, json=answer)
    choice.pop("message", None)
    choice["delta"] = {"content": "Hi!"}
    sse = f"data: {json.dumps(answer)}\n\ndata: [DONE]\n\n"
    return httpx.Response(200, content=sse.encode(), headers={"content-type": "text/event-stream"})


def _mocked(cls: type[Any], **settings: Any) -> Any:
    transport = httpx.MockTransport(_v1_answer)
    return cls(
        endpoint="https://x.eastus2.inference.ml.azure.com",
        api_key=KEY,
        api="llama",
        logprobs=1,
        http_client=httpx.Client(transport=transport),
        http_async_client_factory=lambda: httpx.AsyncClient(transport=transport),
        **settings,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_chat_logprobs_land_in_response_metadata(mode: str) -> None:
    model = _mocked(ChatAzureLlama)
    answer = await lc_call(model, mode, "hi")
    assert answer.raw is not None or answer.pieces
    message = answer.raw if answer.raw is not None else answer.pieces[0]
    assert message.response_metadata["logprobs"] == LOGPROBS
    model.close()
    await model.aclose()


@pytest.mark.parametrize("mode", WHOLE_MODES)
async def test_text_logprobs_land_in_generation_info(mode: str) -> None:
    model = _mocked(AzureLlama)
    result = model.generate(["hi"]) if mode == "sync" else await model.agenerate(["hi"])
    generation = result.generations[0][0]
    assert generation.generation_info == {"finish_reason": "stop", "logprobs": LOGPROBS}
    streamed = [chunk async for chunk in model.astream("hi")]
    assert streamed == ["Hi!"]
    model.close()
    await model.aclose()


# -- content safety: the Model Inference API routes only ----------------------------------------


async def test_content_safety_runs_on_the_inference_route_only(
    chat_emu: Emulator, make_lc: Callable[..., Any]
) -> None:
    """CS-DOC: filtering is not applied outside the Azure AI Model Inference API (§12)."""
    blocked = "BLOCKME please"
    with pytest.raises(ContentFilterError):
        chat_model(make_lc, chat_emu).invoke(blocked)
    answer = chat_model(make_lc, chat_emu, api="llama").invoke(blocked)
    assert answer.content.endswith(blocked)
    assert [r.path for r in chat_emu.requests] == ["/chat/completions", "/v1/chat/completions"]
