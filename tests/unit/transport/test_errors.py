"""Every recorded error body shape becomes one typed error; httpx errors never escape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from langchain_azure_llama.transport import (
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
