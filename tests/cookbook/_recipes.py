"""What the cookbook tests read from the cookbook itself, so no test repeats a recipe's choice.

`DEFAULT_MODEL` is the model every recipe uses unless told otherwise (cookbook/_target.py);
the emulator answers plain questions with "Emulated reply from <served model>: ...", so the
expected text follows the default instead of being written into the tests.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

COOKBOOK = Path(__file__).resolve().parents[2] / "cookbook"
EMULATED = "via the built-in emulator (offline)"


def constant(recipe: str, name: str) -> str:
    """A module-level string constant of a cookbook file, read without running the file."""
    tree = ast.parse((COOKBOOK / recipe).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [name]:
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError(f"{recipe} defines no {name}")


DEFAULT_MODEL = constant("_target.py", "DEFAULT_MODEL")


NETGUARD = Path(__file__).resolve().parent / "_netguard"
NETWORK_ATTEMPT = "network attempt: "


def offline_env() -> dict[str, str]:
    """The caller's environment without AZURE_* (so recipes use the emulator) and without the
    offline switches the test session sets: each recipe must set what it needs itself. Every
    attempt to reach a host that is not loopback is refused and reported on stderr as
    `NETWORK_ATTEMPT` (`_netguard/sitecustomize.py`)."""
    dropped = ("LITELLM_LOCAL_MODEL_COST_MAP", "HF_HUB_OFFLINE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_") and k not in dropped}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD), env.get("PYTHONPATH")]))
    return env


def reply(text: str, model: str = DEFAULT_MODEL) -> str:
    """The emulator's answer to a plain question (its rule 6: the first 12 words)."""
    return f"Emulated reply from {model}: {' '.join(text.split()[:12])}"
