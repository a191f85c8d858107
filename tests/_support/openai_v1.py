"""An independent fake of a Foundry resource's OpenAI v1 route (`/openai/v1`), for tests.

Written from the documented shapes only (docs/wire-protocol.md §20), sharing no code with the
transport or the emulator: OpenAI chat completion bodies whose `model` is the served model's name,
SSE chunks ending in ``data: [DONE]``, and Azure OpenAI error envelopes
``{"error": {"code", "message", "param", "type", "innererror"}}``. Deployments are the user's
names ("my-maverick") mapped to the model each serves. Auth: the ``api-key`` header or
``Authorization: Bearer`` with the key or an Entra ID token. `script` queues canned answers
(status, headers, body) for the next calls (a content filter, a 429).

`FakeV1.serve()` runs it on a loopback port; `FakeV1.transport()` is an `httpx.MockTransport`
for a caller's `httpx` client, whatever host the URL names (a real-looking Foundry host).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests._support.raw_server import RawServer, Request, responder

PREFIX = "/openai/v1"
UNAUTHORIZED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
NOT_DEPLOYED = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeV1:
    deployments: dict[str, str]
    key: str = "fake-v1-key"
    tokens: frozenset[str] = frozenset({"entra-token"})
    requests: list[Seen] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    # What the model "writes" (e.g. a tool call in one of the forms Llama emits), whatever the
    # request holds: the route answers `tools` with text, as a deployment that ignores them.
    # Streamed `piece` characters per chunk (0: word by word).
    reply: str | None = None
    piece: int = 0
    replies: list[str] = field(default_factory=list)  # taken in order before `reply`

    # -- the route -----------------------------------------------------------------------------

    def respond(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        lowered = {k.lower(): v for k, v in headers.items()}
        data = json.loads(body) if body else None
        self.requests.append(Seen(method, parts.path, dict(parse_qsl(parts.query)), lowered, data))
        if not self._authorized(lowered):
            return _error(401, "401", UNAUTHORIZED)
        if self.script:
            status, extra, payload = self.script.pop(0)
            return (
                status,
                {"content-type": "application/json", **extra},
                json.dumps(payload).encode(),
            )
        if method == "GET" and parts.path == PREFIX + "/models":
            listing = [{"id": name, "object": "model"} for name in self.deployments]
            return _json(200, {"object": "list", "data": listing})
        if method != "POST" or parts.path != PREFIX + "/chat/completions":
            return _error(404, "404", "Resource not found")
        model = (data or {}).get("model")
        if not model:
            return _error(400, "BadRequest", "you must provide a model parameter", param="model")
        served = self.deployments.get(model)
        if served is None:
            return _error(404, "DeploymentNotFound", NOT_DEPLOYED)
        answer = f"chatcmpl-fake-{len(self.requests)}"  # each answer its own id, as Azure's
        text = self.reply if self.reply is not None else f"v1 reply from {served}"
        text = self.replies.pop(0) if self.replies else text
        if data.get("stream"):
            return (
                200,
                {"content-type": "text/event-stream"},
                _sse(served, text, self.piece, answer),
            )
        return _json(200, _completion(served, text, answer))

    def _authorized(self, headers: dict[str, str]) -> bool:
        if headers.get("api-key") == self.key:
            return True
        scheme, _, value = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and (value == self.key or value in self.tokens)

    # -- ways to reach it ----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            status, headers, body = self.respond(
                request.method, str(request.url), dict(request.headers), request.read()
            )
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run on a loopback port; yields the v1 base URL (``http://127.0.0.1:<port>/openai/v1``)."""

        def respond(request: Request) -> tuple[int, dict[str, str], bytes]:
            return self.respond(request.method, request.target, request.headers, request.body)

        with RawServer(responder(respond), lifetime=600) as server:
            yield server.url + PREFIX


def azure_error(
    code: str, message: str, *, param: str | None = None, innererror: Any = None
) -> dict[str, Any]:
    """Azure OpenAI's error envelope."""
    error: dict[str, Any] = {"code": code, "message": message, "param": param, "type": None}
    if innererror is not None:
        error["innererror"] = innererror
    return {"error": error}


def _error(
    status: int, code: str, message: str, *, param: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    return _json(status, azure_error(code, message, param=param))


def _json(status: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(payload).encode()


def _completion(model: str, text: str, answer: str = "chatcmpl-fake") -> dict[str, Any]:
    return {
        "id": answer,
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
    }


def _sse(model: str, text: str, piece: int = 0, answer: str = "chatcmpl-fake") -> bytes:
    base = {"id": answer, "object": "chat.completion.chunk", "created": 1, "model": model}
    if piece:
        pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    else:
        pieces = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))]
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        *({**base, "choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces),
        {
            **base,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        },
    ]
    events = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (events + "data: [DONE]\n\n").encode()
