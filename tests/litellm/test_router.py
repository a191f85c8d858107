"""A `litellm.Router` over two `azure_llama/` deployments (two emulators = two regions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest
import yaml

from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from tests._support.litellm import KEY, MODEL

COOKBOOK = Path(__file__).parents[2] / "cookbook" / "litellm_proxy_config.yaml"
# Azure's serverless quota per deployment (docs/wire-protocol.md §14): 1,000 requests/min and
# 200,000 tokens/min (the Llama 3.1 launch text said 400,000; the lower figure is configured).
RPM, TPM = 1000, 200_000
# The cookbook's deployments (on Foundry resources, named after their models).
LLAMA33, MAVERICK = "Llama-3.3-70B-Instruct", "Llama-4-Maverick-17B-128E-Instruct-FP8"


@pytest.fixture
def regions() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        Emulator(EmulatorConfig(api_key=KEY)) as east,
        Emulator(EmulatorConfig(api_key=KEY)) as west,
    ):
        yield east, west


@pytest.fixture
def unfiltered() -> Iterator[Emulator]:
    """A deployment without serverless content safety (as on managed compute)."""
    config = EmulatorConfig(api_key=KEY, prompt_filter_trigger="", jailbreak_trigger="")
    with Emulator(config) as emu:
        yield emu


def _deployment(emu: Emulator, name: str = "llama", order: int = 1) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"azure_llama/{MODEL}",
            "api_base": emu.url,
            "api_key": KEY,
            "rpm": RPM,
            "tpm": TPM,
            # `order` makes the first pick deterministic: lower first, higher when it fails.
            "order": order,
        },
    }


def _router(*deployments: dict[str, Any], **settings: Any) -> litellm.Router:
    settings.setdefault("num_retries", 2)
    settings.setdefault("retry_after", 0)
    settings.setdefault("allowed_fails", 0)
    settings.setdefault("cooldown_time", 60)
    return litellm.Router(model_list=list(deployments), **settings)


MESSAGES = [{"role": "user", "content": "hello there"}]
# East's expected request count over three calls: a 5xx puts it in cooldown at once; a 429 with
# `retry-after: 0` cools it down for 0 s (LiteLLM takes the cooldown from retry-after), so each
# call tries it again before failing over.
STATUS_FAULTS = [
    pytest.param(Fault.status(503), 1, id="503"),
    pytest.param(Fault.status(500), 1, id="500"),
    pytest.param(Fault.status(429, retry_after=0), None, id="429"),
]


@pytest.mark.parametrize(("fault", "east_requests"), STATUS_FAULTS)
@pytest.mark.parametrize(
    "use_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")]
)
async def test_fails_over_to_the_other_region(
    regions: tuple[Emulator, Emulator], fault: Fault, east_requests: int | None, use_async: bool
) -> None:
    east, west = regions
    router = _router(_deployment(east, order=1), _deployment(west, order=2))
    east.inject(fault, times=100)
    for _ in range(3):
        if use_async:
            response = await router.acompletion(model="llama", messages=MESSAGES)
        else:
            response = router.completion(model="llama", messages=MESSAGES)
        assert response.choices[0].message.content.endswith("hello there")
        assert response._hidden_params["api_base"] == west.url
    # The Router passes max_retries=0, so the transport leaves every retry to the Router.
    assert len(east.requests) == (east_requests or len(east.requests)) >= 1
    assert len(west.requests) == 3


@pytest.mark.parametrize(
    "stream", [pytest.param("stream", id="stream"), pytest.param("astream", id="astream")]
)
async def test_streams_fail_over_too(regions: tuple[Emulator, Emulator], stream: str) -> None:
    east, west = regions
    router = _router(_deployment(east, order=1), _deployment(west, order=2))
    east.inject(Fault.status(503), times=100)
    if stream == "astream":
        response = await router.acompletion(model="llama", messages=MESSAGES, stream=True)
        chunks = [c async for c in response]
    else:
        chunks = list(router.completion(model="llama", messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.endswith("hello there")
    assert len(west.requests) == 1


async def test_rate_limit_is_retried_on_the_same_deployment() -> None:
    with Emulator(EmulatorConfig(api_key=KEY)) as only:
        router = _router(_deployment(only))
        only.inject(Fault.status(429, retry_after=0), times=2)
        response = await router.acompletion(model="llama", messages=MESSAGES)
        assert response.choices[0].finish_reason == "stop"
        assert len(only.requests) == 3  # two 429s, then the answer


async def test_emulated_quota_exhaustion_moves_traffic(regions: tuple[Emulator, Emulator]) -> None:
    _, west = regions
    with Emulator(EmulatorConfig(api_key=KEY, rpm_limit=1)) as tight:
        router = _router(_deployment(tight, order=1), _deployment(west, order=2))
        for _ in range(3):
            router.completion(model="llama", messages=MESSAGES)
        assert len([r for r in tight.requests]) == 2  # one answer, then one 429 → cooldown
        assert len(west.requests) == 2


@pytest.mark.parametrize(
    "use_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")]
)
@pytest.mark.parametrize(
    "trigger",
    [pytest.param("BLOCKME", id="prompt-filter"), pytest.param("JAILBREAK", id="jailbreak")],
)
async def test_content_policy_fallbacks(
    regions: tuple[Emulator, Emulator], unfiltered: Emulator, use_async: bool, trigger: str
) -> None:
    east, _ = regions
    router = _router(
        _deployment(east),
        _deployment(unfiltered, name="llama-unfiltered"),
        content_policy_fallbacks=[{"llama": ["llama-unfiltered"]}],
    )
    messages = [{"role": "user", "content": f"{trigger} this"}]
    if use_async:
        response = await router.acompletion(model="llama", messages=messages)
    else:
        response = router.completion(model="llama", messages=messages)
    assert response.choices[0].message.content.endswith(f"{trigger} this")
    assert response._hidden_params["api_base"] == unfiltered.url
    assert len(east.requests) == 1  # a content-policy block is not retried on the same group


async def test_without_fallback_the_content_policy_error_surfaces(
    regions: tuple[Emulator, Emulator],
) -> None:
    east, _ = regions
    router = _router(_deployment(east))
    with pytest.raises(litellm.ContentPolicyViolationError):
        router.completion(model="llama", messages=[{"role": "user", "content": "BLOCKME"}])


def test_cookbook_config_routes_through_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy's config.yaml, loaded into a Router with its `os.environ/` references set (two
    Foundry resources' v1 routes): Llama 3.3 answers, and its content fallback is Maverick on
    the same filtered resources, so a blocked prompt stays blocked."""
    config = yaml.safe_load(COOKBOOK.read_text())
    (entry,) = config["litellm_settings"]["custom_provider_map"]
    assert entry == {"provider": "azure_llama", "custom_handler": "litellm_azure_llama.handler"}
    assert config["router_settings"]["optional_pre_call_checks"] == ["enforce_model_rate_limits"]
    assert config["router_settings"]["content_policy_fallbacks"] == [
        {"llama-3.3-70b": ["llama-4-maverick"]}
    ]
    resource = EmulatorConfig(api_key=KEY, kind="openai-v1", models=(LLAMA33, MAVERICK))
    with Emulator(resource) as east, Emulator(resource) as west:
        for name, emu in (("EASTUS2", east), ("SWEDEN", west)):
            monkeypatch.setenv(f"AZURE_LLAMA_{name}_ENDPOINT", f"{emu.url}/openai/v1")
            monkeypatch.setenv(f"AZURE_LLAMA_{name}_KEY", KEY)
        for group, deployment in (("llama-3.3-70b", LLAMA33), ("llama-4-maverick", MAVERICK)):
            params = [d["litellm_params"] for d in config["model_list"] if d["model_name"] == group]
            assert [(p["model"], p["rpm"], p["tpm"]) for p in params] == [
                (f"azure_llama/{deployment}", RPM, TPM)
            ] * 2
        router = litellm.Router(model_list=config["model_list"], **config["router_settings"])
        response = router.completion(model="llama-3.3-70b", messages=MESSAGES)
        assert response.choices[0].message.content == f"Emulated reply from {LLAMA33}: hello there"
        assert response.model == f"azure_llama/{LLAMA33}"
        with pytest.raises(litellm.ContentPolicyViolationError):
            router.completion(
                model="llama-3.3-70b", messages=[{"role": "user", "content": "BLOCKME"}]
            )
        asked = [
            r.json["model"]
            for emu in (east, west)
            for r in emu.requests
            if r.path == "/openai/v1/chat/completions"
        ]
        assert MAVERICK in asked  # tried there, and blocked there too


