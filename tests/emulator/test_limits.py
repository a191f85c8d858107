"""Rolling-minute rate limits answered with the APIM 429."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from azure_llama_emulator import Emulator
from tests._support.emulator import user


def _assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= 60
    assert response.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }


def test_rpm_limit(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(rpm_limit=2)
    http = make_client(emu)
    assert http.get("/info").status_code == 200  # /info is not counted
    assert [http.post("/chat/completions", json=user("hi")).status_code for _ in range(2)] == [
        200,
        200,
    ]
    _assert_429(http.post("/chat/completions", json=user("hi")))
    emu.clear()
    assert http.post("/chat/completions", json=user("hi")).status_code == 200


def test_tpm_limit_counts_prompt_and_max_tokens(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(tpm_limit=50))
    request = {**user("one two three four five"), "max_tokens": 20}  # costs 25
    assert http.post("/chat/completions", json=request).status_code == 200
    assert http.post("/chat/completions", json=request).status_code == 200
    _assert_429(http.post("/chat/completions", json=request))


def test_tpm_limit_counts_completion_tokens_without_max_tokens(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(tpm_limit=28))  # 2 + 25 spent by the first answer
    headers = {"x-emulator-reply-tokens": "25"}
    assert http.post("/chat/completions", json=user("a b"), headers=headers).status_code == 200
    _assert_429(http.post("/chat/completions", json=user("a b")))
