"""ChatAzureLlama on a Foundry resource's OpenAI v1 route, against the independent fake
(tests/_support/openai_v1.py): `model` is the deployment, invoke and stream, sync and async, a key
on loopback and Entra ID on a real-looking host through the caller's httpx client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from langchain_azure_llama import ChatAzureLlama, NotFoundError, RequestValidationError
from tests._support.langchain import Api
from tests._support.openai_v1 import FakeV1

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"


@pytest.fixture
def fake() -> FakeV1:
    return FakeV1({"my-maverick": MAVERICK})


@pytest.fixture
def base(fake: FakeV1) -> Iterator[str]:
    with fake.serve() as url:
        yield url


async def test_invoke_and_stream_with_a_key(fake: FakeV1, base: str, api: Api) -> None:
    llm = ChatAzureLlama(
        endpoint=base, api_key="fake-v1-key", endpoint_kind="openai-v1", model="my-maverick"
    )
    answer = await api.invoke(llm, "hello")
    chunks = await api.stream(llm, "hello")
    assert answer.content == f"v1 reply from {MAVERICK}"
    assert answer.response_metadata["model_name"] == MAVERICK
    assert "".join(str(c.content) for c in chunks) == answer.content
    assert [(r.path, r.query, r.json["model"]) for r in fake.requests] == [
        ("/openai/v1/chat/completions", {}, "my-maverick")
    ] * 2


async def test_entra_id_on_a_real_looking_foundry_host(fake: FakeV1, api: Api) -> None:
    scopes: list[tuple[str, ...]] = []

    class Credential:
        def get_token(self, *asked: str, **kwargs: object) -> tuple[str, float]:
            scopes.append(asked)
            return ("entra-token", 2e10)

    llm = ChatAzureLlama(
        endpoint="https://my-resource.services.ai.azure.com/openai/v1/",
        credential=Credential(),
        model="my-maverick",
        http_client=httpx.Client(transport=fake.transport()),
        http_async_client_factory=lambda: httpx.AsyncClient(transport=fake.transport()),
    )
    answer = await api.invoke(llm, "hello")
    assert answer.content == f"v1 reply from {MAVERICK}"
    (seen,) = fake.requests
    assert seen.headers["authorization"] == "Bearer entra-token"
    assert scopes == [("https://ai.azure.com/.default",)]


async def test_missing_model_and_unknown_deployment(fake: FakeV1, base: str, api: Api) -> None:
    llm = ChatAzureLlama(endpoint=base, api_key="fake-v1-key", endpoint_kind="openai-v1")
    with pytest.raises(RequestValidationError, match="deployment"):
        await api.invoke(llm, "hello")
    assert fake.requests == []
    with pytest.raises(NotFoundError, match="`model` must be the deployment name"):
        await api.invoke(llm, "hello", model="Llama-4-Maverick")


def test_the_profile_comes_from_the_catalogue() -> None:
    llm = ChatAzureLlama(
        endpoint="https://r.openai.azure.com/openai/v1", api_key="k", model=MAVERICK
    )
    assert llm.profile is not None
    assert llm.profile["image_inputs"] is True
    assert llm.profile["max_input_tokens"] == 1_000_000
