"""The LiteLLM proxy in front of the live endpoint, called with the OpenAI SDK.

The proxy starts the way tests/litellm/test_proxy.py starts it (`litellm --config`, a
subprocess, ready on `/health/liveliness`), from a one-model config written here that points
at the live endpoint. When the suite is pointed at an endpoint, a missing proxy install fails
the test: it does not skip.
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

from tests._support.live import TARGET

pytestmark = pytest.mark.live

ROOT = Path(__file__).parents[2]
STARTUP_DEADLINE = 120.0
MASTER_KEY = "sk-live-suite-master"
CONFIG = """\
model_list:
  - model_name: llama-live
    litellm_params:
      model: azure_llama/{model}
      api_base: os.environ/AZURE_INFERENCE_ENDPOINT
      api_key: os.environ/AZURE_INFERENCE_CREDENTIAL
litellm_settings:
  custom_provider_map:
    - provider: azure_llama
      custom_handler: litellm_azure_llama.handler
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _proxy_env() -> dict[str, str]:
    assert TARGET.endpoint and TARGET.key
    return {
        **os.environ,
        "AZURE_INFERENCE_ENDPOINT": TARGET.endpoint,
        "AZURE_INFERENCE_CREDENTIAL": TARGET.key,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.fail("the `litellm` CLI is not installed next to this Python")
    for package in ("fastapi", "uvicorn"):
        try:
            __import__(package)
        except ImportError:
            pytest.fail(f"the proxy needs {package}: install the `proxy` extra")
    config = tmp_path_factory.mktemp("proxy") / "config.yaml"
    config.write_text(CONFIG.format(model=TARGET.model_name))
    port = _free_port()
    command = [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, env=_proxy_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
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


def test_chat_and_stream_through_the_proxy(proxy: str) -> None:
    import openai

    client = openai.OpenAI(base_url=proxy, api_key=MASTER_KEY, max_retries=0, timeout=60)
    messages = [{"role": "user", "content": "Say hello in three words."}]
    response = client.chat.completions.create(
        model="llama-live", messages=messages, max_tokens=20, temperature=0
    )
    assert (response.choices[0].message.content or "").strip()
    assert response.usage is not None and response.usage.prompt_tokens > 0
    stream = client.chat.completions.create(
        model="llama-live",
        messages=messages,
        max_tokens=20,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_the_proxy_refuses_a_call_without_its_key(proxy: str) -> None:
    body = {"model": "llama-live", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{proxy}/chat/completions", json=body, timeout=60)
    assert response.status_code == 401
