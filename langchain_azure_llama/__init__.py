"""Meta Llama on Azure AI for LangChain, over the shared transport.

The package root is lazy: ``import langchain_azure_llama.transport`` (or the emulator)
must not pay for langchain-core, so the LangChain names load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    "AzureLlama": ".llms",
    "ChatAzureLlama": ".chat_models",
    "ContentFilterError": "._errors",
    "ContentFilterWarning": "._errors",
    "APIConnectionError": "._errors",
    "APIStatusError": "._errors",
    "APITimeoutError": "._errors",
    "AuthenticationError": "._errors",
    "AzureLlamaError": "._errors",
    "BadRequestError": "._errors",
    "CredentialError": "._errors",
    "InternalServerError": "._errors",
    "NotFoundError": "._errors",
    "PermissionDeniedError": "._errors",
    "RateLimitError": "._errors",
    "RequestValidationError": "._errors",
    "ResponseDecodeError": "._errors",
    "ResponseTooLargeError": "._errors",
    "StreamInterruptedError": "._errors",
    "UnprocessableEntityError": "._errors",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover
    pass


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
