"""The managed-compute recipe runs offline and prints what a user checks: which deployment
answered, and each token request (first token, refresh near expiry, refresh after a 401)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[2] / "cookbook" / "managed_compute.py"
BLUE, GREEN = "llama-31-8b-blue", "llama-31-70b-green"


def run_recipe() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, str(RECIPE)], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_managed_compute_recipe_shows_deployments_and_token_refreshes() -> None:
    out = run_recipe()
    assert "via the built-in emulator (offline)" in out
    assert "STAND-IN for DefaultAzureCredential" in out
    answered = re.findall(r"^(\S+) +answered by (\S+): ", out, flags=re.MULTILINE)
    assert answered == [
        (BLUE, "Meta-Llama-3.1-8B-Instruct"),
        (BLUE, "Meta-Llama-3.1-8B-Instruct"),
        (GREEN, "Meta-Llama-3.1-70B-Instruct"),
        (GREEN, "Meta-Llama-3.1-70B-Instruct"),
    ]
    info = re.findall(r"^(\S+) +/info: (\S+) \((\S+)\)$", out, flags=re.MULTILINE)
    assert info == [
        (BLUE, "Meta-Llama-3.1-8B-Instruct", "chat-completion"),
        (GREEN, "Meta-Llama-3.1-70B-Instruct", "chat-completion"),
    ]
    # One token, a refresh near expiry, then the green client's revoked token and its refresh.
    tokens = re.findall(r"\[credential\] get_token #(\d+) for (\S+):", out)
    assert [int(n) for n, _ in tokens] == [1, 2, 3, 4, 5]
    assert {scope for _, scope in tokens} == {"https://ml.azure.com/.default"}
    assert "refresh margin: the next request refreshes it" in out
    assert "expect a 401, then a refresh" in out
    assert re.findall(r"^get_token calls so far: (\d+)$", out, flags=re.MULTILINE) == [
        "2",
        "4",
        "5",
    ]
    litellm_answers = re.findall(r"^(\S+) +answered: Emulated reply from (\S+):", out, re.M)
    assert litellm_answers == [
        (BLUE, "Meta-Llama-3.1-8B-Instruct"),
        (GREEN, "Meta-Llama-3.1-70B-Instruct"),
    ]
    assert re.findall(r"^(\S+) +answered by (\S+) \(key\)$", out, flags=re.MULTILINE) == [
        (BLUE, "Meta-Llama-3.1-8B-Instruct"),
        (GREEN, "Meta-Llama-3.1-70B-Instruct"),
    ]
