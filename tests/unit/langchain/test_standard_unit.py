"""langchain-tests' standard unit suite (no network: the endpoint is never called)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_azure_llama import ChatAzureLlama
from tests._support.langchain import MODEL

ENDPOINT = "https://my-llama.eastus2.models.ai.azure.com"
# `load` is a beta API; the standard serialisation test calls it.
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_core._api.beta_decorator.LangChainBetaWarning"
)


class TestChatAzureLlamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatAzureLlama]:
        return ChatAzureLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"endpoint": ENDPOINT, "api_key": "unit-test-key", "model": MODEL}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"AZURE_INFERENCE_ENDPOINT": ENDPOINT, "AZURE_INFERENCE_CREDENTIAL": "env-key"},
            {"model": MODEL},
            {"endpoint": ENDPOINT, "api_key": "env-key", "model": MODEL},
        )

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def model_override_value(self) -> str:
        return "Meta-Llama-3.1-70B-Instruct"

    @pytest.mark.xfail(
        reason=(
            "langchain-core's load(allowed_objects='all') admits only the classes in its own "
            "serialization mapping, and third-party integrations are not listed there, so the "
            "standard round trip is refused (ValueError) after the snapshot matches. The round "
            "trip with the class allow-listed is tested in test_chat_model.py."
        ),
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)
