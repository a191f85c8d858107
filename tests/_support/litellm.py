"""Helpers for the tests in tests/litellm/ (fixtures stay in its conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm
from litellm.exceptions import MidStreamFallbackError

from azure_llama_emulator import Emulator

KEY = "emulator-key"
MODEL = "Meta-Llama-3.1-8B-Instruct"
MODES = [
    pytest.param("sync", id="completion"),
    pytest.param("async", id="acompletion"),
    pytest.param("stream", id="stream"),
    pytest.param("astream", id="astream"),
]

# LiteLLM prints a banner to stdout for every exception it maps; keep test output readable.
litellm.suppress_debug_info = True


@dataclass
class Result:
    """What one call produced, whatever the mode."""

    text: str
    finish_reason: str | None
    usage: Any
    tool_calls: list[Any] = field(default_factory=list)
    chunks: list[Any] = field(default_factory=list)
    response: Any = None


async def run(mode: str, *, fn: str = "completion", **kwargs: Any) -> Result:
    """Call LiteLLM in `mode` and gather the answer into one `Result`."""
    stream = mode in ("stream", "astream")
    call = getattr(litellm, f"a{fn}" if mode in ("async", "astream") else fn)
    answer = call(stream=stream, **kwargs) if stream else call(**kwargs)
    if mode in ("async", "astream"):
        answer = await answer
    if not stream:
        return _whole(answer)
    chunks = [c async for c in answer] if mode == "astream" else list(answer)
    return _streamed(chunks, kwargs.get("messages"))


def _whole(response: Any) -> Result:
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    text = message.content if message is not None else choice.text
    calls = (message.tool_calls or []) if message is not None else []
    return Result(text or "", choice.finish_reason, response.usage, calls, [], response)


def _streamed(chunks: list[Any], messages: Any) -> Result:
    text, finish, calls = "", None, []
    for chunk in chunks:
        for choice in chunk.choices:
            delta = getattr(choice, "delta", None)
            piece = delta.content if delta is not None else choice.text
            text += piece or ""
            calls += (getattr(delta, "tool_calls", None) or []) if delta is not None else []
            finish = choice.finish_reason or finish
    usage = next((c.usage for c in reversed(chunks) if getattr(c, "usage", None)), None)
    return Result(text, finish, usage, calls, chunks)


def unwrap(exc: BaseException) -> BaseException:
    """A failed stream reaches its reader as LiteLLM's MidStreamFallbackError for 429/5xx (so the
    Router can fall back); the mapped provider error is its `original_exception`."""
    if isinstance(exc, MidStreamFallbackError) and exc.original_exception is not None:
        return exc.original_exception
    return exc


def call_kwargs(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": f"azure_llama/{MODEL}",
        "api_base": emu.url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hello there"}],
    }
    kwargs.update(overrides)
    return kwargs
