"""Work `invoke` skips or does once per model (issue 14) must not change what a call does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from azure_llama_emulator import Emulator
from langchain_azure_llama import ChatAzureLlama
from langchain_azure_llama._calls import TYPED_PARAMS, merge_params
from tests._support.langchain import MODEL, Api, TokenRecorder

Make = Callable[..., ChatAzureLlama]


async def test_run_manager_reaches_generate(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    """langchain-core hands `_generate` its `run_manager` only if the method's signature (which
    this package precomputes) names it: streamed under `_generate`, tokens reach callbacks."""
    seen = TokenRecorder()
    # disable_streaming keeps langchain-core off `_stream`; stream=True then streams in `_generate`.
    model = make_model(native_emu, disable_streaming=True)
    answer = await api.invoke(model, "Hello there", config={"callbacks": [seen]}, stream=True)
    assert answer.content == f"Emulated reply from {MODEL}: Hello there"
    assert len(seen.tokens) > 1
    assert "".join(seen.tokens) == answer.content


DEFAULTS: dict[str, Any] = {"temperature": 0.5, "top_p": None, "stop": ["END"], "model": "m"}


@pytest.mark.parametrize(
    ("stop", "kwargs", "expected"),
    [
        pytest.param(
            None,
            {},
            ({"temperature": 0.5, "stop": ["END"], "model": "m"}, {}, {"a": 1}),
            id="settings",
        ),
        pytest.param(
            "X",
            {},
            ({"temperature": 0.5, "stop": ["X"], "model": "m"}, {}, {"a": 1}),
            id="stop-string",
        ),
        pytest.param(
            [], {}, ({"temperature": 0.5, "model": "m"}, {}, {"a": 1}), id="empty-stop-unsets"
        ),
        pytest.param(
            None,
            {"stop": ["K"], "temperature": None, "top_p": 0.9},
            ({"stop": ["K"], "model": "m", "top_p": 0.9}, {}, {"a": 1}),
            id="call-none-unsets-call-value-overrides",
        ),
        pytest.param(
            ["S"],
            {"stop": ["K"], "timeout": 5, "headers": None},
            ({"temperature": 0.5, "stop": ["S"], "model": "m"}, {"timeout": 5}, {"a": 1}),
            id="stop-argument-wins-options-split",
        ),
        pytest.param(
            None,
            {"top_k": 3, "model_extras": {"a": 2, "b": 1}},
            ({"temperature": 0.5, "stop": ["END"], "model": "m"}, {}, {"a": 2, "b": 1, "top_k": 3}),
            id="extras-merge-over-the-models",
        ),
    ],
)
def test_merge_params(stop: Any, kwargs: dict[str, Any], expected: tuple[Any, ...]) -> None:
    model_extras = {"a": 1}
    merged = merge_params(
        DEFAULTS, typed=TYPED_PARAMS, stop=stop, model_extras=model_extras, kwargs=kwargs
    )
    assert merged == expected
    assert merged[2] is not model_extras  # a call's extras never alias the model's setting
