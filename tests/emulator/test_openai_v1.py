"""`kind="openai-v1"`: a Foundry resource's Azure OpenAI v1 route over real HTTP.

`POST /openai/v1/chat/completions` with `model` = a deployment name, `GET /openai/v1/models`,
and every error in Azure OpenAI's `{"error": {code, message, param, type, innererror}}` envelope.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.emulator import AUTH, KEY, chunks

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
LLAMA33 = "Llama-3.3-70B-Instruct"
DEPLOYMENTS = (f"my-maverick={MAVERICK}", LLAMA33)
V1 = "/openai/v1"
MESSAGES = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
DEPLOYMENT_NOT_FOUND = {
    "error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
        "param": None,
        "type": None,
        "innererror": None,
    }
}
UNAUTHORIZED = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make "
        "sure to provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
        "param": None,
        "type": None,
        "innererror": None,
    }
}


@pytest.fixture(scope="module")
def v1_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(kind="openai-v1", models=DEPLOYMENTS, accepted_tokens=("entra-tok",))
    with Emulator(config) as emu:
        yield emu


@pytest.fixture
def v1(v1_emulator: Emulator) -> Iterator[httpx.Client]:
    v1_emulator.clear()
    with httpx.Client(base_url=v1_emulator.url + V1, headers=AUTH, timeout=10) as http:
        yield http


def chat(model: str = "my-maverick", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MESSAGES, **extra}


@pytest.mark.parametrize(
    ("deployment", "served"),
    [
        pytest.param("my-maverick", MAVERICK, id="custom-name-names-its-model"),
        pytest.param(LLAMA33, LLAMA33, id="named-as-the-model"),
    ],
)
def test_chat_answers_with_the_served_model(v1: httpx.Client, deployment: str, served: str) -> None:
    answer = v1.post("/chat/completions", json=chat(deployment))
    assert answer.status_code == 200
    body = answer.json()
    assert body["model"] == served
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == f"Emulated reply from {served}: hello there"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"api-key": KEY}, id="api-key"),
        pytest.param({"Authorization": f"Bearer {KEY}"}, id="bearer-key"),
        pytest.param({"Authorization": "Bearer entra-tok"}, id="bearer-entra-token"),
    ],
)
def test_key_and_bearer_auth(v1_emulator: Emulator, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=v1_emulator.url + V1, headers=headers) as http:
        assert http.post("/chat/completions", json=chat()).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"api-key": "wrong"}, id="wrong-key"),
        pytest.param({"Authorization": "Bearer wrong"}, id="wrong-bearer"),
    ],
)
def test_bad_auth_is_azure_openai_401(v1_emulator: Emulator, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=v1_emulator.url + V1, headers=headers) as http:
        answer = http.post("/chat/completions", json=chat())
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


def test_stream_ends_with_done_and_names_the_served_model(v1: httpx.Client) -> None:
    answer = v1.post("/chat/completions", json=chat(stream=True))
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.endswith("data: [DONE]\n\n")
    events = chunks(answer.text)
    assert {e["model"] for e in events} == {MAVERICK}
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert text == f"Emulated reply from {MAVERICK}: hello there"


def test_streamed_tool_calls_carry_openai_index_and_type(v1: httpx.Client) -> None:
    body = chat(stream=True, tools=[WEATHER], messages=[{"role": "user", "content": "Paris?"}])
    answer = v1.post("/chat/completions", json=body, headers={"x-emulator-parallel-calls": "2"})
    calls = chunks(answer.text)[-1]["choices"][0]["delta"]["tool_calls"]
    assert [(c["index"], c["type"]) for c in calls] == [(0, "function"), (1, "function")]
    assert len({c["id"] for c in calls}) == 2


def test_models_lists_the_served_models_in_openai_shape(v1: httpx.Client) -> None:
    answer = v1.get("/models")
    assert answer.status_code == 200
    listing = answer.json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == sorted([MAVERICK, LLAMA33])
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in listing["data"])


@pytest.mark.parametrize(
    "model",
    [
        pytest.param("nope", id="unknown"),
        pytest.param("MY-MAVERICK", id="case-sensitive"),
        pytest.param(MAVERICK, id="model-name-of-a-renamed-deployment"),
    ],
)
def test_unknown_deployment_is_404_deployment_not_found(v1: httpx.Client, model: str) -> None:
    answer = v1.post("/chat/completions", json=chat(model))
    assert answer.status_code == 404
    assert answer.json() == DEPLOYMENT_NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"messages": MESSAGES}, id="absent"),
        pytest.param({"messages": MESSAGES, "model": ""}, id="empty"),
    ],
)
def test_missing_model_is_400_naming_model(v1: httpx.Client, body: dict[str, Any]) -> None:
    answer = v1.post("/chat/completions", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "model" and "'model'" in error["message"]
    assert set(error) == {"code", "message", "param", "type", "innererror"}


@pytest.mark.parametrize(
    ("version", "status"),
    [
        pytest.param(None, 200, id="absent"),
        pytest.param("preview", 200, id="preview"),
        pytest.param("2024-05-01-preview", 400, id="dated-refused"),
    ],
)
def test_api_version(v1: httpx.Client, version: str | None, status: int) -> None:
    params = {"api-version": version} if version else {}
    answer = v1.post("/chat/completions", json=chat(), params=params)
    assert answer.status_code == status
    if status == 400:
        assert "API version not supported" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "category", "expected"),
    [
        pytest.param("JAILBREAK now", "jailbreak", {"filtered": True, "detected": True}, id="jb"),
        pytest.param("BLOCKME", "violence", {"filtered": True, "severity": "high"}, id="blocked"),
    ],
)
def test_content_filter_is_400_with_innererror(
    v1: httpx.Client, text: str, category: str, expected: dict[str, Any]
) -> None:
    body = chat(messages=[{"role": "user", "content": text}])
    answer = v1.post("/chat/completions", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "content_filter" and error["param"] == "prompt"
    assert error["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    result = error["innererror"]["content_filter_result"]
    assert result[category] == expected
    assert result["hate"] == {"filtered": False, "severity": "safe"}


def test_output_filter_cuts_the_answer(v1: httpx.Client) -> None:
    body = chat(messages=[{"role": "user", "content": "FILTERME tell me a long story"}])
    choice = v1.post("/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "content_filter"


def test_injected_429_keeps_retry_after_in_the_v1_envelope(v1: httpx.Client) -> None:
    answer = v1.post(
        "/chat/completions", json=chat(), headers={"x-emulator-fault": "status=429; retry-after=2"}
    )
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "2"
    error = answer.json()["error"]
    assert error["code"] == "429" and "retry after 2 seconds" in error["message"]


def test_rate_limit_is_429_in_the_v1_envelope(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(kind="openai-v1", models=(LLAMA33,), rpm_limit=1)
    with httpx.Client(base_url=emu.url + V1, headers=AUTH) as http:
        assert http.post("/chat/completions", json=chat(LLAMA33)).status_code == 200
        answer = http.post("/chat/completions", json=chat(LLAMA33))
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["error"]["code"] == "429"


def test_validation_errors_use_the_v1_envelope(v1: httpx.Client) -> None:
    answer = v1.post("/chat/completions", json={"model": "my-maverick", "messages": []})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["param"] == "messages" and error["message"] == "Field required"
    assert error["type"] == "invalid_request_error"


def test_openai_parameters_are_accepted(v1: httpx.Client) -> None:
    body = chat(n=2, user="u1", stream_options={"include_usage": True}, max_completion_tokens=2)
    answer = v1.post("/chat/completions", json=body)
    assert answer.status_code == 200
    choices = answer.json()["choices"]
    assert len(choices) == 2 and choices[0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", f"{V1}/completions", id="text-completions"),
        pytest.param("GET", f"{V1}/info", id="info"),
        pytest.param("GET", "/info", id="root-info"),
        pytest.param("POST", "/chat/completions", id="model-inference-route"),
        pytest.param("POST", "/models/chat/completions", id="foundry-models-route"),
        pytest.param("POST", "/v1/chat/completions", id="llama-native-route"),
    ],
)
def test_other_routes_are_404_resource_not_found(
    v1_emulator: Emulator, method: str, path: str
) -> None:
    with httpx.Client(base_url=v1_emulator.url, headers=AUTH) as http:
        answer = http.request(method, path, json={**chat(), "prompt": "x"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "404"


def test_curl_works_unchanged(v1_emulator: Emulator) -> None:
    command = [
        "curl", "-sS", f"{v1_emulator.url}{V1}/chat/completions",
        "-H", "Content-Type: application/json", "-H", f"api-key: {KEY}",
        "-d", json.dumps(chat(LLAMA33)),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout)["model"] == LLAMA33


def test_cli_serves_openai_v1_with_mapped_deployments() -> None:
    command = [sys.executable, "-m", "azure_llama_emulator", "--port", "0"]
    args = ["--kind", "openai-v1", "--api-key", "cli-key", "--models", ",".join(DEPLOYMENTS)]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.match(r"Azure Llama emulator listening on (\S+) \(model (.*), key", line)
            assert match, line
            with httpx.Client(base_url=match.group(1) + V1) as http:
                answer = http.post("/chat/completions", json=chat(), headers={"api-key": "cli-key"})
                assert answer.json()["model"] == MAVERICK
                refused = http.post("/chat/completions", json=chat(), headers={"api-key": "x"})
                assert refused.json() == UNAUTHORIZED
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"kind": "openai-v1", "deployments": {"a": "m"}}, id="deployments"),
        pytest.param({"kind": "openai-v1", "models": ("a=",)}, id="empty-model"),
        pytest.param({"kind": "serverless", "models": ("a",)}, id="models-on-serverless"),
    ],
)
def test_config_refuses_bad_v1_settings(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(**settings)
