"""Every cookbook recipe runs offline against the emulator and prints what its reader checks.

Each recipe runs as a user runs it (a subprocess, no AZURE_* variables, none of the offline
switches the test session sets: a recipe sets what it needs), with `-W error` so a
deprecation in what a recipe teaches fails here before it reaches a reader. All of them start
together when the first test needs one: each spends most of its time importing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from litellm_azure_llama import MODELS
from tests.cookbook._recipes import (
    COOKBOOK,
    DEFAULT_MODEL,
    EMULATED,
    NETWORK_ATTEMPT,
    offline_env,
    reply,
)

TIMEOUT = 300  # seconds for one recipe, all of them running at once on a slow machine


CHAT_INPUT = "Hello there\n\nWhat did I just say?\n/quit\nunread\n"
# recipe -> what its stdin receives
RECIPES = {
    "chain_batch.py": "",
    "agent_prompted_tools.py": "",
    "agents_create_agent.py": "",
    "structured_output.py": "",
    "content_safety.py": "",
    "extra_parameters.py": "",
    "router_failover.py": "",
    "terminal_chat.py": CHAT_INPUT,
}
Run = Callable[[str], subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """Start every recipe at once (most of their time is importing), then collect one."""
    env = offline_env()
    started = {
        recipe: subprocess.Popen(
            [sys.executable, "-W", "error", str(COOKBOOK / recipe)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for recipe in RECIPES
    }

    def collect(recipe: str) -> subprocess.CompletedProcess[str]:
        process = started[recipe]
        stdout, stderr = process.communicate(RECIPES[recipe], timeout=TIMEOUT)
        assert process.returncode == 0, stderr
        assert NETWORK_ATTEMPT not in stderr, stderr
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    yield collect
    for process in started.values():
        if process.poll() is None:  # a test failed before collecting it
            process.kill()
        process.communicate()


def lines(out: str, label: str) -> list[str]:
    """The text after `label :` on every line that starts with it."""
    return re.findall(rf"^{re.escape(label)} *: (.*)$", out, flags=re.MULTILINE)


def test_chain_batch_answers_every_input_in_order_with_progress(run: Run) -> None:
    done = run("chain_batch.py")
    assert EMULATED in done.stdout
    answers = re.findall(r"^ *(\w+): (.*)$", done.stdout, flags=re.MULTILINE)
    assert len(answers) == 20
    for topic, answer in answers:
        assert answer == reply(f"One fact about {topic}.")
    assert "20 answers, in input order" in done.stdout
    # stderr is a pipe here, so progress is plain lines, ending complete
    progress = re.findall(r"^progress: (\d+)/20$", done.stderr, flags=re.MULTILINE)
    assert progress and progress[-1] == "20" and "\r" not in done.stderr


def test_agent_switches_to_prompted_tools_and_uses_both(run: Run) -> None:
    out = run("agent_prompted_tools.py").stdout
    assert EMULATED in out
    # Every call is prompted: from the first one for a model Azure lists without tool calling
    # (the cookbook's default, Llama 3.3), else after the endpoint's one refusal of native tools.
    hows = lines(out, "how")
    assert len(hows) == 2 and len(set(hows)) == 1
    assert hows[0] in ("prompt (catalogue)", "prompt (refused)")
    refusals = re.findall("refused native tools; prompting for it from now on", out)
    assert len(refusals) == (1 if hows[0] == "prompt (refused)" else 0)
    assert lines(out, "call") == [
        "get_weather({'city': 'Lisbon'})",
        "convert_currency({'amount': 250.0, 'to_currency': 'USD'})",
    ]
    assert lines(out, "result") == ["Lisbon: 21 C and sunny", "250.00 EUR = 270.00 USD"]
    answers = lines(out, "answer")
    assert len(answers) == 2
    # the answer after each tool reports the tool's output
    assert "Lisbon: 21 C and sunny" in answers[0]
    assert "250.00 EUR = 270.00 USD" in answers[1]


def test_create_agent_runs_tools_and_gives_a_report_in_every_strategy(run: Run) -> None:
    out = run("agents_create_agent.py").stdout
    assert EMULATED in out
    sections = re.split(r"^== (.*) ==$", out, flags=re.MULTILINE)[1:]
    found = dict(zip(sections[::2], sections[1::2], strict=True))
    strategies = [f"response_format={s}" for s in ("ToolStrategy", "ProviderStrategy", "schema")]
    assert list(found) == ["tools", *strategies]
    tools = found["tools"]
    assert lines(tools, "call") == ["get_weather({'city': 'Lisbon'})"]
    assert lines(tools, "result") == ["Lisbon: 21 C and sunny"]
    (answer,) = lines(tools, "answer")
    assert "Lisbon: 21 C and sunny" in answer  # the loop went on after the tool
    for label in strategies:
        text = found[label]
        assert lines(text, "result") == ["Lisbon: 21 C and sunny"], label  # the tool ran
        assert lines(text, "report") == ["WeatherReport(city='Lisbon', summary='example')"]
        assert not lines(text, "error"), label
    # Nothing native went to an endpoint without tools or schemas: every turn prompted, from
    # the first call for the cookbook's default model, else after the one refusal of each.
    hows = lines(out, "how")
    assert hows and all(how.startswith("tools prompt (") for how in hows)
    provider = lines(found["response_format=ProviderStrategy"], "how")
    assert provider and all(how.endswith("schema prompt") for how in provider)


def test_structured_output_gives_the_same_validated_object_both_ways(run: Run) -> None:
    out = run("structured_output.py").stdout
    expected = (
        "Lead(name='Ada Lovelace', company='Analytical Engines Ltd', email='ada@example.com', "
        "seats=12, urgency='high')"
    )
    assert lines(out, "json_schema") == [expected]
    assert lines(out, "function_calling") == [expected]
    assert lines(out, "parsing_error") == ["None"]
    assert lines(out, "same object") == ["True"]
    (usage,) = lines(out, "usage")
    assert re.fullmatch(r"[1-9]\d* in \+ [1-9]\d* out", usage)


def test_content_safety_catches_the_block_and_falls_back(run: Run) -> None:
    out = run("content_safety.py").stdout
    assert lines(out, "blocked") == ["HTTP 400, categories ['jailbreak']"]
    assert lines(out, "cut") == ["'Emulated reply from', content_filter"]
    assert lines(out, "warning") == ["['ContentFilterWarning']"]
    assert lines(out, "asked") == [f"llama ({DEFAULT_MODEL})"]
    # the fallback group's deployment, which the recipe names, answered the blocked prompt
    ((group, fallback),) = re.findall(r"^fallback +: (\S+) \((\S+)\)$", out, flags=re.M)
    assert group == "llama-unfiltered" and fallback != DEFAULT_MODEL
    assert lines(out, "answered") == [f"azure_llama/{fallback}"]
    (answer,) = lines(out, "answer")
    assert answer.startswith(f"Emulated reply from {fallback}: ")


def test_extra_parameters_pass_through_and_llama_native_checks(run: Run) -> None:
    out = run("extra_parameters.py").stdout
    assert lines(out, "header") == ["extra-parameters: pass-through"]
    (body,) = lines(out, "body")
    assert '"logprobs":true' in body and '"top_logprobs":2' in body
    assert lines(out, "answer") == [reply("Name three primary colours.")]
    assert lines(out, "logprobs") == ["None"]  # the emulator computes none
    (strict,) = lines(out, "'error'")
    assert strict.startswith("HTTP 400")
    assert "Extra parameters ['logprobs', 'top_logprobs'] are not allowed" in strict
    assert len(lines(out, "n=2 [0]")) == len(lines(out, "n=2 [1]")) == 1
    assert len(lines(out, "beam")) == 1
    beam_search, wrong_api = lines(out, "refused")
    assert beam_search == "use_beam_search needs temperature=0 (beam search is greedy)."
    assert "['best_of'] are parameters of the Llama-native API: set api='llama'" in wrong_api


def test_router_fails_over_and_loads_the_proxy_config(run: Run) -> None:
    out = run("router_failover.py").stdout
    assert "eastus2 now answers 503" in out and "eastus2 now answers 429" in out
    assert lines(out, "5 calls answered by") == ["{'swedencentral': 5}"] * 2
    # one refusal each, then the cooldown keeps traffic away from eastus2
    assert out.count("eastus2 refused 1 request(s), then the Router cooled it down") == 2
    # The config's groups: Llama 3.3 (two regions) and Maverick, its content fallback; the
    # Llama 3.3 deployment answers (the config names it after its model, the cookbook default).
    assert lines(out, "model groups") == ["['llama-3.3-70b', 'llama-4-maverick']"]
    (answer,) = lines(out, "llama-3.3-70b")
    assert answer == reply("Say hello from your region.", model="Llama-3.3-70B-Instruct")


def test_terminal_chat_streams_each_turn_with_usage_and_cost(run: Run) -> None:
    out = run("terminal_chat.py").stdout
    assert re.findall(r"^you> (.*)$", out, flags=re.MULTILINE) == [
        "Hello there",
        "What did I just say?",
        "/quit",
    ]
    replies = re.findall(r"^llama> (.*)$", out, flags=re.MULTILINE)
    assert replies == [reply("Hello there"), reply("What did I just say?")]
    usage = re.findall(r"\[(\d+) in \+ (\d+) out tokens, \$(\d\.\d+), \$(\d\.\d+) so far\]", out)
    assert len(usage) == 2
    (in1, out1, cost1, total1), (in2, out2, cost2, total2) = usage
    assert int(in2) > int(in1) > 0  # the second turn sends the whole history
    assert int(out1) > 0 and int(out2) > 0
    price = next(m for m in MODELS if m.name == DEFAULT_MODEL)
    assert price.input_cost_per_token is not None and price.output_cost_per_token is not None
    expected = int(in1) * price.input_cost_per_token + int(out1) * price.output_cost_per_token
    assert float(cost1) == pytest.approx(expected, abs=1e-7) and float(total1) == float(cost1)
    assert abs(float(total2) - float(cost1) - float(cost2)) < 1e-6
    assert out.rstrip().endswith("bye") and "unread" not in out


# Recipes tested elsewhere in this directory.
TESTED_APART = {
    "quickstart.py": "test_quickstart.py",
    "managed_compute.py": "test_managed_compute_recipe.py",
    "llama4_foundry.py": "test_llama4_foundry_recipe.py",
}
_REAL_HOST = re.compile(r"https://(?![^/\s\"']*(<|example))[\w.-]+\.azure\.com")
_KEY_LIKE = re.compile(r"(?<![\w/.-])[A-Za-z0-9]{32,}(?![\w/.-])")


def test_every_recipe_is_tested_and_says_how_to_run_it() -> None:
    recipes = sorted(p for p in COOKBOOK.glob("*.py") if not p.name.startswith("_"))
    assert recipes
    for path in recipes:
        apart = TESTED_APART.get(path.name)
        assert path.name in RECIPES or (apart and (Path(__file__).parent / apart).exists()), path
        text = path.read_text()
        assert text.startswith('"""') and f"cookbook/{path.name}" in text.split('"""')[1], path


def test_no_recipe_holds_a_secret_or_a_real_endpoint() -> None:
    for path in sorted(COOKBOOK.iterdir()):
        if path.suffix in (".py", ".yaml"):
            text = path.read_text()
            assert not _REAL_HOST.search(text), path
            assert not _KEY_LIKE.search(text), path
