"""Through both front ends, a model Azure sells today never warns `RetiredModelWarning`.

A Foundry resource (an Azure-run endpoint, where a retired model warns) serves today's models by
name and under deployment names of the user's own; LangChain and LiteLLM call each in four modes.
The retired control warns through the same calls. The transport's own test, on every Azure-run
endpoint kind and every current catalogue row: tests/unit/transport/test_lifecycle.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from azure_llama_transport import CATALOGUE, RetiredModelWarning
from tests._support.routes import (
    KEY,
    MODES,
    Answer,
    chat_model,
    lc_call,
    litellm_call,
    litellm_kwargs,
)

TODAY = [entry.name for entry in CATALOGUE if entry.listed_today and entry.retired is None]
RETIRED = "Meta-Llama-3.1-8B-Instruct"
FRONT_ENDS = [pytest.param("langchain", id="langchain"), pytest.param("litellm", id="litellm")]


def _names(models: list[str]) -> list[Any]:
    """Each model by its own name, and by a deployment name whose answers name the model."""
    return [
        pytest.param(name, model, id=f"{model}-{how}")
        for model in models
        for name, how in ((model, "name"), (f"mine-{model.lower()}", "deployment"))
    ]


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    served = [*TODAY, RETIRED]
    models = (*served, *(f"mine-{model.lower()}={model}" for model in served))
    with Emulator(EmulatorConfig(api_key=KEY, kind="foundry", models=models)) as emu:
        yield emu


async def _call(
    make_lc: Callable[..., Any], foundry: Emulator, front_end: str, mode: str, name: str
) -> Answer:
    where = {"endpoint_kind": "foundry"}
    if front_end == "langchain":
        model = chat_model(make_lc, foundry, endpoint=f"{foundry.url}/models", model=name, **where)
        return await lc_call(model, mode, "hello there")
    kwargs = litellm_kwargs(foundry, model=name, api_base=f"{foundry.url}/models", **where)
    return await litellm_call(mode, **kwargs)


def test_todays_models_are_served() -> None:
    assert sorted(TODAY) == [
        "Llama-3.3-70B-Instruct",
        "Llama-4-Maverick-17B-128E-Instruct-FP8",
        "Llama-4-Scout-17B-16E-Instruct",
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.parametrize(("name", "model"), _names(TODAY))
async def test_a_model_sold_today_never_warns_retired(
    make_lc: Callable[..., Any],
    foundry: Emulator,
    front_end: str,
    mode: str,
    name: str,
    model: str,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetiredModelWarning)
        answer = await _call(make_lc, foundry, front_end, mode, name)
    assert answer.text == f"Emulated reply from {model}: hello there"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.parametrize(("name", "model"), _names([RETIRED]))
async def test_the_same_call_to_a_retired_model_warns(
    make_lc: Callable[..., Any],
    foundry: Emulator,
    front_end: str,
    mode: str,
    name: str,
    model: str,
) -> None:
    with pytest.warns(RetiredModelWarning, match=model) as caught:
        await _call(make_lc, foundry, front_end, mode, name)
    assert len([w for w in caught if issubclass(w.category, RetiredModelWarning)]) == 1
