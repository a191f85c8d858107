"""`timeout` is a deadline for the whole call: slowloris, silence, retries and retry-after.

Upper bounds on elapsed time are generous (behaviour, not speed): with `timeout=2` a call must
fail well before 5 s, where it took 49-67 s (slowloris) or 3 x 60 s (silence) before.
Waits between retries run on a fake clock where the test is about the arithmetic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import litellm
import pytest

import azure_llama_transport as t
import langchain_azure_llama as lc
from tests._support.faults import ALL_MODES, KEY, Case, Drivers
from tests._support.raw_server import MAX_SECONDS, Write, closed_port_url, head, serving, trickle

USER = [{"role": "user", "content": "hi"}]
KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
LIMIT = 5.0  # seconds; the deadline is 2


def slow_headers(write: Write) -> None:
    write(b"HTTP/1.1 200 OK\r\n")
    trickle(write, b"X-Slow: " + b"a" * 400)


def slow_body(write: Write) -> None:
    write(head(length=400, content_type="application/json"))
    trickle(write, b" " * 400)


def slow_stream(write: Write) -> None:
    write(head(content_type="text/event-stream"))
    trickle(write, b": " + b"." * 400)  # an SSE comment that never ends, no event


def silent(write: Write) -> None:
    time.sleep(MAX_SECONDS)


def client(kind: str, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("max_retries", 0)
    cls = t.AzureLlamaClient if kind == "sync" else t.AsyncAzureLlamaClient
    return cls(url, api_key=KEY, **kwargs)


async def chat(kind: str, url: str, **kwargs: Any) -> Any:
    c = client(kind, url, **kwargs)
    try:
        return c.chat(USER) if kind == "sync" else await c.chat(USER)
    finally:
        c.close() if kind == "sync" else await c.aclose()


async def read_stream(kind: str, url: str, **kwargs: Any) -> list[Any]:
    c = client(kind, url, **kwargs)
    try:
        if kind == "sync":
            return list(c.chat_stream(USER))
        return [chunk async for chunk in await c.chat_stream(USER)]
    finally:
        c.close() if kind == "sync" else await c.aclose()


@pytest.mark.parametrize(
    "script", [slow_headers, slow_body, silent], ids=["headers", "body", "silent"]
)
@pytest.mark.parametrize("kind", KINDS)
async def test_slowloris_fails_within_the_deadline(kind: str, script: Any) -> None:
    with serving(script) as server:
        start = time.monotonic()
        with pytest.raises(t.APITimeoutError) as info:
            await chat(kind, server.url, timeout=2)
        elapsed = time.monotonic() - start
    assert 1.5 < elapsed < LIMIT, elapsed
    assert "127.0.0.1" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_silent_endpoint_with_retries_fails_within_the_deadline(kind: str) -> None:
    with serving(silent) as server:
        start = time.monotonic()
        with pytest.raises(t.APITimeoutError, match="within its timeout of 2s"):
            await chat(kind, server.url, timeout=2, max_retries=2)
        elapsed = time.monotonic() - start
    assert elapsed < LIMIT, elapsed


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_headers_then_silence_hits_the_idle_timeout(kind: str) -> None:
    with serving(slow_stream) as server:
        start = time.monotonic()
        with pytest.raises(t.StreamInterruptedError):
            await read_stream(kind, server.url, timeout=2)
        elapsed = time.monotonic() - start
    assert elapsed < LIMIT, elapsed


def event(i: int) -> bytes:
    return f'data: {{"choices":[{{"index":0,"delta":{{"content":"t{i} "}}}}]}}\n\n'.encode()


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_longer_than_timeout_is_not_cut(kind: str) -> None:
    """A stream's deadline covers the wait for its headers; then each event may take up to
    `timeout`: an answer that streams for longer than `timeout` in total completes."""

    def steady(write: Write) -> None:
        write(head(content_type="text/event-stream"))
        for i in range(8):
            write(event(i))
            time.sleep(0.3)
        write(b"data: [DONE]\n\n")

    with serving(steady) as server:
        start = time.monotonic()
        chunks = await read_stream(kind, server.url, timeout=1)
        elapsed = time.monotonic() - start
    assert len(chunks) == 8 and elapsed > 1.0


@dataclass
class FakeTime:
    """The retry policy's clock and sleeps: `sleep` moves the clock, nothing waits."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def policy(self, max_retries: int) -> t.RetryPolicy:
        return t.RetryPolicy(
            max_retries=max_retries,
            sleep=self.sleep,
            asleep=self.asleep,
            clock=self.clock,
            rng=lambda: 0.0,
        )


