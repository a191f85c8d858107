"""Configuration: environment defaults, endpoint checks, credential choice, secrets never shown."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from azure_llama_transport import (
    AsyncAzureLlamaClient,
    AzureLlamaClient,
    ClientConfig,
    RequestValidationError,
    Secret,
)
from tests._support.transport import KEY, make_sync


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_ENDPOINT", "https://h.eastus2.models.ai.azure.com/")
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", KEY)
    config = ClientConfig.create()
    assert config.endpoint == "https://h.eastus2.models.ai.azure.com"
    assert config.api_key == Secret(KEY)
    assert config.api_version == "2024-05-01-preview"
    assert config.max_retries == 2


@pytest.mark.parametrize(
    ("endpoint", "text"),
    [
        pytest.param("", "No endpoint", id="missing"),
        pytest.param("not a url", "not an http", id="not-url"),
        pytest.param("ftp://h.models.ai.azure.com", "not an http", id="ftp"),
        pytest.param(
            "http://h.eastus2.models.ai.azure.com", "Refusing plain http", id="plain-http"
        ),
        pytest.param("http://10.0.0.5:8080", "Refusing plain http", id="plain-http-private-ip"),
        pytest.param("https://h.models.ai.azure.com?api-version=1", "query", id="query"),
        # A bare "?" or "#" parses as an empty query or fragment: the route would go after it.
        pytest.param("https://h.models.ai.azure.com?", "query or fragment", id="bare-question"),
        pytest.param("https://h.models.ai.azure.com/#", "query or fragment", id="bare-hash"),
        pytest.param("https://h.models.ai.azure.com#frag", "query or fragment", id="fragment"),
        pytest.param(
            "https://u:hunter2@h.models.ai.azure.com", "user name or password", id="userinfo"
        ),
        pytest.param("https://user@h.models.ai.azure.com", "user name or password", id="user"),
        pytest.param("https://h.models.ai.azure.com:https", "port", id="junk-port"),
        pytest.param("https://h.models.ai.azure.com:65536", "port", id="port-too-high"),
        pytest.param("https://h.models.ai.azure.com:0", "port", id="port-zero"),
        pytest.param("https://h.models.ai.azure.com/a\r\nX-Evil: 1", "control", id="crlf-path"),
        pytest.param("https://h.models.ai.azure.com/a\x00", "control", id="nul-path"),
        pytest.param("https://h.models.ai.azure.com/a b", "space", id="space-in-path"),
        pytest.param("https://[::1/x", "not a valid URL", id="unbalanced-bracket"),
        pytest.param("ftp://u:hunter2@h.models.ai.azure.com", "not an http", id="ftp-userinfo"),
        # Where URL parsers disagree on the host: refused, not read one way for the kind and
        # scope and another for the connection.
        pytest.param(
            "https://evil.example\\.services.ai.azure.com/models", "backslash", id="backslash-host"
        ),
        pytest.param("http://127.0.0.1\\@evil.example", "backslash", id="backslash-userinfo"),
        pytest.param("https://h.models.ai.azure.com/a\\b", "backslash", id="backslash-path"),
        pytest.param("http://[::1%25eth0]:8089", "zone ID", id="zone-id"),
        pytest.param("http://[fe80::1%eth0]:8089", "zone ID", id="zone-id-raw"),
        pytest.param(
            "https://evil.example%2f.services.ai.azure.com/models", "'%'", id="percent-host"
        ),
        pytest.param("http://127.0.0.1%2eevil.example", "'%'", id="percent-after-loopback"),
    ],
)
def test_bad_endpoints_refused(endpoint: str, text: str) -> None:
    with pytest.raises(RequestValidationError, match=text) as info:
        ClientConfig.create(endpoint, api_key=KEY)
    assert info.value.param == "endpoint"
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("https://h.models.ai.azure.com:443", id="explicit-port"),
        pytest.param("https://h.models.ai.azure.com/score/", id="path"),
        pytest.param("  https://h.models.ai.azure.com\n", id="surrounding-whitespace"),
    ],
)
def test_good_endpoints_kept(endpoint: str) -> None:
    assert ClientConfig.create(endpoint, api_key=KEY).endpoint == endpoint.strip().rstrip("/")


BAD_HEADER_VALUES = [
    pytest.param("blue\r\nX-Injected: 1", id="crlf"),
    pytest.param("blue\n", id="lf"),
    pytest.param("blue\r", id="cr"),
    pytest.param("blue\x00", id="nul"),
    pytest.param("blue\x1b[31m", id="escape"),
    pytest.param("bleu-ciel-é", id="non-ascii"),
]


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
def test_bad_deployment_refused_at_construction(value: str) -> None:
    with pytest.raises(RequestValidationError, match="deployment") as info:
        AzureLlamaClient("https://h.models.ai.azure.com", api_key=KEY, deployment=value)
    assert info.value.param == "deployment"


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
def test_bad_default_header_value_refused_and_not_repeated(value: str) -> None:
    with pytest.raises(RequestValidationError, match="x-trace") as info:
        AsyncAzureLlamaClient(
            "https://h.models.ai.azure.com", api_key=KEY, default_headers={"x-trace": value}
        )
    assert info.value.param == "default_headers"
    assert value not in str(info.value)  # a header value may be a secret of its own


@pytest.mark.parametrize(
    ("headers", "text"),
    [
        pytest.param({"x trace": "1"}, "not a valid HTTP token", id="space-in-name"),
        pytest.param({"x-trace\r\n": "1"}, "not a valid HTTP token", id="crlf-in-name"),
        pytest.param({"": "1"}, "not a valid HTTP token", id="empty-name"),
        pytest.param({"x-trace": 1}, "must be a string", id="not-a-string"),
    ],
)
def test_bad_default_header_refused(headers: dict[str, Any], text: str) -> None:
    with pytest.raises(RequestValidationError, match=text):
        ClientConfig.create("https://h.models.ai.azure.com", api_key=KEY, default_headers=headers)


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
def test_bad_per_request_header_refused_before_sending(value: str) -> None:
    seen: list[httpx.Request] = []
    client = make_sync(lambda request: seen.append(request) or httpx.Response(200, json={}))
    with pytest.raises(RequestValidationError, match="x-trace"):
        client.chat([{"role": "user", "content": "x"}], headers={"x-trace": value})
    assert seen == []


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("http://127.0.0.1:8089", id="ipv4"),
        pytest.param("http://localhost:1", id="name"),
        pytest.param("http://[::1]:8089", id="ipv6"),
        pytest.param("http://127.9.9.9", id="127/8"),
    ],
)
def test_plain_http_allowed_on_loopback(endpoint: str) -> None:
    assert ClientConfig.create(endpoint, api_key=KEY).endpoint == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        # Loopback to a resolver or a socket library, not to the one parse: refused, as any
        # non-loopback plain http (the exemption covers only what surely connects to loopback).
        pytest.param("http://127.1:8089", id="short-ipv4"),
        pytest.param("http://0x7f.0.0.1:8089", id="hex-ipv4"),
        pytest.param("http://localhost.:8089", id="trailing-dot"),
        pytest.param("http://localhost.example.com:8089", id="localhost-prefix"),
        pytest.param("http://127.0.0.1.nip.io:8089", id="loopback-looking-name"),
    ],
)
def test_plain_http_refused_unless_the_host_is_loopback(endpoint: str) -> None:
    with pytest.raises(RequestValidationError, match="Refusing plain http"):
        ClientConfig.create(endpoint, api_key=KEY)


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("https://My-Resource.Services.AI.Azure.com/models", id="case"),
        pytest.param("https://a\uff0eservices.ai.azure.com/models", id="fullwidth-dot"),
        pytest.param("https://\u0435xample.services.ai.azure.com/models", id="idna"),
        pytest.param("http://[::1]:8089", id="ipv6"),
        pytest.param("https://h.models.ai.azure.com:8443/", id="port"),
    ],
)
async def test_the_host_requests_connect_to_is_the_parsed_host(endpoint: str) -> None:
    """One parse: the host the kind and scope are read from is the host both paths connect to
    (httpx's URL on the sync path, the yarl URL aiohttp is handed on the async one)."""
    sent: list[httpx.Request] = []
    client = make_sync(
        lambda request: sent.append(request) or httpx.Response(200, json={}), endpoint=endpoint
    )
    prepared = client.prepare_chat([{"role": "user", "content": "x"}], {"model": "m"})
    client.request(prepared)
    host = client.config.host
    assert sent[0].url.raw_host.decode() == host
    async_client = AsyncAzureLlamaClient(endpoint, api_key=KEY)
    assert async_client._aio_url(prepared).raw_host == host


class _KeyCredential:
    def __init__(self, key: str) -> None:
        self.key = key


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        pytest.param({}, "No credential", id="none"),
        pytest.param({"api_key": KEY, "credential": _KeyCredential(KEY)}, "not both", id="both"),
        pytest.param({"credential": object()}, "get_token", id="not-a-credential"),
        pytest.param({"api_key": KEY, "max_retries": -1}, "max_retries", id="negative-retries"),
        pytest.param(
            {"api_key": KEY, "extra_parameters": "ignore"},
            "extra_parameters",
            id="bad-extra-parameters-mode",
        ),
    ],
)
def test_bad_settings_refused(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(RequestValidationError, match=text):
        ClientConfig.create("https://h.models.ai.azure.com", **kwargs)


def test_azure_key_credential_is_a_key() -> None:
    config = ClientConfig.create("https://h.models.ai.azure.com", credential=_KeyCredential(KEY))
    assert config.api_key == Secret(KEY) and config.credential is None


def test_secret_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return httpx.Response(
            503 if len(seen) == 1 else 200,
            json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]},
        )

    client = make_sync(handler)
    client.chat([{"role": "user", "content": "x"}])
    async_client = AsyncAzureLlamaClient("https://h.models.ai.azure.com", api_key=KEY)
    shown = [
        repr(client),
        str(client),
        repr(client.config),
        repr(client.auth),
        repr(async_client),
        str(Secret(KEY)),
        caplog.text,
    ]
    assert all(KEY not in text for text in shown)
    assert "retrying" in caplog.text


def test_client_context_manager_closes_pool() -> None:
    client = AzureLlamaClient("https://h.models.ai.azure.com", api_key=KEY)
    pool = client._http  # built on first use
    with client as entered:
        assert entered is client
    assert pool.is_closed
