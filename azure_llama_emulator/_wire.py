"""Error responses, each in the shape docs/wire-protocol.md §11 records or documents.

Every error is raised as a `Rejection` and turned into a response in one place (the server).
Where no source records a real body, the choice made is said next to the builder.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence

from aiohttp import web

from ._faults import Fault


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def json_response(value: object, headers: Mapping[str, str]) -> web.Response:
    body = dumps(value).encode()
    return web.Response(body=body, content_type="application/json", headers=headers)


def answer_headers(deployment: str | None, *, safety: bool = False) -> dict[str, str]:
    """Headers of a successful answer, as recorded on MaaS (docs/wire-protocol.md §5)."""
    headers = {"x-request-id": str(uuid.uuid4()), "azureml-model-session": "emulator-0"}
    if deployment is not None:
        headers["azureml-model-deployment"] = deployment
    if safety:
        headers["x-ms-rai-invoked"] = "true"  # content safety ran
    return headers


class Rejection(Exception):
    """An error answer: raised anywhere in request handling, rendered by the server."""

    def __init__(
        self,
        status: int,
        body: object,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.openai = False  # already in the Azure OpenAI v1 envelope (`_openai_errors`)

    def response(self) -> web.Response:
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body, headers=self.headers)
        return web.Response(
            status=self.status,
            body=dumps(self.body).encode(),
            content_type="application/json",
            headers=self.headers,
        )


def unauthorized() -> Rejection:
    # Real MaaS 401 (REC maas_rec_401_auth_failure.json), not the documented {error,...} shape.
    body = {
        "statusCode": 401,
        "message": "Auth token validation failed. Please provide a valid key or a valid AAD token",
    }
    return Rejection(401, body, headers={"x-ms-error-reason": "Invalid JWT."})


def not_found() -> Rejection:
    # Real MaaS answer for a route the model lacks (REC): text/plain, not the documented JSON.
    headers = {
        "ms-azureml-model-error-reason": "model_error",
        "ms-azureml-model-error-statuscode": "404",
    }
    return Rejection(404, "NOT FOUND", headers=headers)


def no_deployment() -> Rejection:
    # Azure ML's router text when no deployment can be chosen (seen in microsoft/semantic-kernel
    # #9085, raised as a 404 NotFoundError). The body format is not recorded: plain text chosen.
    text = (
        "No valid deployments to route to. Please check that the endpoint has at least one "
        "deployment with positive weight values or use a deployment specific header to route. "
        "[https://docs.microsoft.com/en-us/azure/machine-learning/"
        "how-to-safely-rollout-managed-endpoints#deploy-a-new-model-but-send-it-no-traffic-yet]"
    )
    return Rejection(404, text)


def no_model_name() -> Rejection:
    # Recorded from a Foundry resource (microsoft/AI-Red-Teaming-Playground-Labs#14,
    # microsoft/semantic-kernel#10339): HTTP 400 with this body.
    text = (
        "No model specified in request. Please provide a model name in the request body or as "
        "a x-ms-model-mesh-model-name header."
    )
    return Rejection(400, {"error": {"code": "no_model_name", "message": text, "details": text}})


def unknown_model(name: str) -> Rejection:
    # Recorded from the same model-mesh front end (GitHub Models, which the Foundry Models API
    # shares; microsoft/Generative-AI-for-beginners-dotnet#302): HTTP 404 with this body.
    text = f"Unknown model: {name}"
    return Rejection(404, {"error": {"code": "unknown_model", "message": text, "details": text}})


def extra_parameters(keys: Sequence[str]) -> Rejection:
    # The text is the one LiteLLM parses (docs/wire-protocol.md §5). The real body shape is
    # unrecorded; {"detail": "..."} (FastAPI style) is what gateway stubs in public code use.
    text = (
        f"Extra parameters {list(keys)!r} are not allowed when extra-parameters is not set or "
        "set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model."
    )
    return Rejection(400, {"detail": text})


def parameter_not_supported(field: str, value: object) -> Rejection:
    # REF-API's documented 422, reproduced byte for byte.
    body = {
        "status": 422,
        "code": "parameter_not_supported",
        "detail": {"loc": ["body", field], "input": value},
        "message": "One of the parameters contain invalid values.",
    }
    return Rejection(422, body)


def invalid(loc: Sequence[str | int], message: str, value: object = None) -> Rejection:
    # Unrecorded; the REF-API 422 envelope with `detail` as a list of {loc, input, msg}, the form
    # the docs' own Python sample iterates. It also exercises clients' list-detail parsing.
    body = {
        "status": 422,
        "code": "invalid_request",
        "detail": [{"loc": list(loc), "input": value, "msg": message}],
        "message": "One of the parameters contain invalid values.",
    }
    return Rejection(422, body)


def prompt_filtered() -> Rejection:
    # LLAMA-DOC wrapped shape, exactly.
    return Rejection(400, {"error": _filter_error()})


def jailbreak_filtered() -> Rejection:
    # AOAI/Foundry shape (docs/wire-protocol.md §11): the same error plus
    # innererror.content_filter_result.
    safe = {"filtered": False, "severity": "safe"}
    result = {
        "hate": safe,
        "jailbreak": {"filtered": True, "detected": True},
        "self_harm": safe,
        "sexual": safe,
        "violence": safe,
    }
    inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": result}
    return Rejection(400, {"error": {**_filter_error(), "innererror": inner}})


def _filter_error() -> dict[str, object]:
    return {
        "message": "The response was filtered due to the prompt triggering Microsoft's content "
        "management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
    }


def backend_bad_request(message: str) -> Rejection:
    # The real pass-through of a vLLM 400 (semantic-kernel #9933/#10221): `message` is the vLLM
    # ErrorResponse serialised as a JSON *string* inside Azure's wrapper.
    inner = {
        "object": "error",
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    return Rejection(
        400, {"error": {"code": "Bad Request", "message": dumps(inner), "status": 400}}
    )


def image_limit(allowed: int) -> Rejection:
    # Recorded from Maverick on a serverless Azure deployment (meta-llama/llama-cookbook#938):
    # azure-core printed `(Bad Request) {"object":"error","message":"At most 1 image(s) ...`,
    # i.e. this wrapper. For a text-only model (0 images) the same vLLM sentence is assumed.
    return backend_bad_request(f"At most {allowed} image(s) may be provided in one request.")


def tools_unsupported() -> Rejection:
    return backend_bad_request(
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    )


def rate_limited(seconds: int) -> Rejection:
    # APIM throttling body (docs/wire-protocol.md §11, inferred for MaaS) with a whole-second
    # retry-after.
    body = {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }
    return Rejection(429, body, headers={"retry-after": str(seconds)})


def upstream_error(status: int, reason: str, text: str) -> Rejection:
    return Rejection(status, {"error": {"code": reason, "message": text, "status": status}})


def bad_emulator_header(message: str) -> Rejection:
    # Not Azure: an `x-emulator-*` control header was malformed.
    error = {"code": "EmulatorBadHeader", "message": message, "status": 400}
    return Rejection(400, {"error": error})


def from_fault(fault: Fault) -> Rejection:
    """The answer to `Fault.status`: the gateway's shape for 401/429, Azure's wrapper otherwise."""
    code = fault.status_code
    headers = _retry_headers(fault)
    if fault.body is not None:
        return Rejection(code, fault.body, headers=headers)
    if code == 401:
        return Rejection(code, unauthorized().body, headers={**unauthorized().headers, **headers})
    if code == 429:
        # Headers only when asked for, so clients' "Try again in N seconds" fallback is testable.
        return Rejection(code, rate_limited(_hint_seconds(fault)).body, headers=headers)
    # 5xx and other 4xx: unrecorded for MaaS; the {"error":{code,message,status}} wrapper that
    # the real 400 pass-through uses, with the reason phrase (no spaces) as the code.
    reason = _REASONS.get(code, "Error")
    message = f"The server had an error while processing your request ({code} {reason})."
    error = {"code": reason.replace(" ", ""), "message": message, "status": code}
    return Rejection(code, {"error": error}, headers=headers)


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    424: "Failed Dependency",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _retry_headers(fault: Fault) -> dict[str, str]:
    headers = {}
    if fault.retry_after is not None:
        value = fault.retry_after
        headers["retry-after"] = value if isinstance(value, str) else f"{value:g}"
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = f"{fault.retry_after_ms:g}"
    return headers


def _hint_seconds(fault: Fault) -> int:
    if isinstance(fault.retry_after, (int, float)):
        return max(1, math.ceil(fault.retry_after))
    if fault.retry_after_ms is not None:
        return max(1, math.ceil(fault.retry_after_ms / 1000))
    return 1
