"""Retries: which failures, how many, and how long (measured on a fake clock, never wall time)."""

from __future__ import annotations

import email.utils
from functools import partial
from typing import Any

import httpx
import pytest

from azure_llama_transport import (
    APIConnectionError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
    RetryPolicy,
    StreamInterruptedError,
    retry_after_seconds,
)
from tests._support.transport import FakeClock, make_async, make_sync, sse, sse_response

USER = [{"role": "user", "content": "Hi"}]
NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "text", "expected"),
    [
        pytest.param({"retry-after-ms": "1500"}, None, 1.5, id="retry-after-ms"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, None, 0.25, id="ms-wins"),
        pytest.param({"retry-after": "7"}, None, 7.0, id="seconds"),
        pytest.param({"retry-after": "2.5"}, None, 2.5, id="fractional-seconds"),
        pytest.param(
            {"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)},
            None,
            30.0,
            id="http-date",
        ),
        pytest.param(
            {"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)},
            None,
            0.0,
            id="http-date-past",
        ),
        pytest.param({}, "Rate limit is exceeded. Try again in 12 seconds.", 12.0, id="apim-text"),
        pytest.param({"retry-after": "soon"}, "Try again in 1 second", 1.0, id="bad-header-text"),
        pytest.param({}, "no hint", None, id="none"),
        pytest.param({"retry-after-ms": "x"}, None, None, id="bad-ms"),
    ],
)
def test_retry_after_forms(
    headers: dict[str, str], text: str | None, expected: float | None
) -> None:
    assert retry_after_seconds(headers, text, now=NOW) == expected


def test_backoff_grows_caps_and_jitters_down() -> None:
    policy = RetryPolicy(rng=lambda: 1.0)
    assert [policy.wait_for(i, None) for i in range(6)] == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]
    assert RetryPolicy(rng=lambda: 0.0).wait_for(0, None) == 0.5
    assert policy.wait_for(0, 4.0) == 4.0  # the server's word wins
    assert policy.wait_for(1, 600.0) == 0.75  # but not an absurd one


def sequence(*responses: Any) -> tuple[list[int], Any]:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item() if callable(item) else item  # factories: a Response is read only once

    return calls, handler


OK = partial(httpx.Response, 200, json={"choices": [{"index": 0, "message": {"content": "ok"}}]})
R429 = partial(
    httpx.Response,
    429,
    json={"statusCode": 429, "message": "Rate limit is exceeded."},
    headers={"retry-after": "2"},
)
R429MS = partial(
    httpx.Response, 429, json={"statusCode": 429, "message": "x"}, headers={"retry-after-ms": "300"}
)
R503 = partial(httpx.Response, 503, text="busy")
R408 = partial(httpx.Response, 408, text="timeout")
R400 = partial(httpx.Response, 400, json={"error": {"message": "bad"}})

CASES = [
    pytest.param([R429, OK], 2, [2.0], None, id="429-retry-after-then-ok"),
    pytest.param([R429MS, R429MS, OK], 2, [0.3, 0.3], None, id="429-ms-twice-then-ok"),
    pytest.param([R429], 2, [2.0, 2.0], RateLimitError, id="429-storm-exhausts"),
    pytest.param([R503, OK], 2, [0.5], None, id="503-backoff-then-ok"),
    pytest.param([R503], 2, [0.5, 1.0], InternalServerError, id="503-exhausts"),
    pytest.param([R408, OK], 2, [0.5], None, id="408-retried"),
    pytest.param([httpx.ConnectError("refused"), OK], 2, [0.5], None, id="connect-retried"),
    pytest.param(
        [httpx.ConnectError("refused")], 1, [0.5], APIConnectionError, id="connect-exhausts"
    ),
    pytest.param([R400], 2, [], BadRequestError, id="400-not-retried"),
    pytest.param([R503], 0, [], InternalServerError, id="max-retries-0"),
]


@pytest.mark.parametrize(("responses", "max_retries", "waits", "error"), CASES)
@pytest.mark.parametrize(
    "kind", [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
)
async def test_retry_table(
    kind: str,
    responses: list[Any],
    max_retries: int,
    waits: list[float],
    error: type[Exception] | None,
    clock: FakeClock,
) -> None:
    calls, handler = sequence(*responses)
    make = make_sync if kind == "sync" else make_async
    client = make(handler, clock, max_retries=max_retries)

    async def run() -> Any:
        result = client.chat(USER)
        return await result if kind == "async" else result

    if error is None:
        assert (await run())["choices"][0]["message"]["content"] == "ok"
    else:
        with pytest.raises(error):
            await run()
    assert clock.waits == waits
    assert len(calls) == len(waits) + 1


async def test_stream_retried_before_headers_only(clock: FakeClock) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    calls, handler = sequence(R503, sse_response(sse(chunk, done=False)))
    client = make_sync(handler, clock)
    stream = client.chat_stream(USER)
    with pytest.raises(StreamInterruptedError) as info:
        list(stream)
    assert info.value.partial_text == "Hel"
    assert len(calls) == 2  # one retry for the 503, none for the cut stream
    assert clock.waits == [0.5]
