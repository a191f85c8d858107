"""Hostile and broken endpoints: malformed HTTP through every entry point, with tracing attached.

A broken proxy or a hostile host sends what no Azure endpoint does: a header line without a
colon, a bad status line, an oversized header, a bad chunk size (before or after good chunks),
Content-Length together with Transfer-Encoding, a dropped connection, a short body. Each goes
through every front-end entry point, sync and async (aiohttp), whole and streamed, with a
LangChain run collector and LiteLLM failure callbacks attached; the test asserts the error is
the library's typed one and scans everything they recorded for the key.

Also here: redirects (never followed, even by a caller's client that follows them), SSE blocks
without data, escape sequences in error bodies, proxy variables, and pools left behind by
loops that closed without `shutdown_asyncgens` or by clients dropped inside a running loop.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import litellm
import pytest
from langchain_core.exceptions import ModelError
from langchain_core.tracers.run_collector import RunCollectorCallbackHandler

import azure_llama_transport as t
import langchain_azure_llama as lc
from langchain_azure_llama import AzureLlama, ChatAzureLlama
from tests._support.faults import KEY, LITELLM_MODEL, MODEL, Reply
from tests._support.raw_server import (
    Connection,
    RawServer,
    Script,
    chat_completion,
    chunked,
    http_response,
    reply,
    sse_event,
    sse_head,
    stream_events,
)

from .test_secrets import (
    LITELLM_CALLBACK_LISTS,
    LITELLM_OWN_COPY,
    LiteLLMSpy,
    _drain_litellm_logging,
    exception_texts,
    occurrences,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD = stream_events(["Hel", "lo"])
# The client has read the head and the good chunks before the bad part arrives (otherwise
# aiohttp sees it all in one read, and fails before the stream opens).
LATER = 0.3
Outcome = type[t.AzureLlamaError] | None  # None: the call succeeds with "hello"


@dataclass(frozen=True)
class Kind:
    """One malformed answer, and what each path makes of it."""

    script: Script
    whole: Outcome
    streamed: Outcome
    async_whole: Outcome | str = "same"  # where aiohttp is stricter than h11
    async_streamed: Outcome | str = "same"
    partial: str = ""  # what a stream delivered before it broke

    def expected(self, is_async: bool, streams: bool) -> Outcome:
        override = (self.async_streamed if streams else self.async_whole) if is_async else "same"
        if override != "same":
            return override  # type: ignore[return-value]
        return self.streamed if streams else self.whole


CONN, CUT = t.APIConnectionError, t.StreamInterruptedError
BIG = b"X-Big: " + b"a" * 9000 + b"\r\n"
COMPLETION = chat_completion("hello")

KINDS = {
    "broken-header": Kind(reply(b"HTTP/1.1 200 OK\r\nbroken header line\r\n\r\n"), CONN, CONN),
    "bad-status-line": Kind(reply(b"HTTP/1.1 OK200 nonsense\r\n\r\n"), CONN, CONN),
    # h11 (sync) takes a 9,000-byte header line; aiohttp stops at 8,190 bytes.
    "header-over-8190-bytes": Kind(
        reply(http_response(body=COMPLETION).replace(b"\r\n\r\n", b"\r\n" + BIG + b"\r\n", 1)),
        None,
        t.ResponseDecodeError,  # an answer, but not an event stream
        async_whole=CONN,
        async_streamed=CONN,
    ),
    "bad-chunk-size": Kind(reply(sse_head(), b"zz\r\nhello\r\n0\r\n\r\n", pause=LATER), CONN, CUT),
    "bad-chunk-mid-stream": Kind(
        reply(sse_head() + chunked(*GOOD[:2]), b"zz\r\n", pause=LATER), CONN, CUT, partial="Hello"
    ),
    # h11 (sync) lets Transfer-Encoding win, as RFC 9112 permits; aiohttp refuses the pair.
    "content-length-and-chunked": Kind(
        reply(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked(COMPLETION) + b"0\r\n\r\n"
        ),
        None,
        t.ResponseDecodeError,  # an answer, but not an event stream
        async_whole=CONN,
        async_streamed=CONN,
    ),
    "disconnect-before-answer": Kind(reply(), CONN, CONN),
    "short-body": Kind(
        reply(
            sse_head(chunked_encoding=False).replace(
                b"\r\n\r\n", b"\r\nContent-Length: 900\r\n\r\n"
            )
            + b"".join(GOOD[:2]),
            b"",
            pause=LATER,
        ),
        CONN,
        CUT,
        partial="Hello",
    ),
}


@dataclass(frozen=True)
class Entry:
    """One public entry point of a front end."""

    front: str
    call: str
    is_async: bool
    streams: bool = False


ENTRIES = {
    "chat-invoke": Entry("langchain", "invoke", False),
    "chat-ainvoke": Entry("langchain", "ainvoke", True),
    "chat-stream": Entry("langchain", "stream", False, True),
    "chat-astream": Entry("langchain", "astream", True, True),
    "chat-batch": Entry("langchain", "batch", False),
    "chat-abatch": Entry("langchain", "abatch", True),
    "text-invoke": Entry("langchain-text", "invoke", False),
    "text-ainvoke": Entry("langchain-text", "ainvoke", True),
    "litellm-completion": Entry("litellm", "invoke", False),
    "litellm-acompletion": Entry("litellm", "ainvoke", True),
    "litellm-stream": Entry("litellm", "stream", False, True),
    "litellm-astream": Entry("litellm", "astream", True, True),
}
LITELLM_TYPES: dict[type[t.AzureLlamaError], type[Exception]] = {
    t.APIConnectionError: litellm.APIConnectionError,
    t.StreamInterruptedError: litellm.APIConnectionError,
    t.ResponseDecodeError: litellm.InternalServerError,
}


@dataclass
class Recorded:
    """What the tracer and the failure callbacks saw."""

    collector: RunCollectorCallbackHandler = field(default_factory=RunCollectorCallbackHandler)
    spy: LiteLLMSpy = field(default_factory=LiteLLMSpy)
    plain: list[dict[str, Any]] = field(default_factory=list)

    def failure_callback(self, kwargs: dict[str, Any], response: Any, start: Any, end: Any) -> None:
        self.plain.append({**kwargs, "response_obj": response})


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    rec = Recorded()
    for name in LITELLM_CALLBACK_LISTS:
        monkeypatch.setattr(litellm, name, [rec.spy])
    monkeypatch.setattr(litellm, "failure_callback", [rec.spy, rec.failure_callback])
    return rec


async def run_entry(entry: Entry, url: str, rec: Recorded) -> Reply:
    result = Reply()
    try:
        if entry.front == "litellm":
            await _litellm(entry, url, result)
        else:
            await _langchain(entry, url, rec, result)
    except Exception as exc:
        result.caught = exc
    return result


async def _langchain(entry: Entry, url: str, rec: Recorded, out: Reply) -> None:
    cls: Any = ChatAzureLlama if entry.front == "langchain" else AzureLlama
    model = cls(endpoint=url, api_key=KEY, model=MODEL, max_retries=0, timeout=5)
    config: Any = {"callbacks": [rec.collector]}
    try:
        if entry.call == "stream":
            for chunk in model.stream("hi", config=config):
                out.pieces.append(chunk.text)
        elif entry.call == "astream":
            async for chunk in model.astream("hi", config=config):
                out.pieces.append(chunk.text)
        elif entry.call in ("batch", "abatch"):
            batch = model.batch if entry.call == "batch" else model.abatch
            answers = batch(["hi"], config=config)
            answers = await answers if entry.call == "abatch" else answers
            out.pieces.append(_text(answers[0]))
        elif entry.is_async:
            out.pieces.append(_text(await model.ainvoke("hi", config=config)))
        else:
            out.pieces.append(_text(model.invoke("hi", config=config)))
    finally:
        model.close()
        await model.aclose()


def _text(answer: Any) -> str:
    return answer if isinstance(answer, str) else str(answer.text)


async def _litellm(entry: Entry, url: str, out: Reply) -> None:
    call: dict[str, Any] = {
        "model": LITELLM_MODEL,
        "api_base": url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hi"}],
        "max_retries": 0,
        "timeout": 5,
    }
    if entry.call == "stream":
        for chunk in litellm.completion(stream=True, **call):
            out.pieces.append(chunk.choices[0].delta.content or "")
    elif entry.call == "astream":
        async for chunk in await litellm.acompletion(stream=True, **call):
            out.pieces.append(chunk.choices[0].delta.content or "")
    elif entry.is_async:
        out.pieces.append((await litellm.acompletion(**call)).choices[0].message.content)
    else:
        out.pieces.append(litellm.completion(**call).choices[0].message.content)


def leaks(result: Reply, rec: Recorded) -> dict[str, list[str]]:
    """Every place the key shows, in the error, the traced runs and the callbacks' kwargs."""
    found: dict[str, list[str]] = {}
    if result.caught is not None:
        for where, text in exception_texts(result.caught):
            if hits := occurrences(text, KEY):
                found[f"exception {where}"] = hits
    for n, run in enumerate(rec.collector.traced_runs):
        shown = {"error": run.error, "repr": repr(run), "dump": run.model_dump()}
        if hits := occurrences(shown, KEY):
            found[f"traced run {n}"] = hits
    for n, payload in enumerate([*rec.spy.payloads, *rec.plain]):
        # LiteLLM's own copy of the `api_key=` argument (see test_secrets) is not ours.
        hits = [h for h in occurrences(payload, KEY) if h != LITELLM_OWN_COPY]
        hits += occurrences(repr(payload.get("exception")), KEY)
        hits += occurrences(payload.get("traceback_exception"), KEY)
        if hits:
            found[f"litellm callback {n}"] = hits
    return found


