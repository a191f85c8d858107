"""Meta Llama on Azure AI for LangChain, over the shared transport.

The transport is its own package, `azure_llama_transport` (which never imports this one), and
the emulator `azure_llama_emulator`; ``langchain_azure_llama.transport`` and
``langchain_azure_llama.emulator`` are deprecated aliases of them (README, "Package layout").

The package root is lazy: ``import langchain_azure_llama`` (for `__version__`, say) loads neither
langchain-core nor the transport, and each name below loads its module on first access.
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

# public name -> module that defines it (relative to this package, or absolute)
_LAZY: dict[str, str] = {
    "AzureLlama": ".llms",
    "ChatAzureLlama": ".chat_models",
    "RetiredModelWarning": "azure_llama_transport",
    **dict.fromkeys(_ERRORS, "._errors"),
}

__all__ = ["AzureLlama", "ChatAzureLlama", "RetiredModelWarning", "__version__", *_ERRORS]

# Type checkers see the real classes (at run time `__getattr__` loads them on first access).
if TYPE_CHECKING:  # pragma: no cover
    from azure_llama_transport import RetiredModelWarning

    from ._errors import *  # noqa: F403
    from .chat_models import ChatAzureLlama
    from .llms import AzureLlama


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
