"""What an endpoint has refused natively, remembered, and how a refusal is recognised.

A refusal is a fact about a deployment (its vLLM server was started without
`--enable-auto-tool-choice`; its gateway answers `response_format: json_schema` with a 422), not
about a client. So the memory is one process-wide store keyed by (endpoint, deployment, model),
not a record on a client object: LangChain builds a sync and an async client per model object,
LiteLLM one per credential, and a record on a client would be relearned by `ainvoke` after
`invoke`, and by every model object aimed at the same deployment, at the price of one refused
request each time. `model` is part of the key because on routing endpoints (Azure AI Foundry
`/models`) it is what selects the deployment. Callers may pass their own `CapabilityStore`
(tests do); `forget()` clears one endpoint after a redeployment. A listener (`add_listener`) is
told what the store learns and forgets and asked on a miss: litellm_provider's fleet layer shares
the process-wide store between proxy instances through it.

Recognised refusals, and nothing wider (a 400 that merely mentions "tool" is not one):

* tools: the 400 wrapping vLLM's `"auto" tool choice requires --enable-auto-tool-choice and
  --tool-call-parser to be set` (docs/wire-protocol.md §11, semantic-kernel#9933), or a 400/422
  whose `param` is `tools` / `tool_choice` (the Model Inference API's documented 422, §6 and §11);
* response_format: a 400/422 whose `param` is `response_format` (the documented 422 names it in
  `detail.loc`, §11).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from .._errors import (
    AzureLlamaError,
    BadRequestError,
    ContentFilterError,
    UnprocessableEntityError,
)

__all__ = [
    "CAPABILITIES",
    "NOTHING_REFUSED",
    "Capabilities",
    "CapabilityKey",
    "CapabilityListener",
    "CapabilityStore",
    "Feature",
    "capability_key",
    "refused_feature",
]

Feature = Literal["tools", "response_format"]
CapabilityKey = tuple[str, str | None, str | None]
_VLLM_AUTO_TOOLS = '"auto" tool choice requires --enable-auto-tool-choice'
_DEPLOYMENT_HEADER = "azureml-model-deployment"
_MAX_ENDPOINTS = 1024


@dataclass(frozen=True)
class Capabilities:
    """What one endpoint is known to refuse natively (False = never seen refusing)."""

    refuses_tools: bool = False
    refuses_response_format: bool = False

    def refuses(self, feature: Feature) -> bool:
        return self.refuses_tools if feature == "tools" else self.refuses_response_format


NOTHING_REFUSED = Capabilities()
"""What an endpoint never seen refusing is known to refuse (frozen: one shared instance)."""


class CapabilityListener(Protocol):
    """Told what a store learns and forgets, and asked what it knows on a miss. Must not raise."""

    def refused(self, key: CapabilityKey, feature: Feature) -> None: ...
    def forgot(self, endpoint: str | None) -> None: ...
    def lookup(self, key: CapabilityKey) -> Iterable[Feature]: ...


class CapabilityStore:
    """A small thread-safe LRU of `Capabilities`, keyed by (endpoint, deployment, model)."""

    def __init__(self, maxsize: int = _MAX_ENDPOINTS) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._known: OrderedDict[CapabilityKey, Capabilities] = OrderedDict()
        self._listeners: list[CapabilityListener] = []

    def add_listener(self, listener: CapabilityListener) -> None:
        self._listeners.append(listener)

    def get(self, key: CapabilityKey) -> Capabilities:
        with self._lock:
            known = self._known.get(key)
        if known is None and self._listeners:  # what another process learned, seeded here
            for feature in {f for listener in self._listeners for f in listener.lookup(key)}:
                self._record(key, feature)
            with self._lock:
                known = self._known.get(key)
        return known or NOTHING_REFUSED

    def record_refusal(self, key: CapabilityKey, feature: Feature) -> None:
        self._record(key, feature)
        for listener in self._listeners:
            listener.refused(key, feature)

    def _record(self, key: CapabilityKey, feature: Feature) -> None:
        with self._lock:
            known = self._known.pop(key, None) or NOTHING_REFUSED
            field = "refuses_tools" if feature == "tools" else "refuses_response_format"
            self._known[key] = replace(known, **{field: True})
            while len(self._known) > self._maxsize:
                self._known.popitem(last=False)

    def forget(self, endpoint: str | None = None) -> None:
        """Forget one endpoint (every deployment and model on it), or everything."""
        with self._lock:
            for key in [k for k in self._known if endpoint is None or k[0] == endpoint]:
                del self._known[key]
        for listener in self._listeners:
            listener.forgot(endpoint)


CAPABILITIES = CapabilityStore()
"""The process-wide store every protocol call uses unless given its own."""


def capability_key(
    endpoint: str,
    deployment: str | None,
    params: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> CapabilityKey:
    """The key of one call: a per-call deployment header wins over the client's deployment."""
    for name, value in (headers or {}).items():
        if name.lower() == _DEPLOYMENT_HEADER and value:
            deployment = value
    model = params.get("model")
    return (endpoint, deployment, model if isinstance(model, str) else None)


def refused_feature(error: AzureLlamaError, sent: Mapping[str, Any]) -> Feature | None:
    """The native feature `error` refuses, among those `sent` in the body; else None."""
    if isinstance(error, ContentFilterError):
        return None
    if not isinstance(error, (BadRequestError, UnprocessableEntityError)):
        return None
    if sent.get("tools") and (
        error.param in ("tools", "tool_choice") or _VLLM_AUTO_TOOLS in error.message
    ):
        return "tools"
    if sent.get("response_format") and error.param == "response_format":
        return "response_format"
    return None