def assert_typed(error: BaseException, expected: type[t.AzureLlamaError], entry: Entry) -> None:
    if entry.front == "litellm":
        assert isinstance(error, LITELLM_TYPES[expected]), repr(error)
        cause = error.__cause__
        assert isinstance(cause, expected), repr(cause)
    else:
        assert isinstance(error, expected), repr(error)
        assert isinstance(error, ModelError), repr(error)  # LangChain's own type, too
    # Never a timeout: nothing here is slow (an aiohttp disconnect used to say ConnectTimeout).
    if expected is not t.APITimeoutError:
        assert not isinstance(error, (t.APITimeoutError, litellm.Timeout)), repr(error)


@pytest.mark.parametrize("entry_name", list(ENTRIES))
@pytest.mark.parametrize("kind_name", list(KINDS))
async def test_malformed_answers_are_typed_and_never_show_the_key(
    kind_name: str, entry_name: str, recorded: Recorded
) -> None:
    kind, entry = KINDS[kind_name], ENTRIES[entry_name]
    expected = kind.expected(entry.is_async, entry.streams)
    with RawServer(kind.script) as server:
        result = await run_entry(entry, server.url, recorded)
    if entry.front == "litellm":
        await _drain_litellm_logging()
    if expected is None:
        assert result.caught is None, repr(result.caught)
        assert result.text == "hello"
    else:
        assert result.error is not None, f"{kind_name} via {entry_name} did not fail"
        assert_typed(result.error, expected, entry)
    if expected is not None and entry.front.startswith("langchain"):
        assert "\n" not in str(result.error)
    if expected is CUT:
        assert result.text == kind.partial  # the caller got the pieces, and the error says so
        assert getattr(result.error, "partial_text", None) == kind.partial
    if entry.front.startswith("langchain") and expected is not None:
        assert any(run.error for run in recorded.collector.traced_runs)
    if entry.front == "litellm" and expected is not None and not entry.streams:
        assert any("exception" in p for p in recorded.spy.payloads)
        assert recorded.plain, "the plain failure callback did not run"
    assert leaks(result, recorded) == {}


