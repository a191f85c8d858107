"""The aiohttp application: one catch-all handler walking the checks in the service's order.

Every request: auth (401) -> control headers (400) -> body read and recorded -> deployment
(managed, 404) -> route (404 `NOT FOUND`), then `/info` or the inference pipeline (`_inference`).
Auth and the control headers are checked from the head alone: a request refused there is
recorded without its body, which is never read (the connection closes instead of draining it),
so unauthenticated clients cannot make the emulator hold their bodies.

A foundry endpoint serves the routes under `/models` and no `/info`, and picks the model from
the body: a missing one is a 400 `no_model_name`, an unknown one a 404 `unknown_model`
(docs/wire-protocol.md §19). An openai-v1 endpoint serves `POST /openai/v1/chat/completions`
and `GET /openai/v1/models` only, takes no dated `api-version`, picks the deployment from the
body's `model` (required, case-sensitive: 400, else 404 `DeploymentNotFound`) and answers every
error in Azure OpenAI's envelope (`_openai_errors`).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping

from aiohttp import web
from multidict import CIMultiDictProxy

from . import _openai_errors, _wire
from ._config import EmulatorConfig
from ._inference import answer
from ._state import RecordedRequest, State
from ._upstream import Upstream
from ._validate import OPENAI_CHAT, ROUTES, parse_body

STATE = web.AppKey("state", State)
# The emulator's control headers (see the package docstring), and their bounds.
CONTROL_HEADERS = frozenset(
    {"x-emulator-fault", "x-emulator-reply-tokens", "x-emulator-parallel-calls"}
)
MAX_CONTROL_HEADER = 256
_CONTROL_PREFIX = "x-emulator-"
_MAX_BODY = 64 * 1024 * 1024
_FOUNDRY_PREFIX = "/models"
_OPENAI_PREFIX = "/openai/v1"
# No api-version is needed on the v1 route; these values select it (or its preview surface).
_V1_API_VERSIONS = frozenset({"v1", "preview", "latest"})


def build_app(state: State) -> web.Application:
    app = web.Application(client_max_size=_MAX_BODY)
    app[STATE] = state
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    app.on_startup.append(_open_upstream)
    app.on_cleanup.append(_close_upstream)
    return app


async def _open_upstream(app: web.Application) -> None:
    config = app[STATE].config
    if config.upstream_url:
        app[STATE].upstream = Upstream(config.upstream_url, config.upstream_model)


async def _close_upstream(app: web.Application) -> None:
    upstream, app[STATE].upstream = app[STATE].upstream, None
    if upstream is not None:
        await upstream.aclose()


async def _dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        _authenticate(request.headers, state.config)
        check_control_headers(request.headers)
    except _wire.Rejection as rejection:
        state.record(_recorded(request, b""))
        if state.config.kind == "openai-v1":
            rejection = _openai_errors.as_openai(rejection)
        response = rejection.response()
        if not request.content.is_eof():
            response.force_close()  # the unread body is not drained (see `_emulator`)
        return response
    raw = await request.read()
    state.record(_recorded(request, raw))
    try:
        return await _handle(request, state, raw)
    except _wire.Rejection as rejection:
        if state.config.kind == "openai-v1":
            return _openai_errors.as_openai(rejection).response()
        return rejection.response()


def check_control_headers(headers: CIMultiDictProxy[str]) -> None:
    """The emulator's own `x-emulator-*` headers: known names, each at most once, each at most
    `MAX_CONTROL_HEADER` characters; anything else is a 400 before the body is read."""
    seen: set[str] = set()
    for name, value in headers.items():
        lowered = name.lower()
        if not lowered.startswith(_CONTROL_PREFIX):
            continue
        if lowered not in CONTROL_HEADERS:
            known = ", ".join(sorted(CONTROL_HEADERS))
            raise _wire.bad_emulator_header(f"unknown control header {name[:64]!r} ({known})")
        if lowered in seen:
            raise _wire.bad_emulator_header(f"{lowered} given more than once")
        if len(value) > MAX_CONTROL_HEADER:
            raise _wire.bad_emulator_header(
                f"{lowered} is {len(value)} characters long; at most {MAX_CONTROL_HEADER}"
            )
        seen.add(lowered)


def _recorded(request: web.Request, raw: bytes) -> RecordedRequest:
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    headers = {name.lower(): value for name, value in request.headers.items()}
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    connection = (str(peer[0]), int(peer[1])) if peer else None
    return RecordedRequest(
        request.method, request.path, dict(request.query), headers, parsed, raw, connection
    )


async def _handle(request: web.Request, state: State, raw: bytes) -> web.StreamResponse:
    config = state.config
    if config.kind == "openai-v1":
        return await _openai_v1(request, state, raw)
    if config.kind == "foundry":
        return await _foundry(request, state, raw)
    model, deployment = _deployment(request.headers, config)
    if request.path == "/info" and request.method == "GET":
        return _wire.json_response(_info(config, model), _wire.answer_headers(deployment))
    route = ROUTES.get(request.path)
    if route is None or request.method != "POST" or route.chat != _serves_chat(config):
        raise _wire.not_found()
    return await answer(request, state, route, model, deployment, raw)


async def _foundry(request: web.Request, state: State, raw: bytes) -> web.StreamResponse:
    path = request.path
    route = ROUTES.get(path.removeprefix(_FOUNDRY_PREFIX)) if path.startswith("/models/") else None
    if route is None or route.native or request.method != "POST":
        raise _wire.not_found()
    if route.chat != _serves_chat(state.config):
        raise _wire.not_found()
    model = _foundry_model(request.headers, raw, state.config)
    return await answer(request, state, route, model, None, raw)


async def _openai_v1(request: web.Request, state: State, raw: bytes) -> web.StreamResponse:
    path, method = request.path.rstrip("/"), request.method
    if path == f"{_OPENAI_PREFIX}/models" and method == "GET":
        return _wire.json_response(_model_list(state.config), _wire.answer_headers(None))
    if path != f"{_OPENAI_PREFIX}/chat/completions" or method != "POST":
        raise _openai_errors.not_found()
    version = request.query.get("api-version")
    if version is not None and version not in _V1_API_VERSIONS:
        raise _openai_errors.bad_api_version(version)
    name = parse_body(raw).get("model")
    if not isinstance(name, str) or not name:
        raise _openai_errors.missing_model()
    served = state.config.served_models.get(name)  # deployment names are case-sensitive
    if served is None:
        raise _openai_errors.deployment_not_found()
    return await answer(request, state, OPENAI_CHAT, served, None, raw)


def _model_list(config: EmulatorConfig) -> dict[str, object]:
    # Azure OpenAI's list names the models of the resource, not its deployments; the OpenAI
    # fields (`id`, `object`, `created`, `owned_by`) plus Azure's own.
    created = int(time.time())
    data = [
        {
            "id": model,
            "object": "model",
            "created": created,
            "created_at": created,
            "owned_by": "Meta",
            "status": "succeeded",
            "lifecycle_status": "generally-available",
            "capabilities": {"chat_completion": True, "completion": False, "embeddings": False},
        }
        for model in sorted(set(config.served_models.values()))
    ]
    return {"object": "list", "data": data}


def _foundry_model(headers: Mapping[str, str], raw: bytes, config: EmulatorConfig) -> str:
    name = parse_body(raw).get("model") or headers.get("x-ms-model-mesh-model-name")
    if not name:
        raise _wire.no_model_name()
    served = config.served_models.get(name) if isinstance(name, str) else None
    if served is None:
        raise _wire.unknown_model(str(name))
    return served


def _authenticate(headers: Mapping[str, str], config: EmulatorConfig) -> None:
    if _same(headers.get("api-key"), config.api_key):
        return
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        token = token.strip()
        # Serverless never takes Entra tokens (docs/wire-protocol.md §4): only the key passes.
        accepted = (config.api_key, *config.accepted_tokens)
        if any(_same(token, candidate) for candidate in accepted):
            return
    raise _openai_errors.unauthorized() if config.kind == "openai-v1" else _wire.unauthorized()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _deployment(headers: Mapping[str, str], config: EmulatorConfig) -> tuple[str, str | None]:
    deployments = config.deployments
    if deployments is None:
        return config.model_name, None
    name = headers.get("azureml-model-deployment")
    if name is None and len(deployments) == 1:
        name = next(iter(deployments))  # one deployment takes all the traffic
    if name is None or name not in deployments:
        raise _wire.no_deployment()
    return deployments[name], name


def _serves_chat(config: EmulatorConfig) -> bool:
    return config.model_type == "chat-completion"


def _info(config: EmulatorConfig, model: str) -> dict[str, str]:
    kind = config.info_spelling if _serves_chat(config) else "text-generation"
    return {
        "model_name": model,
        "model_type": kind,
        "model_provider_name": "Meta",
        "served_model_name": model,
        "served_model_type": kind,
    }