@pytest.mark.parametrize("use_async", [False, True], ids=["completion", "acompletion"])
async def test_a_deployments_rpm_is_enforced(
    regions: tuple[Emulator, Emulator], use_async: bool
) -> None:
    """Declared at rpm 3, with the cookbook's check: the 4th call in the minute is refused with
    a 429 before Azure is called."""
    east, _ = regions
    deployment = _deployment(east)
    deployment["litellm_params"]["rpm"] = 3
    router = _router(
        deployment, num_retries=0, optional_pre_call_checks=["enforce_model_rate_limits"]
    )
    for _ in range(3):
        call = router.acompletion if use_async else router.completion
        answer = call(model="llama", messages=MESSAGES)
        response = await answer if use_async else answer
        assert response.choices[0].message.content.endswith("hello there")
    with pytest.raises(litellm.RateLimitError):
        if use_async:
            await router.acompletion(model="llama", messages=MESSAGES)
        else:
            router.completion(model="llama", messages=MESSAGES)
    assert sum(1 for r in east.requests if r.path.endswith("/chat/completions")) == 3


@pytest.fixture
def managed() -> Iterator[Emulator]:
    """A managed endpoint serving two deployments: the operator exposes only "blue"."""
    config = EmulatorConfig(
        api_key=KEY, kind="managed", deployments={"blue": MODEL, "secret": MODEL}
    )
    with Emulator(config) as emu:
        yield emu