# -- the transport, directly: what is raised, and what it keeps ---------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_lower_layer_errors_are_unchained(mode: str) -> None:
    """Raised outside the except block: no `__cause__`, no `__context__`, nothing that holds the
    request (aiohttp's `request_info.headers`, httpx's `Request`)."""
    with (
        RawServer(KINDS["broken-header"].script) as server,
        pytest.raises(t.APIConnectionError) as info,
    ):
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY, max_retries=0) as client:
                client.chat([{"role": "user", "content": "hi"}])
        else:
            async with t.AsyncAzureLlamaClient(server.url, api_key=KEY, max_retries=0) as aclient:
                await aclient.chat([{"role": "user", "content": "hi"}])
    error = info.value
    assert error.__cause__ is None and error.__context__ is None
    assert "not valid HTTP" in str(error) and "127.0.0.1" in str(error)
    assert KEY not in "".join(traceback.format_exception(error)) + repr(vars(error))


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_disconnect_is_a_connection_error_not_a_timeout(mode: str) -> None:
    with RawServer(reply()) as server:
        with pytest.raises(t.APIConnectionError) as info:
            if mode == "sync":
                with t.AzureLlamaClient(server.url, api_key=KEY, max_retries=1) as client:
                    client.retry.sleep = lambda seconds: None  # type: ignore[method-assign]
                    client.chat([{"role": "user", "content": "hi"}])
            else:
                async with t.AsyncAzureLlamaClient(
                    server.url, api_key=KEY, max_retries=1
                ) as aclient:
                    aclient.retry.asleep = _no_wait  # type: ignore[method-assign]
                    await aclient.chat([{"role": "user", "content": "hi"}])
        assert server.hits == 2  # a connection error is retried
    assert not isinstance(info.value, t.APITimeoutError)


