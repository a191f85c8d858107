"""What a cassette may not hold: a key, a bearer token, or the deployment's host."""

from __future__ import annotations

import re
from pathlib import Path

_BEARER = re.compile(r"bearer\s+(?!PLACEHOLDER)\S+", re.IGNORECASE)
_AZURE_HOST = re.compile(
    r"[\w-]+\.(?:[\w-]+\.)?(?:models\.ai|inference\.ml|services\.ai)\.azure\.com"
)


def secrets_in(path: Path, key: str | None = None) -> list[str]:
    """The problems found in one cassette; empty when it is clean."""
    text = path.read_text(encoding="utf-8")
    found = []
    if key and key in text:
        found.append("the endpoint key")
    if _BEARER.search(text):
        found.append("a bearer token")
    if _AZURE_HOST.search(text):
        found.append("an Azure host name")
    for header in ("authorization", "api-key", "host"):
        for match in re.finditer(rf"^\s*{header}:\n\s*- (.*)$", text, re.MULTILINE | re.I):
            if match.group(1) != "PLACEHOLDER":
                found.append(f"a {header} header")
    return found
