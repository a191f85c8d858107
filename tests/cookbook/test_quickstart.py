"""The README's main job: the quickstart runs offline and prints what a newcomer checks."""

from __future__ import annotations

import re
import subprocess
import sys

from azure_llama_transport import lookup
from tests.cookbook._recipes import (
    COOKBOOK,
    DEFAULT_MODEL,
    EMULATED,
    NETWORK_ATTEMPT,
    constant,
    offline_env,
    reply,
)

RECIPE = COOKBOOK / "quickstart.py"
QUESTION = constant("quickstart.py", "QUESTION")


def run_recipe() -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", str(RECIPE)],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert NETWORK_ATTEMPT not in done.stderr, done.stderr
    return done.stdout


def test_quickstart_answers_through_all_three_paths() -> None:
    out = run_recipe()
    assert f"Talking to {DEFAULT_MODEL} at http://127.0.0.1:" in out and EMULATED in out
    for header in ("Shared transport", "LangChain: prompt | ChatAzureLlama | parser", "LiteLLM"):
        assert f"== {header}" in out
    answers = re.findall(r"^(chat|stream) +: (.*)$", out, flags=re.MULTILINE)
    assert len(answers) == 6
    # the served model answers, and the streamed text equals the whole answer on every path
    assert {text for _, text in answers} == {reply(QUESTION)}
    usage = re.findall(r"^usage +: (\d+) \w+ \+ (\d+)", out, flags=re.MULTILINE)
    assert len(usage) == 3 and all(int(a) > 0 and int(b) > 0 for a, b in usage)
    assert re.search(r"cost \$0\.0000\d+", out)


def test_the_default_model_is_one_azure_sells_today() -> None:
    entry = lookup(DEFAULT_MODEL)
    assert entry is not None and entry.retired is None
    assert entry.model_type == "chat-completion"
