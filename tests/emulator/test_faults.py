"""Every fault kind, injected through `Emulator.inject` and through `x-emulator-fault`."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from azure_llama_emulator import Emulator, Fault
from tests._support.emulator import user

STREAM = {**user("one two three four five six"), "stream": True}
CHUNKS = 11  # the role chunk, then "Emulated reply from <model>: one ... six" (10 tokens)
Inject = Callable[[Fault, str], dict[str, str]]


@pytest.fixture(params=[pytest.param("inject", id="inject"), pytest.param("header", id="header")])
def arm(request: pytest.FixtureRequest, emu: Emulator) -> Inject:
    """Arm a fault for the next request either way; returns the headers to send."""

    def arm(fault: Fault, header: str) -> dict[str, str]:
        if request.param == "inject":
            emu.inject(fault)
            return {}
        return {"x-emulator-fault": header}

    return arm


def read(client: httpx.Client, headers: dict[str, str]) -> tuple[list[str], Exception | None]:
    """The `data:` lines of a stream, and the error that ended it, if any."""
    lines: list[str] = []
    try:
        with client.stream("POST", "/chat/completions", json=STREAM, headers=headers) as response:
            assert response.status_code == 200
            lines.extend(line for line in response.iter_lines() if line)
    except httpx.TransportError as exc:
        return lines, exc
    return lines, None


def test_cut_after_drops_the_connection(client: httpx.Client, arm: Inject) -> None:
    lines, error = read(client, arm(Fault.cut_after(3), "cut-after=3"))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(lines) == 3 and "data: [DONE]" not in lines


def test_clean_cut_ends_the_body_without_done(client: httpx.Client, arm: Inject) -> None:
    lines, error = read(client, arm(Fault.cut_after(1, clean=True), "cut-after=1; clean=true"))
    assert error is None
    assert len(lines) == 1 and "content" in lines[0] and "data: [DONE]" not in lines


def test_cut_past_the_end_still_drops_done(client: httpx.Client, arm: Inject) -> None:
    lines, error = read(client, arm(Fault.cut_after(100), "cut-after=100"))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(lines) == CHUNKS and lines[-1] != "data: [DONE]"


def test_malformed_event(client: httpx.Client, arm: Inject) -> None:
    lines, error = read(client, arm(Fault.malformed_after(2), "malformed-after=2"))
    assert error is None
    assert lines[2] == "data: {not json"
    assert len(lines) == CHUNKS + 2 and lines[-1] == "data: [DONE]"


def test_error_event_ends_the_stream(client: httpx.Client, arm: Inject) -> None:
    lines, error = read(client, arm(Fault.error_event_after(2), "error-event-after=2"))
    assert error is None
    assert len(lines) == 3
    assert lines[-1].startswith('data: {"error":{"code":"InternalServerError","message":')
    assert lines[-1].endswith('"status":500}}')


def _impatient(emu: Emulator) -> httpx.Client:
    # Short read timeout against a long server-side wait: the timeout is certain, not a race.
    timeout = httpx.Timeout(10.0, read=0.5)
    headers = {"api-key": "emulator-key"}
    return httpx.Client(base_url=emu.url, headers=headers, timeout=timeout, verify=False)


def test_stall_after_trips_a_read_timeout(emu: Emulator, arm: Inject) -> None:
    headers = arm(Fault.stall_after(2, 30.0), "stall-after=2; seconds=30")
    with _impatient(emu) as http:
        lines, error = read(http, headers)
    assert isinstance(error, httpx.ReadTimeout)
    assert len(lines) == 2


def test_stall_then_resume(client: httpx.Client) -> None:
    lines, error = read(client, {"x-emulator-fault": "stall-after=1; seconds=0.05"})
    assert error is None and len(lines) == CHUNKS + 1


@pytest.mark.parametrize(
    ("via", "stream"),
    [
        pytest.param("inject", False, id="inject-plain"),
        pytest.param("header", True, id="header-stream"),
    ],
)
def test_slow_first_byte_trips_a_timeout(
    emu: Emulator, client: httpx.Client, via: str, stream: bool
) -> None:
    headers = {"x-emulator-fault": "slow-first-byte=30"}
    if via == "inject":
        emu.inject(Fault.slow_first_byte(30.0))
        headers = {}
    with _impatient(emu) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json={**user("hi"), "stream": stream}, headers=headers)
    # The fault was spent: the next request is answered at once.
    assert client.post("/chat/completions", json=user("hi")).status_code == 200


def test_status_fault_with_retry_headers(client: httpx.Client, arm: Inject) -> None:
    headers = arm(
        Fault.status(503, retry_after=2, retry_after_ms=1500),
        "status=503; retry-after=2; retry-after-ms=1500",
    )
    response = client.post("/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"
    error = response.json()["error"]
    assert (error["code"], error["status"]) == ("ServiceUnavailable", 503)


def test_status_429_with_retry_after_matches_the_message(client: httpx.Client, arm: Inject) -> None:
    headers = arm(Fault.status(429, retry_after=7), "status=429; retry-after=7")
    response = client.post("/chat/completions", json=user("hi"), headers=headers)
    assert response.headers["retry-after"] == "7"
    assert response.json()["message"] == "Rate limit is exceeded. Try again in 7 seconds."


def test_status_429_uses_the_apim_body(client: httpx.Client, arm: Inject) -> None:
    headers = arm(Fault.status(429), "status=429")
    response = client.post("/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 429
    assert response.json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 1 seconds.",
    }
    assert "retry-after" not in response.headers  # only when asked for


def test_status_fault_with_custom_body(client: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault.status(502, body="upstream connect error"))
    emu.inject(Fault.status(500, body={"oops": True}, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"))
    first = client.post("/chat/completions", json=user("hi"))
    assert (first.status_code, first.text) == (502, "upstream connect error")
    second = client.post("/chat/completions", json=user("hi"))
    assert (second.status_code, second.json()) == (500, {"oops": True})
    assert second.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_times_then_success(client: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault.status(503), times=2)
    statuses = [client.post("/chat/completions", json=user("hi")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_info_does_not_consume_faults(client: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault.status(503))
    assert client.get("/info").status_code == 200
    assert client.post("/chat/completions", json=user("hi")).status_code == 503


def test_stream_fault_waits_for_a_stream(client: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault.error_event_after(1))
    assert client.post("/chat/completions", json=user("hi")).status_code == 200
    text = client.post("/chat/completions", json={**user("hi"), "stream": True}).text
    assert '"error"' in text and "[DONE]" not in text


def test_clear_forgets_faults(client: httpx.Client, emu: Emulator) -> None:
    emu.inject(Fault.status(503), times=5)
    emu.clear()
    assert client.post("/chat/completions", json=user("hi")).status_code == 200


def test_bad_fault_header(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", json=user("hi"), headers={"x-emulator-fault": "boom=1"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "EmulatorBadHeader"


def test_faults_only_after_auth(emu: Emulator) -> None:
    emu.inject(Fault.status(503))
    with httpx.Client(base_url=emu.url, verify=False) as http:
        assert http.post("/chat/completions", json=user("hi")).status_code == 401
