"""The live suite is real code: CI runs it against the emulator, in a subprocess.

The emulator stands in for an Azure serverless Llama deployment (native `tools` refused with
the vLLM 400, as real deployments do); the subprocess gets only the variables a maintainer
sets for `make live`, runs `pytest -m live tests/live`, and must pass every test: the standard
suite (its only non-passes are the strict xfails of inputs Llama cannot take and the skips of a
per-call model override, which an Azure endpoint cannot do) and the LiteLLM calls.
`test_stream_time` records its cassette into a temporary directory (the committed ones are
Azure's), which is then checked for secrets.

The proxy module is left out here (`-k "not proxy"`): starting `litellm --config` took 75 s of
the 155 s the whole live suite took on this 2-core machine, and tests/litellm/test_proxy.py
already starts the proxy the same way. Without it the run takes about 60 s here, most of it
importing litellm; `make live` runs all of it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from azure_llama_emulator import Emulator, EmulatorConfig

from ._cassettes import secrets_in

ROOT = Path(__file__).parents[2]
KEY = "live-suite-key-5e1f0a9c"
DEADLINE = 300
# langchain-tests' ChatModelIntegrationTests as collected for TestLiveChatModel, plus LiteLLM's
# four modes and its wrong key.
EXPECTED = {"passed": 46, "skipped": 4, "xfailed": 5, "deselected": 3}


def _run_live_suite(emu: Emulator, cassettes: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(
        AZURE_INFERENCE_ENDPOINT=emu.url,
        AZURE_INFERENCE_CREDENTIAL=KEY,
        AZURE_LLAMA_LIVE_CASSETTES=str(cassettes),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "pytest", "tests/live", "-m", "live", "-k", "not proxy"]
    command += ["-q", "-rfEs"]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=DEADLINE, check=False
    )


def _counts(summary: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}


def test_the_live_suite_passes_against_the_emulator(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(api_key=KEY, tool_mode="reject")) as emu:
        result = _run_live_suite(emu, tmp_path)
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1]
    assert result.returncode == 0, output[-6000:]
    assert _counts(summary) == EXPECTED, output[-6000:]
    skips = re.findall(r"^SKIPPED \[\d+\] .*: (.*)$", output, re.MULTILINE)
    assert set(skips) == {"Model override not supported."}, skips
    recorded = sorted(tmp_path.glob("*.yaml"))
    assert [p.name for p in recorded] == ["TestLiveChatModel.test_stream_time.yaml"]
    assert secrets_in(recorded[0], key=KEY) == []
