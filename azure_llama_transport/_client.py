"""The HTTP clients: auth, URL, retries before the first byte, and translation of httpx errors.

`AzureLlamaClient` and `AsyncAzureLlamaClient` are twins over the same pure helpers (request
building in `_request`, error bodies in `_error_body`, retry waits in `_retry`). Every error
from below (httpx, aiohttp, sockets) goes through `_boundary` and never escapes untranslated.
Redirects are never followed, whatever client the caller passed: a 3xx is a `RedirectError`.

The async client keeps one pool per running event loop: a pool bound to a loop that has
closed fails with "Event loop is closed", and pytest-asyncio (like `asyncio.run`) starts a
fresh loop for each call. By default that pool is an aiohttp session used directly (`_aiohttp`):
httpx's own async pool, and httpx on top of aiohttp, are several times slower at high
concurrency. `backend="httpx"` or a caller's `http_client_factory` gives an `httpx.AsyncClient`.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from . import _fork
from ._auth import KeyAuth, TokenAuth
from ._boundary import translate
from ._config import (
    DEPLOYMENT_HEADER,
    ClientConfig,
    is_serverless_host,
    routes_by_model,
)
from ._deadline import Deadline, within
from ._error_body import error_from_response, foundry_route_hint, parse_error_body
from ._errors import (
    APIConnectionError,
    APIStatusError,
    AzureLlamaError,
    RequestValidationError,
    ResponseDecodeError,
)
from ._images import image_count_hint
from ._lifecycle import warn_if_retired
from ._limits import ACCEPT_ENCODING, AsyncResponse, Limits, aread_body, read_body
from ._request import (
    Api,
    PreparedRequest,
    build_chat_request,
    build_completion_request,
    build_info_request,
)
from ._retry import RetryPolicy, is_retryable_status, retry_after_seconds
from ._shape import Kind, check_completion
from ._streaming import AsyncStream, Stream
from ._types import ChatCompletion, ChatCompletionChunk, ModelInfo, TextCompletion
from ._version import __version__

if TYPE_CHECKING:  # asyncio and aiohttp are imported on first async use (see `_running_loop`)
    import asyncio

    from yarl import URL

    from ._aiohttp import Session
    from ._pool import DeadlineTransport

__all__ = ["AsyncAzureLlamaClient", "AzureLlamaClient", "normalize_model_type"]

logger = logging.getLogger("azure_llama_transport")
AsyncBackend = Literal["aiohttp", "httpx"]
U = TypeVar("U")
# Routes x query strings a client has sent; a handful in practice, the bound is for safety.
_MAX_CACHED_URLS = 64
_SENT = "HTTP %s %s%s: %d"
# How long a finished stream waits for the end of its body, to keep the connection (`_drain`).
# The chunked terminator follows `[DONE]` at once from a well-behaved server.
_DRAIN_S = 0.1
_KIND_NAMES = {
    "foundry": "Foundry Models endpoints (<resource>.services.ai.azure.com/models)",
    "openai-v1": (
        "The OpenAI v1 route of a Foundry resource (<resource>.openai.azure.com/openai/v1)"
    ),
}
_USER_AGENT = f"langchain-azure-llama/{__version__} httpx/{httpx.__version__}"
_MODEL_TYPES = {
    "chat-completion": "chat-completion",
    "chat-completions": "chat-completion",
    "chat_completion": "chat-completion",
    "chat_completions": "chat-completion",
    "text-generation": "text-generation",
    "text_generation": "text-generation",
    "completions": "text-generation",
}


def normalize_model_type(value: str) -> str:
    """`/info` spells chat models three ways (docs/wire-protocol.md §9); fold them into one."""
    return _MODEL_TYPES.get(value.strip().lower(), value)


class _ClientBase:
    def __init__(
        self,
        endpoint: str | None = None,
        *,
        config: ClientConfig | None = None,
        retry_policy: RetryPolicy | None = None,
        limits: Limits | None = None,
        **settings: Any,
    ) -> None:
        """`config`, or the keywords of `ClientConfig.create` (the one list of what a client
        takes: `api_key`, `credential`, `api_version`, `deployment`, `timeout`, ...)."""
        self.config = config or ClientConfig.create(endpoint, **settings)
        cfg = self.config
        self.retry = retry_policy or RetryPolicy(max_retries=cfg.max_retries)
        self.limits = limits or Limits()
        self.auth: KeyAuth | TokenAuth = (
            KeyAuth(cfg.api_key)
            if cfg.api_key is not None
            else TokenAuth(cfg.credential, cfg.credential_scopes)  # type: ignore[arg-type]
        )
        self._headers = {
            "Content-Type": "application/json",
            # The SDK sends application/json even for streams (recordings); so do we.
            "Accept": "application/json",
            # Only what the bounded reader inflates in pieces (see `_limits`).
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": _USER_AGENT,
            **dict(cfg.default_headers),
        }
        if cfg.deployment:
            self._headers[DEPLOYMENT_HEADER] = cfg.deployment
        self._model_info: ModelInfo | None = None
        self._urls: dict[tuple[object, ...], httpx.URL] = {}

    def __repr__(self) -> str:
        cfg = self.config
        auth = "key" if cfg.api_key is not None else "token"
        return (
            f"{type(self).__name__}(endpoint={cfg.endpoint!r}, kind={cfg.kind!r}, auth={auth!r}, "
            f"deployment={cfg.deployment!r}, api_version={cfg.api_version!r})"
        )

    # -- request building (pure; shared by both twins) --------------------------------------

    def prepare_chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        *,
        api: Api = "inference",
        stream: bool = False,
        model_extras: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        model_hint: str | None = None,
    ) -> PreparedRequest:
        """The chat request, checked. `model_hint`: a model name the caller knows that the body
        may not carry (the Llama protocol's `ChatRequest.model`), for the image check; not sent."""
        self._check_endpoint_kind(params, api)
        if params:
            warn_if_retired(params.get("model"), self.config.kind)
        return build_chat_request(
            messages,
            params,
            api=api,
            stream=stream,
            model_extras=model_extras,
            extra_parameters=self.config.extra_parameters,
            api_version=self.config.api_version,
            headers=headers,
            deployment=self.config.deployment,
            model_hint=model_hint,
        )

    def prepare_completion(
        self,
        prompt: str | Sequence[str],
        params: Mapping[str, Any] | None = None,
        *,
        api: Api = "inference",
        stream: bool = False,
        model_extras: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> PreparedRequest:
        self._check_endpoint_kind(params, api, text=True)
        if params:
            warn_if_retired(params.get("model"), self.config.kind)
        return build_completion_request(
            prompt,
            params,
            api=api,
            stream=stream,
            model_extras=model_extras,
            extra_parameters=self.config.extra_parameters,
            api_version=self.config.api_version,
            headers=headers,
        )

    def _note_answer(self, params: Mapping[str, Any] | None, served: object) -> None:
        """Read the model an answer names: a deployment called by a name of the user's own
        ("my-maverick") is known to the catalogue from then on, and warns if retired."""
        requested = (params or {}).get("model")
        if served == requested or not isinstance(served, str) or not served:
            return
        warn_if_retired(served, self.config.kind, answered=True)
        if isinstance(requested, str) and requested:
            from ._catalogue import remember_served

            remember_served(requested, served)

    def _answer_hook(self, params: Mapping[str, Any] | None) -> Callable[[str], None]:
        return lambda served: self._note_answer(params, served)

    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(self.config.timeout if timeout is None else timeout, self.retry.clock)

    def _check_endpoint_kind(
        self, params: Mapping[str, Any] | None, api: Api, *, text: bool = False
    ) -> None:
        """Endpoints of a Foundry resource route by `model` and serve one API each."""
        kind = self.config.kind
        if not routes_by_model(kind):
            return
        where = _KIND_NAMES[kind]
        if api == "llama":
            raise RequestValidationError(
                f"{where}: no Llama-native /v1 routes here (api='llama'); use api='inference'.",
                param="api",
            )
        if text and kind == "openai-v1":
            raise RequestValidationError(
                "The OpenAI v1 route of a Foundry resource serves chat completions only: "
                "Azure sells no Llama base (text-completion) models there. Use chat.",
                param="prompt",
            )
        model = (params or {}).get("model")
        if not isinstance(model, str) or not model:
            raise RequestValidationError(
                f"{where}: every deployment of the resource is served here, picked by `model`; "
                "pass model='<deployment name>' (the name you gave the deployment, e.g. "
                "'Llama-3.3-70B-Instruct' or 'my-maverick'; case-sensitive).",
                param="model",
            )

    def _check_info(self) -> None:
        # azure-ai-inference's get_model_info: "will only work when using Serverless API or
        # Managed Compute endpoint" (docs/wire-protocol.md §19); the v1 route has none either.
        kind = self.config.kind
        if routes_by_model(kind):
            raise RequestValidationError(
                f"{_KIND_NAMES[kind]}: no /info route here (it exists on serverless and managed "
                "compute endpoints only); the model is the deployment named by `model`.",
                param="endpoint",
            )

    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        prepared: PreparedRequest,
        deadline: Deadline,
    ) -> httpx.Request:
        headers = {**self._headers, **prepared.headers} if prepared.headers else self._headers
        # A ready `httpx.URL` and timeout dict: httpx would otherwise parse the URL twice (once
        # more to merge the query) and build a `Timeout` twice, on every request. A caller's
        # client with query params of its own gets the query as params, for httpx to merge.
        url: httpx.URL | str = self._url(prepared)
        params = None
        if client.params:
            url, params = self.config.endpoint + prepared.path, prepared.params or None
        return client.build_request(
            prepared.method,
            url,
            params=params,
            headers=headers,
            content=prepared.content,
            extensions={"timeout": deadline.attempt_timeouts(stream=prepared.stream)},
        )

    def _fresh_headers(self, prepared: PreparedRequest) -> dict[str, str]:
        """The request's headers as a new dict, for the direct paths' auth to write into."""
        return {**self._headers, **prepared.headers}

    def _url(self, prepared: PreparedRequest) -> httpx.URL:
        return _cached_url(self._urls, prepared, lambda: self._new_url(prepared))

    def _new_url(self, prepared: PreparedRequest) -> httpx.URL:
        url = httpx.URL(self.config.endpoint + prepared.path)
        return url.copy_merge_params(prepared.params) if prepared.params else url

    def _log_answer(self, prepared: PreparedRequest, status: int) -> None:
        # What httpx logs at INFO for its own send; the direct paths bypass it.
        logger.debug(_SENT, prepared.method, self.config.endpoint, prepared.path, status)

    def _status_error(
        self, response: httpx.Response | AsyncResponse, body: bytes, prepared: PreparedRequest
    ) -> APIStatusError:
        hint = None
        if response.status_code == 401:
            hint = self._auth_hint()
        elif response.status_code == 400 and prepared.images:
            # Only a request that carried images can hit the image limit.
            hint = image_count_hint(parse_error_body(body).message, prepared.model)
        deployment = None
        if response.status_code == 404:
            hint = foundry_route_hint(self.config.endpoint, self.config.kind)
        if response.status_code == 404 and routes_by_model(self.config.kind):
            deployment = _model_sent(prepared)
        return error_from_response(
            response.status_code,
            response.headers,
            body,
            host=self.config.host,
            hint=hint,
            path=self._url(prepared).path,
            endpoint=self.config.endpoint,
            deployment=deployment,
        )

    def _auth_hint(self) -> str:
        if self.config.api_key is not None:
            return "Check the key (AZURE_INFERENCE_CREDENTIAL) belongs to this endpoint."
        if is_serverless_host(self.config.host):
            return (
                "Serverless API endpoints accept keys only, not Microsoft Entra ID tokens: "
                "pass api_key=... (Entra ID works on managed compute endpoints)."
            )
        return "The Entra ID token was refused even after a refresh; check the role assignment."

    def _failure(self, exc: Exception, deadline: Deadline) -> AzureLlamaError | None:
        """The typed error for a lower-layer failure (the deadline's own once it has run out);
        None for anything else, which is not ours to translate."""
        error = translate(exc, self.config.host)
        if error is None and not isinstance(exc, TimeoutError):
            return None
        if error is None or deadline.expired():
            return deadline.error(self.config.host)
        return error

    def _retry_wait(self, attempt: int, error: AzureLlamaError, deadline: Deadline) -> float | None:
        """Seconds to wait before retrying, or None when the error is final as it is.

        Raises `error` rebuilt with the reason in its message (errors are never changed) when
        only the call's deadline stops the retry; called outside any `except` block, as the
        caller's own `raise error` is, so nothing chains to the lower layer."""
        if attempt >= self.retry.max_retries or deadline.expired():
            return None
        if isinstance(error, APIStatusError):
            if not is_retryable_status(error.status_code or 0):
                return None
            after = retry_after_seconds(error.headers, error.message)
        elif isinstance(error, APIConnectionError):
            after = None
        else:
            return None
        wait = self.retry.wait_for(attempt, after)
        if not deadline.allows(wait):
            # Sleeping past the deadline helps nobody: the caller gets the error (and a 429's
            # `retry_after`) now, with time left to decide.
            raise error.replace(
                message=f"{error.message} (not retried: the wait of {wait:g}s exceeds what "
                "is left of the call's timeout)"
            )
        logger.info("retrying %s after %.2fs (attempt %d)", type(error).__name__, wait, attempt + 1)
        return wait

    def _decode(self, response: httpx.Response | AsyncResponse, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            text = body.decode("utf-8", "replace")
            raise ResponseDecodeError(
                f"Azure AI endpoint {self.config.host} answered {response.status_code} with a "
                f"body that is not JSON: {text[:200]!r}",
                body=text,
            ) from exc

    def _model_info_from(self, data: Any) -> ModelInfo:
        if not isinstance(data, Mapping) or not isinstance(data.get("model_type"), str):
            raise ResponseDecodeError(f"/info on {self.config.host} gave no model_type.", body=data)
        info: dict[str, Any] = dict(data)
        info["raw_model_type"] = data["model_type"]
        info["model_type"] = normalize_model_type(data["model_type"])
        if isinstance(data.get("served_model_type"), str):
            info["served_model_type"] = normalize_model_type(data["served_model_type"])
        info.setdefault("model_name", info.get("served_model_name", ""))
        info.setdefault("model_provider_name", "")
        return info  # type: ignore[return-value]


class AzureLlamaClient(_ClientBase):
    """Synchronous client for the Azure AI Model Inference API and the Llama-native API."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, **kwargs)
        # Built by the first sync send (async-only use never pays for it); rebuilt in a forked
        # child, which must not share the parent's sockets (see _fork).
        own = functools.partial(
            _new_sync_pool, self.config.endpoint, trust_env=self.config.proxies_from_env
        )
        self._pool: _fork.ProcessLocal[httpx.Client | DeadlineTransport] = _fork.ProcessLocal(
            http_client, own
        )
        self._closed = False
        # A client dropped without close() still releases its sockets (a caller-supplied
        # http_client belongs to the caller and is left alone).
        self._closer = weakref.finalize(self, self._pool.close_own)

    @property
    def _http(self) -> httpx.Client | DeadlineTransport:
        return self._pool.get()

    @property
    def is_closed(self) -> bool:
        """True once `close()` was called: the client then refuses to send, as httpx's does."""
        return self._closed

    def close(self) -> None:
        """Close the connection pool; the client refuses to send from then on (`RuntimeError`).

        A caller's `http_client` is closed too, as httpx closes the transport it was given.
        """
        self._closed = True
        self._closer()
        self._pool.close()

    def __enter__(self) -> AzureLlamaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> ChatCompletion:
        """One whole chat completion (see `prepare_chat` for the keyword arguments)."""
        timeout = kwargs.pop("timeout", None)
        data = self.request(self.prepare_chat(messages, params, **kwargs), timeout)
        result: ChatCompletion = check_completion(data, "chat", self.config.host)
        self._note_answer(params, result.get("model"))
        return result

    def chat_stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Stream[ChatCompletionChunk]:
        timeout = kwargs.pop("timeout", None)
        prepared = self.prepare_chat(messages, params, stream=True, **kwargs)
        return self.stream(prepared, timeout, on_model=self._answer_hook(params))

    def complete(
        self, prompt: str | Sequence[str], params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> TextCompletion:
        timeout = kwargs.pop("timeout", None)
        data = self.request(self.prepare_completion(prompt, params, **kwargs), timeout)
        result: TextCompletion = check_completion(data, "text", self.config.host)
        self._note_answer(params, result.get("model"))
        return result

    def complete_stream(
        self, prompt: str | Sequence[str], params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Stream[TextCompletion]:
        timeout = kwargs.pop("timeout", None)
        prepared = self.prepare_completion(prompt, params, stream=True, **kwargs)
        return self.stream(prepared, timeout, on_model=self._answer_hook(params))

    def get_model_info(self, *, refresh: bool = False) -> ModelInfo:
        """`GET /info`, cached on the client."""
        self._check_info()
        if self._model_info is None or refresh:
            data = self.request(build_info_request(self.config.api_version))
            self._model_info = self._model_info_from(data)
        return self._model_info

    def request(self, prepared: PreparedRequest, timeout: float | None = None) -> Any:
        """Send a prepared request and return its JSON body (retrying when allowed).

        `timeout` (default: the client's) bounds the whole call, retries included.
        """
        deadline = self._deadline(timeout)
        with deadline.bind():
            response = self._send(prepared, deadline)
            body = self._read(response, deadline)
        return self._decode(response, body)

    def stream(
        self,
        prepared: PreparedRequest,
        timeout: float | None = None,
        *,
        on_model: Callable[[str], None] | None = None,
    ) -> Stream[Any]:
        """Open a stream; retries happen only until the response headers arrive.

        `timeout` bounds the call until the headers; then it is the longest wait between events.
        """
        deadline = self._deadline(timeout)
        with deadline.bind():
            response = self._send(prepared, deadline)
        return Stream(
            response,
            self.config.host,
            kind=_kind_of(prepared),
            limits=self.limits,
            idle_timeout=deadline.timeout,
            # A caller's client does not hold reads to our deadline: its pool may lose the
            # connection rather than wait on a server that keeps the body open.
            drain=None if self._pool.supplied else _DRAIN_S,
            on_model=on_model,
        )

    def _read(self, response: httpx.Response, deadline: Deadline) -> bytes:
        try:
            try:
                return read_body(response, self.limits, self.config.host)
            finally:
                response.close()
        except Exception as exc:
            error = self._failure(exc, deadline)
            if error is None:
                raise
        raise error  # outside the except block: nothing chains to the request (and the key)

    def _send(self, prepared: PreparedRequest, deadline: Deadline) -> httpx.Response:
        if self._closed:
            raise RuntimeError(_closed_message(self))
        attempt = 0
        while True:
            http = self._http
            try:
                if isinstance(http, httpx.Client):
                    # Never follow: the caller's client may, and would carry `api-key` elsewhere.
                    response = http.send(
                        self._build(http, prepared, deadline),
                        auth=self.auth,
                        stream=True,
                        follow_redirects=False,
                    )
                else:
                    response = self._send_direct(http, prepared, deadline)
            except Exception as exc:
                lower = self._failure(exc, deadline)
                if lower is None:
                    raise
                error: AzureLlamaError = lower
            else:
                self._log_answer(prepared, response.status_code)
                if response.status_code < 300:
                    return response
                body = self._read(response, deadline)
                error = self._status_error(response, body, prepared)
            wait = self._retry_wait(attempt, error, deadline)
            if wait is None:
                # Raised here, outside the except block: nothing chains to the lower-layer
                # exception, whose request holds the key.
                raise error
            self.retry.sleep(wait)
            attempt += 1

    def _send_direct(
        self, transport: DeadlineTransport, prepared: PreparedRequest, deadline: Deadline
    ) -> httpx.Response:
        """One attempt on the client's own pool, straight to its transport.

        `httpx.Client.send` costs a third of a whole loopback call: request building with header
        and cookie merges, auth and redirect generators, hooks, a cookie pass over every answer.
        The own pool is our own transport (`_pool`, held by this client: no lookup inside an
        `httpx.Client`), with no hooks, no base URL, no redirects followed and no cookies kept,
        so only what it does use is kept: auth as
        `KeyAuth` / `TokenAuth` apply it (a token refused with 401 is replaced once) and the
        closed-client check (`_send`).
        """
        headers = self._fresh_headers(prepared)
        token = self.auth.apply_sync(headers)
        request = httpx.Request(
            prepared.method,
            self._url(prepared),
            headers=headers,
            content=prepared.content,
            extensions={"timeout": deadline.attempt_timeouts(stream=prepared.stream)},
        )
        response = _handle(transport, request)
        if token is None or response.status_code != 401:
            return response
        response.close()
        self.auth.apply_sync(request.headers, refused=token)
        return _handle(transport, request)


def _handle(transport: httpx.BaseTransport, request: httpx.Request) -> httpx.Response:
    response = transport.handle_request(request)
    response.request = request  # what `httpx.Client.send` sets
    return response


def _closed_message(client: _ClientBase) -> str:
    # httpx says "Cannot send a request, as the client has been closed."; ours names the client.
    return (
        f"Cannot send a request, as the {type(client).__name__} has been closed "
        "(close() / aclose() was called, directly or by the model that owns it). "
        "Build a new client to send more."
    )


class AsyncAzureLlamaClient(_ClientBase):
    """Asynchronous twin of `AzureLlamaClient`; safe to use from any number of event loops."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        backend: AsyncBackend = "aiohttp",
        http_client_factory: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, **kwargs)
        self.backend = backend
        self._factory = http_client_factory
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}
        # Every change to `_pools` holds this lock: threads that each run (and close) their own
        # loop share the dict. A lookup on the fast path needs no lock (one dict read).
        self._pools_lock = threading.Lock()
        _fork.on_fork(self)
        self._process = _fork.process()
        self._aio_urls: dict[tuple[object, ...], URL] = {}
        self._aio_headers: dict[str, str] | None = None  # on first aiohttp send
        self._closed = False
        # Dropped without aclose(): each pool still closes, on its own loop if that loop still
        # runs, or at once if it has closed (see `_LoopPool.release`); never in another process.
        weakref.finalize(self, _release_pools, self._pools)

    def _after_fork_in_child(self) -> None:
        # A parent's thread may have held the lock at the fork: the child starts with a new one.
        self._pools_lock = threading.Lock()

    def _own_pools(self) -> dict[asyncio.AbstractEventLoop, _LoopPool]:
        """This process's pools: a forked child leaves the parent's untouched (see _fork)."""
        if self._process != _fork.process():
            with self._pools_lock:
                if self._process != _fork.process():
                    # The same dict object stays (the finalizer holds it); the parent's pools
                    # move out.
                    _fork.inherit(dict(self._pools))
                    self._pools.clear()
                    self._process = _fork.process()
        return self._pools

    async def _http(self) -> httpx.AsyncClient | Session:
        loop = _running_loop()
        pool = self._own_pools().get(loop)
        if pool is None:
            self._forget_closed_loops()
            if self._factory is not None:
                client: httpx.AsyncClient | Session = self._factory()
            elif self.backend == "httpx":
                client = _new_httpx_async_client(trust_env=self.config.proxies_from_env)
            else:
                client = _new_session(self.config.endpoint, self.config.proxies_from_env)
            pool = _LoopPool(client)
            # Runs to the generator's first yield without suspending: no other task of this
            # loop can come between the lookup above and the store below.
            await pool.register()
            with self._pools_lock:
                self._pools[loop] = pool
        return pool.client

    def _forget_closed_loops(self) -> None:
        """Drop the pools of loops that closed; another thread may be doing the same."""
        with self._pools_lock:
            closed = [loop for loop in self._pools if loop.is_closed()]
            pools = [self._pools.pop(loop) for loop in closed]
        for pool in pools:
            pool.discard()

    @property
    def is_closed(self) -> bool:
        """True once `aclose()` was called: the client then refuses to send, as httpx's does."""
        return self._closed

    async def aclose(self) -> None:
        """Close the client: it refuses to send from then on (`RuntimeError`), on every loop.

        The pool of the current loop closes now. A pool another event loop opened is left to the
        work still running on it (a stream being read there); it closes when that loop shuts
        down, or when the client is dropped (idle connections also close after 5 s).
        """
        self._closed = True
        pools = self._own_pools()
        with self._pools_lock:
            pool = pools.pop(_running_loop(), None)
        if pool is not None:
            await pool.close()
        self._forget_closed_loops()

    async def __aenter__(self) -> AsyncAzureLlamaClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> ChatCompletion:
        timeout = kwargs.pop("timeout", None)
        data = await self.request(self.prepare_chat(messages, params, **kwargs), timeout)
        result: ChatCompletion = check_completion(data, "chat", self.config.host)
        self._note_answer(params, result.get("model"))
        return result

    async def chat_stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncStream[ChatCompletionChunk]:
        timeout = kwargs.pop("timeout", None)
        prepared = self.prepare_chat(messages, params, stream=True, **kwargs)
        return await self.stream(prepared, timeout, on_model=self._answer_hook(params))

    async def complete(
        self, prompt: str | Sequence[str], params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> TextCompletion:
        timeout = kwargs.pop("timeout", None)
        data = await self.request(self.prepare_completion(prompt, params, **kwargs), timeout)
        result: TextCompletion = check_completion(data, "text", self.config.host)
        self._note_answer(params, result.get("model"))
        return result

    async def complete_stream(
        self, prompt: str | Sequence[str], params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> AsyncStream[TextCompletion]:
        timeout = kwargs.pop("timeout", None)
        prepared = self.prepare_completion(prompt, params, stream=True, **kwargs)
        return await self.stream(prepared, timeout, on_model=self._answer_hook(params))

    async def get_model_info(self, *, refresh: bool = False) -> ModelInfo:
        self._check_info()
        if self._model_info is None or refresh:
            data = await self.request(build_info_request(self.config.api_version))
            self._model_info = self._model_info_from(data)
        return self._model_info

    async def request(self, prepared: PreparedRequest, timeout: float | None = None) -> Any:
        deadline = self._deadline(timeout)
        response = await self._send(prepared, deadline)
        body = await self._read(response, deadline)
        return self._decode(response, body)

    async def stream(
        self,
        prepared: PreparedRequest,
        timeout: float | None = None,
        *,
        on_model: Callable[[str], None] | None = None,
    ) -> AsyncStream[Any]:
        deadline = self._deadline(timeout)
        response = await self._send(prepared, deadline)
        return AsyncStream(
            response,
            self.config.host,
            kind=_kind_of(prepared),
            limits=self.limits,
            idle_timeout=deadline.timeout,
            drain=_DRAIN_S,
            on_model=on_model,
        )

    async def _read(self, response: AsyncResponse, deadline: Deadline) -> bytes:
        try:
            try:
                body = aread_body(response, self.limits, self.config.host)
                return await within(deadline.remaining(), body)
            finally:
                await response.aclose()
        except Exception as exc:
            error = self._failure(exc, deadline)
            if error is None:
                raise
        raise error

    async def _send(self, prepared: PreparedRequest, deadline: Deadline) -> AsyncResponse:
        if self._closed:
            raise RuntimeError(_closed_message(self))
        http = await self._http()
        attempt = 0
        while True:
            try:
                sent = (
                    self._send_aiohttp(http, prepared)
                    if not isinstance(http, httpx.AsyncClient)
                    # Never follow: a caller's client may, and would carry `api-key` elsewhere.
                    else http.send(
                        self._build(http, prepared, deadline),
                        auth=self.auth,
                        stream=True,
                        follow_redirects=False,
                    )
                )
                response: AsyncResponse = await within(deadline.remaining(), sent)
            except Exception as exc:
                lower = self._failure(exc, deadline)
                if lower is None:
                    raise
                error: AzureLlamaError = lower
            else:
                self._log_answer(prepared, response.status_code)
                if response.status_code < 300:
                    return response
                body = await self._read(response, deadline)
                error = self._status_error(response, body, prepared)
            wait = self._retry_wait(attempt, error, deadline)
            if wait is None:
                raise error
            await self.retry.asleep(wait)
            attempt += 1

    async def _send_aiohttp(self, session: Session, prepared: PreparedRequest) -> AsyncResponse:
        """One attempt on the direct aiohttp path; auth as `KeyAuth` / `TokenAuth` do on httpx's
        (a token refused with 401 is replaced once, within the attempt). Timed by the caller:
        the attempt runs `within` the call's deadline."""
        url = self._aio_url(prepared)
        base = self._aio_headers
        if base is None:
            base = self._aio_headers = _aio_default_headers(self._headers)
        headers = {**base, **prepared.headers}
        token = await self.auth.apply_async(headers)
        response = await session.send(prepared.method, url, headers, prepared.content)
        if token is None or response.status_code != 401:
            return response
        await response.aclose()
        await self.auth.apply_async(headers, refused=token)
        return await session.send(prepared.method, url, headers, prepared.content)

    def _aio_url(self, prepared: PreparedRequest) -> URL:
        return _cached_url(self._aio_urls, prepared, lambda: _yarl_url(self._url(prepared)))


def _aio_default_headers(headers: dict[str, str]) -> dict[str, str]:
    """The client's headers for the aiohttp path: its User-Agent names aiohttp, not httpx,
    unless the caller chose their own."""
    from ._aiohttp import USER_AGENT

    if headers.get("User-Agent") != _USER_AGENT:
        return headers
    return {**headers, "User-Agent": USER_AGENT}


def _cached_url(
    cache: dict[tuple[object, ...], U], prepared: PreparedRequest, make: Callable[[], U]
) -> U:
    """A request's URL, made once per route and query string (the cache is bounded)."""
    key = (prepared.path, *prepared.params.items())
    url = cache.get(key)
    if url is None:
        url = make()
        if len(cache) < _MAX_CACHED_URLS:
            cache[key] = url
    return url


def _yarl_url(url: httpx.URL) -> URL:
    from yarl import URL  # aiohttp's URL type: imported on first async use only

    return URL(str(url), encoded=True)  # already encoded by httpx: not again


def _kind_of(prepared: PreparedRequest) -> Kind | None:
    """Which answer shape a stream of this request must have (checked per event)."""
    if prepared.route in ("chat", "llama_chat"):
        return "chat"
    if prepared.route in ("completions", "llama_completions"):
        return "text"
    return None


def _model_sent(prepared: PreparedRequest) -> str | None:
    """The `model` in a request's body (read again only to explain a 404)."""
    try:
        body = json.loads(prepared.content or b"null")
    except (ValueError, RecursionError):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _running_loop() -> asyncio.AbstractEventLoop:
    # Imported here, not at the top: the sync client (and LiteLLM's sync calls) never need it.
    import asyncio

    return asyncio.get_running_loop()


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~75 ms a client here)."""
    return httpx.create_ssl_context()


def _no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing, for the own pools.

    Azure's inference routes need no cookies (azure-core's aiohttp transport keeps none either:
    `aiohttp.DummyCookieJar`), and a kept cookie is state shared by every call of the client: an
    endpoint setting 100 new cookies per answer made a 783 KB `Cookie` header after 200 calls.
    """
    # A `CookieJar`, not an `httpx.Cookies`: httpx copies the cookies of the latter into a
    # default jar, policy lost; it uses a jar as given.
    return CookieJar(DefaultCookiePolicy(allowed_domains=[]))


# `trust_env=False` (plain http, accepted only to loopback): no `HTTP_PROXY`, which would
# receive the key in clear; the TLS context is ours either way.
def _new_sync_pool(endpoint: str, *, trust_env: bool = True) -> DeadlineTransport:
    """The default sync pool: an httpx transport of our own (`_pool`), its socket operations
    held to the deadline; the proxy the environment names for the endpoint, if any."""
    from ._pool import DeadlineTransport  # imports httpcore: on first sync send
    from ._proxy import env_proxy

    return DeadlineTransport(_ssl_context(), env_proxy(endpoint) if trust_env else None)


def _new_httpx_async_client(*, trust_env: bool = True) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    return httpx.AsyncClient(
        verify=_ssl_context(), limits=limits, trust_env=trust_env, cookies=_no_cookies()
    )


def _new_session(endpoint: str, env_proxies: bool = True) -> Session:
    from ._aiohttp import Session  # aiohttp is imported on first async use only

    return Session(_ssl_context(), endpoint, env_proxies=env_proxies)


def _release_pools(pools: dict[asyncio.AbstractEventLoop, _LoopPool]) -> None:
    # The client is gone: no thread can change `pools` any more, so no lock (which a forked
    # child could find held forever).
    items = list(pools.items())
    pools.clear()
    for loop, pool in items:
        pool.release(loop)


# Close tasks scheduled for dropped clients: the loop keeps only weak references to tasks.
_CLOSING: set[asyncio.Task[None]] = set()


class _LoopPool:
    """One event loop's connection pool, closed when that loop shuts down.

    The pool registers an async generator with its loop: `asyncio.run`, `asyncio.Runner` and
    pytest-asyncio call `loop.shutdown_asyncgens()` before closing a loop, which runs the
    generator's `finally` inside the still-open loop, where the pool can close cleanly. A
    client dropped while its loop runs schedules the close on that loop (`release`); a loop
    closed without `shutdown_asyncgens` leaves nothing to await on, so the pool is discarded
    synchronously (`discard`), sockets closed, without "Unclosed client session" warnings.
    """

    def __init__(self, client: httpx.AsyncClient | Session) -> None:
        self.client = client
        self._guard = self._close_on_shutdown()
        # Only the process that opened the pool may close it: a forked child shares its
        # sockets (and TLS state) with the parent.
        self._process = _fork.process()

    async def register(self) -> None:
        await self._guard.__anext__()

    async def _close_on_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self.client.aclose()

    async def close(self) -> None:
        await self._guard.aclose()

    def release(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close from anywhere: on `loop` if it runs, at once if it has closed."""
        if self._process != _fork.process():
            return
        if loop.is_closed():
            self.discard()
        elif loop.is_running():
            loop.call_soon_threadsafe(self._close_on, loop)

    def _close_on(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self.close())
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)

    def discard(self) -> None:
        """The loop closed under the pool: release its sockets without awaiting anything."""
        if self._process != _fork.process():
            return
        discard = getattr(self.client, "discard", None)
        if callable(discard):
            discard()
