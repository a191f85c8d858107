"""What LiteLLM should know about each Llama model on Azure: context, output limit, price.

Limits and model types come from the transport's one catalogue (`transport.CATALOGUE`, the same
table LangChain's model profile reads); prices are added here, each with its source
(docs/wire-protocol.md §17). A price with no public source is left out rather than guessed: LiteLLM
then reports no cost for that model (it does not invent one).

Per-token prices are Azure's **serverless (pay-as-you-go)** prices. Managed compute is billed per
VM hour, not per token, so a per-token cost is meaningless there; base (text-completion) models
are offered on managed compute only and are registered without a price for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import azure_llama_transport as t

__all__ = ["MODELS", "PROVIDER", "ModelFacts", "model_cost_map", "register_models"]

PROVIDER = "azure_llama"

_LITELLM_MAP = "LiteLLM price map (litellm 1.100.0 model_prices_and_context_window.json), §17"
_NO_PRICE = "no public per-token price found (docs/wire-protocol.md §17): left unpriced"
_MANAGED_ONLY = "base model: managed compute only (billed per VM hour, not per token)"

# Serverless per-token prices (input, output). The Llama 3.1 rows cite the Azure Marketplace
# offers metagenai.meta-llama-3-1-{8b,70b,405b}-instruct-offer; Llama 3.3 cites Azure's "models
# sold directly by Azure" page. The map's Meta-Llama-3-70B-Instruct row (1.1e-06 in, 3.7e-07
# out) cites no source and prices output below input, which is implausible (docs/wire-protocol.md
# §17 "likely an upstream data error"): it is deliberately not used.
_PRICES: Mapping[str, tuple[float, float]] = {
    "Meta-Llama-3.1-8B-Instruct": (3e-07, 6.1e-07),
    "Meta-Llama-3.1-70B-Instruct": (2.68e-06, 3.54e-06),
    "Meta-Llama-3.1-405B-Instruct": (5.33e-06, 1.6e-05),
    "Llama-3.3-70B-Instruct": (7.1e-07, 7.1e-07),
    # Azure's retail prices API (prices.azure.com, serviceName 'Foundry Models', eastus,
    # Consumption), as cited by the map's azure_ai/ row.
    "Llama-4-Maverick-17B-128E-Instruct-FP8": (2.5e-07, 1e-06),
    # Azure's "Introducing the Llama 4 herd in Azure AI Foundry" blog, as cited by the map's
    # azure_ai/ row.
    "Llama-4-Scout-17B-16E-Instruct": (2e-07, 7.8e-07),
}


@dataclass(frozen=True)
class ModelFacts:
    """One model's limits and prices, each with the source it came from."""

    name: str
    mode: Literal["chat", "completion"]
    max_input_tokens: int
    max_output_tokens: int | None
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    limits_source: str
    price_source: str
    supports_function_calling: bool = False
    supports_vision: bool = False
    max_images_per_request: int | None = None  # no LiteLLM model-info field: kept here only


def _facts(entry: t.CatalogueEntry) -> ModelFacts:
    chat = entry.model_type == "chat-completion"
    price = _PRICES.get(entry.name)
    cin, cout = price if price is not None else (None, None)
    sources = entry.sources
    limits = f"context: {sources.context_window}; output: {sources.max_output_tokens}"
    unpriced = _NO_PRICE if chat else _MANAGED_ONLY
    price_source = _LITELLM_MAP if price is not None else unpriced
    return ModelFacts(
        name=entry.name,
        mode="chat" if chat else "completion",
        max_input_tokens=entry.context_window,
        max_output_tokens=entry.max_output_tokens,
        input_cost_per_token=cin,
        output_cost_per_token=cout,
        limits_source=limits,
        price_source=price_source,
        supports_function_calling=entry.native_tools,
        supports_vision=entry.image_inputs,
        max_images_per_request=entry.max_images,
    )


MODELS: tuple[ModelFacts, ...] = tuple(_facts(entry) for entry in t.CATALOGUE)


def model_cost_map(models: tuple[ModelFacts, ...] = MODELS) -> dict[str, dict[str, Any]]:
    """The `litellm.register_model` payload, keyed `azure_llama/<model>`."""
    return {f"{PROVIDER}/{facts.name}": _entry(facts) for facts in models}


def _entry(facts: ModelFacts) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "litellm_provider": PROVIDER,
        "mode": facts.mode,
        "max_input_tokens": facts.max_input_tokens,
        # Azure's model tables say "Tool calling: No" for Llama 3.x (docs/wire-protocol.md §14).
        "supports_function_calling": facts.supports_function_calling,
        "supports_response_schema": False,
        "supports_vision": facts.supports_vision,
    }
    optional: Mapping[str, Any] = {
        "max_output_tokens": facts.max_output_tokens,
        "max_tokens": facts.max_output_tokens,
        "input_cost_per_token": facts.input_cost_per_token,
        "output_cost_per_token": facts.output_cost_per_token,
    }
    entry.update((key, value) for key, value in optional.items() if value is not None)
    if facts.input_cost_per_token is not None:
        # Azure has no prompt caching (so no cached-input discount) for these models: a token
        # ever reported as cached is billed as ordinary input.
        entry["cache_read_input_token_cost"] = facts.input_cost_per_token
    return entry


_registered = False


def register_models() -> None:
    """Register every model with LiteLLM once per process (cheap to call again)."""
    global _registered
    if _registered:
        return
    import litellm

    # Scoped to the provider: LiteLLM then skips guessing a provider from the bare model name.
    litellm.register_model(model_cost_map(), custom_llm_provider=PROVIDER)
    _registered = True
