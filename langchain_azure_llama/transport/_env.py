"""The `AZURE_*` variables, read in one place, and the one rule for a key vs a credential.

Both front ends (and the transport's own defaults) resolve settings the same way:

* the endpoint is the one passed, else ``AZURE_INFERENCE_ENDPOINT``;
* an explicit Entra ID credential is used as given, and ``AZURE_INFERENCE_CREDENTIAL`` is then
  ignored (a key left in the environment must not turn a token setup into a key setup);
* otherwise the key is the one passed, else ``AZURE_INFERENCE_CREDENTIAL``;
* a key and a credential passed together are returned as they are, for `ClientConfig` to refuse.
"""

from __future__ import annotations

import os
from typing import TypeVar

__all__ = [
    "CREDENTIAL_ENV",
    "ENDPOINT_ENV",
    "endpoint_from_env",
    "key_from_env",
    "resolve_auth",
]

ENDPOINT_ENV = "AZURE_INFERENCE_ENDPOINT"
CREDENTIAL_ENV = "AZURE_INFERENCE_CREDENTIAL"
_Credential = TypeVar("_Credential")


def endpoint_from_env() -> str | None:
    """``AZURE_INFERENCE_ENDPOINT``, or None when unset or blank."""
    return os.environ.get(ENDPOINT_ENV, "").strip() or None


def key_from_env() -> str | None:
    """``AZURE_INFERENCE_CREDENTIAL`` (the endpoint key), or None when unset or empty."""
    return os.environ.get(CREDENTIAL_ENV) or None


def resolve_auth(
    api_key: str | None, credential: _Credential | None
) -> tuple[str | None, _Credential | None]:
    """The key and credential to use, from what the caller passed explicitly (None = not passed).

    Args:
        api_key: A key the caller passed (not one read from the environment).
        credential: An Entra ID credential (or token provider) the caller passed.

    Returns:
        ``(key, credential)``: the environment's key only when neither was passed.
    """
    if credential is not None:
        return api_key, credential
    return (api_key if api_key is not None else key_from_env()), None
