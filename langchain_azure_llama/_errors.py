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
├── StructuredOutputError    → StructuredOutputError        OutputParserException
└── ResponseTooLargeError    → ResponseTooLargeError        ModelAPIError
APIConnectionError           → APIConnectionError           ModelConnectionError
└── APITimeoutError          → APITimeoutError              ModelTimeoutError
AzureLlamaError (anything)   → AzureLlamaError              ModelAPIError
```

The mapped error is built by its class's own constructor from the original's fields
(`status_code`, `request_id`, `body`, `code`, `param`, `headers`, `retry_after`, `categories`,
`partial_text`, ...: `AzureLlamaError.fields()`), with the same message; the original stays
reachable as `__cause__`.

Each class below is the twin of the transport class of the same name (one of its bases), and the
mapping is read from them: a transport error added to `transport._errors.__all__` needs its twin
here (the langchain-core parent is the one decision) and its name in `__all__` and in the package
root's `_ERRORS`; importing this module fails until the twin exists, and
`tests/transport/test_errors.py` until the names are there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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

import azure_llama_transport as _t

# What the package root exports from here: the transport's error names (a literal, which type
# checkers read; a test checks it is `transport._errors.__all__`) and the warning. `map_error`
# and `mapped_errors` are for the front end's own modules.
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


# transport class -> its twin, read from the classes above (each one's transport base of the same
# name). `map_error` walks the raised error's own MRO, so a subclass finds its own row.
def _twins() -> dict[type[_t.AzureLlamaError], type[_t.AzureLlamaError]]:
    missing = [cls.__name__ for cls in _t.ERRORS if cls.__name__ not in globals()]
    if missing:
        raise ImportError(f"{__name__} has no LangChain twin for the transport's {missing}")
    return {cls: globals()[cls.__name__] for cls in _t.ERRORS}


_TWINS = _twins()


def map_error(error: _t.AzureLlamaError) -> _t.AzureLlamaError:
    """The LangChain-flavoured twin of a transport error, built from its message and fields.

    An error that is already mapped (it is a langchain-core `ModelError`) comes back as is.
    Raise the result `from` the original.
    """
    if isinstance(error, ModelError):
        return error
    twin = next(_TWINS[cls] for cls in type(error).__mro__ if cls in _TWINS)
    return twin(error.message, **error.fields())


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
