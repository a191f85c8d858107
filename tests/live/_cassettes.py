"""What a cassette may not hold: a key, a bearer token, or the deployment's host."""

from __future__ import annotations

import re
from pathlib import Path

_BEARER = re.compile(r"bearer\s+(?!PLACEHOLDER)\S+", re.IGNORECASE)
_AZURE_HOST = re.compile(
    r"[\w-]+\.(?:[\w-]+\.)?(?:models\.ai|inference\.ml|services\.ai)\.azure\.com"
)


_LOOPBACK = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?")


def secrets_in(path: Path, key: str | None = None, *, loopback_host: bool = False) -> list[str]:
    """The problems found in one cassette; empty when it is clean. `loopback_host`: a cassette
    recorded from the local emulator (tests/langchain) may keep its 127.0.0.1 host header."""
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
            value = match.group(1)
            if value == "PLACEHOLDER" or (
                header == "host" and loopback_host and _LOOPBACK.fullmatch(value)
            ):
                continue
            found.append(f"a {header} header")
    return found
