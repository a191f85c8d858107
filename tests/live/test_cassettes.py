"""The committed live cassettes (recorded from Azure by `make record`) hold no secret.

Runs in the default suite: it reads files, it calls nothing.
"""

from __future__ import annotations

from pathlib import Path

from ._cassettes import secrets_in

COMMITTED = Path(__file__).parent / "cassettes"


def test_committed_cassettes_hold_no_secret() -> None:
    problems = {p.name: secrets_in(p) for p in sorted(COMMITTED.glob("*.yaml"))}
    assert not {name: found for name, found in problems.items() if found}


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
