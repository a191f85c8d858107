"""Llama-native /v1 routes and the Model Inference /completions route."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from azure_llama_emulator import Emulator
from tests._support.emulator import chunks, user

BASE = "Meta-Llama-3.1-8B"
LLAMA_EXTRAS = {
    "n": 1,
    "best_of": 1,
    "logprobs": 2,
    "ignore_eos": False,
    "use_beam_search": False,
    "stop_token_ids": [128009],
    "skip_special_tokens": True,
}


@pytest.fixture(scope="module")
def base_model() -> Iterator[Emulator]:
    from azure_llama_emulator import EmulatorConfig

    with Emulator(EmulatorConfig(model_name=BASE, model_type="text-generation")) as emu:
        yield emu


@pytest.fixture
def base(base_model: Emulator, make_client: Callable[..., httpx.Client]) -> httpx.Client:
    base_model.clear()
    return make_client(base_model)


def test_v1_chat_takes_llama_extras_without_header(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={**user("hi"), **LLAMA_EXTRAS, "top_k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"].startswith("Emulated reply")


def test_v1_chat_n_choices(client: httpx.Client) -> None:
    body = client.post("/v1/chat/completions", json={**user("hi"), "n": 2, "best_of": 3}).json()
    assert [c["index"] for c in body["choices"]] == [0, 1]


@pytest.mark.parametrize(
    "flag", [pytest.param(True, id="bool"), pytest.param("True", id="notebook-string")]
)
def test_v1_chat_stream(client: httpx.Client, flag: Any) -> None:
    response = client.post("/v1/chat/completions", json={**user("hi"), "stream": flag})
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = chunks(response.text)
    reasons = [e["choices"][0]["finish_reason"] for e in events]
    assert reasons == [None] * (len(events) - 1) + ["stop"]  # null except on the last chunk
    assert response.text.endswith("data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        pytest.param({"best_of": 2, "stream": True}, "streaming", id="best-of-stream"),
        pytest.param(
            {"n": 3, "best_of": 2}, "best_of must be greater than or equal to n", id="best-of-n"
        ),
        pytest.param({"use_beam_search": True, "temperature": 0.5}, "use_beam_search", id="beam"),
    ],
)
def test_v1_llama_rules(client: httpx.Client, extra: dict[str, Any], needle: str) -> None:
    response = client.post("/v1/chat/completions", json={**user("hi"), **extra})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Bad Request"
    assert needle in json.loads(error["message"])["message"]


def test_llama_rules_apply_to_pass_through(client: httpx.Client) -> None:
    headers = {"extra-parameters": "pass-through"}
    request = {**user("hi"), "best_of": 2, "stream": True}
    assert client.post("/chat/completions", json=request, headers=headers).status_code == 400


def test_completions_non_stream(base: httpx.Client) -> None:
    response = base.post("/completions", json={"prompt": "Math is a", "max_tokens": 30})
    assert response.status_code == 200
    assert response.headers["x-ms-rai-invoked"] == "true"
    body = response.json()
    assert body["object"] == "text_completion" and body["model"] == BASE
    assert body["choices"] == [
        {
            "index": 0,
            "text": f"Emulated reply from {BASE}: Math is a",
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}


def test_completions_stream_has_the_non_stream_shape(base: httpx.Client) -> None:
    response = base.post("/completions", json={"prompt": "Math is a", "stream": True})
    events = chunks(response.text)
    assert len(events) == 7  # no role chunk: one per token
    assert {e["object"] for e in events} == {"text_completion"}
    assert (
        "".join(e["choices"][0]["text"] for e in events) == f"Emulated reply from {BASE}: Math is a"
    )
    assert events[0]["choices"][0] == {
        "finish_reason": None,
        "index": 0,
        "logprobs": None,
        "text": "Emulated",
    }
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["usage"]["completion_tokens"] == 7
    assert response.text.endswith("data: [DONE]\n\n")


def test_completions_rejects_chat_keys(base: httpx.Client) -> None:
    response = base.post("/completions", json={"prompt": "x", "tools": []})
    assert response.status_code == 400
    assert "['tools']" in response.json()["detail"]


def test_completions_needs_a_prompt(base: httpx.Client) -> None:
    response = base.post("/completions", json={"max_tokens": 3})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


def test_v1_completions(base: httpx.Client) -> None:
    request = {
        "prompt": "What's the distance to the moon?",
        "temperature": 0.8,
        "max_tokens": 4,
        "best_of": 2,
    }
    body = base.post("/v1/completions", json=request).json()
    assert body["choices"][0]["text"] == "Emulated reply from Meta-Llama-3.1-8B:"
    assert body["choices"][0]["finish_reason"] == "length"


def test_v1_completions_stream(base: httpx.Client) -> None:
    response = base.post("/v1/completions", json={"prompt": "x y", "stream": "True"})
    events = chunks(response.text)
    assert "".join(e["choices"][0]["text"] for e in events) == f"Emulated reply from {BASE}: x y"
