"""What an endpoint URL, as a user typed it, says: the base URL, the API and the kind.

Front ends hand over the text they were given (LiteLLM's `api_base`, a proxy's `litellm_params`)
and get back what to configure the client with, so that no front end knows a route's URL rules.
The Llama docs point OpenAI-style clients at ``<endpoint>/v1`` (the Llama-native routes); the
OpenAI v1 route of a Foundry resource (``<resource>.openai.azure.com/openai/v1``) also ends in
``/v1`` but is a kind of its own, never the Llama-native API (docs/wire-protocol.md §20).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._config import EndpointKind, detect_endpoint_kind
from ._request import Api

__all__ = ["EndpointFacts", "endpoint_facts"]

_LLAMA_SUFFIX = "/v1"
_OPENAI_V1_SUFFIX = "/openai/v1"


@dataclass(frozen=True)
class EndpointFacts:
    """The endpoint to configure, the API its form selects, and its kind."""

    endpoint: str
    api: Api
    kind: EndpointKind


# Every call names its endpoint; the few a process uses are read once.
@functools.lru_cache(maxsize=64)
def endpoint_facts(text: str, endpoint_kind: str | None = None) -> EndpointFacts:
    """Read `text` (an endpoint URL, maybe with the Llama-native ``/v1``) once.

    Args:
        text: The endpoint as given; a trailing slash is dropped.
        endpoint_kind: The kind the caller set, if any (checked: a bad kind is refused).

    Raises:
        RequestValidationError: `endpoint_kind` is not a known kind.
    """
    endpoint = text.strip().rstrip("/")
    kind = detect_endpoint_kind(endpoint, endpoint_kind)
    api: Api = "inference"
    v1_route = kind == "openai-v1" or endpoint.lower().endswith(_OPENAI_V1_SUFFIX)
    if endpoint.endswith(_LLAMA_SUFFIX) and not v1_route:
        endpoint, api = endpoint[: -len(_LLAMA_SUFFIX)], "llama"
        kind = detect_endpoint_kind(endpoint, endpoint_kind)
    return EndpointFacts(endpoint, api, kind)
