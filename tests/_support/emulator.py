"""Helpers shared by the emulator tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
from typing import Any

import httpx

KEY = "emulator-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def data_lines(text: str) -> list[str]:
    """The payload of every `data:` line, in order (blank separator lines dropped)."""
    return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]


def chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of a stream, `[DONE]` excluded."""
    return [json.loads(line) for line in data_lines(text) if line != "[DONE]"]


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A one-off request without the default auth (httpx.post loads the CA bundle: slow)."""
    with httpx.Client(verify=False, timeout=10) as http:
        return http.post(url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(verify=False, timeout=10) as http:
        return http.get(url, **kwargs)
