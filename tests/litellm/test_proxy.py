"""The LiteLLM proxy serving `cookbook/litellm_proxy_config.yaml`, called with the OpenAI SDK.

Needs the `proxy` extra (the proxy's own dependencies, listed by hand in pyproject: the
`litellm[proxy]` extra pins distributions PyPI does not have). The dev install includes it;
when `CI` is set a missing package fails this module instead of skipping it.

The proxy runs once per module, as a subprocess on loopback, against emulators. The config is the
cookbook's (Llama 3.3 70B and Llama 4 Maverick on two Foundry resources' OpenAI v1 route, one
emulator per region), plus model groups the cookbook does not need: one whose only deployment
answers 429 (so the Router has nowhere to fail over and the client sees Azure's wait); one under
the operator's own deployment name ("my-llama") on a deployment that refuses `tools` (as
vLLM-backed deployments do): the catalogue cannot tell the model from that name, so "auto" tries
native tools once there; one that the operator pins to deployment "blue" of a managed endpoint
that also serves a deployment "secret"; a Maverick deployment under a custom name ("my-maverick");
and three on a slow deployment that show the deadlines holding: a deployment's
`litellm_params.timeout`, and `router_settings.timeout` (set to ROUTER_TIMEOUT here, for
deployments without their own).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from litellm_azure_llama import MODELS
from tests._support.litellm import KEY

_PROXY_MODULES = ("fastapi", "uvicorn", "backoff", "apscheduler", "fastapi_sso", "mcp")
_missing = [name for name in _PROXY_MODULES if importlib.util.find_spec(name) is None]
if _missing:
    reason = f"the `proxy` extra is not installed (missing {', '.join(_missing)})"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "cookbook" / "litellm_proxy_config.yaml"
MASTER_KEY = "sk-proxy-test-master-key"
# The proxy imports most of LiteLLM: ~10 s alone, much longer on a busy machine.
STARTUP_DEADLINE = 240.0
# The cookbook's model groups and the models its deployments serve.
GROUP, MAVERICK_GROUP = "llama-3.3-70b", "llama-4-maverick"
LLAMA33, MAVERICK = "Llama-3.3-70B-Instruct", "Llama-4-Maverick-17B-128E-Instruct-FP8"
# Test-only groups.
LIMITED, NO_TOOLS, BLUE, CUSTOM = "limited", "my-llama-no-tools", "llama-blue", "my-maverick"
LEGACY_MODEL = "Meta-Llama-3.1-8B-Instruct"  # what the managed endpoint ("blue") serves
# The slow deployment: a deployment timeout that fires, one that holds, the Router's that fires.
SLOW_1S, SLOW_5S, SLOW_ROUTER = "slow-timeout-1s", "slow-timeout-5s", "slow-router-timeout"
ROUTER_TIMEOUT = 2.0
SILENCE = 8.0  # seconds the slow deployment waits before answering, when told to
# The cookbook model's prices (litellm_provider's registry, from the transport's catalogue).
_PRICE = next(m for m in MODELS if m.name == LLAMA33)
assert _PRICE.input_cost_per_token is not None and _PRICE.output_cost_per_token is not None
PRICE_IN, PRICE_OUT = _PRICE.input_cost_per_token, _PRICE.output_cost_per_token


@dataclass
class Proxy:
    url: str
    east: Emulator
    west: Emulator
    limited: Emulator
    no_tools: Emulator
    blue: Emulator
    v1: Emulator
    slow: Emulator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _v1(group: str, deployment: str, env: str, **extra: Any) -> dict[str, Any]:
    """A deployment on a Foundry resource's v1 route (`endpoint_kind`: a loopback URL's host says
    nothing), with a timeout of its own unless `extra` sets one or says None."""
    params = {
        "model": f"azure_llama/{deployment}",
        "api_base": f"os.environ/AZURE_LLAMA_{env}_ENDPOINT",  # .../openai/v1
        "api_key": f"os.environ/AZURE_LLAMA_{env}_KEY",
        "endpoint_kind": "openai-v1",
        "timeout": 60,
        **extra,
    }
    return {"model_name": group, "litellm_params": {k: v for k, v in params.items() if v}}


def _config(path: Path) -> Path:
    """The cookbook config plus the test-only model groups."""
    config = yaml.safe_load(CONFIG.read_text())
    config["model_list"] += [
        _v1(LIMITED, LLAMA33, "LIMITED"),
        _v1(NO_TOOLS, "my-llama", "TOOLS"),
        _v1(CUSTOM, "my-maverick", "FOUNDRY"),  # the deployment's own name on the resource
        _v1(SLOW_1S, LLAMA33, "SLOW", timeout=1),
        _v1(SLOW_5S, LLAMA33, "SLOW", timeout=5),
        _v1(SLOW_ROUTER, LLAMA33, "SLOW", timeout=None),  # router_settings.timeout applies
        {
            "model_name": BLUE,
            "litellm_params": {
                "model": f"azure_llama/{LEGACY_MODEL}",
                "api_base": "os.environ/AZURE_LLAMA_BLUE_ENDPOINT",
                "api_key": "os.environ/AZURE_LLAMA_BLUE_KEY",
                "deployment": "blue",  # the operator's choice: the only one clients may reach
                "timeout": 60,
            },
        },
    ]
    settings = config["router_settings"]
    settings["timeout"] = ROUTER_TIMEOUT
    # One attempt per call on the slow deployment, so the client meets the deadline itself
    # rather than the deadline times (1 + num_retries).
    settings["model_group_retry_policy"] = {
        group: {"TimeoutErrorRetries": 0} for group in (SLOW_1S, SLOW_5S, SLOW_ROUTER)
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _region() -> EmulatorConfig:
    """One Foundry resource of the cookbook: Llama 3.3 and Maverick deployed under their names."""
    return EmulatorConfig(api_key=KEY, kind="openai-v1", models=(LLAMA33, MAVERICK))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    assert cli is not None, "the `litellm` CLI is not installed next to this Python"
    folder = tmp_path_factory.mktemp("proxy")
    config = _config(folder / "config.yaml")
    v1_only = {"api_key": KEY, "kind": "openai-v1"}
    with (
        Emulator(_region()) as east,
        Emulator(_region()) as west,
        Emulator(EmulatorConfig(**v1_only, models=(LLAMA33,))) as limited,
        Emulator(
            EmulatorConfig(
                **v1_only,
                models=(f"my-llama={LLAMA33}",),
                tool_mode="reject",
                response_format_mode="reject",
            )
        ) as no_tools,
        Emulator(
            EmulatorConfig(
                api_key=KEY,
                kind="managed",
                deployments={"blue": LEGACY_MODEL, "secret": LEGACY_MODEL},
            )
        ) as blue,
        Emulator(EmulatorConfig(**v1_only, models=(f"my-maverick={MAVERICK}",))) as v1,
        Emulator(EmulatorConfig(**v1_only, models=(LLAMA33,))) as slow,
    ):
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            "LITELLM_MASTER_KEY": MASTER_KEY,
        }
        foundry = {
            "EASTUS2": east,
            "SWEDEN": west,
            "LIMITED": limited,
            "TOOLS": no_tools,
            "FOUNDRY": v1,
            "SLOW": slow,
        }
        for name, emu in foundry.items():
            env[f"AZURE_LLAMA_{name}_ENDPOINT"] = f"{emu.url}/openai/v1"
            env[f"AZURE_LLAMA_{name}_KEY"] = KEY
        env["AZURE_LLAMA_BLUE_ENDPOINT"] = blue.url
        env["AZURE_LLAMA_BLUE_KEY"] = KEY
        port = _free_port()
        command = [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        # Its log goes to a file: a pipe nobody reads fills up after a few dozen logged errors
        # (~64 KB), and the proxy then blocks on its next log line.
        log = (folder / "proxy.log").open("wb")
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process, folder / "proxy.log")
            yield Proxy(url, east, west, limited, no_tools, blue, v1, slow)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture(scope="module")
def client(proxy: Proxy) -> Iterator[Any]:
    import openai

    with openai.OpenAI(base_url=proxy.url, api_key=MASTER_KEY, max_retries=0, timeout=60) as sdk:
        yield sdk


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = log.read_text(errors="replace")
            pytest.fail(f"the proxy exited with {process.returncode}: {err[-2000:]}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the proxy did not become ready")


def _chats(*emulators: Emulator) -> list[dict[str, Any]]:
    """The chat request bodies the emulators received."""
    return [
        r.json
        for emu in emulators
        for r in emu.requests
        if r.path.endswith("/chat/completions") and isinstance(r.json, dict)
    ]


MESSAGES = [{"role": "user", "content": "hello there"}]


def test_chat(client: Any) -> None:
    response = client.chat.completions.create(model=GROUP, messages=MESSAGES)
    assert response.choices[0].message.content.endswith("hello there")
    assert response.usage is not None and response.usage.completion_tokens == 6


def test_stream_with_usage(client: Any) -> None:
    stream = client.chat.completions.create(
        model=GROUP,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.endswith("hello there")
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 2
    assert chunks[-1].usage.completion_tokens == 6


def test_stream_without_usage_option_sends_no_usage_chunk(client: Any) -> None:
    stream = client.chat.completions.create(model=GROUP, messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert all(getattr(c, "usage", None) is None for c in chunks)


def test_content_policy_fallback_stays_filtered(proxy: Proxy, client: Any) -> None:
    """The cookbook falls back to another filtered deployment: a prompt Azure blocks is tried
    there too and, blocked again, reaches the client as a 400 with `code` and categories."""
    import openai

    proxy.east.clear()
    proxy.west.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=GROUP, messages=[{"role": "user", "content": "JAILBREAK please"}]
        )
    assert caught.value.status_code == 400
    # Blocked by Llama 3.3's deployment, then by Maverick's (the fallback group), in any region.
    asked = [body["model"] for body in _chats(proxy.east, proxy.west)]
    assert LLAMA33 in asked and MAVERICK in asked
    body = caught.value.body
    assert isinstance(body, dict)
    fields = body.get("provider_specific_fields") or {}
    assert fields.get("filtered_categories") == ["jailbreak"]


def test_cost_header(client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(model=GROUP, messages=MESSAGES)
    usage = raw.parse().usage
    expected = usage.prompt_tokens * PRICE_IN + usage.completion_tokens * PRICE_OUT
    assert float(raw.headers["x-litellm-response-cost"]) == pytest.approx(expected)


def test_rate_limit_passes_azures_wait_on(proxy: Proxy, client: Any) -> None:
    import openai

    # Every attempt of the Router (1 + num_retries) gets the 429; its one deployment has no
    # fallback, so the client sees the 429 with Azure's wait.
    proxy.limited.clear()
    proxy.limited.inject(Fault.status(429, retry_after=1), times=10)
    try:
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model=LIMITED, messages=MESSAGES)
    finally:
        proxy.limited.clear()
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"


def test_tools_on_a_tool_refusing_endpoint(proxy: Proxy, client: Any) -> None:
    proxy.no_tools.clear()
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    for _ in range(2):
        response = client.chat.completions.create(
            model=NO_TOOLS,
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[tool],
        )
        calls = response.choices[0].message.tool_calls
        assert calls and calls[0].function.name == "get_weather"
    # A name the catalogue cannot place: native tools once, refused, then prompted for good.
    assert [bool(body.get("tools")) for body in _chats(proxy.no_tools)] == [True, False, False]


def test_response_format_on_a_tool_refusing_endpoint(client: Any) -> None:
    import json

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    response = client.chat.completions.create(
        model=NO_TOOLS,
        messages=[{"role": "user", "content": "name a city"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema, "strict": True},
        },
    )
    assert isinstance(json.loads(response.choices[0].message.content)["city"], str)


# -- what a proxy client cannot choose -----------------------------------------------------------


def test_the_operators_deployment_is_used(proxy: Proxy, client: Any) -> None:
    proxy.blue.clear()
    response = client.chat.completions.create(model=BLUE, messages=MESSAGES)
    assert response.choices[0].message.content.endswith("hello there")
    sent = proxy.blue.requests
    assert [r.headers.get("azureml-model-deployment") for r in sent] == ["blue"]
    assert sent[0].path == "/chat/completions"


# What a client's request may try to steer, as the OpenAI SDK sends it (extra_body keys land at
# the body's root; extra_query in the proxy URL).
STEERING = [
    pytest.param({"extra_body": {"deployment": "secret"}}, "deployment", id="deployment"),
    pytest.param({"extra_body": {"azure_llama_api": "llama"}}, "azure_llama_api", id="route"),
    pytest.param({"extra_body": {"api_version": "2099-01-01"}}, "api_version", id="api-version"),
    pytest.param(
        {"extra_query": {"api-version": "2099-01-01"}}, "api_version", id="api-version-query"
    ),
    pytest.param({"extra_body": {"endpoint_kind": "foundry"}}, "endpoint_kind", id="kind"),
    pytest.param({"extra_body": {"api_key": "another-key"}}, "api_key", id="api-key"),
    pytest.param(
        {"extra_body": {"extra_headers": {"azureml-model-deployment": "secret"}}},
        "azureml-model-deployment",
        id="deployment-header",
    ),
    pytest.param(
        {"extra_body": {"extra_headers": {"Authorization": "Bearer another"}}},
        "authorization",
        id="auth-header",
    ),
]


@pytest.mark.parametrize(("steer", "named"), STEERING)
@pytest.mark.parametrize(
    "stream", [pytest.param(False, id="whole"), pytest.param(True, id="stream")]
)
def test_a_client_cannot_steer_the_upstream(
    proxy: Proxy, client: Any, steer: dict[str, Any], named: str, stream: bool
) -> None:
    """Refused with a 400 that names the setting (not its value), and nothing reaches any
    deployment: not "secret", not even the operator's "blue"."""
    import openai

    proxy.blue.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        answer = client.chat.completions.create(
            model=BLUE, messages=MESSAGES, stream=stream, **steer
        )
        list(answer) if stream else None
    assert caught.value.status_code == 400
    message = str(caught.value)
    assert named in message and "operator" in message
    assert "secret" not in message and "another" not in message and "2099" not in message
    assert proxy.blue.requests == []


