"""Streams priced like answers: a stream names the model Azure says answered (the wire chunks'
`model`) to LiteLLM, which prices the stream from it, as it prices a whole answer from
`response.model`. The deployment is asked for the 8B model but serves the 70B one, whose price
differs, so a stream priced from the requested name would cost a sixth of the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.litellm import KEY, MODEL

SERVED = "Meta-Llama-3.1-70B-Instruct"
MESSAGES = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def serving_70b() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, model_name=SERVED)) as emu:
        yield emu


def _kwargs(emu: Emulator) -> dict[str, Any]:
    return {
        "model": f"azure_llama/{MODEL}",
        "api_base": emu.url,
        "api_key": KEY,
        "messages": MESSAGES,
    }


async def _chunks(mode: str, emu: Emulator) -> list[Any]:
    options = {"stream": True, "stream_options": {"include_usage": True}}
    if mode == "stream":
        return list(litellm.completion(**_kwargs(emu), **options))
    stream = await litellm.acompletion(**_kwargs(emu), **options)
    return [chunk async for chunk in stream]


STREAMS = [pytest.param("stream", id="stream"), pytest.param("astream", id="astream")]


@pytest.mark.parametrize("mode", STREAMS)
async def test_a_stream_costs_what_the_whole_answer_costs(serving_70b: Emulator, mode: str) -> None:
    whole = litellm.completion(**_kwargs(serving_70b))
    chunks = await _chunks(mode, serving_70b)
    built = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    assert built is not None
    assert built.usage.total_tokens == whole.usage.total_tokens  # the same tokens
    whole_cost = litellm.completion_cost(completion_response=whole)
    assert litellm.completion_cost(completion_response=built) == pytest.approx(whole_cost)
    # The final usage chunk carries the same cost.
    assert chunks[-1].usage.cost == pytest.approx(whole_cost)


@pytest.mark.parametrize("mode", STREAMS)
async def test_every_answer_chunk_names_the_served_model(serving_70b: Emulator, mode: str) -> None:
    # (The finish and usage chunks LiteLLM's wrapper adds itself carry no provider fields.)
    chunks = await _chunks(mode, serving_70b)
    answer = [c for c in chunks if c.choices and c.choices[0].delta.content]
    served = {chunk._hidden_params.get("provider_response_model") for chunk in answer}
    assert served == {SERVED}
    built = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    assert built is not None and built._hidden_params["provider_response_model"] == SERVED
