"""The transport's one error hierarchy; every front end maps it to its framework's own.

```
AzureLlamaError
├── RequestValidationError        refused before sending: nothing went on the wire
├── CredentialError               the token credential failed or gave an expired token
├── APIConnectionError            the endpoint could not be reached (host in the message)
│   └── APITimeoutError           connect/read/pool timeout before the first streamed byte
├── StreamInterruptedError        the stream ended or broke before [DONE] (partial text kept)
├── ResponseDecodeError           the service answered 2xx with a body that is not the protocol
│   ├── StructuredOutputError     the answer did not match the requested JSON schema (after repair)
│   └── ResponseTooLargeError     a body, inflated body or stream event over its `Limits`
└── APIStatusError                the service answered with an error status (or an error event)
    ├── RedirectError             3xx: never followed (the key stays on the endpoint's host)
    ├── BadRequestError           400
    │   ├── ContentFilterError    content safety blocked the prompt (400) or cut the completion
    │   └── ContextWindowExceededError  prompt + max_tokens exceed the model's context window
    ├── AuthenticationError       401
    ├── PermissionDeniedError     403
    ├── NotFoundError             404 (route or deployment missing; body often plain `NOT FOUND`)
    ├── UnprocessableEntityError  422 (`param` names the offending parameter)
    ├── RateLimitError            429 (`retry_after` in seconds when the service said)
    └── InternalServerError       5xx
```

Every error carries `status_code`, `request_id`, `code`, `param` and `body` where they are known.
Messages never contain credentials: only the endpoint host, status and the service's own text.

Errors are values, built once and never changed: every keyword of a class's constructor is an
attribute of the same name, so `fields()` gives what rebuilds an error (`replace(...)` is a copy
with some of them, or the message, changed; a front end builds its framework's twin from them).

This module is the one list of the project's errors: `__all__` (a literal, which type checkers
read) names every class and `ERRORS` holds them. The rest follows from it: the transport package
exports `_errors.__all__`; the LangChain front end (`langchain_azure_llama._errors`) maps each
class to its twin of the same name, also a langchain-core `Model*Error`; LiteLLM's table
(`litellm_azure_llama._errors`) has a row per class. Adding an error: its class here, with its
docstring, and its name in `__all__`; then the two framework decisions, the LangChain twin's
parent and the LiteLLM exception, and the name in the LangChain `__all__` and the package root's
`_ERRORS` (literals again, for type checkers and a lazy root). Each front end's
`test_errors.py` fails, naming what is missing, until all are there.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AzureLlamaError",
    "BadRequestError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "CredentialError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "StreamInterruptedError",
    "StructuredOutputError",
    "UnprocessableEntityError",
]


_E = TypeVar("_E", bound="AzureLlamaError")


class AzureLlamaError(Exception):
    """Base class of every error raised by the transport."""

    status_code: int | None = None
    request_id: str | None = None
    code: str | None = None
    param: str | None = None
    body: Any = None

    def __init__(self, message: str) -> None:
        # `Exception`'s own: a framework class a front end mixes in (langchain-core's
        # `OutputParserException` rewrites its message) must not change the transport's message.
        Exception.__init__(self, message)
        self.message = message

    def fields(self) -> dict[str, Any]:
        """The constructor's keyword arguments that rebuild this error: each is the attribute
        of the same name, so ``type(e)(e.message, **e.fields())`` is an equal error."""
        return {name: getattr(self, name) for name in _keywords(type(self))}

    def replace(self: _E, **changes: Any) -> _E:
        """A new error of the same class with some fields (or ``message``) changed; this one is
        left as it is."""
        message = changes.pop("message", self.message)
        return type(self)(message, **{**self.fields(), **changes})


class RequestValidationError(AzureLlamaError, ValueError):
    """The request was refused on the client before anything was sent."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class CredentialError(AzureLlamaError):
    """The token credential raised, or returned a token that had already expired."""


class APIConnectionError(AzureLlamaError):
    """The endpoint could not be reached, or the connection broke before a response."""

    def __init__(self, message: str, *, host: str | None = None) -> None:
        super().__init__(message)
        self.host = host


class APITimeoutError(APIConnectionError):
    """The request timed out before any part of the answer reached the caller."""