async def _no_wait(seconds: float) -> None:
    return None


# -- redirects ----------------------------------------------------------------------------------


def _redirect_to(target: str, status: str = "307 Temporary Redirect") -> Script:
    return reply(http_response(status, b"", headers={"Location": target + "/chat/completions"}))


REDIRECTS = [
    "301 Moved Permanently",
    "302 Found",
    "307 Temporary Redirect",
    "308 Permanent Redirect",
]


@pytest.mark.parametrize("status", REDIRECTS)
def test_a_redirect_is_never_followed_even_by_a_following_client(status: str) -> None:
    """The caller's client follows redirects; ours never lets it: the other host (another
    loopback port) receives nothing, and the caller gets a typed error naming it."""
    with RawServer(reply(http_response(body=COMPLETION))) as other:
        with RawServer(_redirect_to(f"http://localhost:{other.port}", status)) as server:
            with httpx.Client(follow_redirects=True) as caller:
                model = ChatAzureLlama(
                    endpoint=server.url, api_key=KEY, model=MODEL, http_client=caller
                )
                with pytest.raises(lc.RedirectError) as info:
                    model.invoke("hi")
            assert server.hits == 1  # not retried either
        assert other.requests == []
    _check_redirect(info.value, status)


@pytest.mark.parametrize("status", REDIRECTS)
async def test_async_a_redirect_is_never_followed_even_by_a_following_client(status: str) -> None:
    with RawServer(reply(http_response(body=COMPLETION))) as other:
        with RawServer(_redirect_to(f"http://localhost:{other.port}", status)) as server:
            model = ChatAzureLlama(
                endpoint=server.url,
                api_key=KEY,
                model=MODEL,
                http_async_client_factory=lambda: httpx.AsyncClient(follow_redirects=True),
            )
            with pytest.raises(lc.RedirectError) as info:
                await model.ainvoke("hi")
            await model.aclose()
            assert server.hits == 1
        assert other.requests == []
    _check_redirect(info.value, status)


def _check_redirect(error: lc.RedirectError, status: str) -> None:
    assert isinstance(error, t.APIStatusError) and error.status_code == int(status[:3])
    assert error.location_host == "localhost"
    assert "localhost" in str(error) and "not followed" in str(error)
    assert error.__cause__ is None or isinstance(error.__cause__, t.RedirectError)


@pytest.mark.parametrize("mode", ["completion", "acompletion"])
async def test_litellm_a_redirect_is_an_error_not_an_empty_answer(mode: str) -> None:
    with RawServer(_redirect_to("https://elsewhere.example")) as server:
        call: dict[str, Any] = {
            "model": LITELLM_MODEL,
            "api_base": server.url,
            "api_key": KEY,
            "messages": [{"role": "user", "content": "hi"}],
            "max_retries": 0,
        }
        with pytest.raises(litellm.APIError) as info:
            if mode == "completion":
                litellm.completion(**call)
            else:
                await litellm.acompletion(**call)
    assert info.value.status_code == 307
    assert "elsewhere.example" in str(info.value)


# -- small items --------------------------------------------------------------------------------