def _blue(emu: Emulator) -> dict[str, Any]:
    deployment = _deployment(emu, name="blue")
    deployment["litellm_params"]["deployment"] = "blue"
    return deployment


@pytest.mark.parametrize(
    "use_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")]
)
async def test_the_routers_deployment_setting_is_sent(managed: Emulator, use_async: bool) -> None:
    router = _router(_blue(managed))
    if use_async:
        await router.acompletion(model="blue", messages=MESSAGES)
    else:
        router.completion(model="blue", messages=MESSAGES)
    assert [r.headers.get("azureml-model-deployment") for r in managed.requests] == ["blue"]


@pytest.mark.parametrize(
    "use_async", [pytest.param(False, id="sync"), pytest.param(True, id="async")]
)
async def test_a_proxy_clients_deployment_is_refused_through_the_router(
    managed: Emulator, use_async: bool
) -> None:
    """What the proxy does with a client's `"deployment": "secret"`: the Router merges it over
    the deployment's `litellm_params`, with the client's request snapshot alongside. Refused as
    a 400, with no request sent and no retry (a bad request is not retried)."""
    router = _router(_blue(managed))
    call = {
        "model": "blue",
        "messages": MESSAGES,
        "deployment": "secret",
        "proxy_server_request": {"body": {"model": "blue", "deployment": "secret"}},
    }
    with pytest.raises(litellm.BadRequestError, match="operator"):
        if use_async:
            await router.acompletion(**call)
        else:
            router.completion(**call)
    assert managed.requests == []
