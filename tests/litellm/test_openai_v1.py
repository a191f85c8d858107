"""`litellm.completion(model="azure_llama/<deployment>", ...)` on a Foundry resource's OpenAI v1
route, against the independent fake (tests/_support/openai_v1.py): the deployment goes in the
body's `model`, no api-version; errors are LiteLLM's own types."""

from __future__ import annotations

from collections.abc import Iterator

import litellm
import pytest

from tests._support.litellm import MODES, run
from tests._support.openai_v1 import FakeV1, azure_error

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def fake() -> FakeV1:
    return FakeV1({"my-maverick": MAVERICK})


@pytest.fixture
def base(fake: FakeV1) -> Iterator[str]:
    with fake.serve() as url:
        yield url


@pytest.mark.parametrize("mode", MODES)
async def test_the_deployment_is_the_body_model(fake: FakeV1, base: str, mode: str) -> None:
    result = await run(
        mode,
        model="azure_llama/my-maverick",
        api_base=base,
        api_key="fake-v1-key",
        messages=MESSAGES,
        endpoint_kind="openai-v1",
    )
    assert result.text == f"v1 reply from {MAVERICK}"
    (seen,) = fake.requests
    assert seen.path == "/openai/v1/chat/completions"
    assert seen.query == {}
    assert seen.json["model"] == "my-maverick"


def test_deployment_not_found_is_litellms_not_found(fake: FakeV1, base: str) -> None:
    with pytest.raises(litellm.NotFoundError, match="`model` must be the deployment name"):
        litellm.completion(
            model="azure_llama/Llama-4-Maverick",
            api_base=base,
            api_key="fake-v1-key",
            endpoint_kind="openai-v1",
            messages=MESSAGES,
        )


def test_the_content_filter_is_a_content_policy_violation(fake: FakeV1, base: str) -> None:
    inner = {
        "code": "ResponsibleAIPolicyViolation",
        "content_filter_result": {"violence": {"filtered": True, "severity": "high"}},
    }
    fake.script.append((400, {}, azure_error("content_filter", "filtered", innererror=inner)))
    with pytest.raises(litellm.ContentPolicyViolationError):
        litellm.completion(
            model="azure_llama/my-maverick",
            api_base=base,
            api_key="fake-v1-key",
            endpoint_kind="openai-v1",
            messages=MESSAGES,
        )


def test_a_foundry_v1_url_is_read_by_the_transport() -> None:
    from litellm_azure_llama._handler import _read_call

    call = _read_call(
        "azure_llama/my-maverick",
        MESSAGES,
        "https://my-resource.openai.azure.com/openai/v1/",
        "k",
        {},
        {},
        None,
        None,
    )
    assert call.plan.api == "inference"  # not the Llama-native /v1
    assert call.settings.endpoint == "https://my-resource.openai.azure.com/openai/v1"
    assert call.plan.params["model"] == "my-maverick"


def test_model_info_knows_maverick() -> None:
    import litellm_azure_llama

    litellm_azure_llama.register()
    info = litellm.get_model_info(f"azure_llama/{MAVERICK}")
    assert info["supports_vision"] is True
    assert info["max_input_tokens"] == 1_000_000
    assert info["input_cost_per_token"] == 2.5e-07
