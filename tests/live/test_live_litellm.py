"""The LiteLLM provider against the live endpoint: completion, acompletion, stream, astream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests._support.live import TARGET

pytestmark = [
    pytest.mark.live,
    # litellm's own TypedDicts (not ours) make pydantic warn on first use; see tests/litellm.
    pytest.mark.filterwarnings(
        r"ignore:Items? .* on TypedDict class '\w+' (is|are) using the `ReadOnly`:UserWarning"
    ),
]

MODES = ["completion", "acompletion", "stream", "astream"]


@pytest.fixture
async def litellm() -> AsyncIterator[Any]:
    import litellm

    import litellm_azure_llama

    litellm.suppress_debug_info = True
    litellm_azure_llama.register()
    yield litellm
    await litellm_azure_llama.handler.aclose()
    litellm_azure_llama.handler.close()


def _kwargs(**overrides: Any) -> dict[str, Any]:
    return {
        "model": f"azure_llama/{TARGET.model_name}",
        "api_base": TARGET.endpoint,
        "api_key": TARGET.key,
        "messages": [{"role": "user", "content": "Say hello in three words."}],
        "max_tokens": 20,
        "temperature": 0,
        **overrides,
    }


async def _call(litellm: Any, mode: str) -> tuple[str, str | None, Any]:
    call = litellm.acompletion if mode in ("acompletion", "astream") else litellm.completion
    stream = mode in ("stream", "astream")
    answer = call(**_kwargs(stream=stream, stream_options={"include_usage": True}))
    if mode.startswith("a"):
        answer = await answer
    if not stream:
        choice = answer.choices[0]
        return choice.message.content or "", choice.finish_reason, answer.usage
    chunks = [c async for c in answer] if mode == "astream" else list(answer)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = next((c.choices[0].finish_reason for c in reversed(chunks) if c.choices), None)
    usage = next((c.usage for c in reversed(chunks) if getattr(c, "usage", None)), None)
    return text, finish, usage


@pytest.mark.parametrize("mode", MODES, ids=MODES)
async def test_litellm_answers(litellm: Any, mode: str) -> None:
    text, finish, usage = await _call(litellm, mode)
    assert text.strip()
    assert finish in ("stop", "length")
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0


async def test_litellm_refused_key_is_an_authentication_error(litellm: Any) -> None:
    with pytest.raises(litellm.AuthenticationError):
        litellm.completion(**_kwargs(api_key="not-the-key"))
