"""Authentication, routing, deployments and /info, against the recorded shapes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import KEY, get, post, user

UNAUTHORIZED = {
    "statusCode": 401,
    "message": "Auth token validation failed. Please provide a valid key or a valid AAD token",
}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer wrong"}, id="bad-bearer"),
        pytest.param({"api-key": "wrong"}, id="bad-api-key"),
        pytest.param({"Authorization": KEY}, id="key-without-bearer"),
        pytest.param({"Authorization": "Bearer some-entra-token"}, id="serverless-refuses-tokens"),
    ],
)
def test_401_shape(emu: Emulator, headers: dict[str, str]) -> None:
    response = post(f"{emu.url}/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["x-ms-error-reason"] == "Invalid JWT."


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": f"Bearer {KEY}"}, id="bearer"),
        pytest.param({"api-key": KEY}, id="api-key"),
        pytest.param({"Authorization": f"Bearer {KEY}", "api-key": KEY}, id="both-like-the-sdk"),
    ],
)
def test_key_accepted(emu: Emulator, headers: dict[str, str]) -> None:
    response = post(f"{emu.url}/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 200


def _assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.text == "NOT FOUND"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["ms-azureml-model-error-reason"] == "model_error"
    assert response.headers["ms-azureml-model-error-statuscode"] == "404"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "/embeddings", id="embeddings"),
        pytest.param("POST", "/images/embeddings", id="image-embeddings"),
        pytest.param("GET", "/chat/completions", id="wrong-method"),
        pytest.param("POST", "/completions", id="completions-on-chat-model"),
        pytest.param("POST", "/v1/completions", id="v1-completions-on-chat-model"),
        pytest.param("GET", "/", id="root"),
    ],
)
def test_unknown_route_is_text_not_found(client: httpx.Client, method: str, path: str) -> None:
    _assert_not_found(client.request(method, path, json={"prompt": "x"}))


@pytest.mark.parametrize(
    "path",
    [pytest.param("/chat/completions", id="chat"), pytest.param("/v1/chat/completions", id="v1")],
)
def test_chat_route_on_text_generation_model(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    path: str,
) -> None:
    emu = make_emulator(model_name="Meta-Llama-3.1-8B", model_type="text-generation")
    _assert_not_found(make_client(emu).post(path, json=user("hi")))


def test_unauthenticated_unknown_route_is_401(emu: Emulator) -> None:
    assert get(f"{emu.url}/nowhere").status_code == 401


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("chat-completion", id="real"),
        pytest.param("chat-completions", id="docs"),
        pytest.param("chat_completion", id="sdk-enum"),
    ],
)
def test_info_spellings(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    spelling: str,
) -> None:
    emu = make_emulator(info_spelling=spelling, model_name="Meta-Llama-3.1-405B-Instruct")
    response = make_client(emu).get("/info", params={"api-version": "2024-05-01-preview"})
    assert response.status_code == 200
    assert response.json() == {
        "model_name": "Meta-Llama-3.1-405B-Instruct",
        "model_type": spelling,
        "model_provider_name": "Meta",
        "served_model_name": "Meta-Llama-3.1-405B-Instruct",
        "served_model_type": spelling,
    }


def test_info_for_a_base_model(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(model_name="Meta-Llama-3.1-8B", model_type="text-generation")
    body = make_client(emu).get("/info").json()
    assert body["model_type"] == body["served_model_type"] == "text-generation"


def test_api_version_is_accepted_and_recorded(client: httpx.Client, emu: Emulator) -> None:
    response = client.post(
        "/chat/completions", params={"api-version": "2024-05-01-preview"}, json=user("hi")
    )
    assert response.status_code == 200
    (recorded,) = emu.requests
    assert recorded.method == "POST" and recorded.path == "/chat/completions"
    assert recorded.query == {"api-version": "2024-05-01-preview"}
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.json == user("hi")


@pytest.fixture
def managed(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(
        kind="managed",
        deployments={
            "llama-8b": "Meta-Llama-3.1-8B-Instruct",
            "llama-70b": "Meta-Llama-3.1-70B-Instruct",
        },
        accepted_tokens=("entra-token",),
    )


@pytest.mark.parametrize(
    ("deployment", "model"),
    [
        pytest.param("llama-8b", "Meta-Llama-3.1-8B-Instruct", id="8b"),
        pytest.param("llama-70b", "Meta-Llama-3.1-70B-Instruct", id="70b"),
    ],
)
def test_managed_routes_by_deployment_header(
    managed: Emulator, make_client: Callable[..., httpx.Client], deployment: str, model: str
) -> None:
    http = make_client(managed, headers={"Authorization": "Bearer entra-token"})
    headers = {"azureml-model-deployment": deployment}
    response = http.post("/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 200
    assert response.json()["model"] == model
    assert response.headers["azureml-model-deployment"] == deployment
    assert "x-ms-rai-invoked" not in response.headers  # no content safety on managed compute
    assert http.get("/info", headers=headers).json()["model_name"] == model


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"azureml-model-deployment": "nope"}, id="unknown"),
    ],
)
def test_managed_without_a_valid_deployment_is_404(
    managed: Emulator, make_client: Callable[..., httpx.Client], headers: dict[str, str]
) -> None:
    response = make_client(managed).post("/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == 404
    assert response.text.startswith("No valid deployments to route to.")


def test_managed_single_deployment_needs_no_header(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(kind="managed", deployments={"only": "Meta-Llama-3.1-8B-Instruct"})
    assert make_client(emu).post("/chat/completions", json=user("hi")).status_code == 200


@pytest.mark.parametrize(
    ("token", "status"),
    [
        pytest.param("entra-token", 200, id="accepted-token"),
        pytest.param(KEY, 200, id="key"),
        pytest.param("other-token", 401, id="unknown-token"),
    ],
)
def test_managed_token_acceptance(managed: Emulator, token: str, status: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "azureml-model-deployment": "llama-8b"}
    response = post(f"{managed.url}/chat/completions", json=user("hi"), headers=headers)
    assert response.status_code == status
