"""`kind="foundry"`: the Model Inference routes under `/models`, the deployment chosen by the
body's `model`, and Foundry's recorded answers to a missing or unknown model."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.emulator import AUTH

MODELS = ("Meta-Llama-3.1-8B-Instruct", "Llama-3.3-70B-Instruct")
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def foundry(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(kind="foundry", models=MODELS)


@pytest.mark.parametrize("model", MODELS, ids=["8b", "70b"])
def test_model_in_the_body_selects_the_deployment(
    foundry: Emulator, make_client: Callable[..., httpx.Client], model: str
) -> None:
    http = make_client(foundry)
    answer = http.post("/models/chat/completions", json={"messages": MESSAGES, "model": model})
    assert answer.status_code == 200
    assert answer.json()["model"] == model
    assert answer.json()["choices"][0]["message"]["content"].startswith(
        f"Emulated reply from {model}"
    )


def test_a_named_deployment_answers_with_its_model(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(kind="foundry", models=(f"mine={MODELS[1]}",))
    answer = make_client(emu).post(
        "/models/chat/completions", json={"messages": MESSAGES, "model": "mine"}
    )
    assert answer.json()["model"] == MODELS[1]
    unknown = make_client(emu).post(
        "/models/chat/completions", json={"messages": MESSAGES, "model": MODELS[1]}
    )
    assert unknown.status_code == 404


def test_the_model_mesh_header_selects_too(
    foundry: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(foundry, headers={**AUTH, "x-ms-model-mesh-model-name": MODELS[1]})
    answer = http.post("/models/chat/completions", json={"messages": MESSAGES})
    assert answer.json()["model"] == MODELS[1]


def test_missing_model_is_400_no_model_name(
    foundry: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    answer = make_client(foundry).post("/models/chat/completions", json={"messages": MESSAGES})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "no_model_name"
    assert "x-ms-model-mesh-model-name" in answer.json()["error"]["message"]


def test_unknown_model_is_404_unknown_model(
    foundry: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    body = {"messages": MESSAGES, "model": "xyz"}
    answer = make_client(foundry).post("/models/chat/completions", json=body)
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "unknown_model",
            "message": "Unknown model: xyz",
            "details": "Unknown model: xyz",
        }
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "/chat/completions", id="no-prefix"),
        pytest.param("POST", "/models/v1/chat/completions", id="llama-native"),
        pytest.param("GET", "/models/info", id="info"),
        pytest.param("POST", "/models/completions", id="other-family"),
    ],
)
def test_routes_foundry_lacks_are_404(
    foundry: Emulator, make_client: Callable[..., httpx.Client], method: str, path: str
) -> None:
    body = {"messages": MESSAGES, "model": MODELS[0]}
    answer = make_client(foundry).request(method, path, json=body)
    assert answer.status_code == 404


def test_entra_tokens_are_accepted(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(kind="foundry", models=MODELS, accepted_tokens=("entra-token",))
    answer = httpx.post(
        f"{emu.url}/models/chat/completions",
        json={"messages": MESSAGES, "model": MODELS[0]},
        headers={"Authorization": "Bearer entra-token"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"kind": "managed", "models": MODELS}, id="models-off-foundry"),
        pytest.param({"kind": "foundry", "deployments": {"a": "m"}}, id="deployments-on-foundry"),
    ],
)
def test_config_refuses_mixed_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(**settings)  # type: ignore[arg-type]


def test_cli_models_flag_serves_foundry() -> None:
    command = [sys.executable, "-m", "azure_llama_emulator", "--port", "0"]
    args = ["--api-key", "cli-key", "--models", ",".join(MODELS)]
    with subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.match(r"Azure Llama emulator listening on (\S+) \(model (.*), key", line)
            assert match, line
            assert match.group(2) == ", ".join(MODELS)
            answer = httpx.post(
                f"{match.group(1)}/models/chat/completions",
                json={"messages": MESSAGES, "model": MODELS[1]},
                headers={"api-key": "cli-key"},
            )
            assert answer.json()["model"] == MODELS[1]
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0
