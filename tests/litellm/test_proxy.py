"""The LiteLLM proxy serving `cookbook/litellm_proxy_config.yaml`, called with the OpenAI SDK.

Needs the `proxy` extra (the proxy's own dependencies, listed by hand in pyproject: the
`litellm[proxy]` extra pins distributions PyPI does not have). The dev install includes it;
when `CI` is set a missing package fails this module instead of skipping it.

The proxy runs once per module, as a subprocess on loopback, against emulators. The config is the
cookbook's, plus three model groups the cookbook does not need: one whose only deployment answers
429 (so the Router has nowhere to fail over and the client sees Azure's wait), one on an
endpoint that refuses `tools` (as vLLM-backed deployments do), one that the operator pins
to deployment "blue" of a managed endpoint that also serves a deployment "secret", and a Llama 4
Maverick deployment on a Foundry resource's OpenAI v1 route (`litellm_params` naming the
deployment, the `/openai/v1` base and `endpoint_kind`, which a loopback URL needs).
"""

from __future__ import annotations

import importlib.util
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
LIMITED, NO_TOOLS = "llama-3.1-8b-limited", "llama-3.1-8b-no-tools"
BLUE = "llama-3.1-8b-blue"
LLAMA_MODEL = "Meta-Llama-3.1-8B-Instruct"
V1_GROUP, MAVERICK = "llama-4-maverick", "Llama-4-Maverick-17B-128E-Instruct-FP8"
# The cookbook model's serverless prices (litellm_provider/_models.py).
PRICE_IN, PRICE_OUT = 3e-07, 6.1e-07


@dataclass
class Proxy:
    url: str
    east: Emulator
    west: Emulator
    limited: Emulator
    big: Emulator
    blue: Emulator
    v1: Emulator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(path: Path) -> Path:
    """The cookbook config plus the three test-only model groups."""
    config = yaml.safe_load(CONFIG.read_text())
    for name in (LIMITED, NO_TOOLS):
        env = name.rsplit("-", 1)[-1].upper().replace("-", "_")
        config["model_list"].append(
            {
                "model_name": name,
                "litellm_params": {
                    "model": "azure_llama/Meta-Llama-3.1-8B-Instruct",
                    "api_base": f"os.environ/AZURE_LLAMA_{env}_ENDPOINT",
                    "api_key": f"os.environ/AZURE_LLAMA_{env}_KEY",
                },
            }
        )
    config["model_list"].append(
        {
            "model_name": BLUE,
            "litellm_params": {
                "model": f"azure_llama/{LLAMA_MODEL}",
                "api_base": "os.environ/AZURE_LLAMA_BLUE_ENDPOINT",
                "api_key": "os.environ/AZURE_LLAMA_BLUE_KEY",
                "deployment": "blue",  # the operator's choice: the only one clients may reach
            },
        }
    )
    config["model_list"].append(
        {
            "model_name": V1_GROUP,
            "litellm_params": {
                "model": "azure_llama/my-maverick",  # the deployment's name on the resource
                "api_base": "os.environ/AZURE_LLAMA_FOUNDRY_ENDPOINT",  # .../openai/v1
                "api_key": "os.environ/AZURE_LLAMA_FOUNDRY_KEY",
                "endpoint_kind": "openai-v1",
            },
        }
    )
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    assert cli is not None, "the `litellm` CLI is not installed next to this Python"
    folder = tmp_path_factory.mktemp("proxy")
    config = _config(folder / "config.yaml")
    with (
        Emulator(EmulatorConfig(api_key=KEY)) as east,
        Emulator(EmulatorConfig(api_key=KEY)) as west,
        Emulator(EmulatorConfig(api_key=KEY, model_name="Meta-Llama-3.1-70B-Instruct")) as big,
        Emulator(EmulatorConfig(api_key=KEY)) as limited,
        Emulator(
            EmulatorConfig(api_key=KEY, tool_mode="reject", response_format_mode="reject")
        ) as no_tools,
        Emulator(
            EmulatorConfig(
                api_key=KEY,
                kind="managed",
                deployments={"blue": LLAMA_MODEL, "secret": LLAMA_MODEL},
            )
        ) as blue,
        Emulator(
            EmulatorConfig(api_key=KEY, kind="openai-v1", models=(f"my-maverick={MAVERICK}",))
        ) as v1,
    ):
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            "LITELLM_MASTER_KEY": MASTER_KEY,
        }
        emulators = {
            "EASTUS2": east,
            "SWEDEN": west,
            "70B": big,
            "LIMITED": limited,
            "TOOLS": no_tools,
            "BLUE": blue,
        }
        for name, emu in emulators.items():
            env[f"AZURE_LLAMA_{name}_ENDPOINT"] = emu.url
            env[f"AZURE_LLAMA_{name}_KEY"] = KEY
        env["AZURE_LLAMA_FOUNDRY_ENDPOINT"] = f"{v1.url}/openai/v1"
        env["AZURE_LLAMA_FOUNDRY_KEY"] = KEY
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
            yield Proxy(url, east, west, limited, big, blue, v1)
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


MESSAGES = [{"role": "user", "content": "hello there"}]


def test_chat(client: Any) -> None:
    response = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES)
    assert response.choices[0].message.content.endswith("hello there")
    assert response.usage is not None and response.usage.completion_tokens == 6


def test_stream_with_usage(client: Any) -> None:
    stream = client.chat.completions.create(
        model="llama-3.1-8b",
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
    stream = client.chat.completions.create(model="llama-3.1-8b", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert all(getattr(c, "usage", None) is None for c in chunks)


def test_content_policy_fallback_stays_filtered(proxy: Proxy, client: Any) -> None:
    """The cookbook falls back to another filtered deployment: a prompt Azure blocks is tried
    there too and, blocked again, reaches the client as a 400 with `code` and categories."""
    import openai

    proxy.big.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="llama-3.1-8b", messages=[{"role": "user", "content": "JAILBREAK please"}]
        )
    assert caught.value.status_code == 400
    assert any(r.path.endswith("/chat/completions") for r in proxy.big.requests)
    body = caught.value.body
    assert isinstance(body, dict)
    fields = body.get("provider_specific_fields") or {}
    assert fields.get("filtered_categories") == ["jailbreak"]


def test_cost_header(client: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(model="llama-3.1-8b", messages=MESSAGES)
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


def test_tools_on_a_tool_refusing_endpoint(client: Any) -> None:
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
    response = client.chat.completions.create(
        model=NO_TOOLS,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[tool],
    )
    calls = response.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"


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
    response = client.chat.completions.create(model=V1_GROUP, messages=MESSAGES)
    assert response.choices[0].message.content == f"Emulated reply from {MAVERICK}: hello there"
    stream = client.chat.completions.create(model=V1_GROUP, messages=MESSAGES, stream=True)
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
            model=V1_GROUP, messages=[{"role": "user", "content": "JAILBREAK please"}]
        )
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict)
    fields = body.get("provider_specific_fields") or {}
    assert fields.get("filtered_categories") == ["jailbreak"]
