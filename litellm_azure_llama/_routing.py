"""What a LiteLLM proxy client may not choose: where and how the upstream is called.

The settings that pick the upstream (the deployment, the route, the api-version, the endpoint
kind, the endpoint, the credential, and headers carrying routing or auth) belong to whoever
configures the provider: the operator's `litellm_params` in the proxy's `config.yaml`, or the
caller of `litellm.completion` / a `litellm.Router` in Python, who is their own operator.

Through the proxy both arrive mixed: the Router calls `litellm.completion` with the client's
request merged over the deployment's `litellm_params` (`{**litellm_params, **request}`), so a
body's `deployment` (or `azure_llama_api`, `api_version`, ...) replaces the operator's and lands
in the same `optional_params`. LiteLLM's signal of which is which is the proxy's own snapshot of
the client's request, `litellm_params["proxy_server_request"]`: its `body` (taken before the
Router merges anything in, with `?api-version=` from the URL already in it) and its
`caller_credential_fields` (`api_key`, `headers`, `extra_headers`, ... that the caller sent, kept
out of the body snapshot). A call without that snapshot is not a proxy client's: nothing to check.

A routing setting sent by a proxy client is refused (`RequestValidationError`, a 400 for the
client) rather than ignored: the operator's value has already been replaced by the time the
provider runs, so ignoring it would mean guessing. The LiteLLM proxy refuses `api_base` and
`base_url` itself (unless its operator allows client-side credentials); they are refused here
too, whatever the proxy allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import azure_llama_transport as t

from ._convert import API_KEY, DEPLOYMENT_KEY, ENDPOINT_KIND_KEY

__all__ = ["ROUTING_HEADERS", "ROUTING_KEYS", "ClientRoutingRefused", "refuse_client_routing"]

# Request keys that choose where and how the upstream is called.
ROUTING_KEYS = frozenset(
    {
        DEPLOYMENT_KEY,  # the deployment header: another deployment
        API_KEY,  # `azure_llama_api`: the Llama-native /v1 routes, not the Model Inference API
        ENDPOINT_KIND_KEY,  # the kind: the Entra scope, and how the model is chosen
        "api_version",  # the `api-version` query (also from the proxy URL's `?api-version=`)
        "api_base",
        "base_url",
        "api_key",
        "azure_ad_token",
        "azure_ad_token_provider",
    }
)
# Headers that choose the deployment or carry a credential (compared in lower case).
ROUTING_HEADERS = t.ROUTING_HEADERS
# The caller's request fields that can carry headers.
_HEADER_FIELDS = ("headers", "extra_headers", "provider_specific_header")


class ClientRoutingRefused(t.RequestValidationError):
    """A proxy client's request set what only the operator sets (a 400, even for `api_key`)."""


def refuse_client_routing(
    litellm_params: Mapping[str, Any], headers: Mapping[str, Any] | None
) -> None:
    """Refuse a proxy client's request that sets where or how the upstream is called.

    Raises:
        ClientRoutingRefused: (a `RequestValidationError`; `param` names the setting) the
            proxy client's request set one of `ROUTING_KEYS`, or sent headers while the outgoing
            ones include a `ROUTING_HEADERS` name. The message names the setting, never its value.
    """
    request = litellm_params.get("proxy_server_request")
    if not isinstance(request, Mapping):
        return  # not a proxy client's call: the caller is the operator
    body = request.get("body")
    sent = set(body) if isinstance(body, Mapping) else set()
    for name in ("caller_credential_fields", "credential_fields"):
        fields = request.get(name)
        if isinstance(fields, (list, tuple, frozenset, set)):
            sent.update(str(field) for field in fields)
    chosen = sorted(ROUTING_KEYS & sent)
    if chosen:
        raise _refused(chosen[0], f"{chosen[0]} is")
    if sent.intersection(_HEADER_FIELDS):
        names = sorted({str(name).lower() for name in headers or {}} & ROUTING_HEADERS)
        if names:
            raise _refused("extra_headers", f"the {names[0]} header is")


def _refused(param: str, what: str) -> ClientRoutingRefused:
    return ClientRoutingRefused(
        f"{what} chosen by the proxy's operator (the model's litellm_params in its config), not "
        "by a proxy client's request: remove it from the request, or ask the operator for a "
        "model name that serves what you need.",
        param=param,
    )
