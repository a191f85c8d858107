"""LiteLLM custom provider for Meta Llama on Azure AI: `completion(model="azure_llama/...")`.

```python
import litellm
import litellm_azure_llama

litellm_azure_llama.register()  # idempotent: appends to litellm.custom_provider_map once
litellm.completion(
    model="azure_llama/Meta-Llama-3.1-8B-Instruct",
    messages=[{"role": "user", "content": "Hello"}],
    api_base="https://<host>.<region>.models.ai.azure.com",  # else AZURE_INFERENCE_ENDPOINT
    api_key="...",  # else AZURE_INFERENCE_CREDENTIAL
)
```

LiteLLM proxy (`config.yaml`): ``litellm_settings: {custom_provider_map: [{provider: azure_llama,
custom_handler: litellm_azure_llama.handler}]}``.

Provider keyword arguments (besides the OpenAI ones):
- ``model_extras={...}``: body keys sent with ``extra-parameters: pass-through``; unknown keyword
  arguments and ``extra_body`` go the same way (never silently dropped).
- ``azure_llama_api="llama"``: the Llama-native ``/v1/chat/completions`` (and ``/v1/completions``)
  routes, where ``n``, ``best_of``, ``logprobs``, ``ignore_eos``, ... are typed. An ``api_base``
  ending in ``/v1`` selects it too.
- ``deployment="..."``: the ``azureml-model-deployment`` header (managed compute endpoints that
  host several deployments).
- ``tool_calling="auto"|"native"|"prompt"``: how ``tools`` are sent. ``auto`` (default) sends them
  natively until the endpoint refuses them (vLLM-backed Llama deployments do), then writes them
  into the prompt in Meta's Llama 3.1 JSON format, for the life of the process (a proxy fleet
  shares what it learned through its Redis: README, "A fleet"); the answer comes
  back as ordinary ``tool_calls`` either way. Also a proxy ``litellm_params`` key.
  ``response_format`` (a json_schema dict or a pydantic class) is handled the same way: native
  until refused, then asked for in the prompt and validated (``JSONSchemaValidationError``).
- ``api_version="..."``: the ``api-version`` query (default ``2024-05-01-preview``).
- ``azure_ad_token_provider=...``: Microsoft Entra ID (managed compute) instead of a key: a
  token callable (``azure.identity.get_bearer_token_provider(cred, "https://ml.azure.com/.default")``)
  or a credential such as ``DefaultAzureCredential()``.

Model facts: `litellm.get_model_info("azure_llama/<model>")` gives the catalogue's context window,
max output and mode (the transport's `CATALOGUE`, shared with LangChain) and, where a source exists,
the price. `get_model_info(api_base=..., api_key=..., deployment=...)` reads a deployment's own
``/info`` (cached). A ``max_tokens`` above a known model's max output is refused before sending.

Importing this package does not import LiteLLM; `handler`, `AzureLlamaLLM` and `register` load it.
LiteLLM is the ``[litellm]`` extra (``pip install 'langchain-azure-llama[litellm]'``): without it,
``import litellm_azure_llama`` raises an `ImportError` saying so.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import TYPE_CHECKING, Any

from azure_llama_transport import RetiredModelWarning

from ._models import MODELS, PROVIDER, ModelFacts, model_cost_map, register_models

# LiteLLM is an optional extra: say how to get it now rather than fail on first use. `find_spec`
# looks for the package without importing it (importing litellm is slow and tries the network).
if importlib.util.find_spec("litellm") is None:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "litellm_azure_llama needs LiteLLM, which langchain-azure-llama installs only as an extra: "
        "pip install 'langchain-azure-llama[litellm]'",
        name="litellm",
    )

if TYPE_CHECKING:  # pragma: no cover
    from ._handler import AzureLlamaLLM, aget_model_info, get_model_info, handler

__all__ = [
    "MODELS",
    "PROVIDER",
    "AzureLlamaLLM",
    "ModelFacts",
    "RetiredModelWarning",
    "aget_model_info",
    "get_model_info",
    "handler",
    "model_cost_map",
    "register",
    "register_models",
]

_LAZY = {
    "AzureLlamaLLM": "._handler",
    "aget_model_info": "._handler",
    "get_model_info": "._handler",
    "handler": "._handler",
}
_lock = threading.Lock()


def register(custom_handler: AzureLlamaLLM | None = None) -> Any:
    """Make `azure_llama/<model>` live in LiteLLM, and register the models' limits and prices.

    Appends ``{"provider": "azure_llama", "custom_handler": ...}`` to
    `litellm.custom_provider_map` unless an `azure_llama` entry is already there (an existing
    entry is never replaced, and never added twice). Returns the handler in the map.
    """
    import litellm
    from litellm.utils import custom_llm_setup

    with _lock:
        current = [
            item["custom_handler"]
            for item in litellm.custom_provider_map
            if item.get("provider") == PROVIDER
        ]
        if not current:
            chosen = custom_handler or importlib.import_module("._handler", __name__).handler
            litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": chosen})
            current = [chosen]
        custom_llm_setup()  # type: ignore[no-untyped-call]
    register_models()
    return current[0]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
