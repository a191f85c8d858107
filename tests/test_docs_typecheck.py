"""The documented calls type-check: `mypy --strict` over cookbook/ and README's Python blocks.

Each ```python block of README.md is written to a file of its own and checked as a module. A
block that is deliberately partial (a fragment continuing the one above) is skipped when the
line right before its fence is the marker ``<!-- typecheck: skip -->``. Pyright is not run:
it installs from npm with node, which `make install` (PyPI only) does not provide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = "<!-- typecheck: skip -->"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every README ```python block not marked to skip."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() != SKIP_MARKER:
            blocks.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return blocks


def _mypy(*paths: Path) -> str:
    args = ["--strict", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml")]
    stdout, stderr, status = mypy_api.run([*args, *map(str, paths)])
    return "" if status == 0 else stdout + stderr


def test_readme_has_checked_blocks() -> None:
    assert len(readme_blocks()) >= 5


def test_readme_python_blocks_type_check(tmp_path: Path) -> None:
    files = []
    for line, code in readme_blocks():
        path = tmp_path / f"readme_line_{line}.py"
        path.write_text(code, encoding="utf-8")
        files.append(path)
    assert _mypy(*files) == ""


@pytest.mark.parametrize("folder", ["cookbook"])
def test_cookbook_type_checks(folder: str) -> None:
    assert _mypy(ROOT / folder) == ""