class StreamInterruptedError(AzureLlamaError):
    """A stream ended without `data: [DONE]`: what arrived is kept, but it is not complete.

    `partial_text` is bounded by `Limits.max_partial_text`: past it only the tail is kept and
    `partial_text_truncated` is True.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        chunks_received: int = 0,
        partial_text_truncated: bool = False,
    ) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.chunks_received = chunks_received
        self.partial_text_truncated = partial_text_truncated


class ResponseDecodeError(AzureLlamaError):
    """A successful status carried a body (or an SSE event) that is not valid protocol JSON."""

    def __init__(self, message: str, *, partial_text: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.body = body


class StructuredOutputError(ResponseDecodeError):
    """The answer is not JSON matching the requested schema, even after one repair round.

    `partial_text` holds the last answer; `validation_error` says what was wrong with it.
    """

    def __init__(self, message: str, *, partial_text: str = "", validation_error: str = "") -> None:
        super().__init__(message, partial_text=partial_text, body=partial_text)
        self.validation_error = validation_error


class ResponseTooLargeError(ResponseDecodeError):
    """A response exceeded one of the client's `Limits` and was not read further.

    `limit` names the `Limits` field, `limit_bytes` its value; `body` keeps only a short prefix.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        limit_bytes: int,
        partial_text: str = "",
        body: Any = None,
    ) -> None:
        super().__init__(message, partial_text=partial_text, body=body)
        self.limit = limit
        self.limit_bytes = limit_bytes


class APIStatusError(AzureLlamaError):
    """The service answered with an error status, or sent an error event inside a stream."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        code: str | None = None,
        param: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.code = code
        self.param = param
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})


class RedirectError(APIStatusError):
    """HTTP 3xx. Redirects are never followed, whatever client was passed in, so the key is
    never sent to another host. `location` is the `Location` header, `location_host` its host
    (both None when the answer had none)."""

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        location_host: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.location = location
        self.location_host = location_host


class BadRequestError(APIStatusError):
    """HTTP 400."""


class ContentFilterError(BadRequestError):
    """Azure AI Content Safety blocked the prompt (HTTP 400) or cut the completion.

    `source` is "prompt" for a blocked request and "completion" for an answer that ended with
    `finish_reason="content_filter"`. `categories` holds `innererror.content_filter_result`
    when Azure sent it (e.g. ``{"jailbreak": {"filtered": True, "detected": True}}``), else `{}`.
    `partial_text` is what the model produced before the filter cut it (completion side).
    """

    def __init__(
        self,
        message: str,
        *,
        source: Literal["prompt", "completion"],
        categories: Mapping[str, Any] | None = None,
        partial_text: str = "",
        status_code: int = 400,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.source = source
        self.categories: dict[str, Any] = dict(categories or {})
        self.partial_text = partial_text

    @property
    def filtered_categories(self) -> list[str]:
        """Names of the categories Azure marked as filtered."""
        return [
            name
            for name, result in self.categories.items()
            if isinstance(result, Mapping) and result.get("filtered")
        ]


class ContextWindowExceededError(BadRequestError):
    """HTTP 400: the prompt plus `max_tokens` do not fit the model's context window.

    vLLM (behind Llama deployments) says "This model's maximum context length is N tokens.
    However, you requested M tokens ..."; shorten the conversation or lower `max_tokens`.
    """


class AuthenticationError(APIStatusError):
    """HTTP 401: bad key, bad or expired token, or a token sent to a key-only endpoint."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404: the route, the deployment or the model is not on this endpoint."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: a parameter the model does not support (`param` names it)."""


class RateLimitError(APIStatusError):
    """HTTP 429. `retry_after` is the wait in seconds the service asked for, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """HTTP 5xx."""


# The classes of `__all__`, by name: what both front ends map (a test checks that every error
# class of this module is here).
ERRORS: tuple[type[AzureLlamaError], ...] = tuple(globals()[name] for name in __all__)


_KEYWORDS: dict[type[AzureLlamaError], tuple[str, ...]] = {}


def _keywords(cls: type[AzureLlamaError]) -> tuple[str, ...]:
    """The keyword parameters `cls(message, ...)` takes: its constructor's, and those of the
    constructors its `**kwargs` are passed on to, up the MRO (read once per class)."""
    known = _KEYWORDS.get(cls)
    if known is not None:
        return known
    names: list[str] = []
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names += [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return _KEYWORDS.setdefault(cls, tuple(names))
