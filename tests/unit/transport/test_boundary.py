"""The transport stands alone: importing it loads neither framework nor any other package of this
project (nor does the emulator); its public names are pinned."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import azure_llama_transport as transport
from tests._support.layout import (
    EMULATOR,
    LANGCHAIN,
    LITELLM,
    MAY_IMPORT,
    ROOT,
    TRANSPORT,
    forbidden_imports,
    imported,
    package_files,
)

# Imports every module of a package (the lazy ones too), then prints which of `banned` loaded.
PROBE = """
import importlib, json, pkgutil, sys
package, *banned = sys.argv[1:]
root = importlib.import_module(package)
for info in pkgutil.walk_packages(root.__path__, package + "."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(banned))))
"""


def _loaded(package: str, banned: set[str]) -> list[str]:
    command = [sys.executable, "-c", PROBE, package, *sorted(banned)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("package", "banned"),
    [
        pytest.param(
            TRANSPORT,
            {LANGCHAIN, LITELLM, EMULATOR, "litellm_provider", "langchain", "langchain_core"}
            | {"litellm"},
            id="transport",
        ),
        pytest.param(
            EMULATOR,
            {TRANSPORT, LANGCHAIN, LITELLM, "litellm_provider", "langchain", "langchain_core"}
            | {"litellm"},
            id="emulator",
        ),
    ],
)
def test_importing_every_module_loads_no_other_package(package: str, banned: set[str]) -> None:
    """The picture's rules, at run time: the transport (every module of it, `_llama` and the
    async adapter included) loads neither framework, the LangChain package nor the emulator; the
    emulator loads no project code at all."""
    assert _loaded(package, banned) == []


@pytest.mark.parametrize("package", [TRANSPORT, EMULATOR, LANGCHAIN, LITELLM])
def test_imports_follow_the_picture(package: str) -> None:
    """Read from the source (every import statement, `TYPE_CHECKING` ones too): the transport and
    the emulator import no project package and no framework; each front end imports the transport
    and its own framework, never the other front end or the emulator. The deprecated aliases
    (`tests/_support/layout.py`) are the only modules left out."""
    assert forbidden_imports(package) == []


def test_the_scan_sees_every_module() -> None:
    """`forbidden_imports` would see a forbidden import: the LangChain package's one alias of the
    emulator is one, and the transport's client reads the version (a leaf of its own)."""
    assert EMULATOR in imported(ROOT / LANGCHAIN / "emulator" / "__init__.py")
    assert TRANSPORT not in MAY_IMPORT[EMULATOR] and LANGCHAIN not in MAY_IMPORT[TRANSPORT]
    files = {path.name for path in package_files(TRANSPORT)}
    assert {"__init__.py", "_client.py", "_version.py", "_chat.py"} <= files
    assert not any(path.parent.name == "emulator" for path in package_files(LANGCHAIN))


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