def test_ordinary_extras_still_reach_the_model(proxy: Proxy, client: Any) -> None:
    """Only the settings that choose the upstream are refused: a model parameter passed as an
    extra (sent with `extra-parameters: pass-through`) goes through as before."""
    proxy.blue.clear()
    client.chat.completions.create(model=BLUE, messages=MESSAGES, extra_body={"top_k": 5})
    (sent,) = proxy.blue.requests
    assert sent.headers.get("azureml-model-deployment") == "blue"
    assert sent.json["top_k"] == 5


def test_a_deployment_on_the_openai_v1_route(proxy: Proxy, client: Any) -> None:
    """litellm_params on a Foundry resource's v1 route: the deployment name goes in the body's
    `model`, no api-version; Maverick answers, whole and streamed."""
    proxy.v1.clear()
    response = client.chat.completions.create(model=CUSTOM, messages=MESSAGES)
    assert response.choices[0].message.content == f"Emulated reply from {MAVERICK}: hello there"
    stream = client.chat.completions.create(model=CUSTOM, messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == response.choices[0].message.content
    seen = [
        (r.path, r.query, r.json["model"], bool(r.json.get("stream"))) for r in proxy.v1.requests
    ]
    assert seen == [
        ("/openai/v1/chat/completions", {}, "my-maverick", False),
        ("/openai/v1/chat/completions", {}, "my-maverick", True),
    ]


def test_a_blocked_prompt_on_the_openai_v1_route(proxy: Proxy, client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=CUSTOM, messages=[{"role": "user", "content": "JAILBREAK please"}]
        )
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict)
    fields = body.get("provider_specific_fields") or {}
    assert fields.get("filtered_categories") == ["jailbreak"]


