"""Every committed cassette holds no secret, and there are some to check.

Cassettes are reviewed like code. Two kinds are committed: tests/langchain/cassettes (recorded from
the local emulator by LangChain's standard suite: its key must not be there, its loopback host
may) and tests/live/cassettes (recorded from Azure by `make record`: keys, tokens and the
deployment's host scrubbed). None from Azure exists yet (CI cannot reach it); any that is
recorded is scanned here by the same rule. It reads files, it calls nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._support.langchain import CASSETTES as EMULATOR_CASSETTES
from tests._support.langchain import EMULATOR_KEY
from tests._support.live import CASSETTES as LIVE_CASSETTES
from tests.live._cassettes import secrets_in


def _committed() -> list[Path]:
    return sorted([*EMULATOR_CASSETTES.glob("*.yaml"), *LIVE_CASSETTES.glob("*.yaml")])


def test_there_are_cassettes_to_check() -> None:
    assert list(EMULATOR_CASSETTES.glob("*.yaml")), (
        "record them: pytest tests/langchain -k test_stream_time"
    )


@pytest.mark.parametrize("path", _committed(), ids=lambda p: f"{p.parent.parent.name}-{p.name}")
def test_committed_cassette_holds_no_secret(path: Path) -> None:
    from_emulator = path.parent == EMULATOR_CASSETTES
    assert secrets_in(path, key=EMULATOR_KEY, loopback_host=from_emulator) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    leaked = tmp_path / "leaked.yaml"
    leaked.write_text(
        "headers:\n  api-key:\n  - sk-123\n  host:\n  - my-llama.eastus2.models.ai.azure.com\n"
        "  authorization:\n  - Bearer eyJ0\nbody: key-abc\n"
    )
    found = secrets_in(leaked, key="key-abc")
    assert found == [
        "the endpoint key",
        "a bearer token",
        "an Azure host name",
        "a authorization header",
        "a api-key header",
        "a host header",
    ]
    # A loopback host is allowed only where asked for; an Azure one never.
    assert secrets_in(leaked, key="key-abc", loopback_host=True) == found
    local = tmp_path / "local.yaml"
    local.write_text("headers:\n  host:\n  - 127.0.0.1:8123\n")
    assert secrets_in(local) == ["a host header"]
    assert secrets_in(local, loopback_host=True) == []
