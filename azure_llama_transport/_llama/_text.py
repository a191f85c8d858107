"""One text-completion call (a base model's `/completions`), as both front ends make it.

`complete` / `acomplete` return the answer (usage normalised), `complete_stream` /
`acomplete_stream` the open stream. Before anything is sent, a `max_tokens` above what the model
can produce is refused (`check_max_tokens`); a 404 from a chat deployment comes back as the
`NotFoundError` that says so and what to use instead (`explain_not_found`), as the chat calls do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from .._answers import normalize_answer
from .._catalogue import aexplain_not_found, check_max_tokens, explain_not_found
from .._client import AsyncAzureLlamaClient, AzureLlamaClient
from .._errors import NotFoundError
from .._request import Api
from .._streaming import AsyncStream, Stream
from .._types import ModelKind, TextCompletion

__all__ = ["TextRequest", "acomplete", "acomplete_stream", "complete", "complete_stream"]

_DEFAULT_USE_INSTEAD = "Use the chat routes (/chat/completions) for it."
_EXPECTED: ModelKind = "text-generation"


@dataclass(frozen=True)
class TextRequest:
    """One text-completion call as both front ends describe it.

    Attributes:
        prompt: The prompt (or prompts).
        params: Typed parameters (`COMPLETION_PARAMS`, plus `LLAMA_PARAMS` on api="llama").
        model_extras: Body keys sent with `extra-parameters: pass-through`.
        api: "inference" (`/completions`) or "llama" (`/v1/completions`).
        headers: Per-call headers.
        timeout: Per-call timeout in seconds.
        use_instead: What the caller should use when the deployment is a chat model.
        model: The model name the front end knows the call by (checked against the catalogue
            for `max_tokens`; else the body's `model` is); not sent.
    """

    prompt: str | Sequence[str]
    params: Mapping[str, Any] = field(default_factory=dict)
    model_extras: Mapping[str, Any] | None = None
    api: Api = "inference"
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    use_instead: str = _DEFAULT_USE_INSTEAD
    model: str | None = None

    def checked(self) -> dict[str, Any]:
        """The client's keyword arguments, once `max_tokens` is checked (nothing sent yet)."""
        max_tokens = self.params.get("max_tokens")
        if max_tokens is not None:  # (the catalogue lookup behind the check is not free)
            check_max_tokens(self.model or self.params.get("model"), max_tokens)
        return {
            "api": self.api,
            "model_extras": self.model_extras or None,
            "headers": self.headers,
            "timeout": self.timeout,
        }


def complete(
    client: AzureLlamaClient, request: TextRequest, *, info_client: AzureLlamaClient | None = None
) -> TextCompletion:
    """One whole text completion.

    Args:
        client: The transport client of the endpoint.
        request: The call.
        info_client: The client whose `/info` explains a 404 (default: `client`).
    """
    kwargs = request.checked()
    try:
        answer = client.complete(request.prompt, request.params, **kwargs)
    except NotFoundError as exc:
        better = explain_not_found(
            info_client or client, exc, expected=_EXPECTED, use=request.use_instead
        )
        if better is None:
            raise
        raise better from exc
    return cast("TextCompletion", normalize_answer(cast("dict[str, Any]", answer)))


async def acomplete(
    client: AsyncAzureLlamaClient,
    request: TextRequest,
    *,
    info_client: AsyncAzureLlamaClient | None = None,
) -> TextCompletion:
    """Async twin of `complete`."""
    kwargs = request.checked()
    try:
        answer = await client.complete(request.prompt, request.params, **kwargs)
    except NotFoundError as exc:
        better = await aexplain_not_found(
            info_client or client, exc, expected=_EXPECTED, use=request.use_instead
        )
        if better is None:
            raise
        raise better from exc
    return cast("TextCompletion", normalize_answer(cast("dict[str, Any]", answer)))


def complete_stream(
    client: AzureLlamaClient, request: TextRequest, *, info_client: AzureLlamaClient | None = None
) -> Stream[TextCompletion]:
    """Open a streamed text completion (usage normalised as each chunk is parsed)."""
    kwargs = request.checked()
    try:
        return client.complete_stream(request.prompt, request.params, **kwargs)
    except NotFoundError as exc:
        better = explain_not_found(
            info_client or client, exc, expected=_EXPECTED, use=request.use_instead
        )
        if better is None:
            raise
        raise better from exc


async def acomplete_stream(
    client: AsyncAzureLlamaClient,
    request: TextRequest,
    *,
    info_client: AsyncAzureLlamaClient | None = None,
) -> AsyncStream[TextCompletion]:
    """Async twin of `complete_stream`."""
    kwargs = request.checked()
    try:
        return await client.complete_stream(request.prompt, request.params, **kwargs)
    except NotFoundError as exc:
        better = await aexplain_not_found(
            info_client or client, exc, expected=_EXPECTED, use=request.use_instead
        )
        if better is None:
            raise
        raise better from exc
