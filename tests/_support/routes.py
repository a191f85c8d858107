"""Helpers for the tests in tests/routes/ (fixtures stay in its conftest.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm

from azure_llama_emulator import Emulator
from langchain_azure_llama import AzureLlama, ChatAzureLlama

KEY = "routes-key-5c1e0a77d2b94f18"
CHAT_MODEL = "Meta-Llama-3.1-8B-Instruct"
BASE_MODEL = "Meta-Llama-3.1-8B"
BLUE, GREEN = "llama-31-8b-blue", "llama-31-70b-green"
DEPLOYMENTS = {BLUE: "Meta-Llama-3.1-8B-Instruct", GREEN: "Meta-Llama-3.1-70B-Instruct"}
# The Entra tokens the managed emulator accepts (what `CountingCredential` hands out).
TOKENS = tuple(f"token-{i}" for i in range(1, 40))
MODES = [
    pytest.param("sync", id="sync"),
    pytest.param("async", id="async"),
    pytest.param("stream", id="stream"),
    pytest.param("astream", id="astream"),
]
WHOLE_MODES = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
APIS = [pytest.param("inference", id="inference"), pytest.param("llama", id="llama")]
CHAT_PATHS = {"inference": "/chat/completions", "llama": "/v1/chat/completions"}
TEXT_PATHS = {"inference": "/completions", "llama": "/v1/completions"}

litellm.suppress_debug_info = True


# -- emulators ----------------------------------------------------------------------------------


# -- front ends ---------------------------------------------------------------------------------


def chat_model(make_lc: Callable[..., Any], emu: Emulator, **settings: Any) -> ChatAzureLlama:
    settings.setdefault("model", CHAT_MODEL)
    model: ChatAzureLlama = make_lc(ChatAzureLlama, emu, **settings)
    return model


def text_model(make_lc: Callable[..., Any], emu: Emulator, **settings: Any) -> AzureLlama:
    settings.setdefault("model", BASE_MODEL)
    model: AzureLlama = make_lc(AzureLlama, emu, **settings)
    return model


# -- one body, four modes ------------------------------------------------------------------------


@dataclass
class Answer:
    """What one call produced, whatever the front end and mode."""

    text: str
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None
    pieces: list[Any] = field(default_factory=list)
    raw: Any = None


async def lc_call(model: Any, mode: str, value: Any, **kwargs: Any) -> Answer:
    """`invoke` / `ainvoke` / `stream` / `astream` on a LangChain chat model or LLM."""
    if mode == "sync":
        return _lc_whole(model.invoke(value, **kwargs))
    if mode == "async":
        return _lc_whole(await model.ainvoke(value, **kwargs))
    if mode == "stream":
        pieces = list(model.stream(value, **kwargs))
    else:
        pieces = [piece async for piece in model.astream(value, **kwargs)]
    return _lc_streamed(pieces)


def _lc_whole(result: Any) -> Answer:
    if isinstance(result, str):  # an LLM answers with text
        return Answer(result, raw=result)
    usage = result.usage_metadata or {}
    return Answer(
        result.content,
        result.response_metadata.get("finish_reason"),
        (usage.get("input_tokens", 0), usage.get("output_tokens", 0)),
        raw=result,
    )


def _lc_streamed(pieces: list[Any]) -> Answer:
    if pieces and isinstance(pieces[0], str):
        return Answer("".join(pieces), pieces=pieces)
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece
    answer = _lc_whole(total)
    answer.pieces = pieces
    return answer


async def litellm_call(mode: str, *, fn: str = "completion", **kwargs: Any) -> Answer:
    """`completion` / `acompletion` (or `text_completion`) in one of four modes."""
    stream = mode in ("stream", "astream")
    call = getattr(litellm, f"a{fn}" if mode in ("async", "astream") else fn)
    result = call(stream=True, **kwargs) if stream else call(**kwargs)
    if mode in ("async", "astream"):
        result = await result
    if not stream:
        return _litellm_whole(result)
    chunks = [c async for c in result] if mode == "astream" else list(result)
    return _litellm_streamed(chunks)


def _litellm_whole(response: Any) -> Answer:
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    text = message.content if message is not None else choice.text
    usage = response.usage
    counts = (usage.prompt_tokens, usage.completion_tokens)
    return Answer(text or "", choice.finish_reason, counts, raw=response)


def _litellm_streamed(chunks: list[Any]) -> Answer:
    text, finish = "", None
    for chunk in chunks:
        for choice in chunk.choices:
            delta = getattr(choice, "delta", None)
            text += (delta.content if delta is not None else choice.text) or ""
            finish = choice.finish_reason or finish
    return Answer(text, finish, pieces=chunks)


def litellm_kwargs(emu: Emulator, model: str = CHAT_MODEL, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": f"azure_llama/{model}",
        "api_base": emu.url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    kwargs.update(overrides)
    return kwargs


def litellm_text_kwargs(emu: Emulator, model: str = BASE_MODEL, **overrides: Any) -> dict[str, Any]:
    kwargs = litellm_kwargs(emu, model, prompt="Math is a", **overrides)
    del kwargs["messages"]
    return kwargs


# -- Entra ID -------------------------------------------------------------------------------------


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class CountingCredential:
    """A stand-in for `DefaultAzureCredential` that counts `get_token` calls.

    Token `i` is "token-i". `lifetimes` gives the seconds each successive token lives (the last
    one repeats); a token within five minutes of expiry counts as expired to the transport, so a
    60-second token is refreshed by the next request.
    """

    def __init__(self, *lifetimes: int) -> None:
        self.lifetimes = lifetimes or (3600,)
        self.scopes: list[tuple[str, ...]] = []

    @property
    def calls(self) -> int:
        return len(self.scopes)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        lifetime = self.lifetimes[min(self.calls, len(self.lifetimes)) - 1]
        return AccessToken(f"token-{self.calls}", int(time.time()) + lifetime)


class AsyncCountingCredential(CountingCredential):
    """The azure-identity `aio` flavour: `get_token` is a coroutine."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return CountingCredential.get_token(self, *scopes, **kwargs)


def bearer_tokens(emu: Emulator) -> list[str]:
    return [r.headers.get("authorization", "").removeprefix("Bearer ") for r in emu.requests]
