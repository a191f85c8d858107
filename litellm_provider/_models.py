"""What LiteLLM should know about each Llama model on Azure: context, output limit, price.

Every figure names its source (azure-wire.md §14 and §17). A figure with no public source is left
out rather than guessed: LiteLLM then reports no cost for that model (it does not invent one).

Per-token prices are Azure's **serverless (pay-as-you-go)** prices. Managed compute is billed per
VM hour, not per token, so a per-token cost is meaningless there; base (text-completion) models
are offered on managed compute only and are registered without a price for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["MODELS", "PROVIDER", "ModelFacts", "model_cost_map", "register_models"]

PROVIDER = "azure_llama"

# Sources, by short name (azure-wire.md "Source index").
_AZURE_TABLES = "Azure AI model tables (MicrosoftDocs/azure-ai-docs), azure-wire.md §14"
_LITELLM_MAP = "LiteLLM price map (litellm 1.100.0 model_prices_and_context_window.json), §17"
_LITELLM_155 = "LiteLLM 1.55.4 price map, azure-wire.md §14/§17"
_META_LLAMA2 = "Meta's Llama 2 context length (4k), azure-wire.md §14"
_META_LLAMA3 = "Meta's Llama 3 context length (8k), azure-wire.md §14"
_LLAMA31_128K = "SEED cc2f91e: 'All models support long context length (128k)', §14"
_NO_PRICE = "no public per-token price found (azure-wire.md §17): left unpriced"
_MANAGED_ONLY = "base model: managed compute only (billed per VM hour, not per token)"


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


def _chat(
    name: str,
    window: int,
    output: int | None,
    prices: tuple[float, float] | None,
    limits: str,
    price: str,
) -> ModelFacts:
    cin, cout = prices if prices is not None else (None, None)
    return ModelFacts(name, "chat", window, output, cin, cout, limits, price)


def _base(name: str, window: int, limits: str) -> ModelFacts:
    return ModelFacts(name, "completion", window, None, None, None, limits, _MANAGED_ONLY)


MODELS: tuple[ModelFacts, ...] = (
    # Llama 3.1 Instruct: Azure's own tables give 131,072 in / 8,192 out (LiteLLM's map said
    # 128,000 / 2,048; we follow Azure). Prices: the map rows cite the Azure Marketplace offers
    # metagenai.meta-llama-3-1-{8b,70b,405b}-instruct-offer.
    _chat(
        "Meta-Llama-3.1-8B-Instruct", 131_072, 8_192, (3e-07, 6.1e-07), _AZURE_TABLES, _LITELLM_MAP
    ),
    _chat(
        "Meta-Llama-3.1-70B-Instruct",
        131_072,
        8_192,
        (2.68e-06, 3.54e-06),
        _AZURE_TABLES,
        _LITELLM_MAP,
    ),
    _chat(
        "Meta-Llama-3.1-405B-Instruct",
        131_072,
        8_192,
        (5.33e-06, 1.6e-05),
        _AZURE_TABLES,
        _LITELLM_MAP,
    ),
    # Llama 3.3 (current LiteLLM map, source "models sold directly by Azure").
    _chat("Llama-3.3-70B-Instruct", 128_000, 8_192, (7.1e-07, 7.1e-07), _LITELLM_MAP, _LITELLM_MAP),
    # Llama 3 Instruct: 8k context. The map's Meta-Llama-3-70B-Instruct row (1.1e-06 in,
    # 3.7e-07 out) cites no source and prices output below input, which is implausible
    # (azure-wire.md §17 "likely an upstream data error"): it is deliberately not used.
    _chat("Meta-Llama-3-70B-Instruct", 8_192, 2_048, None, _LITELLM_155, _NO_PRICE),
    _chat("Meta-Llama-3-8B-Instruct", 8_192, None, None, _META_LLAMA3, _NO_PRICE),
    # Llama 2 chat (serverless in East US 2 / West US 3): 4k context, no published token price.
    _chat("Llama-2-7b-chat", 4_096, None, None, _META_LLAMA2, _NO_PRICE),
    _chat("Llama-2-13b-chat", 4_096, None, None, _META_LLAMA2, _NO_PRICE),
    _chat("Llama-2-70b-chat", 4_096, None, None, _META_LLAMA2, _NO_PRICE),
    # Base models, for litellm.text_completion(): /completions or /v1/completions.
    _base("Meta-Llama-3.1-8B", 131_072, _LLAMA31_128K),
    _base("Meta-Llama-3.1-70B", 131_072, _LLAMA31_128K),
    _base("Meta-Llama-3-8B", 8_192, _META_LLAMA3),
    _base("Meta-Llama-3-70B", 8_192, _META_LLAMA3),
    _base("Llama-2-7b", 4_096, _META_LLAMA2),
    _base("Llama-2-13b", 4_096, _META_LLAMA2),
    _base("Llama-2-70b", 4_096, _META_LLAMA2),
)


def model_cost_map(models: tuple[ModelFacts, ...] = MODELS) -> dict[str, dict[str, Any]]:
    """The `litellm.register_model` payload, keyed `azure_llama/<model>`."""
    return {f"{PROVIDER}/{facts.name}": _entry(facts) for facts in models}


def _entry(facts: ModelFacts) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "litellm_provider": PROVIDER,
        "mode": facts.mode,
        "max_input_tokens": facts.max_input_tokens,
        # Azure's model tables say "Tool calling: No" for Llama 3.x (azure-wire.md §14).
        "supports_function_calling": False,
        "supports_response_schema": False,
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
