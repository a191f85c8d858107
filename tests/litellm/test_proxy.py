"""The LiteLLM proxy serving `cookbook/litellm_proxy_config.yaml`, called with the OpenAI SDK.

Needs LiteLLM's proxy extra. `litellm[proxy]==1.110.2` cannot be installed from PyPI: the extra
pins `litellm-proxy==1.110.2`, a distribution PyPI does not have, so FastAPI and Uvicorn are
missing and this test is skipped. The same config is exercised through a `litellm.Router` in
`test_router.py::test_cookbook_config_routes_through_the_provider`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langchain_azure_llama.emulator import Emulator, EmulatorConfig
from tests._support.litellm import KEY

pytest.importorskip("fastapi", reason="LiteLLM's proxy extra is not installed (see docstring)")
pytest.importorskip("uvicorn", reason="LiteLLM's proxy extra is not installed (see docstring)")

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "cookbook" / "litellm_proxy_config.yaml"
STARTUP_DEADLINE = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[str, Emulator]]:
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("the `litellm` CLI is not installed")
    with (
        Emulator(EmulatorConfig(api_key=KEY)) as east,
        Emulator(EmulatorConfig(api_key=KEY)) as west,
        Emulator(EmulatorConfig(api_key=KEY, prompt_filter_trigger="")) as managed,
    ):
        env = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
        }
        for name, emu in (("EASTUS2", east), ("SWEDEN", west), ("MANAGED", managed)):
            env[f"AZURE_LLAMA_{name}_ENDPOINT"] = emu.url
            env[f"AZURE_LLAMA_{name}_KEY"] = KEY
        port = _free_port()
        command = [cli, "--config", str(CONFIG), "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, process)
            yield url, east
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            pytest.fail(f"the proxy exited with {process.returncode}: {err[-2000:]}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the proxy did not become ready")


def test_openai_sdk_through_the_proxy(proxy: tuple[str, Emulator]) -> None:
    import openai

    url, _ = proxy
    client = openai.OpenAI(base_url=url, api_key="sk-local-proxy", max_retries=0)
    messages = [{"role": "user", "content": "hello there"}]
    response = client.chat.completions.create(model="llama-3.1-8b", messages=messages)
    assert response.choices[0].message.content.endswith("hello there")
    assert response.usage is not None and response.usage.completion_tokens == 6
    stream = client.chat.completions.create(
        model="llama-3.1-8b",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.endswith("hello there")
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 2


def test_content_policy_fallback_through_the_proxy(proxy: tuple[str, Emulator]) -> None:
    import openai

    url, _ = proxy
    client = openai.OpenAI(base_url=url, api_key="sk-local-proxy", max_retries=0)
    response = client.chat.completions.create(
        model="llama-3.1-8b", messages=[{"role": "user", "content": "BLOCKME please"}]
    )
    assert response.choices[0].message.content.endswith("BLOCKME please")
