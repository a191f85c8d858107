"""The README's main job: the quickstart runs offline and prints what a newcomer checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[2] / "cookbook" / "quickstart.py"


def run_recipe() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, str(RECIPE)], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart_answers_through_all_three_paths() -> None:
    out = run_recipe()
    assert "via the built-in emulator (offline)" in out
    for header in ("Shared transport", "LangChain: prompt | ChatAzureLlama | parser", "LiteLLM"):
        assert f"== {header}" in out
    answers = re.findall(r"^(chat|stream) +: (.*)$", out, flags=re.MULTILINE)
    assert len(answers) == 6
    assert all(
        text.startswith("Emulated reply from Meta-Llama-3.1-8B-Instruct") for _, text in answers
    )
    # the streamed text equals the whole answer on every path
    assert len({text for _, text in answers}) == 1
    usage = re.findall(r"^usage +: (\d+) \w+ \+ (\d+)", out, flags=re.MULTILINE)
    assert len(usage) == 3 and all(int(a) > 0 and int(b) > 0 for a, b in usage)
    assert re.search(r"cost \$0\.0000\d+", out)
