"""Authentication as `httpx.Auth` flows: an API key, or an Entra ID token credential.

Key: both `Authorization: Bearer <key>` and `api-key: <key>`, as the official SDK sends, so
serverless, managed compute and unified endpoints all accept it. Token: fetched from the
credential per request, cached until shortly before it expires, refreshed once on a 401.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from ._config import Secret, TokenCredentialLike
from ._errors import CredentialError

__all__ = ["KeyAuth", "TokenAuth"]

# Refresh this long before expiry so that a token never expires in flight.
_REFRESH_MARGIN = 300.0


class KeyAuth(httpx.Auth):
    """Static key auth; the key lives in a `Secret` and is written only into headers."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self._key.get_secret_value()
        request.headers["Authorization"] = f"Bearer {value}"
        request.headers["api-key"] = value
        yield request

    def __repr__(self) -> str:
        return "KeyAuth(key=Secret('**********'))"


class TokenAuth(httpx.Auth):
    """Bearer tokens from a sync or async `get_token(*scopes)` credential."""

    def __init__(self, credential: TokenCredentialLike, scopes: tuple[str, ...]) -> None:
        self._credential = credential
        self._scopes = scopes
        self._token: str | None = None
        self._expires_on = 0.0
        self.clock = time.time

    def __repr__(self) -> str:
        return f"TokenAuth(credential={type(self._credential).__name__}, scopes={self._scopes!r})"

    def _fresh(self) -> bool:
        return self._token is not None and self.clock() < self._expires_on - _REFRESH_MARGIN

    def _store(self, access_token: Any) -> str:
        token, expires_on = _unpack(access_token)
        if expires_on <= self.clock():
            raise CredentialError(
                f"{type(self._credential).__name__}.get_token returned a token that has "
                "already expired; check the machine clock and the credential."
            )
        self._token, self._expires_on = token, expires_on
        return token

    def invalidate(self) -> None:
        self._token = None

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token if self._fresh() else self._store(self._call_sync())
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate()
            request.headers["Authorization"] = f"Bearer {self._store(self._call_sync())}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._token if self._fresh() else self._store(await self._call_async())
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate()
            request.headers["Authorization"] = f"Bearer {self._store(await self._call_async())}"
            yield request

    def _call_sync(self) -> Any:
        result = self._get_token()
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise CredentialError(
                "This credential is async (get_token is a coroutine); use the async client, "
                "or pass a sync credential such as azure.identity.DefaultAzureCredential."
            )
        return result

    async def _call_async(self) -> Any:
        result = self._get_token()
        return await result if inspect.isawaitable(result) else result

    def _get_token(self) -> Any:
        try:
            return self._credential.get_token(*self._scopes)
        except Exception as exc:
            raise CredentialError(
                f"{type(self._credential).__name__}.get_token failed: {type(exc).__name__}: {exc}"
            ) from exc


def _unpack(access_token: Any) -> tuple[str, float]:
    token = getattr(access_token, "token", None)
    expires_on = getattr(access_token, "expires_on", None)
    if token is None and isinstance(access_token, tuple) and len(access_token) == 2:
        token, expires_on = access_token
    if not isinstance(token, str) or not token or expires_on is None:
        raise CredentialError(
            "get_token must return an AccessToken (token, expires_on); got "
            f"{type(access_token).__name__}."
        )
    return token, float(expires_on)
