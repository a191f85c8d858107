"""Meta Llama on Azure AI for LangChain, over the shared transport.

The package root is lazy: ``import langchain_azure_llama.transport`` (or the emulator)
must not pay for langchain-core, so the LangChain names load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

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
    "ContextWindowExceededError": "._errors",
    "CredentialError": "._errors",
    "InternalServerError": "._errors",
    "NotFoundError": "._errors",
    "PermissionDeniedError": "._errors",
    "RateLimitError": "._errors",
    "RedirectError": "._errors",
    "RequestValidationError": "._errors",
    "ResponseDecodeError": "._errors",
    "ResponseTooLargeError": "._errors",
    "RetiredModelWarning": ".transport",
    "StreamInterruptedError": "._errors",
    "StructuredOutputError": "._errors",
    "UnprocessableEntityError": "._errors",
}

# A literal list, so that type checkers know these are re-exported.
__all__ = [
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
    "ContextWindowExceededError",
    "CredentialError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RetiredModelWarning",
    "StreamInterruptedError",
    "StructuredOutputError",
    "UnprocessableEntityError",
    "__version__",
]

# Type checkers see the real classes (at run time `__getattr__` loads them on first access);
# `tests/test_packaging.py` pins that this block and `_LAZY` name the same things.
if TYPE_CHECKING:  # pragma: no cover
    from ._errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        AzureLlamaError,
        BadRequestError,
        ContentFilterError,
        ContentFilterWarning,
        ContextWindowExceededError,
        CredentialError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RedirectError,
        RequestValidationError,
        ResponseDecodeError,
        ResponseTooLargeError,
        StreamInterruptedError,
        StructuredOutputError,
        UnprocessableEntityError,
    )
    from .chat_models import ChatAzureLlama
    from .llms import AzureLlama
    from .transport import RetiredModelWarning


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
