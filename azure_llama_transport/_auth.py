"""Authentication as `httpx.Auth` flows: an API key, or an Entra ID token credential.

Key: both `Authorization: Bearer <key>` and `api-key: <key>`, as the official SDK sends, so
serverless, managed compute and unified endpoints all accept it. Token: fetched from the
credential per request, cached until shortly before it expires, refreshed once on a 401.

Single flight: when many requests find no fresh token at once (the first burst of calls, or a
burst of 401s), one of them calls `get_token` and the others wait for its token; a thread lock
for sync callers, one asyncio lock per event loop for async ones (an asyncio lock cannot be
shared between loops).
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator, MutableMapping
from typing import TYPE_CHECKING, Any

import httpx

from . import _fork
from ._config import Secret, TokenCredentialLike
from ._errors import CredentialError

if TYPE_CHECKING:  # asyncio is imported on first async use: sync callers never need it
    import asyncio

__all__ = ["KeyAuth", "TokenAuth"]

# Refresh this long before expiry so that a token never expires in flight.
_REFRESH_MARGIN = 300.0


class KeyAuth(httpx.Auth):
    """Static key auth; the key lives in a `Secret` and is written only into headers."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply_sync(request.headers)
        yield request

    def apply_sync(self, headers: MutableMapping[str, str], refused: str | None = None) -> None:
        """Write the key into one request's headers, for the clients' direct paths (no flows).
        None: there is no token to replace after a 401 (`TokenAuth.apply_sync` returns one)."""
        value = self._key.get_secret_value()
        headers["Authorization"] = f"Bearer {value}"
        headers["api-key"] = value

    async def apply_async(
        self, headers: MutableMapping[str, str], refused: str | None = None
    ) -> None:
        self.apply_sync(headers)

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
        self._lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        _fork.on_fork(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it at the fork
        self._loop_locks = weakref.WeakKeyDictionary()

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

    def _usable(self, refused: str | None) -> str | None:
        """The cached token, unless it is stale or is the one the service just refused."""
        token = self._token
        return token if token is not None and token != refused and self._fresh() else None

    def _token_sync(self, refused: str | None = None) -> str:
        token = self._usable(refused)
        if token is None:
            with self._lock:
                # Another thread may have fetched one while this one waited.
                token = self._usable(refused) or self._store(self._call_sync())
        return token

    async def _token_async(self, refused: str | None = None) -> str:
        token = self._usable(refused)
        if token is None:
            import asyncio

            loop = asyncio.get_running_loop()
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks.setdefault(loop, asyncio.Lock())
            async with lock:
                token = self._usable(refused) or self._store(await self._call_async())
        return token

    def apply_sync(self, headers: MutableMapping[str, str], refused: str | None = None) -> str:
        """Write a token into one request's headers (a fresh one if `refused` was refused) and
        return it; the auth flows below and the clients' direct paths share it."""
        token = self._token_sync(refused)
        headers["Authorization"] = f"Bearer {token}"
        return token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.apply_sync(request.headers)
        response = yield request
        if response.status_code == 401:
            self.apply_sync(request.headers, refused=token)
            yield request

    async def apply_async(
        self, headers: MutableMapping[str, str], refused: str | None = None
    ) -> str:
        """The async `apply_sync`."""
        token = await self._token_async(refused)
        headers["Authorization"] = f"Bearer {token}"
        return token

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.apply_async(request.headers)
        response = yield request
        if response.status_code == 401:
            await self.apply_async(request.headers, refused=token)
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
