"""Helpers for the tests in tests/langchain/ (fixtures stay in its conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from azure_llama_emulator import Emulator

# Distinctive, so that the cassette scan cannot miss it.
EMULATOR_KEY = "emu-key-3f9c27d1b6a84e05"
MODEL = "Meta-Llama-3.1-8B-Instruct"
LLAMA4 = "Llama-4-Maverick-17B-128E-Instruct-FP8"
CASSETTES = Path(__file__).parent.parent / "langchain" / "cassettes"
EMULATORS: dict[str, Emulator] = {}


def model_params(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    return {"endpoint": emu.url, "api_key": EMULATOR_KEY, "model": MODEL, **overrides}


class TokenRecorder(BaseCallbackHandler):
    """A callback that keeps every token `on_llm_new_token` is given."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


class Api:
    """One test body for both APIs: `await api.invoke(runnable, ...)` is sync or async."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @property
    def is_async(self) -> bool:
        return self.kind == "async"

    async def invoke(self, runnable: Any, value: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return await runnable.ainvoke(value, **kwargs)
        return runnable.invoke(value, **kwargs)

    async def stream(self, runnable: Any, value: Any, **kwargs: Any) -> list[Any]:
        if self.is_async:
            return [chunk async for chunk in runnable.astream(value, **kwargs)]
        return list(runnable.stream(value, **kwargs))

    async def batch(self, runnable: Any, values: list[Any], **kwargs: Any) -> list[Any]:
        if self.is_async:
            return list(await runnable.abatch(values, **kwargs))
        return list(runnable.batch(values, **kwargs))


def merged(chunks: list[Any]) -> Any:
    """Add message chunks up, as a caller of `stream` would."""
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


# -- VCR: cassettes recorded from the emulator, auth headers filtered --------------------------
