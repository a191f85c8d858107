"""Hostile clients of the emulator: bodies are read only after auth and the control headers pass.

Six unauthenticated 60 MB bodies once cost the emulator 523 MB: it read each body before looking
at the key. Here each request declares a 60 MB body and sends only its head (and a little of the
body): the refusal must come back at once, so the emulator cannot have waited for the body.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import KEY

DECLARED = 60 * 1024 * 1024  # the body each request announces and never sends
SENT = b"{" + b" " * 1023  # the part of it that is sent
WAIT_S = 5.0  # far longer than a refusal takes; the body would never arrive at all


def _exchange(url: str, headers: list[tuple[str, str]]) -> tuple[int, Any, bytes]:
    """POST a head declaring a `DECLARED`-byte body, send `SENT` of it, read the whole answer
    (until the emulator closes the connection); (status, JSON body, raw answer)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    assert host is not None and port is not None
    lines = [
        "POST /chat/completions HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {DECLARED}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    with socket.create_connection((host, port), timeout=WAIT_S) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + SENT)
        answer = b""
        while piece := sock.recv(65536):  # a timeout here means the emulator awaits the body
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body), answer


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param([], id="no-key"),
        pytest.param([("api-key", "wrong")], id="wrong-key"),
        pytest.param([("Authorization", "Bearer wrong")], id="wrong-bearer"),
    ],
)
def test_an_unauthenticated_body_is_never_read(emu: Emulator, auth: list[tuple[str, str]]) -> None:
    status, body, _ = _exchange(emu.url, auth)
    assert status == 401 and body["statusCode"] == 401
    (recorded,) = emu.requests
    assert recorded.body == b""


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        pytest.param(
            [("x-emulator-fault", "status=503; retry-after=" + "1" * 300)],
            "at most 256",
            id="fault-too-long",
        ),
        pytest.param(
            [("x-emulator-fault", "status=503"), ("x-emulator-fault", "status=500")],
            "more than once",
            id="fault-twice",
        ),
        pytest.param(
            [("x-emulator-reply-tokens", "3"), ("X-Emulator-Reply-Tokens", "4")],
            "more than once",
            id="reply-tokens-twice",
        ),
        pytest.param([("x-emulator-anything", "1")], "unknown control header", id="unknown"),
    ],
)
def test_control_headers_past_their_bounds_are_a_400_before_the_body(
    emu: Emulator, headers: list[tuple[str, str]], problem: str
) -> None:
    status, body, _ = _exchange(emu.url, [("api-key", KEY), *headers])
    assert status == 400
    assert body["error"]["code"] == "EmulatorBadHeader" and problem in body["error"]["message"]
    assert [r.body for r in emu.requests] == [b""]


def test_a_reply_length_past_the_bound_is_a_400(emu: Emulator) -> None:
    """`x-emulator-reply-tokens` builds the answer in memory: a billion tokens is refused."""
    import httpx

    with httpx.Client(base_url=emu.url, timeout=10) as http:
        response = http.post(
            "/chat/completions",
            headers={"api-key": KEY, "x-emulator-reply-tokens": "1000000000"},
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 400
    assert "at most 100000" in response.json()["error"]["message"]
