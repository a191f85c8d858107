"""Work `invoke` skips or does once per model (issue 14) must not change what a call does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from langchain_azure_llama import ChatAzureLlama
from langchain_azure_llama.emulator import Emulator
from tests._support.langchain import MODEL, Api

Make = Callable[..., ChatAzureLlama]


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


async def test_run_manager_reaches_generate(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    """langchain-core hands `_generate` its `run_manager` only if the method's signature (which
    this package precomputes) names it: streamed under `_generate`, tokens reach callbacks."""
    seen = _Tokens()
    # disable_streaming keeps langchain-core off `_stream`; stream=True then streams in `_generate`.
    model = make_model(native_emu, disable_streaming=True)
    answer = await api.invoke(model, "Hello there", config={"callbacks": [seen]}, stream=True)
    assert answer.content == f"Emulated reply from {MODEL}: Hello there"
    assert len(seen.tokens) > 1
    assert "".join(seen.tokens) == answer.content
