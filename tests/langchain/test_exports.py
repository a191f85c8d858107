"""The public names of the LangChain front end, pinned; the package root stays lazy."""

from __future__ import annotations

import subprocess
import sys

import langchain_azure_llama

EXPORTS = {
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AzureLlama",
    "AzureLlamaError",
    "BadRequestError",
    "ChatAzureLlama",
    "ContentFilterError",
    "ContentFilterWarning",
    "CredentialError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ContextWindowExceededError",
    "RedirectError",
    "StructuredOutputError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StreamInterruptedError",
    "UnprocessableEntityError",
}


def test_exports() -> None:
    assert set(langchain_azure_llama.__all__) == EXPORTS | {"__version__"}
    for name in EXPORTS:
        assert getattr(langchain_azure_llama, name).__name__ == name


def test_transport_import_loads_no_framework() -> None:
    code = (
        "import sys, langchain_azure_llama.transport; "
        "print('langchain_core' in sys.modules, 'litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
