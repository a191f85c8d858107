"""Cassettes are reviewed like code: none may hold the key or a bearer token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._support.langchain import CASSETTES, EMULATOR_KEY

_BEARER = re.compile(r"bearer\s+(?!PLACEHOLDER)\S+", re.IGNORECASE)


def _cassettes() -> list[Path]:
    return sorted(p for p in CASSETTES.rglob("*") if p.is_file())


def test_cassettes_exist() -> None:
    assert _cassettes(), "record them: pytest tests/langchain -k test_stream_time"


@pytest.mark.parametrize("path", _cassettes(), ids=lambda p: p.name)
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert EMULATOR_KEY not in text
    assert not _BEARER.search(text)
    for header in ("authorization", "api-key"):
        for match in re.finditer(rf"^\s*{header}:\n\s*- (.*)$", text, re.MULTILINE):
            assert match.group(1) == "PLACEHOLDER"
