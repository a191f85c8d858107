"""The OpenAI v1 route of a Foundry resource (`endpoint_kind="openai-v1"`), against an
independent fake of the route (tests/_support/openai_v1.py): `model` is the deployment and is
required, no `api-version`, key or Entra ID (scope `https://ai.azure.com/.default`), no `/info`,
no Llama-native API, no text completions, and Azure OpenAI's error envelopes typed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import azure_llama_transport as t
from tests._support.openai_v1 import NOT_DEPLOYED, UNAUTHORIZED, FakeV1, azure_error

MESSAGES = [{"role": "user", "content": "hi"}]
MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
HOST = "https://my-resource.openai.azure.com/openai/v1"
DEPLOYMENTS = {"my-maverick": MAVERICK, "Llama-3.3-70B-Instruct": "Llama-3.3-70B-Instruct"}


class _Credential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> tuple[str, float]:
        self.scopes.append(scopes)
        return ("entra-token", 2e10)


@pytest.fixture
def fake() -> FakeV1:
    return FakeV1(dict(DEPLOYMENTS))


@pytest.fixture
def base(fake: FakeV1) -> Iterator[str]:
    with fake.serve() as url:
        yield url


def _sync(url: str, **kwargs: Any) -> t.AzureLlamaClient:
    options: dict[str, Any] = {"api_key": "fake-v1-key", "endpoint_kind": "openai-v1"}
    return t.AzureLlamaClient(url, max_retries=0, **{**options, **kwargs})


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(HOST, id="openai-host"),
        pytest.param(HOST + "/", id="slash"),
        pytest.param("https://r.services.ai.azure.com/openai/v1/", id="services-host"),
        pytest.param("https://r.cognitiveservices.azure.com/openai/v1", id="cogsvc-host"),
        pytest.param("https://R.OpenAI.Azure.com/OpenAI/v1", id="case"),
    ],
)
def test_the_kind_is_read_from_host_and_path(endpoint: str) -> None:
    client = t.AzureLlamaClient(endpoint, credential=_Credential())
    assert client.config.kind == "openai-v1"
    assert client.config.credential_scopes == ("https://ai.azure.com/.default",)
    assert client.config.api_version is None
    assert client.config.endpoint == endpoint.rstrip("/")  # no /models added


def test_credential_scopes_override_the_default() -> None:
    scope = "https://cognitiveservices.azure.com/.default"
    client = t.AzureLlamaClient(HOST, credential=_Credential(), credential_scopes=[scope])
    assert client.config.credential_scopes == (scope,)


@pytest.mark.parametrize(
    ("call", "param", "words"),
    [
        pytest.param(
            lambda c: c.chat(MESSAGES, {}), "model", ["model", "deployment"], id="no-model"
        ),
        pytest.param(
            lambda c: c.chat(MESSAGES, {"model": ""}), "model", ["deployment"], id="empty-model"
        ),
        pytest.param(
            lambda c: c.chat(MESSAGES, {"model": "my-maverick"}, api="llama"),
            "api",
            ["api='inference'"],
            id="llama-api",
        ),
        pytest.param(
            lambda c: c.complete("hi", {"model": "my-maverick"}),
            "prompt",
            ["chat completions only"],
            id="text-completion",
        ),
        pytest.param(lambda c: c.get_model_info(), "endpoint", ["/info"], id="info"),
    ],
)
def test_refused_before_sending(
    fake: FakeV1, base: str, call: Any, param: str, words: list[str]
) -> None:
    with _sync(base) as client, pytest.raises(t.RequestValidationError) as caught:
        call(client)
    assert caught.value.param == param
    assert all(word in str(caught.value) for word in words)
    assert fake.requests == []


def test_the_deployment_header_is_refused() -> None:
    with pytest.raises(t.RequestValidationError, match="model=") as caught:
        t.AzureLlamaClient(HOST, api_key="k", deployment="d")
    assert caught.value.param == "deployment"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_chat_reaches_the_deployment_sync_and_async(
    fake: FakeV1, base: str, stream: bool
) -> None:
    params = {"model": "my-maverick"}
    with _sync(base) as client:
        if stream:
            sync_text = "".join(
                c["choices"][0]["delta"].get("content") or ""
                for c in client.chat_stream(MESSAGES, params)
                if c["choices"]
            )
        else:
            sync_text = client.chat(MESSAGES, params)["choices"][0]["message"]["content"]
    async with t.AsyncAzureLlamaClient(
        base, api_key="fake-v1-key", endpoint_kind="openai-v1"
    ) as aclient:
        if stream:
            chunks = [c async for c in await aclient.chat_stream(MESSAGES, params)]
            async_text = "".join(
                c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
            )
        else:
            answer = await aclient.chat(MESSAGES, params)
            async_text = answer["choices"][0]["message"]["content"]
    assert sync_text == async_text == f"v1 reply from {MAVERICK}"
    for seen in fake.requests:
        assert seen.path == "/openai/v1/chat/completions"
        assert seen.query == {}  # no api-version on the v1 route
        assert seen.headers["api-key"] == "fake-v1-key"
        assert seen.json["model"] == "my-maverick"
        assert bool(seen.json.get("stream")) is stream
    assert len(fake.requests) == 2


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_entra_id_on_a_real_looking_host_through_the_callers_client(
    fake: FakeV1, mode: str
) -> None:
    credential = _Credential()
    if mode == "sync":
        http = httpx.Client(transport=fake.transport())
        with t.AzureLlamaClient(HOST, credential=credential, http_client=http) as client:
            answer = client.chat(MESSAGES, {"model": "Llama-3.3-70B-Instruct"})
    else:
        aclient = t.AsyncAzureLlamaClient(
            HOST,
            credential=credential,
            http_client_factory=lambda: httpx.AsyncClient(transport=fake.transport()),
        )
        async with aclient:
            answer = await aclient.chat(MESSAGES, {"model": "Llama-3.3-70B-Instruct"})
    assert answer["model"] == "Llama-3.3-70B-Instruct"
    (seen,) = fake.requests
    assert seen.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in seen.headers
    assert credential.scopes == [("https://ai.azure.com/.default",)]
    assert seen.path == "/openai/v1/chat/completions"
    assert seen.query == {}


def test_a_missing_deployment_names_it_and_says_what_model_must_be(fake: FakeV1, base: str) -> None:
    with _sync(base) as client, pytest.raises(t.NotFoundError) as caught:
        client.chat(MESSAGES, {"model": "Llama-4-Maverick"})
    text = str(caught.value)
    assert caught.value.code == "DeploymentNotFound"
    assert "'Llama-4-Maverick'" in text
    assert "`model` must be the deployment name" in text
    assert NOT_DEPLOYED[:40] in text


def test_a_wrong_key_is_an_authentication_error(fake: FakeV1, base: str) -> None:
    with (
        _sync(base, api_key="not-the-key-4821") as client,
        pytest.raises(t.AuthenticationError) as caught,
    ):
        client.chat(MESSAGES, {"model": "my-maverick"})
    assert UNAUTHORIZED[:40] in str(caught.value)
    assert "not-the-key-4821" not in str(caught.value)


FILTER_RESULT = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "medium"},
}


def test_the_content_filter_envelope_is_a_content_filter_error(fake: FakeV1, base: str) -> None:
    inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": FILTER_RESULT}
    body = azure_error(
        "content_filter",
        "The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy.",
        param="prompt",
        innererror=inner,
    )
    fake.script.append((400, {}, body))
    with _sync(base) as client, pytest.raises(t.ContentFilterError) as caught:
        client.chat(MESSAGES, {"model": "my-maverick"})
    assert caught.value.categories["violence"] == {"filtered": True, "severity": "medium"}
    assert caught.value.code == "content_filter"
    assert caught.value.status_code == 400


def test_429_carries_retry_after(fake: FakeV1, base: str) -> None:
    body = azure_error(
        "429",
        "Requests to the ChatCompletions_Create Operation have exceeded "
        "call rate limit. Please retry after 7 seconds.",
    )
    fake.script.append((429, {"retry-after": "7"}, body))
    with _sync(base) as client, pytest.raises(t.RateLimitError) as caught:
        client.chat(MESSAGES, {"model": "my-maverick"})
    assert caught.value.retry_after == 7


# -- served model and lifecycle -------------------------------------------------------------


def test_a_custom_deployment_name_is_known_after_its_first_answer(fake: FakeV1, base: str) -> None:
    assert t.lookup("my-maverick") is None
    with _sync(base) as client:
        client.chat(MESSAGES, {"model": "my-maverick"})
    entry = t.lookup("my-maverick")
    assert entry is not None and entry.name == MAVERICK
    assert entry.image_inputs and entry.max_images == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_retired_model_behind_a_custom_name_warns_once(
    fake: FakeV1, base: str, stream: bool
) -> None:
    fake.deployments["my-llama"] = "Meta-Llama-3.1-8B-Instruct"
    with _sync(base) as client, pytest.warns(t.RetiredModelWarning) as caught:
        for _ in range(3):
            if stream:
                list(client.chat_stream(MESSAGES, {"model": "my-llama"}))
            else:
                client.chat(MESSAGES, {"model": "my-llama"})
    (warning,) = caught
    text = str(warning.message)
    assert "Meta-Llama-3.1-8B-Instruct" in text and "2026-06-13" in text
    assert "Llama-3.3-70B-Instruct" in text  # the suggested replacement
    assert isinstance(warning.message, UserWarning)


def test_a_current_model_does_not_warn(fake: FakeV1, base: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _sync(base) as client:
            client.chat(MESSAGES, {"model": "my-maverick"})