def _stream_with_blocks_without_data() -> Script:
    blocks = [
        sse_event(id="1"),
        sse_event(retry="1000"),
        sse_event(event="ping"),
        b": keep-alive comment\n\n",
        GOOD[0],
        sse_event(id="2"),
        *GOOD[1:],
    ]
    return reply(sse_head(chunked_encoding=False) + b"".join(blocks))


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_sse_blocks_without_data_are_skipped(mode: str) -> None:
    """`id:`, `retry:` or `event:` alone is legal SSE and never dispatched (WHATWG 9.2.6)."""
    with RawServer(_stream_with_blocks_without_data()) as server:
        messages = [{"role": "user", "content": "hi"}]
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY) as client:
                stream = client.chat_stream(messages)
                chunks = list(stream)
        else:
            async with t.AsyncAzureLlamaClient(server.url, api_key=KEY) as aclient:
                stream = await aclient.chat_stream(messages)  # type: ignore[assignment]
                chunks = [chunk async for chunk in stream]  # type: ignore[attr-defined]
    assert len(chunks) == 2
    assert stream.completed and stream.text == "Hello"


HOSTILE_BODY = {
    "error": {
        "code": "Bad",
        "message": "\x1b[2J\x1b[31mred alert\x1b[0m\nINFO fake log line\r\n\u202edesrever\x07",
    }
}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_escape_sequences_in_an_error_body_are_not_reflected(mode: str) -> None:
    body = json.dumps(HOSTILE_BODY).encode()
    with RawServer(
        reply(http_response("400 Bad Request", body, headers={"x-ms-error-reason": "a\x1b[1mb"}))
    ) as server:
        model = ChatAzureLlama(endpoint=server.url, api_key=KEY, model=MODEL, max_retries=0)
        with pytest.raises(lc.BadRequestError) as info:
            if mode == "sync":
                model.invoke("hi")
            else:
                await model.ainvoke("hi")
        await model.aclose()
    text = str(info.value)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), repr(text)
    assert "\u202e" not in text
    assert "red alert" in text and "INFO fake log line" in text and "\\x1b" in text
    assert info.value.body == HOSTILE_BODY  # the raw body is kept, as sent


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return lambda url: monkeypatch.setenv("HTTP_PROXY", url)


CLIENT_PATHS = [
    pytest.param("sync", id="sync"),
    pytest.param("aiohttp", id="async-aiohttp"),
    pytest.param("httpx", id="async-httpx"),
]


async def _chat_once(path: str, endpoint: str, **kwargs: Any) -> Any:
    messages = [{"role": "user", "content": "hi"}]
    if path == "sync":
        with t.AzureLlamaClient(endpoint, api_key=KEY, max_retries=0, **kwargs) as client:
            return client.chat(messages)
    backend: Any = path
    async with t.AsyncAzureLlamaClient(
        endpoint, api_key=KEY, max_retries=0, backend=backend, **kwargs
    ) as aclient:
        return await aclient.chat(messages)


@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_https_proxy_variables_are_honoured(
    path: str, monkeypatch: pytest.MonkeyPatch, proxy_env: Callable[[str], None]
) -> None:
    """HTTPS_PROXY points at a loopback "proxy" that records what it is asked and refuses the
    tunnel: an https endpoint is reached through it (CONNECT; the key would travel inside TLS)."""
    with RawServer(reply(http_response("403 Forbidden", b"no"))) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(t.AzureLlamaError):
            await _chat_once(path, "https://h.eastus2.models.ai.azure.com")
    assert proxy.requests, "the proxy was not asked"
    assert proxy.requests[0].startswith(b"CONNECT h.eastus2.models.ai.azure.com:443 ")
    assert KEY.encode() not in b"".join(proxy.requests)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
@pytest.mark.parametrize("path", CLIENT_PATHS)
async def test_plain_http_loopback_never_goes_through_a_proxy(
    path: str, variable: str, monkeypatch: pytest.MonkeyPatch, proxy_env: Callable[[str], None]
) -> None:
    """Plain http is accepted only to loopback, and a proxy would see the key in clear: with
    HTTP_PROXY (or ALL_PROXY) set to a listener that records every contact, the request goes
    straight to the endpoint and the proxy is never contacted."""
    answer = reply(http_response(body=COMPLETION))
    with RawServer(answer) as proxy, RawServer(answer) as endpoint:
        monkeypatch.setenv(variable, proxy.url)
        result = await _chat_once(path, endpoint.url)
    assert result["choices"][0]["message"]["content"] == "hello"
    assert proxy.requests == []
    assert len(endpoint.requests) == 1 and KEY.encode() in endpoint.requests[0]


