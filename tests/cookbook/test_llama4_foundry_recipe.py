"""The Llama 4 Foundry recipe runs offline against the emulator's OpenAI v1 route and shows what a
user checks: the deployment name goes in `model`, Maverick serves it, an image goes through, and
both front ends work with the resource key and with an Entra ID credential (and its scope)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from azure_llama_transport import lookup
from tests.cookbook._recipes import COOKBOOK, EMULATED, constant, offline_env, reply

RECIPE = COOKBOOK / "llama4_foundry.py"
DEPLOYMENT = constant("llama4_foundry.py", "DEPLOYMENT")
MAVERICK = constant("llama4_foundry.py", "MAVERICK")
QUESTION = constant("llama4_foundry.py", "QUESTION")
IMAGE_QUESTION = constant("llama4_foundry.py", "IMAGE_QUESTION")


@pytest.fixture(scope="module")
def out() -> str:
    """The recipe's output, run once as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-W", "error", str(RECIPE)],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning, no attempt to reach the network
    return done.stdout


def lines(out: str, label: str) -> list[str]:
    return re.findall(rf"^{re.escape(label)} *: (.*)$", out, flags=re.MULTILINE)


def test_maverick_on_the_v1_route_through_both_front_ends_with_key_and_entra(out: str) -> None:
    entry = lookup(MAVERICK)
    assert entry is not None and entry.retired is None and entry.image_inputs
    assert re.search(rf"deployment {DEPLOYMENT} at http://127\.0\.0\.1:\d+/openai/v1 ", out)
    assert EMULATED in out and "STAND-IN for DefaultAzureCredential" in out
    sections = re.findall(r"^== (LangChain|LiteLLM), (API key|Entra ID): ", out, re.MULTILINE)
    assert sections == [
        ("LangChain", "API key"),
        ("LiteLLM", "API key"),
        ("LangChain", "Entra ID"),
        ("LiteLLM", "Entra ID"),
    ]
    answer = reply(QUESTION, MAVERICK)
    assert lines(out, "invoke") == lines(out, "whole") == [answer] * 2
    assert lines(out, "stream") == [answer] * 4  # the streamed text is the whole answer
    assert lines(out, "image") == [reply(IMAGE_QUESTION, MAVERICK)] * 2
    # the custom deployment name is not a blind spot: each answer names the model served
    assert lines(out, "served") == [MAVERICK, f"azure_llama/{MAVERICK}"] * 2
    # Entra ID: one token per client, for the Foundry scope (docs/wire-protocol.md section 20)
    scopes = re.findall(r"\[credential\] get_token for (\S+)$", out, flags=re.MULTILINE)
    assert scopes == ["https://ai.azure.com/.default"] * 2


def test_every_request_names_the_deployment_without_api_version(out: str) -> None:
    seen = lines(out, "seen")
    route = f"POST /openai/v1/chat/completions model={DEPLOYMENT}"
    per_client = [
        f"{route} stream=False images=0",
        f"{route} stream=True images=0",
        f"{route} stream=False images=1",
        f"{route} stream=False images=0",
        f"{route} stream=True images=0",
    ]
    assert seen == [f"{s} auth=key" for s in per_client] + [
        f"{s} auth=Entra ID token" for s in per_client
    ]
