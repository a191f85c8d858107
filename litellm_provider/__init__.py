"""Deprecated: the LiteLLM provider is `litellm_azure_llama` now.

``import litellm_provider`` keeps working as a thin alias (it warns with a
`DeprecationWarning`): it re-exports the public API, `litellm_azure_llama.__all__`, so a LiteLLM
proxy config's ``custom_handler: litellm_provider.handler`` still finds the same handler object
(write ``litellm_azure_llama.handler`` instead). Private submodules
(``litellm_provider._handler`` and the like) are not aliased: import them from
`litellm_azure_llama`. Like `litellm_azure_llama`, it raises an `ImportError` naming the
``[litellm]`` extra when LiteLLM is not installed.
"""

import warnings as _warnings

from litellm_azure_llama import *  # noqa: F403
from litellm_azure_llama import __all__ as __all__

_warnings.warn(
    "litellm_provider is deprecated: import litellm_azure_llama instead "
    "(proxy configs: custom_handler: litellm_azure_llama.handler)",
    DeprecationWarning,
    stacklevel=2,
)
