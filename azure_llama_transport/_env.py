"""The `AZURE_*` variables, read in one function, and the one rule for a key vs a credential.

`settings_from_env` is the only reader of the environment: `ClientConfig.create` calls it, and
both front ends call it for what they show before a client exists (LangChain's `endpoint` and
`api_key` fields; LiteLLM's endpoint, which decides the route). Its rules:

* the endpoint is the one passed, else ``AZURE_INFERENCE_ENDPOINT``;
* an explicit Entra ID credential is used as given, and ``AZURE_INFERENCE_CREDENTIAL`` is then
  ignored (a key left in the environment must not turn a token setup into a key setup);
* otherwise the key is the one passed, else ``AZURE_INFERENCE_CREDENTIAL``;
* a key and a credential passed together are returned as they are, for `ClientConfig` to refuse.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

__all__ = ["CREDENTIAL_ENV", "ENDPOINT_ENV", "EnvSettings", "settings_from_env"]

ENDPOINT_ENV = "AZURE_INFERENCE_ENDPOINT"
CREDENTIAL_ENV = "AZURE_INFERENCE_CREDENTIAL"


class EnvSettings(NamedTuple):
    """Where and how to call: what the caller passed, completed from the environment."""

    endpoint: str | None
    api_key: Any  # a `str` or the transport's `Secret`, as passed; None without one
    credential: Any


def settings_from_env(
    endpoint: str | None = None, api_key: Any = None, credential: Any = None
) -> EnvSettings:
    """What the caller passed (None or "" = not passed), completed from ``AZURE_*`` variables.

    Args:
        endpoint: An endpoint the caller passed.
        api_key: A key the caller passed (not one read from the environment).
        credential: An Entra ID credential (or token provider) the caller passed.

    Returns:
        `EnvSettings`: the environment's endpoint when none was passed (None when unset or
        blank), and its key only when neither a key nor a credential was passed.
    """
    if not endpoint:
        endpoint = os.environ.get(ENDPOINT_ENV, "").strip() or None
    if credential is None and api_key is None:
        api_key = os.environ.get(CREDENTIAL_ENV) or None
    return EnvSettings(endpoint, api_key, credential)
