"""`_boundary`: every lower-layer exception has one translation, and its text is sanitised."""

from __future__ import annotations

import ssl

import aiohttp
import httpcore
import httpx
import pytest

import azure_llama_transport as t
from azure_llama_transport._boundary import describe, sanitize, translate

HOST = "my-llama.eastus2.models.ai.azure.com"
KEY = "lower-layer-key-81d0c2"


def chained(outer: BaseException, *causes: BaseException) -> BaseException:
    current = outer
    for cause in causes:
        current.__cause__ = cause
        current = cause
    return outer


def response_error() -> aiohttp.ClientResponseError:
    """What aiohttp raises for a malformed answer: its request_info holds the request headers."""
    info = aiohttp.RequestInfo(
        url=httpx.URL("http://127.0.0.1/chat"),  # type: ignore[arg-type]
        method="POST",
        headers={"api-key": KEY, "Authorization": f"Bearer {KEY}"},  # type: ignore[arg-type]
        real_url=httpx.URL("http://127.0.0.1/chat"),  # type: ignore[arg-type]
    )
    return aiohttp.ClientResponseError(
        info, (), status=400, message="Invalid header token:\n\n  b'broken header line'\n  ^"
    )


CASES = [
    pytest.param(httpx.ReadTimeout("slow"), t.APITimeoutError, id="httpx-read-timeout"),
    pytest.param(
        chained(httpx.ConnectTimeout("x"), aiohttp.ServerDisconnectedError()),
        t.APIConnectionError,
        id="aiohttp-disconnect-called-connect-timeout",
    ),
    pytest.param(
        chained(httpx.ConnectTimeout("x"), aiohttp.ServerTimeoutError("slow")),
        t.APITimeoutError,
        id="aiohttp-real-timeout",
    ),
    pytest.param(
        chained(httpx.ConnectError("x"), ConnectionRefusedError(111, "refused")),
        t.APIConnectionError,
        id="refused",
    ),
    pytest.param(response_error(), t.APIConnectionError, id="aiohttp-malformed-response"),
    pytest.param(aiohttp.ClientPayloadError("cut"), t.APIConnectionError, id="aiohttp-payload"),
    pytest.param(httpx.RemoteProtocolError("illegal header line"), t.APIConnectionError, id="h11"),
    pytest.param(httpcore.ReadError("reset"), t.APIConnectionError, id="httpcore-bare"),
    pytest.param(httpx.DecodingError("bad gzip"), t.ResponseDecodeError, id="decoding"),
    pytest.param(ssl.SSLError(1, "bad cert"), t.APIConnectionError, id="tls"),
    pytest.param(TimeoutError(), t.APITimeoutError, id="asyncio-timeout"),
    pytest.param(httpx.StreamClosed(), t.APIConnectionError, id="httpx-stream-closed"),
]


@pytest.mark.parametrize(("exc", "cls"), CASES)
def test_translation_table(exc: BaseException, cls: type[t.AzureLlamaError]) -> None:
    error = translate(exc, HOST)
    assert type(error) is cls
    assert HOST in str(error)
    assert KEY not in repr(error) + str(vars(error))
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(t.CredentialError("no token"), id="ours"),
        pytest.param(ValueError("a bug of ours"), id="value-error"),
        pytest.param(RuntimeError("loop closed"), id="runtime-error"),
    ],
)
def test_not_lower_layer_is_left_alone(exc: BaseException) -> None:
    assert translate(exc, HOST) is None


def test_describe_names_the_root_and_drops_quoted_bytes_and_urls() -> None:
    assert describe(response_error()) == "ClientResponseError: Invalid header token"
    wrapped = chained(httpx.ConnectTimeout("x"), aiohttp.ServerDisconnectedError())
    assert describe(wrapped) == "ServerDisconnectedError: Server disconnected"
    assert describe(httpx.RemoteProtocolError("illegal chunk header: bytearray(b'zz')")) == (
        "RemoteProtocolError: illegal chunk header"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        pytest.param("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m", id="ansi"),
        pytest.param("one\r\ntwo\nthree", "one two three", id="line-breaks"),
        pytest.param("a\u202eb", "a\\x202eb", id="bidi-override"),
        pytest.param("bell\x07", "bell\\x07", id="bell"),
        pytest.param("plain text: café", "plain text: café", id="plain"),
    ],
)
def test_sanitize(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
