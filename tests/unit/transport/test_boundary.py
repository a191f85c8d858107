"""The transport stands alone: importing it loads neither framework; its public names are pinned."""

from __future__ import annotations

import json
import subprocess
import sys

import azure_llama_transport as transport

PROBE = """
import json, sys
import azure_llama_transport
import azure_llama_emulator
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"langchain_core", "litellm", "langchain"})
print(json.dumps(heavy))
"""


def test_transport_and_emulator_import_no_framework() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_package_root_is_lazy() -> None:
    probe = "import sys, langchain_azure_llama; print('langchain_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_protocol_and_catalogue_load_on_first_use() -> None:
    """Importing the transport does not load the Llama protocol (`_llama`) or the catalogue:
    they load when a name of theirs is first read, which then works as an ordinary import."""
    probe = """
import sys
import azure_llama_transport as t
lazy = ["azure_llama_transport._llama", "azure_llama_transport._catalogue"]
print([m in sys.modules for m in lazy])
from azure_llama_transport import CAPABILITIES, chat
print([m in sys.modules for m in lazy], t.chat is chat, t.lookup("Llama-3.3-70B-Instruct").name)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "[False, False]",
        "[True, True] True Llama-3.3-70B-Instruct",
    ]


def test_public_names_are_pinned() -> None:
    """Everything public is in __all__ and everything in __all__ exists (httpx's exported test)."""
    public = {name for name in dir(transport) if not name.startswith("_")}
    assert public == set(transport.__all__)
    assert all(getattr(transport, name) is not None for name in transport.__all__)
    assert {
        "AzureLlamaClient",
        "AsyncAzureLlamaClient",
        "StreamInterruptedError",
        "ContentFilterError",
        "RequestValidationError",
    } <= public


def test_transport_reads_nothing_from_the_package_root() -> None:
    """Every transport module imports its siblings and leaf modules only: the package root
    (`langchain_azure_llama/__init__.py`, the LangChain front end's lazy names) is not its
    dependency, so the transport could be split out unchanged."""
    import ast
    from pathlib import Path

    root = Path(transport.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                depth = len(path.relative_to(root).parts)  # 1: transport/x.py, 2: _llama/x.py
                leaves_transport = node.level > depth
                if (leaves_transport and node.module in (None, "")) or node.module == (
                    "langchain_azure_llama"
                ):
                    offenders.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
    assert offenders == []
