"""The transport clients a chat model owns, shared by its copies."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import pydantic

import azure_llama_transport as _t

from ._errors import map_error

__all__ = ["Pools", "settings_errors"]


@contextmanager
def settings_errors() -> Iterator[None]:
    """Raise a setting the transport refused (bad endpoint, header, credential) from a model's
    constructor as the LangChain `RequestValidationError` itself.

    pydantic would wrap it in its `ValidationError`, whose message repeats the constructor's
    arguments, api_key and an endpoint's user:password included; `from None` drops that.
    """
    try:
        yield
    except pydantic.ValidationError as exc:
        for error in exc.errors(include_url=False):
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, _t.AzureLlamaError):
                raise map_error(cause) from None
        raise


class Pools:
    """The sync and async transport clients of one model, shared by its copies.

    The transport releases its own sockets: a dropped sync client closes its pool, and each
    async pool closes when its event loop shuts down. `copy`/`deepcopy` share the pools rather
    than clone open connections, so closing a model closes them for its copies too (a closed
    client refuses to send, as httpx's does). A forked child (gunicorn ``--preload``, Celery
    prefork) can keep using the model: each transport client rebuilds its connection pools in
    the child rather than share the parent's sockets. A caller's `http_client` that was used
    before the fork is refused in the child with a `RequestValidationError` (it cannot be
    rebuilt).
    """

    __slots__ = ("async_", "sync")

    def __init__(
        self,
        endpoint: str | None,
        options: Mapping[str, Any],
        *,
        http_client: httpx.Client | None = None,
        http_async_client_factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        config = _t.ClientConfig.create(endpoint, **options)  # validated once, for both
        self.sync = _t.AzureLlamaClient(config=config, http_client=http_client)
        self.async_ = _t.AsyncAzureLlamaClient(
            config=config, http_client_factory=http_async_client_factory
        )

    def __copy__(self) -> Pools:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Pools:
        return self