def _head(request: bytes) -> dict[str, str]:
    lines = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (ln.partition(":") for ln in lines)}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_both_paths_send_the_same_request_and_no_cookies(
    mode: str, proxy_env: Callable[[str], None]
) -> None:
    """The sync client sends straight to httpx's transport and the async one through aiohttp,
    neither through `httpx.Client.send`: the request head must still be complete (auth both
    ways, JSON, the encodings the bounded reader inflates), and a cookie the endpoint sets is
    not sent back on the next call (no cookie jar: see tests/faults/test_isolation.py)."""
    cookie = http_response(body=COMPLETION, headers={"Set-Cookie": "affinity=abc123; Path=/"})
    plain = http_response(body=COMPLETION)
    messages = [{"role": "user", "content": "hi"}]
    with RawServer([reply(cookie), reply(plain)]) as server:
        host = f"127.0.0.1:{server.port}"
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY, max_retries=0) as client:
                client.chat(messages)
                client.chat(messages)
        else:
            async with t.AsyncAzureLlamaClient(server.url, api_key=KEY, max_retries=0) as aclient:
                await aclient.chat(messages)
                await aclient.chat(messages)
    first, second = (_head(request) for request in server.requests)
    assert server.requests[0].startswith(b"POST /chat/completions?api-version=")
    assert first["authorization"] == f"Bearer {KEY}" and first["api-key"] == KEY
    assert first["content-type"] == "application/json"
    assert first["accept"] == "application/json"
    assert first["accept-encoding"] == "gzip, deflate"
    # The library that sent it is named: no aiohttp request claims to come from httpx.
    library = "httpx" if mode == "sync" else "aiohttp"
    assert re.fullmatch(rf"langchain-azure-llama/\S+ {library}/\S+", first["user-agent"])
    assert first["host"] == host
    assert int(first["content-length"]) > 0
    assert "cookie" not in first and "cookie" not in second


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_user_agent_the_caller_sets_is_sent_as_is(mode: str) -> None:
    ua = {"User-Agent": "my-app/2.0"}
    messages = [{"role": "user", "content": "hi"}]
    with RawServer([reply(http_response(body=COMPLETION))]) as server:
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY, default_headers=ua) as client:
                client.chat(messages)
        else:
            async with t.AsyncAzureLlamaClient(server.url, api_key=KEY, default_headers=ua) as ac:
                await ac.chat(messages)
    assert _head(server.requests[0])["user-agent"] == "my-app/2.0"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_each_answer_is_logged_at_debug_without_the_key(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The own pools skip httpx's send, and so its "HTTP Request: ..." log line: ours says the
    same at DEBUG, once per attempt, the key never in it."""
    caplog.set_level(logging.DEBUG, logger="azure_llama_transport")
    busy = http_response("503 Service Unavailable", b"{}", headers={"Retry-After": "0"})
    messages = [{"role": "user", "content": "hi"}]
    with RawServer([reply(busy), reply(http_response(body=COMPLETION))]) as server:
        url = f"{server.url}/chat/completions"
        if mode == "sync":
            with t.AzureLlamaClient(server.url, api_key=KEY, max_retries=1) as client:
                client.chat(messages)
        else:
            async with t.AsyncAzureLlamaClient(server.url, api_key=KEY, max_retries=1) as ac:
                await ac.chat(messages)
    sent = [r.getMessage() for r in caplog.records if r.getMessage().startswith("HTTP ")]
    assert sent == [f"HTTP POST {url}: 503", f"HTTP POST {url}: 200"]
    assert KEY not in caplog.text


DONE_THEN = {
    # The body never ends: the stream must not wait for it (the call's timeout is 30 s).
    "held-open": reply(sse_head() + chunked(*stream_events(["a", "b"])), b"", pause=20),
    # Bytes after [DONE] are not part of the answer, whatever they are. (Sent a moment later:
    # in the same segment as the head, aiohttp refuses the whole response before any event.)
    "junk-after": reply(sse_head() + chunked(*stream_events(["a", "b"])), b"zz\r\n", pause=0.05),
    "events-after": reply(sse_head() + chunked(*stream_events(["a", "b"]), *stream_events(["c"]))),
}


@pytest.mark.parametrize("tail", DONE_THEN)
@pytest.mark.parametrize("mode", ["sync", "sync-own-client", "async", "async-httpx"])
async def test_what_follows_done_never_changes_or_delays_the_answer(mode: str, tail: str) -> None:
    """After `[DONE]` the stream reads on for a moment (to keep the connection): a body held
    open, junk or more events there neither hold the caller nor change the answer."""
    messages = [{"role": "user", "content": "hi"}]
    with RawServer(DONE_THEN[tail]) as server:
        start = time.monotonic()
        if mode.startswith("sync"):
            own = httpx.Client() if mode == "sync-own-client" else None
            client = t.AzureLlamaClient(server.url, api_key=KEY, http_client=own, timeout=30)
            with client, client.chat_stream(messages) as stream:
                pieces = [chunk["choices"][0]["delta"]["content"] for chunk in stream]
            if own is not None:
                own.close()
        else:
            backend = "httpx" if mode == "async-httpx" else "aiohttp"
            async with t.AsyncAzureLlamaClient(
                server.url, api_key=KEY, backend=backend, timeout=30
            ) as ac:
                stream = await ac.chat_stream(messages)
                pieces = [chunk["choices"][0]["delta"]["content"] async for chunk in stream]
        elapsed = time.monotonic() - start
    assert pieces == ["a", "b"] and stream.completed
    assert elapsed < 10, f"the stream waited {elapsed:.1f}s after [DONE]"


LEFT_BEHIND = """
import asyncio, gc, sys, warnings
warnings.simplefilter("error", ResourceWarning)
from tests._support.raw_server import RawServer, chat_completion
import azure_llama_transport as t

body = chat_completion("hi")
head = b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n"

def keep_alive(request, conn):
    conn.write(head % len(body) + body)
    conn.pause(5)

messages = [{"role": "user", "content": "x"}]
with RawServer(keep_alive) as server:
    # 1. a loop closed without shutdown_asyncgens, the client dropped afterwards
    client = t.AsyncAzureLlamaClient(server.url, api_key="k")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.chat(messages))
    loop.close()
    del client, loop
    gc.collect()
    # 2. the same, but the client is used again on a new loop
    client = t.AsyncAzureLlamaClient(server.url, api_key="k")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.chat(messages))
    loop.close()
    asyncio.run(client.chat(messages))
    gc.collect()
    # 3. a client dropped inside a running loop
    async def drop():
        client = t.AsyncAzureLlamaClient(server.url, api_key="k")
        await client.chat(messages)
        del client
        gc.collect()
        await asyncio.sleep(0.2)
    asyncio.run(drop())
    gc.collect()
