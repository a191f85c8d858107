"""The documented calls type-check: `mypy --strict` over cookbook/ and README's Python blocks,
and pyright (what Pylance users see) over README's blocks.

Each ```python block of README.md is written to a file of its own and checked as a module. A
block that is deliberately partial (a fragment continuing the one above) is skipped when the
line right before its fence is the marker ``<!-- typecheck: skip -->``. Pyright comes from npm
(`make install` puts it in `.tools/` when npm is there, as on this project's machines); without
it the pyright test skips, except under CI, where it fails. Pyright is not run over cookbook/:
LiteLLM's `completion` returns a union (`ModelResponse | CustomStreamWrapper`) that pyright,
unlike mypy with LiteLLM's untyped parts, makes every recipe narrow by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = "<!-- typecheck: skip -->"
PYRIGHT = ROOT / ".tools" / "node_modules" / ".bin" / "pyright"
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


def _readme_files(folder: Path) -> list[Path]:
    files = []
    for line, code in readme_blocks():
        path = folder / f"readme_line_{line}.py"
        path.write_text(code, encoding="utf-8")
        files.append(path)
    return files


def test_readme_python_blocks_type_check(tmp_path: Path) -> None:
    assert _mypy(*_readme_files(tmp_path)) == ""


def test_readme_python_blocks_pass_pyright(tmp_path: Path) -> None:
    if not PYRIGHT.exists():
        if os.environ.get("CI"):
            pytest.fail(f"pyright is not installed at {PYRIGHT}: `make install` puts it there")
        pytest.skip("pyright is not installed (`make install` with npm puts it in .tools/)")
    files = _readme_files(tmp_path)
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(PYRIGHT), "--pythonpath", str(python), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.mark.parametrize("folder", ["cookbook"])
def test_cookbook_type_checks(folder: str) -> None:
    assert _mypy(ROOT / folder) == ""
