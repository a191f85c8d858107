"""Today's Llama through `litellm.completion` (issue 21): every form Llama writes a call in becomes
OpenAI-shaped `tool_calls` (distinct ids, streamed with indexes), nothing goes natively to a model
Azure lists without tools, and a deployment that ignores `tools` still yields the call; how the
protocol ran is in `provider_specific_fields["llama_protocol"]`. Against the independent v1 fake."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests._support.litellm import MODES, Result, run
from tests._support.llama_forms import FORM_PARAMS, FORMS, TOOLS
from tests._support.openai_v1 import FakeV1

LLAMA33 = "Llama-3.3-70B-Instruct"
NATIVE_KEYS = ("tools", "tool_choice", "response_format")
MESSAGES = [{"role": "user", "content": "weather?"}]


@pytest.fixture
def fake() -> FakeV1:
    return FakeV1({LLAMA33: LLAMA33})


@pytest.fixture
def base(fake: FakeV1) -> Iterator[str]:
    with fake.serve() as url:
        yield url


async def _call(mode: str, base: str, model: str) -> Result:
    return await run(
        mode,
        model=f"azure_llama/{model}",
        api_base=base,
        api_key="fake-v1-key",
        messages=MESSAGES,
        tools=TOOLS,
        endpoint_kind="openai-v1",
    )


def _calls(result: Result) -> list[tuple[str, Any]]:
    ids = [call.id for call in result.tool_calls]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert all(call.type == "function" for call in result.tool_calls)
    if result.chunks:
        indexes = [call.index for call in result.tool_calls]
        assert indexes == list(range(len(indexes)))
        assert "get_weather" not in result.text and "<|" not in result.text
    return [(c.function.name, json.loads(c.function.arguments)) for c in result.tool_calls]


def _protocol(result: Result) -> dict[str, Any]:
    if result.chunks:
        fields = [
            c.choices[0].delta.provider_specific_fields
            for c in result.chunks
            if c.choices and getattr(c.choices[0].delta, "provider_specific_fields", None)
        ]
        return fields[-1]["llama_protocol"]  # type: ignore[no-any-return]
    fields = result.response.choices[0].message.provider_specific_fields
    return fields["llama_protocol"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", FORM_PARAMS)
async def test_every_form_becomes_openai_tool_calls(
    fake: FakeV1, base: str, form: str, mode: str
) -> None:
    text, expected, prose = FORMS[form]
    fake.reply, fake.piece = text, 3
    result = await _call(mode, base, LLAMA33)
    assert _calls(result) == expected
    assert result.finish_reason == "tool_calls"
    assert result.text.strip() == prose
    (seen,) = fake.requests
    assert not set(NATIVE_KEYS) & set(seen.json)
    assert _protocol(result)["reason"] == "catalogue"


@pytest.mark.parametrize("mode", MODES)
async def test_a_deployment_that_ignores_tools_still_yields_the_call(
    fake: FakeV1, base: str, mode: str
) -> None:
    name = f"mine-{uuid.uuid4().hex[:8]}"
    fake.deployments[name] = LLAMA33
    fake.reply, fake.piece = FORMS["pythonic-parallel"][0], 4
    result = await _call(mode, base, name)
    assert _calls(result) == FORMS["pythonic-parallel"][1]
    first, again = fake.requests
    assert first.json["tools"] and not set(NATIVE_KEYS) & set(again.json)
    assert _protocol(result)["reason"] == "ignored"
