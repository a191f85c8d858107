"""Meta Llama on Azure AI for LangChain, over the shared transport.

The package root is lazy: ``import langchain_azure_llama.transport`` (or the emulator)
must not pay for langchain-core, so the LangChain names load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# The errors' names: `._errors.__all__` (the transport's error list and `ContentFilterWarning`),
# written out so that importing the root loads neither langchain-core nor the transport;
# `tests/langchain/test_exports.py` checks that it is that list.
_ERRORS = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AzureLlamaError",
    "BadRequestError",
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
    "StreamInterruptedError",
    "StructuredOutputError",
    "UnprocessableEntityError",
)

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    "AzureLlama": ".llms",
    "ChatAzureLlama": ".chat_models",
    "RetiredModelWarning": ".transport",
    **dict.fromkeys(_ERRORS, "._errors"),
}

__all__ = ["AzureLlama", "ChatAzureLlama", "RetiredModelWarning", "__version__", *_ERRORS]

# Type checkers see the real classes (at run time `__getattr__` loads them on first access).
if TYPE_CHECKING:  # pragma: no cover
    from ._errors import *  # noqa: F403
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
