"""What LiteLLM's users expect of a provider: one retry layer, LiteLLM's defaults, the served
model's name, and nothing printed."""

from __future__ import annotations

import litellm
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from litellm_azure_llama import _handler
from tests._support.litellm import KEY, MODES, call_kwargs, run

RETRIES = [
    pytest.param({}, 1, id="default-one-request"),
    pytest.param({"num_retries": 2}, 3, id="num_retries=2"),
    pytest.param({"max_retries": 2}, 3, id="max_retries=2"),
    pytest.param({"num_retries": 1, "max_retries": 1}, 2, id="both=1"),
    pytest.param({"num_retries": 0}, 1, id="num_retries=0"),
]


def _inference(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/chat/completions"))


@pytest.mark.parametrize(("retries", "requests"), RETRIES)
@pytest.mark.parametrize("mode", MODES)
async def test_n_retries_send_n_plus_one_requests(
    emu: Emulator, mode: str, retries: dict[str, int], requests: int
) -> None:
    emu.inject(Fault.status(503, retry_after=0), times=20)
    with pytest.raises(litellm.ServiceUnavailableError):
        await run(mode, **call_kwargs(emu, **retries))
    assert _inference(emu) == requests


async def test_a_retry_that_succeeds_returns_the_answer(emu: Emulator) -> None:
    emu.inject(Fault.status(429, retry_after=0), times=1)
    result = await run("sync", **call_kwargs(emu, num_retries=2))
    assert result.text.endswith("hello there")
    assert _inference(emu) == 2


def test_a_silent_endpoint_fails_within_the_given_timeout(emu: Emulator) -> None:
    emu.inject(Fault.slow_first_byte(5), times=1)
    with pytest.raises(litellm.Timeout):
        litellm.completion(**call_kwargs(emu, timeout=0.5))


# Streams: LiteLLM's wrapper names each chunk after the requested model (a custom provider's
# GenericStreamingChunk has no model field), so only whole responses carry the served name.
@pytest.mark.parametrize("mode", MODES[:2])
async def test_response_model_is_the_model_the_response_names(mode: str) -> None:
    served = "Meta-Llama-3.1-70B-Instruct"
    with Emulator(EmulatorConfig(api_key=KEY, model_name=served)) as emu:
        result = await run(mode, **call_kwargs(emu))
    assert result.response.model == f"azure_llama/{served}"


def test_cost_is_the_served_models_price_else_the_deployments() -> None:
    kwargs = {"messages": [{"role": "user", "content": "hello there"}]}
    for served, price in [
        ("Meta-Llama-3.1-8B-Instruct", (3e-07, 6.1e-07)),
        ("Meta-Llama-3.1-70B-Instruct", (2.68e-06, 3.54e-06)),
        ("a-model-with-no-price", (3e-07, 6.1e-07)),  # the deployment's registered name
    ]:
        with Emulator(EmulatorConfig(api_key=KEY, model_name=served)) as emu:
            response = litellm.completion(
                model="azure_llama/Meta-Llama-3.1-8B-Instruct",
                api_base=emu.url,
                api_key=KEY,
                **kwargs,
            )
        usage = response.usage
        expected = usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]
        assert litellm.completion_cost(completion_response=response) == pytest.approx(expected)


@pytest.mark.parametrize("mode", MODES)
async def test_nothing_is_printed(
    emu: Emulator, mode: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # The conftest hides LiteLLM's exception banner; this is about successful calls.
    litellm.suppress_debug_info = False
    try:
        result = await run(mode, **call_kwargs(emu))
        if result.response is not None:
            assert litellm.completion_cost(completion_response=result.response) > 0
    finally:
        litellm.suppress_debug_info = True
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize(
    ("api_base", "endpoint", "api", "sends_model"),
    [
        pytest.param(
            "https://x.eastus2.models.ai.azure.com/",
            "https://x.eastus2.models.ai.azure.com",
            "inference",
            False,
            id="serverless",
        ),
        pytest.param(
            "https://x.eastus2.models.ai.azure.com/v1",
            "https://x.eastus2.models.ai.azure.com",
            "llama",
            False,
            id="serverless-v1",
        ),
        pytest.param(
            "https://r.services.ai.azure.com/models",
            "https://r.services.ai.azure.com/models",
            "inference",
            True,
            id="foundry",
        ),
        pytest.param(
            " https://e.eastus2.inference.ml.azure.com ",
            "https://e.eastus2.inference.ml.azure.com",
            "inference",
            False,
            id="managed",
        ),
    ],
)
def test_the_endpoint_host_decides_the_route_and_the_body_model(
    api_base: str, endpoint: str, api: str, sends_model: bool
) -> None:
    """Read twice: the second read (parsed once per endpoint) must agree with the first."""
    for _ in range(2):
        call = _handler._read_call(
            "azure_llama/Llama-3.3-70B-Instruct", [], api_base, "k", {}, {}, None, None
        )
        assert (call.settings.endpoint, call.plan.api) == (endpoint, api)
        expected = {"model": "Llama-3.3-70B-Instruct"} if sends_model else {}
        assert call.plan.params == expected
