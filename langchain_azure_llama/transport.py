"""Deprecated: the transport is the top-level package `azure_llama_transport` now.

``import langchain_azure_llama.transport`` keeps working as a thin alias (it warns with a
`DeprecationWarning`): it re-exports the public API, `azure_llama_transport.__all__`. Private
submodules (``langchain_azure_llama.transport._client`` and the like) are not aliased: import
them from `azure_llama_transport`. Importing this alias loads the LangChain package's root, which
`azure_llama_transport` never does.
"""

import warnings as _warnings

from azure_llama_transport import *  # noqa: F403
from azure_llama_transport import __all__ as __all__

_warnings.warn(
    "langchain_azure_llama.transport is deprecated: import azure_llama_transport instead",
    DeprecationWarning,
    stacklevel=2,
)
