"""Transport errors as LangChain sees them: one table, one function, always `raise ... from`.

Every class below inherits from BOTH the transport error it stands for and the langchain-core
`Model*Error` of the same condition, so code catching either keeps working:

```
transport error              → LangChain-flavoured class (also a ...)
AuthenticationError          → AuthenticationError          ModelAuthenticationError
CredentialError              → CredentialError              ModelAuthenticationError
PermissionDeniedError        → PermissionDeniedError        ModelPermissionDeniedError
BadRequestError              → BadRequestError              ModelInvalidRequestError
├── ContentFilterError       → ContentFilterError           ModelInvalidRequestError
└── ContextWindowExceededError → ContextWindowExceededError ContextOverflowError
UnprocessableEntityError     → UnprocessableEntityError     ModelInvalidRequestError
RequestValidationError       → RequestValidationError       ModelInvalidRequestError
NotFoundError                → NotFoundError                ModelNotFoundError
RateLimitError               → RateLimitError               ModelRateLimitError
InternalServerError          → InternalServerError          ModelAPIError
RedirectError (3xx)          → RedirectError                ModelAPIError
APIStatusError (other codes) → APIStatusError               ModelAPIError
StreamInterruptedError       → StreamInterruptedError       ModelAPIError
ResponseDecodeError          → ResponseDecodeError          ModelAPIError
└── StructuredOutputError    → StructuredOutputError        OutputParserException


└── ResponseTooLargeError    → ResponseTooLargeError        ModelAPIError
APIConnectionError           → APIConnectionError           ModelConnectionError
└── APITimeoutError          → APITimeoutError              ModelTimeoutError
AzureLlamaError (anything)   → AzureLlamaError              ModelAPIError
```

The mapped error carries every attribute of the original (`status_code`, `request_id`, `body`,
`code`, `param`, `headers`, `retry_after`, `categories`, `partial_text`, ...) and the original
stays reachable as `__cause__`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
    OutputParserException,
)

from . import transport as _t

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AzureLlamaError",
    "BadRequestError",
    "ContentFilterError",
    "ContentFilterWarning",
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
    "map_error",
    "mapped_errors",
]


class ContentFilterWarning(UserWarning):
    """Azure AI Content Safety cut a completion; the message is returned as far as it got."""


class AzureLlamaError(_t.AzureLlamaError, ModelAPIError):
    """Any transport error without a more specific mapping."""


class AuthenticationError(_t.AuthenticationError, ModelAuthenticationError):
    """HTTP 401: bad key, or a token the endpoint does not accept."""


class CredentialError(_t.CredentialError, ModelAuthenticationError):
    """The token credential failed before anything was sent."""


class PermissionDeniedError(_t.PermissionDeniedError, ModelPermissionDeniedError):
    """HTTP 403."""


class BadRequestError(_t.BadRequestError, ModelInvalidRequestError):
    """HTTP 400."""


class ContentFilterError(BadRequestError, _t.ContentFilterError):
    """Azure AI Content Safety blocked the prompt (HTTP 400).

    `categories` holds Azure's `innererror.content_filter_result` when it was sent (for example
    ``{"jailbreak": {"filtered": True, "detected": True}}``), else ``{}``;
    `filtered_categories` lists the names marked as filtered.
    """


class UnprocessableEntityError(_t.UnprocessableEntityError, ModelInvalidRequestError):
    """HTTP 422: a parameter the model does not support (`param` names it)."""


class RequestValidationError(_t.RequestValidationError, ModelInvalidRequestError):
    """Refused on the client before anything was sent."""


class NotFoundError(_t.NotFoundError, ModelNotFoundError):
    """HTTP 404: route, deployment or model missing on this endpoint."""


class RateLimitError(_t.RateLimitError, ModelRateLimitError):
    """HTTP 429 after the retries; `retry_after` is the wait Azure asked for, if any."""


class InternalServerError(_t.InternalServerError, ModelAPIError):
    """HTTP 5xx after the retries."""


class RedirectError(_t.RedirectError, ModelAPIError):
    """HTTP 3xx, never followed; `location_host` names where it pointed."""


class APIStatusError(_t.APIStatusError, ModelAPIError):
    """Another error status (or an error event inside a stream)."""


class StreamInterruptedError(_t.StreamInterruptedError, ModelAPIError):
    """The stream broke before `[DONE]`; `partial_text` holds what arrived."""


class ResponseDecodeError(_t.ResponseDecodeError, ModelAPIError):
    """A success status whose body is not the protocol."""


class ContextWindowExceededError(
    _t.ContextWindowExceededError, BadRequestError, ContextOverflowError
):
    """HTTP 400: the prompt plus `max_tokens` exceed the model's context window."""


class StructuredOutputError(_t.StructuredOutputError, ResponseDecodeError, OutputParserException):
    """The answer did not match the requested JSON schema, even after one repair round."""


class ResponseTooLargeError(ResponseDecodeError, _t.ResponseTooLargeError):
    """A response over one of the transport's `Limits`; `limit` names it, `body` is a prefix."""


class APIConnectionError(_t.APIConnectionError, ModelConnectionError):
    """The endpoint could not be reached."""


class APITimeoutError(APIConnectionError, _t.APITimeoutError, ModelTimeoutError):
    """The request timed out before the first byte of the answer."""


# The one table: transport class -> LangChain-flavoured class. Most specific first is not
# needed: `map_error` walks the raised error's own MRO, so a subclass finds its own row.
_TABLE: dict[type[_t.AzureLlamaError], type[_t.AzureLlamaError]] = {
    _t.AuthenticationError: AuthenticationError,
    _t.CredentialError: CredentialError,
    _t.PermissionDeniedError: PermissionDeniedError,
    _t.BadRequestError: BadRequestError,
    _t.ContentFilterError: ContentFilterError,
    _t.ContextWindowExceededError: ContextWindowExceededError,
    _t.StructuredOutputError: StructuredOutputError,
    _t.UnprocessableEntityError: UnprocessableEntityError,
    _t.RequestValidationError: RequestValidationError,
    _t.NotFoundError: NotFoundError,
    _t.RateLimitError: RateLimitError,
    _t.InternalServerError: InternalServerError,
    _t.RedirectError: RedirectError,
    _t.APIStatusError: APIStatusError,
    _t.StreamInterruptedError: StreamInterruptedError,
    _t.ResponseDecodeError: ResponseDecodeError,
    _t.ResponseTooLargeError: ResponseTooLargeError,
    _t.APIConnectionError: APIConnectionError,
    _t.APITimeoutError: APITimeoutError,
    _t.AzureLlamaError: AzureLlamaError,
}


def map_error(error: _t.AzureLlamaError) -> _t.AzureLlamaError:
    """The LangChain-flavoured twin of a transport error, with every attribute copied.

    An error that is already mapped (it is a langchain-core `ModelError`) comes back as is.
    Raise the result `from` the original.
    """
    if isinstance(error, ModelError):
        return error
    target = next(_TABLE[cls] for cls in type(error).__mro__ if cls in _TABLE)
    mapped: Any = target.__new__(target)
    mapped.args = error.args
    mapped.__dict__.update(error.__dict__)
    result: _t.AzureLlamaError = mapped
    return result


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Re-raise any transport error inside the block as its LangChain-flavoured twin."""
    try:
        yield
    except _t.AzureLlamaError as exc:
        mapped = map_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
