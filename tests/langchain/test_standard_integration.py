"""langchain-tests' standard integration suite, run against the local emulator.

Two runs: `TestNativeTools` on an endpoint that takes native `tools`, and `TestPromptedTools`
on one that answers them with the vLLM 400 of real Llama deployments, so that every tool test
goes through the `tool_calling="auto"` switch to prompted tool calling (structured output uses
`function_calling` there, to cover the prompted path). A third, `TestLlama4`, runs the suite on
Llama 4 Maverick as Azure sells it: prompted tools and schemas from the first call (Azure lists
it without them), and images, which its profile says it takes (`image_inputs=True`), so the
image cases run and pass. The only expected failures are inputs a model cannot take (images on
the text-only Llama 3.1; audio and PDF: no Llama on Azure): the client refuses them before
sending.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.integration_tests import chat_models as standard_chat_models

from langchain_azure_llama import ChatAzureLlama
from tests._support.langchain import EMULATORS, LLAMA4, model_params

# test_stream_time records its cassette on the first run without using `benchmark`.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Benchmark fixture was not used:pytest_benchmark.logger.PytestBenchmarkWarning"
)

_TEXT_ONLY = "The emulated Llama 3.1 is text-only: the client refuses {} before sending."
# A 1x1 PNG, an empty WAV header and a minimal PDF: enough to be the right kind of part.
_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )
).decode()
_WAV = base64.b64encode(b"RIFF$\x00\x00\x00WAVEfmt ").decode()
_PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()


def _text_only(what: str) -> Any:
    return pytest.mark.xfail(
        reason=_TEXT_ONLY.format(what), raises=ModelInvalidRequestError, strict=True
    )


class _EmulatorSuite(ChatModelIntegrationTests):
    emulator = "native"

    @property
    def chat_model_class(self) -> type[ChatAzureLlama]:
        return ChatAzureLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return model_params(EMULATORS[self.emulator], temperature=0, max_tokens=100)

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        # method="json_mode" works without ever sending response_format json_object (Azure
        # answers 422 for Llama): it takes the prompted JSON-schema path.
        return True

    @property
    def supports_model_override(self) -> bool:
        # An Azure Llama endpoint serves the model it was deployed with: the body's `model` is
        # "ignored if the endpoint serves only one model" (REF-CHAT), and managed compute routes
        # by the azureml-model-deployment header. A per-call model= still reaches the wire and
        # the tracing fields (test_chat_model.py), but cannot change the model that answers.
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    @pytest.fixture
    async def model(self, request: Any) -> AsyncIterator[ChatAzureLlama]:
        """The standard fixture, closing both pools in the test's own event loop."""
        extra = getattr(request, "param", None) or {}
        chat = self.chat_model_class(
            **{**self.standard_chat_model_params, **self.chat_model_params, **extra}
        )
        yield chat
        chat.close()
        await chat.aclose()

    @_text_only("images")
    def test_image_inputs(self, model: ChatAzureLlama) -> None:
        image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_PNG}"}}
        model.invoke([HumanMessage([{"type": "text", "text": "Describe."}, image])])

    @_text_only("audio")
    def test_audio_inputs(self, model: ChatAzureLlama) -> None:
        audio = {"type": "audio", "base64": _WAV, "mime_type": "audio/wav"}
        model.invoke([HumanMessage([{"type": "text", "text": "Describe this audio:"}, audio])])

    @_text_only("PDF files")
    def test_pdf_inputs(self, model: ChatAzureLlama) -> None:
        pdf = {"type": "file", "base64": _PDF, "mime_type": "application/pdf"}
        model.invoke([HumanMessage([{"type": "text", "text": "Summarize:"}, pdf])])

    @_text_only("images in tool results")
    def test_image_tool_message(self, model: ChatAzureLlama) -> None:
        image = {"type": "image", "base64": _PNG, "mime_type": "image/png"}
        self._tool_result_with([image], model, "random_image")

    @_text_only("PDF files in tool results")
    def test_pdf_tool_message(self, model: ChatAzureLlama) -> None:
        pdf = {"type": "file", "base64": _PDF, "mime_type": "application/pdf"}
        self._tool_result_with([pdf], model, "random_pdf")

    @staticmethod
    def _tool_result_with(content: list[Any], model: ChatAzureLlama, name: str) -> None:
        def fetch() -> str:
            """Fetch a file."""
            return ""

        fetch.__name__ = name
        call = {"type": "tool_call", "id": "1", "name": name, "args": {}}
        messages = [
            HumanMessage("Fetch one with the tool and describe it."),
            AIMessage([], tool_calls=[call]),
            ToolMessage(content=content, tool_call_id="1", name=name),
        ]
        model.bind_tools([fetch]).invoke(messages)


class TestNativeTools(_EmulatorSuite):
    """Native `tools` on the wire; structured output by the default prompted JSON schema."""

    emulator = "native"


class TestPromptedTools(_EmulatorSuite):
    """The endpoint refuses `tools`: "auto" switches to prompted tool calling."""

    emulator = "reject"

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "function_calling"}


class TestLlama4(_EmulatorSuite):
    """Llama 4 Maverick: prompted tools and schemas from the first call, and images.

    The standard image tests run as langchain-tests wrote them; the one picture they fetch from
    GitHub is served from here instead (no network but loopback in tests), as the same PNG.
    """

    emulator = "llama4"
    test_image_inputs = ChatModelIntegrationTests.test_image_inputs
    test_image_tool_message = ChatModelIntegrationTests.test_image_tool_message

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, "model": LLAMA4}

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "function_calling"}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @pytest.fixture(autouse=True)
    def _picture_offline(self, monkeypatch: pytest.MonkeyPatch) -> None:
        picture = httpx.Response(200, content=base64.b64decode(_PNG))
        monkeypatch.setattr(standard_chat_models.httpx, "get", lambda *args, **kwargs: picture)

    def test_the_profile_says_images(self, model: ChatAzureLlama) -> None:
        assert model.profile is not None and model.profile.get("image_inputs") is True
