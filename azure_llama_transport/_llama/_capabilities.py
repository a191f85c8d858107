"""What an endpoint has refused natively, remembered for a while, and how a refusal is recognised.

A refusal is a fact about a deployment (its vLLM server was started without
`--enable-auto-tool-choice`; its gateway answers `response_format: json_schema` with a 422), not
about a client. So the memory is one process-wide store, not a record on a client object:
LangChain builds a sync and an async client per model object, LiteLLM one per credential, and a
record on a client would be relearned by `ainvoke` after `invoke`, and by every model object
aimed at the same deployment, at the price of one refused request each time.
A listener (`add_listener`) is told what the store learns and forgets and asked on a miss:
litellm_azure_llama's fleet layer shares the process-wide store between proxy instances through it.

The key is (endpoint, route, api-version, deployment, model), all plain strings ("" for none):
the route (`api`: "inference" for `/chat/completions`, "llama" for `/v1/chat/completions`) and
the api-version because a server can validate one route or version and not the other; `model`
because on routing endpoints (Azure AI Foundry `/models`) it is what selects the deployment.
The credential is not part of it: on Azure a key or token reaches the endpoint's deployment,
whichever key it is, and what a deployment refuses is the deployment's.

A refusal is remembered for `REFUSAL_TTL_S` seconds (one hour), then the native feature is tried
again (one refused request, then prompted again): a redeployment with the feature enabled is
picked up without a restart, and nothing is remembered forever. `forget()` clears one endpoint at
once; `CAPABILITIES.ttl` sets the lifetime. Callers may pass their own `CapabilityStore`.

Recognised refusals, read from the error's structured fields and nothing wider (a 400 that merely
mentions "tool", or quotes the caller's text containing vLLM's phrase, is not one):

* tools: a 400 whose message (unwrapped from the gateway's `{"error": {"message": "<vLLM JSON>"}}`)
  *is* vLLM's `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be
  set` — it starts with it (docs/wire-protocol.md §11, semantic-kernel#9933) — or a 400/422
  whose `param` is `tools` / `tool_choice` (the Model Inference API's documented 422, §6, §11);
* response_format: a 400/422 whose `param` is `response_format` (the documented 422 names it in
  `detail.loc`, §11).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .._error_body import parse_error_body
from .._errors import (
    AzureLlamaError,
    BadRequestError,
    ContentFilterError,
    UnprocessableEntityError,
)

__all__ = [
    "CAPABILITIES",
    "NOTHING_REFUSED",
    "REFUSAL_TTL_S",
    "Capabilities",
    "CapabilityKey",
    "CapabilityListener",
    "CapabilityStore",
    "Feature",
    "capability_key",
    "refused_feature",
]

Feature = Literal["tools", "response_format"]
# (endpoint, route, api-version, deployment, model): plain strings, "" for none.
CapabilityKey = tuple[str, ...]
_VLLM_AUTO_TOOLS = '"auto" tool choice requires --enable-auto-tool-choice'
_DEPLOYMENT_HEADER = "azureml-model-deployment"
_MAX_ENDPOINTS = 1024
REFUSAL_TTL_S = 3600.0
"""How long a learned refusal is remembered by default (seconds); a store's `ttl` sets its own."""


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
    """A small thread-safe LRU of learned refusals, each until it expires.

    Keys are `CapabilityKey` tuples of strings; an entry is, per feature, the time its refusal
    expires (on `clock`, `time.monotonic` by default). `ttl` (seconds, `REFUSAL_TTL_S` unless
    given) applies to refusals recorded from then on: `transport.CAPABILITIES.ttl = 600`.
    """

    def __init__(
        self,
        maxsize: int = _MAX_ENDPOINTS,
        *,
        ttl: float = REFUSAL_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._known: OrderedDict[CapabilityKey, dict[Feature, float]] = OrderedDict()
        self._listeners: list[CapabilityListener] = []

    def add_listener(self, listener: CapabilityListener) -> None:
        self._listeners.append(listener)

    def get(self, key: CapabilityKey) -> Capabilities:
        if not self._known and not self._listeners:
            return NOTHING_REFUSED  # the common case, read without the lock
        with self._lock:
            live = self._live(key)
        if live is None and self._listeners:  # what another process learned, seeded here
            for feature in {f for listener in self._listeners for f in listener.lookup(key)}:
                self._record(key, feature)
            with self._lock:
                live = self._live(key)
        if not live:
            return NOTHING_REFUSED
        return Capabilities(
            refuses_tools="tools" in live, refuses_response_format="response_format" in live
        )

    def _live(self, key: CapabilityKey) -> dict[Feature, float] | None:
        """The unexpired refusals of `key` (None when nothing is known); under the lock."""
        until = self._known.get(key)
        if until is None:
            return None
        now = self._clock()
        live = {feature: end for feature, end in until.items() if end > now}
        if not live:
            del self._known[key]
            return None
        self._known[key] = live
        return live

    def record_refusal(self, key: CapabilityKey, feature: Feature) -> None:
        self._record(key, feature)
        for listener in self._listeners:
            listener.refused(key, feature)

    def _record(self, key: CapabilityKey, feature: Feature) -> None:
        with self._lock:
            until = self._known.pop(key, None) or {}
            self._known[key] = {**until, feature: self._clock() + self.ttl}
            while len(self._known) > self._maxsize:
                self._known.popitem(last=False)

    def forget(self, endpoint: str | None = None) -> None:
        """Forget one endpoint (every route, version, deployment and model on it), or all."""
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
    *,
    api: str = "inference",
    api_version: str | None = None,
) -> CapabilityKey:
    """The key of one call: a per-call deployment header wins over the client's deployment."""
    for name, value in (headers or {}).items():
        if name.lower() == _DEPLOYMENT_HEADER and value:
            deployment = value
    model = params.get("model")
    return (
        endpoint,
        api,
        api_version or "",
        deployment or "",
        model if isinstance(model, str) else "",
    )


def refused_feature(error: AzureLlamaError, sent: Mapping[str, Any]) -> Feature | None:
    """The native feature `error` refuses, among those `sent` in the body; else None.

    Read from the error's structured fields (status, `param`, the body's own message), never
    from a phrase found anywhere in the text: a 400 quoting the caller's words is not a refusal.
    """
    if isinstance(error, ContentFilterError):
        return None
    if not isinstance(error, (BadRequestError, UnprocessableEntityError)):
        return None
    if sent.get("tools") and (error.param in ("tools", "tool_choice") or _is_vllm_refusal(error)):
        return "tools"
    if sent.get("response_format") and error.param == "response_format":
        return "response_format"
    return None


def _is_vllm_refusal(error: AzureLlamaError) -> bool:
    """vLLM's own error for tools it was not started to parse: a 400 whose message, unwrapped
    from the gateway's wrapper, begins with vLLM's sentence (a quote inside another message
    does not)."""
    if error.status_code != 400 or error.param not in (None, "tools", "tool_choice"):
        return False
    message = parse_error_body(error.body).message
    return message.lstrip().startswith(_VLLM_AUTO_TOOLS)