print("ok")
"""


def test_pools_left_behind_close_without_warnings() -> None:
    """Run apart (a fresh interpreter, dev mode, ResourceWarning as error): any unclosed aiohttp
    session, connector or transport shows on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", textwrap.dedent(LEFT_BEHIND)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert out.stdout.strip() == "ok", out.stderr
    assert "Unclosed" not in out.stderr and "unclosed" not in out.stderr, out.stderr
    assert "ResourceWarning" not in out.stderr, out.stderr


def test_hostile_server_is_bounded_and_stops_a_stalled_script() -> None:
    """The fixture's own promises: connections beyond the bound are closed unanswered, and a
    script that would stall for a minute is woken when the server stops."""

    def stall(request: bytes, conn: Connection) -> None:
        conn.pause(60)

    with RawServer(stall, max_connections=1) as server:
        first = _send_raw(server.port)
        try:
            for _ in range(500):  # hang guard: until the first request holds the only slot
                if server.hits:
                    break
                threading.Event().wait(0.01)
            with _send_raw(server.port) as second:
                assert _closed_unanswered(second)  # over the bound
        except BaseException:
            first.close()
            raise
    with first:
        first.settimeout(5)
        assert _closed_unanswered(first)  # the stalled script was woken and its connection closed


def _closed_unanswered(sock: socket.socket) -> bool:
    """Closed without a byte of answer: an orderly FIN, or a reset (a close with the request
    still unread in the server's buffer sends RST, depending on timing)."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def _send_raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock
