"""Endpoint kinds: read from the host (or `endpoint_kind=`), choosing the Entra scope, and, on
Foundry Models endpoints, `model` required and the Llama-native routes and `/info` refused."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import azure_llama_transport as t
from azure_llama_emulator import Emulator, EmulatorConfig

MESSAGES = [{"role": "user", "content": "hi"}]
FOUNDRY = "https://my-resource.services.ai.azure.com/models"
MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"


@pytest.mark.parametrize(
    ("endpoint", "kind"),
    [
        pytest.param("https://m-abc.eastus2.models.ai.azure.com", "serverless", id="maas"),
        pytest.param("https://m-abc.eastus2.inference.ai.azure.com", "serverless", id="maas-old"),
        pytest.param("https://ep.eastus2.inference.ml.azure.com", "managed", id="managed"),
        pytest.param(FOUNDRY, "foundry", id="foundry"),
        pytest.param(FOUNDRY + "/", "foundry", id="foundry-slash"),
        pytest.param("https://My-Resource.Services.AI.Azure.com/models", "foundry", id="case"),
        pytest.param("https://my-resource.services.ai.azure.com", "foundry", id="foundry-base"),
        pytest.param("https://r.cognitiveservices.azure.com/models", "foundry", id="cogsvc"),
        pytest.param("https://r.openai.azure.com/models", "foundry", id="openai-host"),
        pytest.param("https://r.openai.azure.com", "other", id="aoai-not-models"),
        pytest.param("https://r.services.ai.azure.com/openai/v1", "openai-v1", id="openai-v1"),
        pytest.param("http://127.0.0.1:8089", "other", id="loopback"),
        pytest.param("https://llama.example.com/models", "other", id="custom-domain"),
        # Read from the host the connection goes to (IDNA maps the full-width dot to ".").
        pytest.param(
            "https://my-resource\uff0eservices.ai.azure.com/models", "foundry", id="fullwidth-dot"
        ),
    ],
)
def test_kind_is_read_from_the_host(endpoint: str, kind: str) -> None:
    assert t.detect_endpoint_kind(endpoint) == kind
    assert t.AzureLlamaClient(endpoint, api_key="k").config.kind == kind


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("https://evil.example\\.services.ai.azure.com/models", id="backslash"),
        pytest.param("https://evil.example%2f.services.ai.azure.com/models", id="percent"),
        pytest.param("https://[fe80::1%25eth0.services.ai.azure.com]/models", id="zone-id"),
    ],
)
def test_no_kind_or_scope_for_a_host_parsers_disagree_on(endpoint: str) -> None:
    """Such a host would get a Foundry kind and scope from one parser and a connection to
    another host from the next: it is refused, by the kind reader and by the client alike."""
    with pytest.raises(t.RequestValidationError) as caught:
        t.detect_endpoint_kind(endpoint)
    assert caught.value.param == "endpoint"
    with pytest.raises(t.RequestValidationError):
        t.AzureLlamaClient(endpoint, credential=_Credential())


def test_a_foundry_resource_url_gets_the_models_path() -> None:
    client = t.AzureLlamaClient("https://my-resource.services.ai.azure.com/", api_key="k")
    assert client.config.endpoint == FOUNDRY


@pytest.mark.parametrize(
    ("endpoint", "kind", "scope"),
    [
        pytest.param(FOUNDRY, None, "https://cognitiveservices.azure.com/.default", id="foundry"),
        pytest.param(
            "https://ep.eastus2.inference.ml.azure.com",
            None,
            "https://ml.azure.com/.default",
            id="managed",
        ),
        pytest.param(
            "http://127.0.0.1:1", "foundry", "https://cognitiveservices.azure.com/.default", id="kw"
        ),
        pytest.param("http://127.0.0.1:1", None, "https://ml.azure.com/.default", id="other"),
    ],
)
def test_entra_scope_follows_the_kind(endpoint: str, kind: str | None, scope: str) -> None:
    client = t.AzureLlamaClient(endpoint, credential=_Credential(), endpoint_kind=kind)
    assert client.config.credential_scopes == (scope,)


def test_explicit_scopes_win() -> None:
    client = t.AzureLlamaClient(
        FOUNDRY, credential=_Credential(), credential_scopes=["https://ai.azure.com/.default"]
    )
    assert client.config.credential_scopes == ("https://ai.azure.com/.default",)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(t.RequestValidationError, match="endpoint_kind") as caught:
        t.AzureLlamaClient("http://127.0.0.1:1", api_key="k", endpoint_kind="cloud")  # type: ignore[arg-type]
    assert caught.value.param == "endpoint_kind"


def test_deployment_header_is_refused_on_foundry() -> None:
    with pytest.raises(t.RequestValidationError, match="model=") as caught:
        t.AzureLlamaClient(FOUNDRY, api_key="k", deployment="d")
    assert caught.value.param == "deployment"


@pytest.fixture(scope="module")
def foundry() -> Iterator[Emulator]:
    config = EmulatorConfig(kind="foundry", models=(MAVERICK, "Llama-3.3-70B"))
    with Emulator(config) as emu:
        yield emu


def _client(emu: Emulator) -> t.AzureLlamaClient:
    return t.AzureLlamaClient(
        emu.url + "/models", api_key=emu.config.api_key, endpoint_kind="foundry", max_retries=0
    )


@pytest.mark.parametrize(
    "params", [pytest.param({}, id="missing"), pytest.param({"model": ""}, id="empty")]
)
def test_model_is_required_before_sending(foundry: Emulator, params: dict[str, str]) -> None:
    foundry.clear()
    with _client(foundry) as client, pytest.raises(t.RequestValidationError) as caught:
        client.chat(MESSAGES, params)
    assert caught.value.param == "model"
    assert "model='<deployment name>'" in str(caught.value)
    with _client(foundry) as client, pytest.raises(t.RequestValidationError):
        client.complete("hi", params)
    assert foundry.requests == []


def test_llama_native_api_and_info_are_refused(foundry: Emulator) -> None:
    foundry.clear()
    with _client(foundry) as client:
        with pytest.raises(t.RequestValidationError, match="api='inference'"):
            client.chat(MESSAGES, {"model": "Llama-3.3-70B"}, api="llama")
        with pytest.raises(t.RequestValidationError, match="/info"):
            client.get_model_info()
    assert foundry.requests == []


async def test_model_selects_the_deployment(foundry: Emulator) -> None:
    foundry.clear()
    with _client(foundry) as client:
        answer = client.chat(MESSAGES, {"model": "Llama-3.3-70B"})
    async with t.AsyncAzureLlamaClient(
        foundry.url + "/models", api_key=foundry.config.api_key, endpoint_kind="foundry"
    ) as aclient:
        chunks = [c async for c in await aclient.chat_stream(MESSAGES, {"model": MAVERICK})]
    assert answer["model"] == "Llama-3.3-70B"
    assert {c["model"] for c in chunks} == {MAVERICK}
    first, second = foundry.requests
    assert first.path == second.path == "/models/chat/completions"
    assert first.query == {"api-version": "2024-05-01-preview"}
    assert first.headers["api-key"] == foundry.config.api_key
    assert first.json["model"] == "Llama-3.3-70B"


def test_unknown_model_is_foundrys_404(foundry: Emulator) -> None:
    with _client(foundry) as client, pytest.raises(t.NotFoundError, match="Unknown model: xyz"):
        client.chat(MESSAGES, {"model": "xyz"})


@pytest.mark.parametrize(
    ("kind", "warns"),
    [
        pytest.param("serverless", True, id="serverless"),
        pytest.param("foundry", True, id="foundry"),
        pytest.param("openai-v1", True, id="openai-v1"),
        pytest.param("managed", False, id="managed"),
        pytest.param("other", False, id="other"),
    ],
)
def test_only_azure_run_routes_warn_about_a_retired_model(kind: str, warns: bool) -> None:
    client = t.AzureLlamaClient("http://127.0.0.1:1", api_key="k", endpoint_kind=kind)  # type: ignore[arg-type]
    params = {"model": "Meta-Llama-3-70B-Instruct"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.prepare_chat(MESSAGES, params)
        client.prepare_chat(MESSAGES, params)
    retired = [w for w in caught if issubclass(w.category, t.RetiredModelWarning)]
    assert len(retired) == (1 if warns else 0)
    if warns:
        assert "2025-06-30" in str(retired[0].message)
        assert "Llama-3.3-70B-Instruct" in str(retired[0].message)


class _Credential:
    def get_token(self, *scopes: str, **kwargs: object) -> tuple[str, float]:
        return ("token", 2e10)
