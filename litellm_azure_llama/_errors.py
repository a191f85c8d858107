"""Transport errors → LiteLLM exceptions: one table, one function, used by every handler method.

```
transport error                          LiteLLM exception
ContentFilterError (prompt, 400)         ContentPolicyViolationError; categories and Azure's
                                         innererror in provider_specific_fields
RequestValidationError                   BadRequestError (AuthenticationError: no key)
ContextWindowExceededError 400          ContextWindowExceededError (classified by the transport)
BadRequestError 400                      BadRequestError
UnprocessableEntityError 422             BadRequestError
AuthenticationError 401, CredentialError AuthenticationError
PermissionDeniedError 403                PermissionDeniedError
NotFoundError 404                        NotFoundError
RateLimitError 429                       RateLimitError (retry-after on .response.headers)
InternalServerError 503                  ServiceUnavailableError
InternalServerError other 5xx            InternalServerError (provider_status_code kept)
APIStatusError 408                       Timeout
APIStatusError other                     APIError (status kept; a RedirectError's 3xx too,
                                         never followed and not retried)
APITimeoutError                          Timeout (APIConnectionError if really refused)
APIConnectionError                       APIConnectionError
StreamInterruptedError                   APIConnectionError, partial text noted: a broken
                                         stream never looks complete
ResponseTooLargeError                    InternalServerError, the limit named (`Limits.<field>`)
StructuredOutputError                    JSONSchemaValidationError (what LiteLLM raises for
                                         its own schema check): `raw_response`, `schema`
ResponseDecodeError                      InternalServerError
AzureLlamaError (anything else)          APIConnectionError
```

Every transport error class has its row (`transport.ERRORS`, checked by the tests); an error
finds the row of the nearest class in its MRO. Messages carry the endpoint host and the
service's own text, never the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from litellm import exceptions as lx

import azure_llama_transport as t

from ._routing import ClientRoutingRefused

__all__ = ["to_litellm"]

PROVIDER = "azure_llama"
_KEY_PARAMS = frozenset({"api_key", "credential"})
_FORWARDED_HEADERS = ("retry-after", "retry-after-ms", "x-ms-error-code", "x-request-id")

Builder = Callable[[Any, str, str], Exception]


def _response(exc: t.AzureLlamaError, status: int) -> httpx.Response:
    """A stand-in response: LiteLLM's exceptions (and the Router's waits) read `.response`."""
    headers = getattr(exc, "headers", None) or {}
    kept = {k: v for k, v in headers.items() if k.lower() in _FORWARDED_HEADERS}
    request = httpx.Request("POST", f"https://{PROVIDER}.invalid/chat/completions")
    return httpx.Response(status, headers=kept, request=request)


def _debug(exc: t.AzureLlamaError) -> str:
    parts = [f"transport={type(exc).__name__}"]
    for name in ("status_code", "request_id", "code", "param"):
        value = getattr(exc, name, None)
        if value is not None:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def _content_filter(exc: t.ContentFilterError, msg: str, model: str) -> Exception:
    body = exc.body if isinstance(exc.body, dict) else {}
    azure_error = body.get("error") if isinstance(body.get("error"), dict) else body
    inner = azure_error.get("innererror") if isinstance(azure_error, dict) else None
    return lx.ContentPolicyViolationError(
        message=msg,
        model=model,
        llm_provider=PROVIDER,
        response=_response(exc, exc.status_code or 400),
        litellm_debug_info=_debug(exc),
        provider_specific_fields={
            "source": exc.source,
            "content_filter_result": exc.categories,
            "filtered_categories": exc.filtered_categories,
            "partial_text": exc.partial_text,
            # The same keys LiteLLM's own Azure mapping uses.
            "innererror": inner,
            "inner_error": inner,
            "azure_error": azure_error or None,
        },
        body={"message": exc.message, "type": None, "code": exc.code or "content_filter"},
    )


def _validation(exc: t.RequestValidationError, msg: str, model: str) -> Exception:
    # A missing key is a 401; a proxy client's key refused by `_routing` is a bad request.
    if exc.param in _KEY_PARAMS and not isinstance(exc, ClientRoutingRefused):
        return lx.AuthenticationError(msg, llm_provider=PROVIDER, model=model)
    return lx.BadRequestError(
        msg, model=model, llm_provider=PROVIDER, litellm_debug_info=_debug(exc)
    )


def _bad_request(cls: Any) -> Builder:
    def build(exc: t.APIStatusError, msg: str, model: str) -> Exception:
        error: Exception = cls(
            msg,
            model=model,
            llm_provider=PROVIDER,
            response=_response(exc, exc.status_code or 400),
            litellm_debug_info=_debug(exc),
        )
        return error

    return build


def _rate_limit(exc: t.RateLimitError, msg: str, model: str) -> Exception:
    response = _response(exc, 429)
    # `headers` is what the proxy sends its own client: Azure's wait, as `retry-after`.
    waits = {k: v for k, v in response.headers.items() if k.startswith("retry-after")}
    return lx.RateLimitError(
        msg,
        llm_provider=PROVIDER,
        model=model,
        response=response,
        litellm_debug_info=_debug(exc),
        headers=waits or None,
    )


def _server(exc: t.APIStatusError, msg: str, model: str) -> Exception:
    status = exc.status_code or 500
    if status == 503:
        return lx.ServiceUnavailableError(
            msg,
            llm_provider=PROVIDER,
            model=model,
            response=_response(exc, 503),
            litellm_debug_info=_debug(exc),
        )
    return lx.InternalServerError(
        msg,
        llm_provider=PROVIDER,
        model=model,
        response=_response(exc, status),
        litellm_debug_info=_debug(exc),
        provider_status_code=status,
    )


def _other_status(exc: t.APIStatusError, msg: str, model: str) -> Exception:
    status = exc.status_code or 500
    if status == 408:
        return lx.Timeout(msg, model=model, llm_provider=PROVIDER, exception_status_code=408)
    return lx.APIError(
        status_code=status,
        message=msg,
        llm_provider=PROVIDER,
        model=model,
        litellm_debug_info=_debug(exc),
    )


def _interrupted(exc: t.StreamInterruptedError, msg: str, model: str) -> Exception:
    note = (
        f"{msg} [stream interrupted after {exc.chunks_received} chunks and "
        f"{len(exc.partial_text)} characters of text"
        f"{' (only the last ones kept)' if exc.partial_text_truncated else ''}; "
        "the answer is incomplete]"
    )
    error = lx.APIConnectionError(note, llm_provider=PROVIDER, model=model)
    error.partial_text = exc.partial_text  # type: ignore[attr-defined]
    return error


def _status(cls: Any, status: int) -> Builder:
    def build(exc: Any, msg: str, model: str) -> Exception:
        error: Exception = cls(
            msg,
            llm_provider=PROVIDER,
            model=model,
            response=_response(exc, status),
            litellm_debug_info=_debug(exc),
        )
        return error

    return build


def _plain(cls: Any) -> Builder:
    def build(exc: Any, msg: str, model: str) -> Exception:
        error: Exception = cls(msg, llm_provider=PROVIDER, model=model)
        return error

    return build


def _timeout(exc: t.APITimeoutError, msg: str, model: str) -> Exception:
    return lx.Timeout(msg, model, PROVIDER)


def _structured(exc: t.StructuredOutputError, msg: str, model: str) -> Exception:
    error = lx.JSONSchemaValidationError(
        model=model, llm_provider=PROVIDER, raw_response=exc.partial_text, schema=""
    )
    # LiteLLM's own message repeats the whole answer; the transport's says what is wrong.
    error.message = f"litellm.JSONSchemaValidationError: {msg} The answer is on `.raw_response`."
    error.validation_error = exc.validation_error  # type: ignore[attr-defined]
    return error


def _decode(exc: Any, msg: str, model: str) -> Exception:
    return lx.InternalServerError(
        msg, llm_provider=PROVIDER, model=model, litellm_debug_info=_debug(exc)
    )


def _too_large(exc: t.ResponseTooLargeError, msg: str, model: str) -> Exception:
    error = lx.InternalServerError(
        msg,
        llm_provider=PROVIDER,
        model=model,
        litellm_debug_info=f"{_debug(exc)} limit={exc.limit} limit_bytes={exc.limit_bytes}",
    )
    error.partial_text = exc.partial_text  # type: ignore[attr-defined]
    return error


# THE table: a row per transport error (`transport.ERRORS`; a test checks none is missing). The
# raised error's own MRO is walked, so a subclass (`ClientRoutingRefused`) finds its class's row.
_TABLE: dict[type[t.AzureLlamaError], Builder] = {
    t.ContentFilterError: _content_filter,
    t.RequestValidationError: _validation,
    t.ContextWindowExceededError: _bad_request(lx.ContextWindowExceededError),
    t.BadRequestError: _bad_request(lx.BadRequestError),
    t.UnprocessableEntityError: _bad_request(lx.BadRequestError),
    t.AuthenticationError: _status(lx.AuthenticationError, 401),
    t.CredentialError: _plain(lx.AuthenticationError),
    t.PermissionDeniedError: _status(lx.PermissionDeniedError, 403),
    t.NotFoundError: _status(lx.NotFoundError, 404),
    t.RateLimitError: _rate_limit,
    t.InternalServerError: _server,
    t.RedirectError: _other_status,
    t.APIStatusError: _other_status,
    t.APITimeoutError: _timeout,
    t.APIConnectionError: _plain(lx.APIConnectionError),
    t.StreamInterruptedError: _interrupted,
    t.ResponseTooLargeError: _too_large,
    t.StructuredOutputError: _structured,
    t.ResponseDecodeError: _decode,
    t.AzureLlamaError: _plain(lx.APIConnectionError),
}


def to_litellm(exc: t.AzureLlamaError, model: str, *, schema: str = "") -> Exception:
    """The LiteLLM exception for a transport error (raise it `from exc`).

    `schema` (the requested JSON schema, as JSON text) fills `JSONSchemaValidationError.schema`.
    """
    build = next(_TABLE[cls] for cls in type(exc).__mro__ if cls in _TABLE)
    error = build(exc, exc.message, model)
    if isinstance(error, lx.JSONSchemaValidationError):
        error.schema = schema
    return error
