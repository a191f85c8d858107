"""Error bodies of the Azure OpenAI v1 route: `{"error": {code, message, param, type, innererror}}`.

The envelope and the 401 / DeploymentNotFound / content-filter / 429 wording are Azure
OpenAI's (its REST reference; openai-python's and LiteLLM's Azure tests). No recording shows a
Llama deployment on this route: that it uses the same envelope is inferred
(/work/shared/reference/azure-today.md). Errors the other kinds build (validation, the vLLM
pass-through, injected faults) are re-wrapped here by `as_openai`, keeping status, headers
and message.
"""

from __future__ import annotations

from typing import Any

from ._wire import Rejection


def error(
    status: int,
    code: str | None,
    message: str,
    *,
    param: str | None = None,
    kind: str | None = None,
    inner: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Rejection:
    body = {"code": code, "message": message, "param": param, "type": kind, "innererror": inner}
    rejection = Rejection(status, {"error": body}, headers=headers)
    rejection.openai = True
    return rejection


_UNAUTHORIZED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)


def unauthorized(headers: dict[str, str] | None = None) -> Rejection:
    return error(401, "401", _UNAUTHORIZED, headers=headers)


def not_found() -> Rejection:
    # Azure OpenAI's answer to a path it does not serve.
    return error(404, "404", "Resource not found")


def deployment_not_found() -> Rejection:
    message = (
        "The API deployment for this resource does not exist. If you created the deployment "
        "within the last 5 minutes, please wait a moment and try again."
    )
    return error(404, "DeploymentNotFound", message)


def missing_model() -> Rejection:
    # OpenAI's wording for a missing required parameter; the v1 route requires `model`.
    return error(
        400, "missing_required_parameter", "Missing required parameter: 'model'.", param="model"
    )


def bad_api_version(value: str) -> Rejection:
    # Dated versions belong to the legacy `/openai/deployments/...` route [inferred wording].
    return error(400, "BadRequest", f"API version not supported: {value}")


def content_filtered(category: str) -> Rejection:
    safe = {"filtered": False, "severity": "safe"}
    result: dict[str, Any] = {name: safe for name in ("hate", "self_harm", "sexual", "violence")}
    if category == "jailbreak":
        result["jailbreak"] = {"filtered": True, "detected": True}
    else:
        result[category] = {"filtered": True, "severity": "high"}
    message = (
        "The response was filtered due to the prompt triggering Azure OpenAI's content "
        "management policy. Please modify your prompt and retry. To learn more about our "
        "content filtering policies please read our documentation: "
        "https://go.microsoft.com/fwlink/?linkid=2198766"
    )
    inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": result}
    return error(400, "content_filter", message, param="prompt", inner=inner)


def rate_limited(seconds: int, headers: dict[str, str] | None = None) -> Rejection:
    message = (
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version v1 "
        "have exceeded call rate limit of your current AIServices S0 pricing tier. Please "
        f"retry after {seconds} second{'s' if seconds != 1 else ''}. Please go here: "
        "https://aka.ms/oai/quotaincrease if you would like to further increase the default "
        "rate limit."
    )
    return error(429, "429", message, headers={"retry-after": str(seconds), **(headers or {})})


def as_openai(rejection: Rejection) -> Rejection:
    """The same error in the v1 envelope: status, headers and message kept."""
    if rejection.openai:
        return rejection
    if rejection.status == 401:
        headers = {k: v for k, v in rejection.headers.items() if k != "x-ms-error-reason"}
        return unauthorized(headers)
    if rejection.status == 429:
        retry = rejection.headers.get("retry-after", "1")
        seconds = int(float(retry)) if retry.replace(".", "", 1).isdigit() else 1
        return rate_limited(max(seconds, 1), rejection.headers)
    code, message, param = _parts(rejection.body)
    kind = "invalid_request_error" if 400 <= rejection.status < 500 else "server_error"
    return error(rejection.status, code, message, param=param, kind=kind, headers=rejection.headers)


def _parts(body: object) -> tuple[str | None, str, str | None]:
    if isinstance(body, str):
        return None, body, None
    if not isinstance(body, dict):
        return None, str(body), None
    inner = body.get("error")
    if isinstance(inner, dict):
        code = inner.get("code")
        return (str(code) if code is not None else None), str(inner.get("message", "")), None
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = [str(part) for part in detail[0].get("loc", [])[1:]]
        return str(body.get("code")), str(detail[0].get("msg", "")), ".".join(loc) or None
    if isinstance(detail, dict):  # the documented 422 parameter_not_supported
        loc = [str(part) for part in detail.get("loc", [])[1:]]
        return str(body.get("code")), str(body.get("message", "")), ".".join(loc) or None
    message = body.get("message", detail)
    return None, str(message if message is not None else body), None
