"""Deprecated: the emulator is the top-level package `azure_llama_emulator` now.

``import langchain_azure_llama.emulator`` keeps working as a thin alias (it warns with a
`DeprecationWarning`): it re-exports the public API, `azure_llama_emulator.__all__`, and
``python -m langchain_azure_llama.emulator`` still starts it. Private submodules
(``langchain_azure_llama.emulator._faults`` and the like) are not aliased: import them from
`azure_llama_emulator`.
"""

import warnings as _warnings

from azure_llama_emulator import *  # noqa: F403
from azure_llama_emulator import __all__ as __all__

_warnings.warn(
    "langchain_azure_llama.emulator is deprecated: import azure_llama_emulator instead",
    DeprecationWarning,
    stacklevel=2,
)
