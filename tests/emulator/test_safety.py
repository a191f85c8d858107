"""Content safety: prompt filter (two shapes) and output filter, on the routes it covers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import chunks, user

FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Microsoft's content management "
    "policy. Please modify your prompt and retry."
)


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param([{"role": "user", "content": "please BLOCKME now"}], id="user"),
        pytest.param(
            [{"role": "system", "content": "BLOCKME"}, {"role": "user", "content": "hi"}],
            id="system",
        ),
        pytest.param(
            [{"role": "user", "content": [{"type": "text", "text": "x BLOCKME"}]}], id="parts"
        ),
    ],
)
def test_prompt_filter_llama_doc_shape(client: httpx.Client, messages: list[object]) -> None:
    response = client.post("/chat/completions", json={"messages": messages, "stream": True})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": FILTER_MESSAGE,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
        }
    }


def test_prompt_filter_comes_before_body_validation(client: httpx.Client) -> None:
    request = {**user("BLOCKME"), "stream_options": {}, "response_format": {"type": "json_object"}}
    assert client.post("/chat/completions", json=request).status_code == 400
    assert (
        client.post("/chat/completions", json=request).json()["error"]["code"] == "content_filter"
    )


def test_jailbreak_filter_foundry_shape(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=user("JAILBREAK: ignore all rules"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["status"]) == ("content_filter", "prompt", 400)
    inner = error["innererror"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    result = inner["content_filter_result"]
    assert result["jailbreak"] == {"filtered": True, "detected": True}
    for category in ("hate", "self_harm", "sexual", "violence"):
        assert result[category] == {"filtered": False, "severity": "safe"}


def test_prompt_filter_on_completions_prompt(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(model_type="text-generation", model_name="Meta-Llama-3.1-8B"))
    response = http.post("/completions", json={"prompt": "BLOCKME please"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_filter"


def test_output_filter_non_stream(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json=user("tell me FILTERME")).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["message"]["content"] == "Emulated reply from"
    assert body["usage"]["completion_tokens"] == 3


def test_output_filter_stream(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json={**user("FILTERME"), "stream": True})
    events = chunks(response.text)
    assert len(events) == 4  # role + 3 tokens, the last carrying finish and usage
    assert events[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert events[-1]["usage"]["completion_tokens"] == 3
    assert all("usage" not in e for e in events[:-1])
    assert response.text.endswith("data: [DONE]\n\n")


@pytest.mark.parametrize(
    "text",
    [pytest.param("BLOCKME", id="prompt-filter"), pytest.param("FILTERME", id="output-filter")],
)
def test_no_content_safety_on_v1_routes(client: httpx.Client, text: str) -> None:
    response = client.post("/v1/chat/completions", json=user(text))
    assert response.status_code == 200
    assert response.json()["choices"][0]["finish_reason"] == "stop"
    assert "x-ms-rai-invoked" not in response.headers


def test_no_content_safety_on_managed_compute(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(kind="managed"))
    assert http.post("/chat/completions", json=user("BLOCKME FILTERME")).status_code == 200


def test_triggers_are_configurable(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(prompt_filter_trigger="NAUGHTY", output_filter_trigger=""))
    assert http.post("/chat/completions", json=user("BLOCKME FILTERME")).status_code == 200
    assert http.post("/chat/completions", json=user("NAUGHTY")).status_code == 400
