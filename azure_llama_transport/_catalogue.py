"""The Llama models Azure serves, and what a deployment of each kind accepts.

One table (`CATALOGUE`) of the models the seed page lists (docs/wire-protocol.md §14) and of those
Azure sells today (Llama 3.3, Llama 4: §21), each figure with the source it came from, and each
retired model with its retirement date and Azure's suggested replacement; both front ends read it
(LangChain's model profile, LiteLLM's model info), and so do the `max_tokens` check made before
sending and the retired-model warning (`_lifecycle`). Prices are not here: they are a LiteLLM
concern (`litellm_azure_llama._models`, docs/wire-protocol.md §17).

`/info` tells a chat deployment from a text-generation (base model) one. A chat request sent to a
base model (or the reverse) is answered 404 `NOT FOUND`; `explain_not_found` turns that 404 into
an error that says which class or function to use instead, consulting the client's cached
`/info` only once a 404 has happened, so a correct call costs no extra request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ._errors import AzureLlamaError, NotFoundError, RequestValidationError
from ._types import ModelInfo, ModelKind

if TYPE_CHECKING:  # pragma: no cover
    from ._client import AsyncAzureLlamaClient, AzureLlamaClient

__all__ = [
    "CATALOGUE",
    "CatalogueEntry",
    "ModelKind",
    "ModelSources",
    "Retirement",
    "aexplain_not_found",
    "check_max_tokens",
    "check_model_type",
    "explain_not_found",
    "listed",
    "lookup",
    "model_type_error",
    "remember_served",
]

Offer = Literal["serverless", "managed", "foundry"]
MISMATCH_CODE = "model_type_mismatch"


@dataclass(frozen=True)
class ModelSources:
    """Where each figure of a catalogue row came from (sections of docs/wire-protocol.md)."""

    model_type: str
    context_window: str
    max_output_tokens: str
    native_tools: str


@dataclass(frozen=True)
class Retirement:
    """When Azure retired a model, and what it suggests instead (with the source)."""

    date: str  # ISO date; "lifecycle stages go into effect at 00:00:00 UTC" on it
    replacement: str
    source: str


@dataclass(frozen=True)
class CatalogueEntry:
    """One Llama model as Azure serves it.

    Attributes:
        name: The model name as Azure spells it (`/info` `model_name`).
        model_type: "chat-completion" (chat routes) or "text-generation" (base model:
            `/completions` and `/v1/completions`).
        context_window: Tokens of prompt plus answer the model takes.
        max_output_tokens: The most tokens one answer may have, when a source gives it; else
            None, and the context window is the only bound.
        native_tools: Whether Azure documents native `tools` for it (no Llama row does).
        offers: Where it can be deployed: "serverless" (pay-as-you-go), "managed", and/or
            "foundry" (a Foundry resource: /models and the OpenAI v1 route).
        sources: The source of each figure.
        image_inputs: Whether Azure lists images among its inputs.
        max_images: Images Azure accepts in one request, where that is documented.
        response_formats: The response formats Azure lists ("text" for every Llama row).
        retired: When Azure retired it and what it suggests instead; None while it is sold.
        listed_today: Whether Azure's current model tables (docs/wire-protocol.md §21) list it,
            so that `native_tools=False` and `response_formats=("text",)` are what Azure says
            today ("Tool calling: No", "Response formats: Text") rather than a figure from the
            seed page or no figure at all. The Llama protocol's "auto" prompts first for these
            (`transport._llama._plan`); for the others it sends native `tools` first.
    """

    name: str
    model_type: ModelKind
    context_window: int
    max_output_tokens: int | None
    native_tools: bool
    offers: tuple[Offer, ...]
    sources: ModelSources
    image_inputs: bool = False
    max_images: int | None = None
    response_formats: tuple[str, ...] = ("text",)
    retired: Retirement | None = None
    listed_today: bool = False

    @property
    def output_limit(self) -> int:
        """The bound `max_tokens` is checked against: the max output, else the context."""
        return self.max_output_tokens or self.context_window


# Sources, by short name (docs/wire-protocol.md §14, §16, §17).
_AZ_TABLES = "Azure AI model tables, docs/wire-protocol.md §14"
_SEED_31 = "SEED cc2f91e (3.1 release wave), docs/wire-protocol.md §14"
_SEED_L3 = "SEED Llama 3 tab / LLAMA3-DOC, docs/wire-protocol.md §2 and §14"
_SEED_L2 = "SEED Llama 2 tab / LLAMA2-DOC, docs/wire-protocol.md §2 and §14"
_LLAMA31_128K = (
    "SEED cc2f91e: 'All models support long context length (128k)', docs/wire-protocol.md §14"
)
_META_L3 = "Meta's Llama 3 context (8k), docs/wire-protocol.md §14"
_META_L2 = "Meta's Llama 2 context (4k; not restated by Azure), docs/wire-protocol.md §14"
_LITELLM_155 = "LiteLLM 1.55.4 price map, docs/wire-protocol.md §14 and §17"
_LITELLM_MAP = (
    "LiteLLM price map (Azure 'models sold directly by Azure' row), docs/wire-protocol.md §17"
)
_NO_OUTPUT = "none published (docs/wire-protocol.md §14): bounded by the context window"
_NO_TOOLS = "Azure tables: 'Tool calling: No', docs/wire-protocol.md §14"
_TOOLS_UNDOCUMENTED = "not documented on Azure (assume no), docs/wire-protocol.md §14"
_BASE_TOOLS = "base model: text completion only, no tools (docs/wire-protocol.md §2)"
# Today's models (docs/wire-protocol.md §21).
_SOLD = "Azure 'models sold directly by Azure' table, docs/wire-protocol.md §21"
_PARTNERS = "Azure 'models from partners' table, docs/wire-protocol.md §21"
_NO_TOOLS_TODAY = (
    "Azure tables: 'Tool calling: No', 'Response formats: Text' (docs/wire-protocol.md §21)"
)
_SCOUT_LITELLM = (
    "LiteLLM price map row azure_ai/Llama-4-Scout-17B-16E-Instruct, citing Azure's 'Introducing "
    "the Llama 4 herd in Azure AI Foundry' blog (docs/wire-protocol.md §21; Azure's own "
    "table gives no figure)"
)
_MAVERICK_IMAGES = "1 image per request: Azure's answer quoted in meta-llama/llama-cookbook#938"
# Retirements (docs/wire-protocol.md §21): "Retired Foundry Models" and "Upcoming retirements"
_LIFECYCLE = (
    "MicrosoftDocs/azure-ai-docs articles/foundry/includes/"
    "concepts-model-lifecycle-retirement-content.md (ms.date 2026-03-31)"
)
_NA = (
    "Azure names none (N/A); sold today: Llama-3.3-70B-Instruct or "
    "Llama-4-Maverick-17B-128E-Instruct-FP8"
)


def _retired(date: str, replacement: str) -> Retirement:
    return Retirement(date, replacement, _LIFECYCLE)


_GONE_2025_8B = _retired(
    "2025-06-30", "Meta-Llama-3.1-8B-Instruct (Azure's suggestion; itself retired 2026-06-13)"
)
_GONE_2025_70B = _retired("2025-06-30", "Llama-3.3-70B-Instruct")
_GONE_2026 = _retired("2026-06-13", _NA)
_BOTH: tuple[Offer, ...] = ("serverless", "managed")
_MANAGED: tuple[Offer, ...] = ("managed",)
_SERVERLESS: tuple[Offer, ...] = ("serverless",)


def _chat(
    name: str,
    window: tuple[int, str],
    output: tuple[int | None, str],
    tools: str,
    offers: tuple[Offer, ...],
    type_source: str,
    retired: Retirement | None = None,
    *,
    listed_today: bool = False,
) -> CatalogueEntry:
    sources = ModelSources(type_source, window[1], output[1], tools)
    return CatalogueEntry(
        name,
        "chat-completion",
        window[0],
        output[0],
        False,
        offers,
        sources,
        retired=retired,
        listed_today=listed_today,
    )


def _base(
    name: str,
    window: tuple[int, str],
    offers: tuple[Offer, ...],
    src: str,
    retired: Retirement | None = None,
) -> CatalogueEntry:
    sources = ModelSources(src, window[1], _NO_OUTPUT, _BASE_TOOLS)
    return CatalogueEntry(
        name, "text-generation", window[0], None, False, offers, sources, retired=retired
    )


def _llama4(
    name: str, window: tuple[int, str], output: tuple[int | None, str], images: int | None
) -> CatalogueEntry:
    source = _SOLD if "Maverick" in name else _PARTNERS
    sources = ModelSources(source, window[1], output[1], _NO_TOOLS_TODAY)
    return CatalogueEntry(
        name,
        "chat-completion",
        window[0],
        output[0],
        False,
        ("foundry",),
        sources,
        image_inputs=True,  # "text + images" (Maverick), "text + image" (Scout): §21
        max_images=images,
        listed_today=True,
    )


_L2 = ((4_096, _META_L2), (None, _NO_OUTPUT))
_L3 = (8_192, _META_L3)
_L31 = ((131_072, _AZ_TABLES), (8_192, _AZ_TABLES))

CATALOGUE: tuple[CatalogueEntry, ...] = (
    # Sold today on Foundry resources (/models and the OpenAI v1 route), §21.
    _chat(
        "Llama-3.3-70B-Instruct",
        (128_000, _SOLD + " ('128k'); LiteLLM's map: 128,000"),
        (8_192, _LITELLM_MAP),
        _NO_TOOLS_TODAY + "; serverless calls ignored tools (semantic-kernel#10221)",
        ("serverless", "foundry"),
        _SOLD,
        listed_today=True,
    ),
    _llama4(
        "Llama-4-Maverick-17B-128E-Instruct-FP8",
        (1_000_000, _SOLD + " ('1M')"),
        (None, _NO_OUTPUT),
        1,
    ),
    _llama4(
        "Llama-4-Scout-17B-16E-Instruct",
        (10_000_000, _SCOUT_LITELLM),
        (16_384, _SCOUT_LITELLM),
        None,
    ),
    # Retired (dates and replacements: _LIFECYCLE). Llama 2 chat.
    _chat("Llama-2-7b-chat", *_L2, _TOOLS_UNDOCUMENTED, _BOTH, _SEED_L2, _GONE_2025_8B),
    _chat("Llama-2-13b-chat", *_L2, _TOOLS_UNDOCUMENTED, _BOTH, _SEED_L2, _GONE_2025_8B),
    _chat("Llama-2-70b-chat", *_L2, _TOOLS_UNDOCUMENTED, _BOTH, _SEED_L2, _GONE_2025_70B),
    # Llama 3 Instruct: 8k context. Only the 70B has an output figure (LiteLLM's).
    _chat(
        "Meta-Llama-3-8B-Instruct",
        _L3,
        (None, _NO_OUTPUT),
        _TOOLS_UNDOCUMENTED,
        _BOTH,
        _SEED_L3,
        _GONE_2025_8B,
    ),
    _chat(
        "Meta-Llama-3-70B-Instruct",
        _L3,
        (2_048, _LITELLM_155),
        _TOOLS_UNDOCUMENTED,
        _BOTH,
        _SEED_L3,
        _GONE_2025_70B,
    ),
    # Llama 3.1 Instruct: Azure's own tables (LiteLLM's map said 128,000 / 2,048; Azure wins).
    _chat("Meta-Llama-3.1-8B-Instruct", *_L31, _NO_TOOLS, _BOTH, _SEED_31, _GONE_2026),
    _chat("Meta-Llama-3.1-70B-Instruct", *_L31, _NO_TOOLS, _BOTH, _SEED_31, _GONE_2025_70B),
    _chat("Meta-Llama-3.1-405B-Instruct", *_L31, _NO_TOOLS, _SERVERLESS, _SEED_31, _GONE_2026),
    # Base (text-completion) models: /completions or /v1/completions, on managed compute.
    _base("Meta-Llama-3.1-8B", (131_072, _LLAMA31_128K), _MANAGED, _SEED_31, _GONE_2026),
    _base("Meta-Llama-3.1-70B", (131_072, _LLAMA31_128K), _MANAGED, _SEED_31),
    _base("Meta-Llama-3-8B", _L3, _MANAGED, _SEED_L3),
    _base("Meta-Llama-3-70B", _L3, _MANAGED, _SEED_L3),
    _base("Llama-2-7b", _L2[0], _BOTH, _SEED_L2, _GONE_2025_8B),
    _base("Llama-2-13b", _L2[0], _BOTH, _SEED_L2, _GONE_2025_8B),
    _base("Llama-2-70b", _L2[0], _BOTH, _SEED_L2, _GONE_2025_70B),
)

_AZUREML_URI = re.compile(r"/models/([^/]+)")


# A process sees a handful of names, each on every call (`check_max_tokens`): fold each once.
@functools.lru_cache(maxsize=256)
def _key(name: str) -> str:
    """Fold the spellings one model goes by into one key.

    Case, separators ("3.1" and the deployment-style "3-1"), a leading "Meta-" (the seed page
    writes both "Llama-2-7b-chat" and "Meta-Llama-2-7B-Chat"), a provider prefix
    ("azure_llama/...", "meta-llama/...") and Azure ML asset ids ("azureml://registries/
    azureml-meta/models/<name>/versions/4", "azureml:<name>:4") all fold away.
    """
    text = name.strip().lower()
    match = _AZUREML_URI.search(text) if text.startswith("azureml://") else None
    if match:
        text = match.group(1)
    elif text.startswith("azureml:"):
        text = text.split(":")[1]
    else:
        text = text.rsplit("/", 1)[-1]
    return re.sub(r"[^a-z0-9]", "", text).removeprefix("meta")


_INDEX: dict[str, CatalogueEntry] = {_key(entry.name): entry for entry in CATALOGUE}


# Deployment names seen answering as a known model ("my-maverick" -> its row), bounded.
_SERVED: dict[str, CatalogueEntry] = {}
_MAX_SERVED = 256


def lookup(model: str | None) -> CatalogueEntry | None:
    """The catalogue row of `model`, or None for a name the catalogue does not know.

    Tolerant of case, separators, a leading "Meta-", provider prefixes (`azure_llama/`) and
    Azure ML asset ids (`azureml://registries/azureml-meta/models/<name>/versions/<n>`).
    A deployment name that is not a model name (e.g. "my-maverick") is known once an answer
    to it has named the model it serves (`remember_served`), else not known.
    """
    if not model:
        return None
    key = _key(model)
    return _INDEX.get(key) or _SERVED.get(key)


def listed(model: str | None) -> CatalogueEntry | None:
    """The catalogue row of a model name itself (as an answer names it): `lookup` without the
    deployment names remembered from earlier answers."""
    return _INDEX.get(_key(model)) if model else None


def remember_served(requested: str, served: str) -> None:
    """Note that the deployment called `requested` answered as `served` (the answer's `model`):
    later lookups of `requested` (the `max_tokens` check, profiles, token counting) find the
    served model's row. A served name the catalogue does not know changes nothing."""
    entry = _INDEX.get(_key(served))
    key = _key(requested)
    if entry is None or key in _INDEX or _SERVED.get(key) is entry:
        return
    if len(_SERVED) >= _MAX_SERVED:
        _SERVED.pop(next(iter(_SERVED)))
    _SERVED[key] = entry


def check_max_tokens(model: str | None, max_tokens: Any) -> None:
    """Refuse `max_tokens` above what `model` can produce (only when the model is known).

    Raises:
        RequestValidationError: `max_tokens` exceeds the model's max output tokens (or, when no
            source gives one, its context window).
    """
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return  # nothing to check (most calls leave max_tokens unset)
    entry = lookup(model)
    if entry is None:
        return
    if max_tokens > entry.output_limit:
        sources = entry.sources
        what, source = (
            ("max output", sources.max_output_tokens)
            if entry.max_output_tokens
            else ("context window", sources.context_window)
        )
        raise RequestValidationError(
            f"max_tokens={max_tokens} exceeds {entry.name}'s {what} of {entry.output_limit:,} "
            f"tokens ({source}); lower max_tokens.",
            param="max_tokens",
        )


# -- model type: chat vs text-generation --------------------------------------------------------

_ROUTES = {
    "chat-completion": "the chat routes (/chat/completions, /v1/chat/completions)",
    "text-generation": "the text-completion routes (/completions, /v1/completions)",
}
_KIND = {"chat-completion": "a chat", "text-generation": "a text-generation (base)"}


def model_type_error(
    info: Mapping[str, Any], *, expected: ModelKind, use: str, detail: str = ""
) -> NotFoundError | None:
    """The error to raise when `/info` says the deployment is not of the `expected` type.

    Args:
        info: The deployment's `/info` (as `get_model_info` returns it, type normalised).
        expected: The type the caller's class or function needs.
        use: What to use instead, e.g. "Use AzureLlama (langchain_azure_llama.AzureLlama).".
        detail: What the service answered, appended to the message.

    Returns:
        A `NotFoundError` (status 404, code "model_type_mismatch", body = the `/info`), or
        None when the types match or `/info` names no type.
    """
    actual = info.get("model_type")
    if not isinstance(actual, str) or actual == expected:
        return None
    name = info.get("model_name") or info.get("served_model_name") or "This deployment"
    raw = info.get("raw_model_type", actual)
    kind = _KIND.get(actual, f"an {actual!r}")
    message = (
        f"{name} is {kind} model (/info model_type={raw!r}); it does not serve "
        f"{_ROUTES[expected]}. {use}"
    )
    return NotFoundError(
        message + (f" (Azure answered: {detail})" if detail else ""),
        status_code=404,
        code=MISMATCH_CODE,
        body=dict(info),
    )


def check_model_type(info: ModelInfo, *, expected: ModelKind, use: str) -> ModelInfo:
    """Return `info` when the deployment is of the `expected` type, else raise.

    Raises:
        NotFoundError: code "model_type_mismatch"; status 404, which is what the deployment
            answers when sent requests of the other type.
    """
    error = model_type_error(info, expected=expected, use=use)
    if error is not None:
        raise error
    return info


def explain_not_found(
    client: AzureLlamaClient, error: NotFoundError, *, expected: ModelKind, use: str
) -> NotFoundError | None:
    """After a 404: the clearer error when the deployment is of the other type, else None.

    Reads the client's cached `/info` (one request the first time). An endpoint without
    `/info`, or any other failure reading it, leaves the original 404 standing (None).
    """
    try:
        info = client.get_model_info()
    except AzureLlamaError:
        return None
    return model_type_error(info, expected=expected, use=use, detail=error.message)


async def aexplain_not_found(
    client: AsyncAzureLlamaClient, error: NotFoundError, *, expected: ModelKind, use: str
) -> NotFoundError | None:
    """Async twin of `explain_not_found`."""
    try:
        info = await client.get_model_info()
    except AzureLlamaError:
        return None
    return model_type_error(info, expected=expected, use=use, detail=error.message)
