"""The package picture, as data: the four top-level packages, what each may import of the
project and of the frameworks, and the deprecated aliases at the old import paths.

```
langchain_azure_llama ──┐                    azure_llama_emulator (imports no project code)
                        ├──> azure_llama_transport (imports no project code, no framework)
litellm_azure_llama ────┘
```
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSPORT = "azure_llama_transport"
EMULATOR = "azure_llama_emulator"
LANGCHAIN = "langchain_azure_llama"
LITELLM = "litellm_azure_llama"
PACKAGES = (TRANSPORT, EMULATOR, LANGCHAIN, LITELLM)
# old import path -> the package it is a deprecated alias of
ALIASES = {
    f"{LANGCHAIN}.transport": TRANSPORT,
    f"{LANGCHAIN}.emulator": EMULATOR,
    "litellm_provider": LITELLM,
}
# The alias that is a top-level package of its own (the other two live inside `LANGCHAIN`).
TOP_LEVEL_ALIASES = ("litellm_provider",)
FRAMEWORKS = frozenset({"langchain", "langchain_core", "litellm"})
# package -> the project packages and frameworks it may import (top-level names)
MAY_IMPORT: dict[str, frozenset[str]] = {
    TRANSPORT: frozenset(),
    EMULATOR: frozenset(),
    LANGCHAIN: frozenset({TRANSPORT, "langchain_core", "langchain"}),
    LITELLM: frozenset({TRANSPORT, "litellm"}),
}
PROJECT = frozenset(PACKAGES) | frozenset(TOP_LEVEL_ALIASES)


def alias_files() -> dict[Path, str]:
    """The source files of the aliases -> the package each one re-exports."""
    found: dict[Path, str] = {}
    for old, new in ALIASES.items():
        path = ROOT.joinpath(*old.split("."))
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        found.update(dict.fromkeys(files, new))
    return found


def package_files(package: str) -> list[Path]:
    """Every module of `package`, its deprecated aliases left out."""
    aliases = alias_files()
    return [p for p in sorted((ROOT / package).rglob("*.py")) if p not in aliases]


def imported(path: Path) -> set[str]:
    """The top-level names `path` imports (absolute imports, under `TYPE_CHECKING` too; a relative
    import cannot leave a top-level package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def forbidden_imports(package: str) -> list[str]:
    """`file: name` for every project package or framework `package` imports but may not."""
    allowed = MAY_IMPORT[package]
    banned = (PROJECT | FRAMEWORKS) - allowed - {package}
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in package_files(package)
        for name in sorted(imported(path) & banned)
    ]
