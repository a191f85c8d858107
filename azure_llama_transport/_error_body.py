"""Turn an Azure error response, in any shape the wire reference records, into one typed error.

Shapes accepted (docs/wire-protocol.md §11, §20): `{"error": {...}}` (Azure OpenAI's envelope on
the v1 route: `code`, `message`, `param`, `type`, `innererror`); flat `{code, message, status,
param}`; the MaaS gateway's `{"statusCode", "message"}`; `detail` as an object, a list or a string;
a backend error whose `message` is itself JSON text; and non-JSON text such as `NOT FOUND`.

The service's text goes into the message on one line with control characters escaped (a hostile
body cannot move the cursor or recolour a terminal through `str(e)`); the raw body stays on
`.body`. A 3xx becomes `RedirectError` naming the `Location` host: redirects are never followed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._boundary import sanitize
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextWindowExceededError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
)
from ._retry import retry_after_seconds

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_MAX_TEXT = 2000
_MAX_REASON = 200


@dataclass
class ErrorInfo:
    """What could be read out of an error body, whatever its shape."""

    message: str
    code: str | None = None
    param: str | None = None
    categories: dict[str, Any] = field(default_factory=dict)
    content_filter: bool = False


def parse_error_body(content: bytes | str | Any) -> ErrorInfo:
    """Read message, code, param and content-filter categories from any recorded error shape."""
    data = _load(content)
    if not isinstance(data, Mapping):
        text = data if isinstance(data, str) else json.dumps(data)
        return ErrorInfo(message=text.strip()[:_MAX_TEXT] or "(empty response body)")
    inner = data.get("error")
    node: Mapping[str, Any] = inner if isinstance(inner, Mapping) else data
    message = _message_of(node, data)
    code = _str_or_none(node.get("code"))
    param = _str_or_none(node.get("param")) or _detail_param(data.get("detail"))
    categories, filtered = _content_filter_of(node)
    if isinstance(inner, str) and message == "":
        message = inner
    return ErrorInfo(
        message=message[:_MAX_TEXT] or "(no message in error body)",
        code=code,
        param=param,
        categories=categories,
        content_filter=filtered or code == "content_filter",
    )


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    content: bytes | str | Any,
    *,
    host: str,
    hint: str | None = None,
    path: str | None = None,
    endpoint: str | None = None,
    deployment: str | None = None,
) -> APIStatusError:
    """Build the typed error for an error status (or an in-stream error event).

    `path` is the URL path called (named in a 404); `endpoint`, the configured endpoint, lets a
    404 say what the endpoint should be when it looks like a pasted route URL; `deployment`, the
    `model` sent to an endpoint that routes by it, is named in a 404 (`DeploymentNotFound`).
    """
    if 300 <= status < 400:
        return redirect_error(status, headers, content, host=host)
    info = parse_error_body(content)
    request_id = headers.get("x-request-id") or headers.get("apim-request-id")
    code = info.code or headers.get("x-ms-error-code")
    called = f" to {sanitize(path, _MAX_REASON)}" if path and status == 404 else ""
    text = f"Azure AI endpoint {host} answered {status}{called}: {sanitize(info.message)}"
    named = [
        f"{k} {sanitize(v, _MAX_REASON)!r}" for k, v in (("code", code), ("param", info.param)) if v
    ]
    if info.param or (named and status == 422):
        text += f" ({', '.join(named)})"
    reason = headers.get("x-ms-error-reason")
    if reason:
        text += f" ({sanitize(reason, _MAX_REASON)})"
    hint = " ".join(filter(None, [setting_hint(status, info.message, endpoint), hint])) or None
    if status == 404 and deployment is not None:
        hint = " ".join(filter(None, [_deployment_hint(deployment, code), hint]))
    if status == 404 and endpoint:
        hint = " ".join(filter(None, [pasted_endpoint_hint(endpoint), hint])) or None
    if hint:
        text += f" {hint}"
    common: dict[str, Any] = {
        "status_code": status,
        "request_id": request_id,
        "code": code,
        "param": info.param,
        "body": _load(content),
        "headers": headers,
    }
    if info.content_filter:
        return ContentFilterError(text, source="prompt", categories=info.categories, **common)
    if status == 400 and is_context_overflow(info.message):
        return ContextWindowExceededError(text, **common)
    if status == 429:
        retry = retry_after_seconds(headers, info.message)
        return RateLimitError(text, retry_after=retry, **common)
    cls = _STATUS_CLASSES.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(text, **common)


def _deployment_hint(deployment: str, code: str | None) -> str:
    """A 404 from an endpoint that routes by `model`: the name sent is not a deployment."""
    what = "no deployment" if code == "DeploymentNotFound" else "no deployment (or model)"
    return (
        f"The resource has {what} named {sanitize(deployment, _MAX_REASON)!r}: `model` must be "
        "the deployment name you chose when deploying (case-sensitive), which is the model's "
        "name only if you kept it."
    )


# Azure's own sentences for a setting the caller can change, and the setting that fixes each.
# vLLM (serverless Llama) refusing `tools`: its flags are not the user's to set on Azure.
_VLLM_NO_TOOLS = "--enable-auto-tool-choice"
_TOOLS_HINT = (
    "Azure's Llama deployments run vLLM without these flags, and they cannot be set: pass "
    "tool_calling='auto' (native tools, switching to prompted tools on this refusal) or "
    "tool_calling='prompt'."
)
# Azure ML's router on a managed endpoint with several deployments and none chosen.
_NO_ROUTE = "deployment specific header to route"
_DEPLOYMENT_HINT = (
    "The managed endpoint needs to be told which deployment to call: pass "
    "deployment='<deployment name>' (sent as the azureml-model-deployment header)."
)
# A Foundry resource's hosts, and the two routes its Llama deployments are served under.
_RESOURCE_HOSTS = (".services.ai.azure.com", ".cognitiveservices.azure.com", ".openai.azure.com")
_RESOURCE_ROUTES = ("/models", "/openai/v1")


def setting_hint(status: int, message: str, endpoint: str | None) -> str | None:
    """The setting to change, for an answer Azure gives when a setting is wrong: native tools
    refused (`tool_calling`), no deployment chosen (`deployment`)."""
    if status == 400 and _VLLM_NO_TOOLS in message:
        return _TOOLS_HINT
    if status == 404 and _NO_ROUTE in message:
        return _DEPLOYMENT_HINT
    return None


def foundry_route_hint(endpoint: str, kind: str) -> str | None:
    """For a 404: a Foundry resource endpoint (by its host, or `endpoint_kind`) whose path is
    neither `/models` nor `/openai/v1`, the routes its deployments are served under."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    path = parts.path.rstrip("/").lower()
    resource = kind in ("foundry", "openai-v1") or host.endswith(_RESOURCE_HOSTS)
    if not resource or path in _RESOURCE_ROUTES:
        return None
    base = f"{parts.scheme}://{parts.netloc}"
    return (
        f"A Foundry resource serves Llama under {base}/models (Azure AI Model Inference API) "
        f"and {base}/openai/v1 (OpenAI v1 route, model='<deployment name>'): set the endpoint "
        "to one of them."
    )