# -- OpenAI-shaped tool calls for today's models ---------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}
CLOCK = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "hour24": {"type": "boolean"}},
            "required": ["city"],
        },
    },
}
# Names both tools, so the emulated Llama answers both calls in one pythonic list (Meta's
# form for Llama 3.2+/4: `[get_weather(city='Paris', days=3), get_time(...)]`).
TWO_TOOLS = [
    {"role": "user", "content": "Use get_weather and get_time: city=Paris days=3 hour24=true"}
]
EXPECTED_CALLS = [
    ("get_weather", {"city": "Paris", "days": 3}),
    ("get_time", {"city": "Paris", "hour24": True}),
]


def _assembled(chunks: list[Any]) -> list[dict[str, str]]:
    """Streamed tool-call deltas put together by `index`, as an OpenAI client does."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or ():
                call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += delta.id or ""
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["arguments"] += delta.function.arguments or ""
    return [calls[index] for index in sorted(calls)]


@pytest.mark.parametrize("group", [GROUP, MAVERICK_GROUP])
@pytest.mark.parametrize(
    "stream", [pytest.param(False, id="whole"), pytest.param(True, id="stream")]
)
def test_parallel_tool_calls_arrive_openai_shaped(
    proxy: Proxy, client: Any, group: str, stream: bool
) -> None:
    """Issue 21: the model Azure lists without tool calling is prompted from the first call (no
    `tools` on the wire) and answers Meta's pythonic list; the proxy's client gets OpenAI
    `tool_calls`: names, typed JSON arguments, distinct ids, whole or as stream deltas."""
    proxy.east.clear()
    proxy.west.clear()
    answer = client.chat.completions.create(
        model=group, messages=TWO_TOOLS, tools=[WEATHER, CLOCK], stream=stream
    )
    if stream:
        chunks = list(answer)
        calls = _assembled(chunks)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finish[-1] == "tool_calls"
        assert not "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        message = answer.choices[0].message
        assert answer.choices[0].finish_reason == "tool_calls" and not message.content
        calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in message.tool_calls
        ]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == EXPECTED_CALLS
    ids = [c["id"] for c in calls]
    assert all(ids) and len(set(ids)) == len(ids)
    (sent,) = _chats(proxy.east, proxy.west)
    assert sent["model"] == (LLAMA33 if group == GROUP else MAVERICK)
    assert "tools" not in sent and "tool_choice" not in sent  # prompted, as Azure lists it


# -- deadlines that hold through the proxy ---------------------------------------------------------


@pytest.fixture
def slow(proxy: Proxy) -> Iterator[Emulator]:
    proxy.slow.clear()
    yield proxy.slow
    proxy.slow.clear()


@pytest.mark.parametrize(
    ("group", "deadline"),
    [
        pytest.param(SLOW_1S, 1.0, id="litellm_params-timeout"),
        pytest.param(SLOW_ROUTER, ROUTER_TIMEOUT, id="router_settings-timeout"),
    ],
)
@pytest.mark.parametrize(
    "stream", [pytest.param(False, id="whole"), pytest.param(True, id="stream")]
)
def test_a_deadline_cuts_a_slow_answer(
    slow: Emulator, client: Any, group: str, deadline: float, stream: bool
) -> None:
    """The deployment stays silent for SILENCE s; the deadline set in the config (the
    deployment's own, else the Router's) ends the call long before, with a timeout status."""
    import openai

    slow.inject(Fault.slow_first_byte(SILENCE), times=1)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        answer = client.chat.completions.create(model=group, messages=MESSAGES, stream=stream)
        list(answer) if stream else None
    elapsed = time.monotonic() - started
    assert deadline <= elapsed < SILENCE - 1, elapsed  # cut at the deadline, not at the answer
    assert caught.value.status_code == 408  # LiteLLM's Timeout, as the proxy maps it
    assert "litellm.Timeout" in str(caught.value)
    assert len(_chats(slow)) == 1  # no retry of the same call (this group's retry policy)


def test_an_answer_within_the_deadline_is_not_cut(slow: Emulator, client: Any) -> None:
    """Timeout 5 s, answer after 2 s: the answer arrives."""
    slow.inject(Fault.slow_first_byte(2), times=1)
    response = client.chat.completions.create(model=SLOW_5S, messages=MESSAGES)
    assert response.choices[0].message.content.endswith("hello there")
    assert len(_chats(slow)) == 1