def status(code: str, **headers: str) -> Any:
    body = b'{"error":{"code":"busy","message":"busy"}}'

    def script(write: Write) -> None:
        write(head(code, length=len(body), content_type="application/json", **headers))
        write(body)

    return script


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_after_beyond_the_deadline_raises_at_once(kind: str) -> None:
    fake = FakeTime()
    with serving(status("429 Too Many Requests", retry_after="30")) as server:
        with pytest.raises(t.RateLimitError) as info:
            await chat(kind, server.url, timeout=10, retry_policy=fake.policy(5))
        assert server.hits == 1
    assert fake.waits == []  # not slept through
    assert info.value.retry_after == 30.0
    assert "exceeds what is left of the call's timeout" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_waits_count_against_the_deadline(kind: str) -> None:
    fake = FakeTime()
    with serving(status("503 Service Unavailable", retry_after="4")) as server:
        with pytest.raises(t.InternalServerError):
            await chat(kind, server.url, timeout=10, retry_policy=fake.policy(5))
        # 4 s + 4 s fit in the 10 s deadline; a third wait would end past it.
        assert server.hits == 3
    assert fake.waits == [4.0, 4.0]


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_after_within_the_deadline_is_honoured(kind: str) -> None:
    fake = FakeTime()
    with serving(status("429 Too Many Requests", retry_after="3")) as server:
        with pytest.raises(t.RateLimitError):
            await chat(kind, server.url, timeout=60, retry_policy=fake.policy(2))
        assert server.hits == 3
    assert fake.waits == [3.0, 3.0]


async def warm_up(case: Case, drive: Drivers) -> None:
    """One refused call first: LiteLLM's first call loads lazily, which is not the deadline's."""
    reply = await drive(case, closed_port_url(), max_retries=0).call()
    assert reply.error is not None


@pytest.mark.parametrize("case", ALL_MODES)
async def test_silent_endpoint_through_front_ends_fails_within_the_deadline(
    case: Case, drive: Drivers
) -> None:
    await warm_up(case, drive)
    with serving(silent) as server:
        start = time.monotonic()
        reply = await drive(case, server.url, timeout=2, max_retries=2).call()
        elapsed = time.monotonic() - start
    error: Any = reply.error
    assert elapsed < LIMIT, elapsed
    if case[0] == "langchain":
        assert isinstance(error, lc.APITimeoutError)
    else:
        assert isinstance(error, litellm.Timeout), repr(error)


WHOLE_CALL_MODES = [
    pytest.param(("langchain", "invoke"), id="langchain-invoke"),
    pytest.param(("langchain", "ainvoke"), id="langchain-ainvoke"),
    pytest.param(("litellm", "invoke"), id="litellm-completion"),
    pytest.param(("litellm", "ainvoke"), id="litellm-acompletion"),
]


@pytest.mark.parametrize("script", [slow_headers, slow_body], ids=["headers", "body"])
@pytest.mark.parametrize("case", WHOLE_CALL_MODES)
async def test_slowloris_through_front_ends_fails_within_the_deadline(
    case: Case, script: Any, drive: Drivers
) -> None:
    await warm_up(case, drive)
    with serving(script) as server:
        start = time.monotonic()
        reply = await drive(case, server.url, timeout=2, max_retries=2).call()
        elapsed = time.monotonic() - start
    error: Any = reply.error
    assert elapsed < LIMIT, elapsed
    if case[0] == "langchain":
        assert isinstance(error, lc.APITimeoutError), repr(error)
    else:
        assert isinstance(error, litellm.Timeout), repr(error)