# vLLM's wording for a request that does not fit the window, in its three historical forms:
# "This model's maximum context length is N tokens. However, you requested M tokens ...",
# "... However, your request has M input tokens ..." and "'max_tokens' ... is too large: N.
# This model's maximum context length is ..."; all name the maximum context length.
_OVERFLOW = re.compile(r"maximum context length is \d+ tokens", re.IGNORECASE)


def is_context_overflow(message: str) -> bool:
    """Does an error message say the prompt (plus `max_tokens`) exceeds the context window?"""
    return _OVERFLOW.search(message) is not None


def redirect_error(
    status: int, headers: Mapping[str, str], content: bytes | str | Any, *, host: str
) -> RedirectError:
    """A 3xx, not followed: the message names where it pointed, the key went nowhere else."""
    location = headers.get("location")
    target = _host_of(location) if location else None
    if target:
        where = f"to host {sanitize(target, _MAX_REASON)}"
    else:
        where = "on the same host" if location else "without a Location"
    return RedirectError(
        f"Azure AI endpoint {host} answered {status}, redirecting {where}; redirects are not "
        "followed (the key is only ever sent to the configured endpoint). If the new address is "
        "right, configure it as the endpoint.",
        status_code=status,
        request_id=headers.get("x-request-id") or headers.get("apim-request-id"),
        code="redirect",
        body=_load(content),
        headers=headers,
        location=location,
        location_host=target,
    )


def _host_of(location: str) -> str | None:
    try:
        return urlsplit(location.strip()).hostname
    except ValueError:  # not a URL at all (a hostile Location): name nothing
        return None


# Route segments that do not belong in an endpoint: a URL copied from a sample or a curl line.
_PASTED = re.compile(r"/(?:v1(?:/|$)|chat/completions/?$|completions/?$|score/?$|info/?$)")


def pasted_endpoint_hint(endpoint: str) -> str | None:
    """When `endpoint` carries a route (`/chat/completions`, `/v1/...`, `/score`), what it
    should be instead: the URL up to that route."""
    parts = urlsplit(endpoint)
    found = _PASTED.search(parts.path)
    if found is None:
        return None
    base = f"{parts.scheme}://{parts.netloc}{parts.path[: found.start()]}"
    return (
        f"The endpoint {endpoint} looks like a full route URL: "
        f"it should be {base!r} (the route is added for you)."
    )


def _load(content: bytes | str | Any) -> Any:
    if isinstance(content, (bytes, bytearray)):
        content = content.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        return content
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse: keep the text
        return content


def _message_of(node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    raw = node.get("message")
    if raw is None:
        raw = root.get("message")
    if isinstance(raw, str):
        return _unwrap_json_text(raw)
    detail = root.get("detail")
    if isinstance(detail, str):
        return detail
    if detail is not None:
        return json.dumps(detail)
    return json.dumps(raw) if raw is not None else ""


def _unwrap_json_text(text: str) -> str:
    """A model-server error passed through by the gateway arrives as JSON text in `message`."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return text
    try:
        inner = json.loads(stripped)
    except (ValueError, RecursionError):
        return text
    if isinstance(inner, Mapping):
        nested = inner.get("message") or inner.get("detail")
        if isinstance(nested, str):
            return nested
    return text


def _detail_param(detail: Any) -> str | None:
    """422 bodies name the parameter in `detail.loc` (an object, or a list of them)."""
    items = detail if isinstance(detail, list) else [detail]
    for item in items:
        if isinstance(item, Mapping):
            loc = item.get("loc")
            if isinstance(loc, list) and loc:
                return str(loc[-1])
    return None


def _content_filter_of(node: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    inner = node.get("innererror")
    if not isinstance(inner, Mapping):
        return {}, False
    result = inner.get("content_filter_result")
    categories = dict(result) if isinstance(result, Mapping) else {}
    return categories, inner.get("code") == "ResponsibleAIPolicyViolation" or bool(categories)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
