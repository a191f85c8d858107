"""Every recorded error body shape becomes one typed error; httpx errors never escape."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

import azure_llama_transport as t
from azure_llama_transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    UnprocessableEntityError,
    parse_error_body,
)
from azure_llama_transport import _errors as t_errors
from tests._support.transport import KEY, make_async, make_sync

USER = [{"role": "user", "content": "Hi"}]
VLLM = json.dumps(
    {
        "object": "error",
        "message": '"auto" tool choice requires '
        "--enable-auto-tool-choice and --tool-call-parser to be set",
        "code": 400,
    }
)

# status, body (dict = JSON, str = text), class, code, param, message fragment
SHAPES = [
    pytest.param(
        400,
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Microsoft's "
                "content management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
            }
        },
        ContentFilterError,
        "content_filter",
        "prompt",
        "content management policy",
        id="content-filter-wrapped",
    ),
    pytest.param(
        400,
        {
            "status": 400,
            "code": "content_filter",
            "message": "The response was filtered",
            "param": "messages",
            "type": None,
        },
        ContentFilterError,
        "content_filter",
        "messages",
        "The response was filtered",
        id="content-filter-flat",
    ),
    pytest.param(
        400,
        {
            "error": {
                "code": "content_filter",
                "message": "filtered",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": {
                        "hate": {"filtered": False, "severity": "safe"},
                        "jailbreak": {"filtered": True, "detected": True},
                    },
                },
            }
        },
        ContentFilterError,
        "content_filter",
        None,
        "filtered",
        id="content-filter-innererror",
    ),
    pytest.param(
        400,
        {"error": {"code": "Bad Request", "message": VLLM, "status": 400}},
        BadRequestError,
        "Bad Request",
        None,
        "--enable-auto-tool-choice",
        id="backend-json-in-message",
    ),
    pytest.param(
        401,
        {
            "statusCode": 401,
            "message": "Auth token validation failed. Please provide a valid "
            "key or a valid AAD token",
        },
        AuthenticationError,
        None,
        None,
        "Auth token validation failed",
        id="gateway-401",
    ),
    pytest.param(
        403,
        {"error": "Forbidden", "message": "no access", "status": 403},
        PermissionDeniedError,
        None,
        None,
        "no access",
        id="documented-403",
    ),
    pytest.param(404, "NOT FOUND", NotFoundError, None, None, "NOT FOUND", id="plain-text-404"),
    pytest.param(
        422,
        {
            "status": 422,
            "code": "parameter_not_supported",
            "detail": {"loc": ["body", "response_format"], "input": "json_object"},
            "message": "One of the parameters contain invalid values.",
        },
        UnprocessableEntityError,
        "parameter_not_supported",
        "response_format",
        "invalid values",
        id="422-detail-object",
    ),
    pytest.param(
        422,
        {"detail": [{"loc": ["body", "tools"], "msg": "not supported", "type": "x"}]},
        UnprocessableEntityError,
        None,
        "tools",
        "not supported",
        id="422-detail-list",
    ),
    pytest.param(
        400,
        {
            "detail": "Extra parameters ['foo'] are not allowed when extra-parameters "
            "is not set or set to be 'error'."
        },
        BadRequestError,
        None,
        None,
        "Extra parameters ['foo']",
        id="detail-string",
    ),
    pytest.param(
        429,
        {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."},
        RateLimitError,
        None,
        None,
        "Rate limit",
        id="apim-429",
    ),
    pytest.param(
        500,
        "upstream exploded",
        InternalServerError,
        None,
        None,
        "upstream exploded",
        id="500-text",
    ),
    pytest.param(
        503,
        {"error": {"code": "ServiceUnavailable", "message": "busy"}},
        InternalServerError,
        "ServiceUnavailable",
        None,
        "busy",
        id="503-json",
    ),
    pytest.param(
        409, {"message": "conflict"}, APIStatusError, None, None, "conflict", id="other-status"
    ),
    pytest.param(400, "", BadRequestError, None, None, "empty response body", id="empty-body"),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "param", "text"), SHAPES)
@pytest.mark.parametrize(
    "kind", [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
)
async def test_error_shapes(
    kind: str, status: int, body: Any, cls: type, code: str | None, param: str | None, text: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"x-request-id": "req-123", "retry-after": "0"}
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    with pytest.raises(APIStatusError) as info:
        if kind == "sync":
            make_sync(handler, max_retries=0).chat(USER)
        else:
            await make_async(handler, max_retries=0).chat(USER)
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code and error.param == param
    assert text in error.message and "my-llama.eastus2.models.ai.azure.com" in error.message
    assert error.request_id == "req-123"
    assert KEY not in str(error)


def test_content_filter_categories_and_401_reason() -> None:
    info = parse_error_body(
        {
            "error": {
                "code": "content_filter",
                "innererror": {
                    "content_filter_result": {
                        "violence": {"filtered": True, "severity": "medium"},
                        "hate": {"filtered": False, "severity": "safe"},
                    }
                },
            }
        }
    )
    assert info.content_filter and set(info.categories) == {"violence", "hate"}
    error = ContentFilterError("x", source="prompt", categories=info.categories)
    assert error.filtered_categories == ["violence"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"statusCode": 401, "message": "bad"},
            headers={"x-ms-error-reason": "Invalid JWT."},
        )

    with pytest.raises(AuthenticationError, match=r"Invalid JWT\..*Check the key"):
        make_sync(handler).chat(USER)


def test_rate_limit_carries_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"statusCode": 429, "message": "Try again in 3 seconds."})

    with pytest.raises(RateLimitError) as info:
        make_sync(handler, max_retries=0).chat(USER)
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        pytest.param(httpx.ConnectError("refused"), APIConnectionError, id="connect"),
        pytest.param(httpx.ConnectTimeout("slow"), APITimeoutError, id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("slow"), APITimeoutError, id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("eh"), APIConnectionError, id="protocol"),
    ],
)
@pytest.mark.parametrize(
    "kind", [pytest.param("sync", id="sync"), pytest.param("async", id="async")]
)
async def test_httpx_errors_never_escape(kind: str, exc: Exception, cls: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(cls) as info:
        if kind == "sync":
            make_sync(handler, max_retries=0).chat(USER)
        else:
            await make_async(handler, max_retries=0).chat(USER)
    assert "my-llama.eastus2.models.ai.azure.com" in str(info.value)
    assert info.value.host == "my-llama.eastus2.models.ai.azure.com"  # type: ignore[attr-defined]
    # Never chained: httpx's exception holds the request, and the request holds the key.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert KEY not in str(info.value)


def test_success_with_non_json_body_is_typed() -> None:
    with pytest.raises(ResponseDecodeError, match="not JSON"):
        make_sync(lambda r: httpx.Response(200, text="<html>")).chat(USER)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xff\xfe", id="bytes"),
        pytest.param("[1, 2]", id="json-list"),
        pytest.param('{"message": {"nested": 1}}', id="message-object"),
        pytest.param('{"error": "just a string"}', id="error-string"),
    ],
)
def test_odd_bodies_still_give_a_message(content: Any) -> None:
    info = parse_error_body(content)
    assert isinstance(info.message, str) and info.message


AZURE_422 = {
    "status": 422,
    "code": "parameter_not_supported",
    "detail": {"loc": ["body", "response_format"], "input": "json_object"},
    "message": "One of the parameters contain invalid values.",
}
KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]


async def _raise(kind: str, handler: Any, **kwargs: Any) -> APIStatusError:
    with pytest.raises(APIStatusError) as info:
        if kind == "sync":
            make_sync(handler, max_retries=0, **kwargs).chat(USER)
        else:
            await make_async(handler, max_retries=0, **kwargs).chat(USER)
    return info.value


@pytest.mark.parametrize("kind", KINDS)
async def test_422_message_names_the_code_and_the_parameter(kind: str) -> None:
    error = await _raise(kind, lambda request: httpx.Response(422, json=AZURE_422))
    assert type(error) is UnprocessableEntityError
    assert "code 'parameter_not_supported'" in error.message
    assert "param 'response_format'" in error.message


@pytest.mark.parametrize("kind", KINDS)
async def test_404_names_the_path_called(kind: str) -> None:
    error = await _raise(kind, lambda request: httpx.Response(404, text="NOT FOUND"))
    assert type(error) is NotFoundError
    assert "answered 404 to /chat/completions: NOT FOUND" in error.message
    assert "looks like a full route URL" not in error.message


HOST = "https://my-llama.eastus2.models.ai.azure.com"
PASTED = [
    pytest.param(f"{HOST}/chat/completions", HOST, id="chat-completions"),
    pytest.param(f"{HOST}/v1/chat/completions", HOST, id="v1-chat-completions"),
    pytest.param(f"{HOST}/v1", HOST, id="v1"),
    pytest.param(
        "https://my-endpoint.eastus2.inference.ml.azure.com/score",
        "https://my-endpoint.eastus2.inference.ml.azure.com",
        id="score",
    ),
]


@pytest.mark.parametrize(("endpoint", "should_be"), PASTED)
@pytest.mark.parametrize("kind", KINDS)
async def test_404_on_a_pasted_route_url_says_what_the_endpoint_should_be(
    kind: str, endpoint: str, should_be: str
) -> None:
    error = await _raise(
        kind, lambda request: httpx.Response(404, text="NOT FOUND"), endpoint=endpoint
    )
    path = httpx.URL(endpoint).path.rstrip("/")
    assert f"to {path}/chat/completions" in error.message
    assert f"it should be '{should_be}'" in error.message


# -- the one list, and errors as values -------------------------------------------------------

STATUS_FIELDS = {"request_id": "r-1", "code": "c", "param": "p", "body": {"x": 1}}
# One error of each class, every field set away from its default.
SAMPLES: dict[type[t.AzureLlamaError], t.AzureLlamaError] = {
    t.AzureLlamaError: t.AzureLlamaError("m"),
    t.RequestValidationError: t.RequestValidationError("m", param="temperature"),
    t.CredentialError: t.CredentialError("m"),
    t.APIConnectionError: t.APIConnectionError("m", host="h"),
    t.APITimeoutError: t.APITimeoutError("m", host="h"),
    t.StreamInterruptedError: t.StreamInterruptedError(
        "m", partial_text="Once", chunks_received=3, partial_text_truncated=True
    ),
    t.ResponseDecodeError: t.ResponseDecodeError("m", partial_text="x", body="{"),
    t.StructuredOutputError: t.StructuredOutputError(
        "m", partial_text="{}", validation_error="'n' is required"
    ),
    t.ResponseTooLargeError: t.ResponseTooLargeError(
        "m", limit="max_body_bytes", limit_bytes=10, partial_text="p", body="{"
    ),
    t.APIStatusError: t.APIStatusError("m", status_code=409, headers={"a": "b"}, **STATUS_FIELDS),
    t.RedirectError: t.RedirectError(
        "m", status_code=307, location="https://e/x", location_host="e", **STATUS_FIELDS
    ),
    t.BadRequestError: t.BadRequestError("m", status_code=400, **STATUS_FIELDS),
    t.ContentFilterError: t.ContentFilterError(
        "m",
        source="completion",
        categories={"hate": {"filtered": True}},
        partial_text="Once",
        **STATUS_FIELDS,
    ),
    t.ContextWindowExceededError: t.ContextWindowExceededError(
        "m", status_code=400, **STATUS_FIELDS
    ),
    t.AuthenticationError: t.AuthenticationError("m", status_code=401, **STATUS_FIELDS),
    t.PermissionDeniedError: t.PermissionDeniedError("m", status_code=403, **STATUS_FIELDS),
    t.NotFoundError: t.NotFoundError("m", status_code=404, **STATUS_FIELDS),
    t.UnprocessableEntityError: t.UnprocessableEntityError("m", status_code=422, **STATUS_FIELDS),
    t.RateLimitError: t.RateLimitError("m", retry_after=2.5, status_code=429, **STATUS_FIELDS),
    t.InternalServerError: t.InternalServerError("m", status_code=503, **STATUS_FIELDS),
}


def test_the_error_list_is_every_error_class_and_the_transport_exports_it() -> None:
    """`transport._errors.__all__` is the one list (`ERRORS`): a class left out of it would be
    exported by neither front end."""
    defined = {
        value
        for value in vars(t_errors).values()
        if isinstance(value, type)
        and issubclass(value, t.AzureLlamaError)
        and value.__module__ == t_errors.__name__
    }
    assert set(t.ERRORS) == defined == set(SAMPLES)
    assert [cls.__name__ for cls in t.ERRORS] == t_errors.__all__
    assert set(t_errors.__all__) <= set(t.__all__)
    assert all(getattr(t, cls.__name__) is cls for cls in t.ERRORS)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_every_error_rebuilds_from_its_fields(cls: type[t.AzureLlamaError]) -> None:
    """What a front end relies on to build its twin: each constructor keyword is an attribute."""
    error = SAMPLES[cls]
    rebuilt = cls(error.message, **error.fields())
    assert (type(rebuilt), rebuilt.args, vars(rebuilt)) == (cls, error.args, vars(error))
    changed = error.replace(message="other")
    assert (changed.message, str(changed), changed.args) == ("other", "other", ("other",))
    assert {k: v for k, v in vars(changed).items() if k != "message"} == {
        k: v for k, v in vars(error).items() if k != "message"
    }
    assert (error.message, str(error)) == ("m", "m")  # the original is left as it was


@pytest.mark.parametrize("kind", KINDS)
async def test_a_retry_the_deadline_cannot_wait_for_says_so(kind: str) -> None:
    """The 429 comes back at once, its message saying why it was not retried; the service's
    wait is still on `retry_after`, and nothing lower-level is chained to it."""
    hits: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(1)
        return httpx.Response(429, json={"message": "slow down"}, headers={"retry-after": "60"})

    with pytest.raises(RateLimitError) as info:
        if kind == "sync":
            make_sync(handler, max_retries=3, timeout=5).chat(USER)
        else:
            await make_async(handler, max_retries=3, timeout=5).chat(USER)
    error = info.value
    assert re.search(
        r"slow down \(not retried: the wait of [\d.]+s exceeds what is left", str(error)
    )
    assert error.message == str(error)
    assert (error.retry_after, error.status_code, len(hits)) == (60.0, 429, 1)
    assert error.__cause__ is None and error.__context__ is None


def test_limits_are_refused_as_a_request_validation_error() -> None:
    with pytest.raises(t.RequestValidationError, match=r"Limits\.max_body_bytes") as info:
        t.Limits(max_body_bytes=0)
    assert info.value.param == "max_body_bytes"
    assert isinstance(info.value, ValueError)
