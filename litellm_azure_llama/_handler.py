"""The `CustomLLM` subclass: LiteLLM's 16-argument signatures stop here.

Each of the four entry points reads LiteLLM's arguments into one `_Call`, hands it to the
transport with a cached client (`_clients`), and converts the answer (`_convert`); every transport
error leaves through `_errors.to_litellm`. Chat goes through the transport's Llama protocol
(`t.chat`, `t.chat_stream`, ...): tools and `response_format` native or prompted (`tool_calling`),
answers shape-checked, prompted tool calls parsed back into `tool_calls`, and a 404 from a base
model explained from the deployment's `/info`. `text_completion` uses the transport's text calls
(`t.complete`, `t.complete_stream`, ...), with the same 404 explanation. The transport also
refuses a `max_tokens` above the model's limit before sending, numbers streamed tool calls and
normalises usage; the environment is read by `t.settings_from_env`. LiteLLM's `client` argument
(an OpenAI or httpx client meant for its built-in providers) is ignored: the transport owns its
connection pools.

Entra ID: LiteLLM's `azure_ad_token_provider` is honoured, either a callable returning a token
(azure-identity's `get_bearer_token_provider`, which caches and refreshes by itself, so it is
asked on every request) or a token credential such as `DefaultAzureCredential()` (its tokens are
cached until shortly before they expire, and refreshed once on a 401).

A LiteLLM proxy client cannot choose the deployment, route, api-version, endpoint kind,
endpoint, credential or routing/auth headers: its request is refused before anything is sent
(`_routing`); the operator's `litellm_params` and an SDK caller's own arguments choose them.

Sync streams are opened before `streaming()` returns, so an error before the first byte is raised
by `litellm.completion()` itself. `astreaming()` must be an async generator (LiteLLM wraps what
it returns without awaiting), so there such an error arrives with the first chunk.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os  # the memo's salt
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

import azure_llama_transport as t

from ._clients import ClientCache, Settings
from ._convert import (
    ENDPOINT_KIND_KEY,
    RequestPlan,
    StreamConverter,
    fill_response,
    fill_text_response,
    plan_request,
    to_wire_messages,
)
from ._errors import to_litellm
from ._fleet import share_capabilities
from ._models import register_models
from ._routing import refuse_client_routing

__all__ = ["AzureLlamaLLM", "aget_model_info", "get_model_info", "handler"]

_PREFIX = "azure_llama/"
PROVIDER_MODEL = "azure_llama"
# A token from a provider callable is reported as valid this long, so that the transport asks the
# provider again on every request (the provider caches and refreshes the token itself).
_PROVIDER_TOKEN_SECONDS = 1.0


class _TokenProvider:
    """A `() -> str` token provider as the `get_token(*scopes)` credential the transport takes."""

    def __init__(self, provider: Callable[[], str]) -> None:
        self._provider = provider

    def get_token(self, *scopes: str, **kwargs: Any) -> tuple[str, float]:
        return self._provider(), time.time() + _PROVIDER_TOKEN_SECONDS

    # Equal wrappers of one provider share one cached client (and its connection pool).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TokenProvider) and other._provider == self._provider

    def __hash__(self) -> int:
        return hash(self._provider)

    def __repr__(self) -> str:
        return f"_TokenProvider({type(self._provider).__name__})"


@dataclass(frozen=True)
class _Call:
    """One LiteLLM call, read once from LiteLLM's arguments."""

    model: str
    settings: Settings
    plan: RequestPlan
    messages: list[Any]
    prompt: str | list[str] | None
    headers: dict[str, str]
    timeout: float | None
    schema: str  # the requested JSON schema as JSON text, "" for none (for the schema error)
    call_id: str | None = None

    def text_request(self) -> t.TextRequest:
        return t.TextRequest(
            self.prompt or "",
            self.plan.params,
            model_extras=self.plan.extras,
            api=self.plan.api,
            headers=self.headers,
            timeout=self.timeout,
            use_instead=self.use_instead(),
            model=self.model,
        )

    def chat_request(self) -> t.ChatRequest:
        return t.ChatRequest(
            self.messages,
            self.plan.params,
            model_extras=self.plan.extras,
            api=self.plan.api,
            headers=self.headers,
            timeout=self.timeout,
            tool_calling=self.plan.tool_calling,
            use_instead=self.use_instead(),
            model=self.model.removeprefix(_PREFIX),
        )

    def use_instead(self) -> str:
        """What to call when the deployment is of the other model type."""
        return _use_instead(self.model, text=self.prompt is not None)

    def info_settings(self) -> Settings:
        """The settings of the client that reads this deployment's `/info` (cached per client)."""
        return dataclasses.replace(self.settings, deployment=self.plan.deployment)


def _read_call(
    model: str,
    messages: Sequence[Any],
    api_base: str | None,
    api_key: str | None,
    optional_params: Mapping[str, Any],
    litellm_params: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    timeout: float | httpx.Timeout | None,
) -> _Call:
    litellm_params = litellm_params or {}
    # Through the proxy, the client's body is merged over the operator's settings: refuse the
    # ones that choose the upstream (see `_routing`) before any of them is read.
    refuse_client_routing(litellm_params, headers)
    kind_given = optional_params.get(ENDPOINT_KIND_KEY)
    facts = t.endpoint_facts(_endpoint_text(api_base), kind_given)  # refuses a bad kind
    endpoint = facts.endpoint
    text = litellm_params.get("text_completion") is True
    plan = plan_request(optional_params, text=text, default_api=facts.api)
    settings = _settings(
        endpoint,
        api_key,
        litellm_params.get("azure_ad_token_provider"),
        api_version=_api_version(optional_params, litellm_params),
        max_retries=_max_retries(optional_params, litellm_params),
        endpoint_kind=kind_given,
    )
    if t.routes_by_model(facts.kind):
        # The endpoint picks the deployment by the body's `model`: the name after the prefix.
        plan.params["model"] = model.removeprefix(_PREFIX)
    out_headers = {k: str(v) for k, v in (headers or {}).items() if v is not None}
    if plan.deployment:
        out_headers[t.DEPLOYMENT_HEADER] = plan.deployment
    return _Call(
        model=model,
        settings=settings,
        plan=plan,
        messages=[] if text else to_wire_messages(messages),
        prompt=_prompt(messages) if text else None,
        headers=out_headers,
        timeout=_seconds(timeout),
        schema=_schema_text(plan.params.get("response_format")),
        call_id=litellm_params.get("litellm_call_id"),
    )


def _schema_text(response_format: Any) -> str:
    if response_format is None:
        return ""
    schema = t.schema_of(response_format)  # a malformed json_schema is refused here
    return json.dumps(schema.json_schema) if schema is not None else ""


@functools.lru_cache(maxsize=256)
def _use_instead(model: str, *, text: bool) -> str:
    name = model.removeprefix(_PREFIX)
    if text:
        return f"Use litellm.completion(model='{_PREFIX}{name}', messages=[...]) for it."
    return f"Use litellm.text_completion(model='{_PREFIX}{name}', prompt=...) for it."


def _endpoint_text(api_base: str | None) -> str:
    return t.settings_from_env(api_base).endpoint or ""


def _endpoint(api_base: str | None) -> tuple[str, Any]:
    """The endpoint, and the API its form selects by default (the transport reads the URL)."""
    facts = t.endpoint_facts(_endpoint_text(api_base))
    return facts.endpoint, facts.api


def _settings(
    endpoint: str,
    api_key: str | None,
    token_provider: Any,
    *,
    api_version: str,
    max_retries: int,
    deployment: str | None = None,
    endpoint_kind: Any = None,
) -> Settings:
    """Key auth, or Entra ID when `azure_ad_token_provider` is given (it wins over a key)."""
    credential = None
    if token_provider is not None:
        has_get_token = hasattr(token_provider, "get_token")
        credential = token_provider if has_get_token else _TokenProvider(token_provider)
    env = t.settings_from_env(endpoint, api_key or None, credential)
    return Settings(
        endpoint=endpoint,
        api_key="" if credential else env.api_key or "",
        api_version=api_version,
        max_retries=max_retries,
        credential=credential,
        deployment=deployment,
        endpoint_kind=endpoint_kind,
    )


def _api_version(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any]) -> str:
    value = litellm_params.get("api_version") or optional_params.get("api_version")
    return str(value) if value else t.DEFAULT_API_VERSION


def _max_retries(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any]) -> int:
    """The transport's retry budget: LiteLLM's `max_retries` (also what `num_retries` becomes).

    Without either, no retry: one request, as LiteLLM's own `azure_ai/` sends. The Router passes
    0 and retries itself.
    """
    value = optional_params.get("max_retries")
    if value is None:
        value = litellm_params.get("max_retries")
    return 0 if value is None else max(int(value), 0)


def _seconds(timeout: float | httpx.Timeout | str | None) -> float | None:
    """The timeout LiteLLM resolved for this call, in seconds; None (the transport's own 60 s)
    only when LiteLLM passed none (the handler called directly).

    LiteLLM resolves the timeout before it calls a provider (the call's `timeout`, the
    deployment's `litellm_params.timeout`, the Router's `timeout`, `litellm.request_timeout`,
    else its own 600 s) and passes only the result, in `timeout` and `litellm_params["timeout"]`
    alike: nothing marks a value as a default, so no value is second-guessed. An explicit 600 is
    600, as for LiteLLM's own providers; an operator bounds the Router's 6000 s with a
    `timeout` of their own (the cookbook config sets one).
    """
    if timeout is None:
        return None
    if isinstance(timeout, httpx.Timeout):
        parts = [timeout.read, timeout.connect, timeout.write, timeout.pool]
        values = [p for p in parts if p is not None]
        return max(values) if values else None
    return float(timeout)


def _prompt(messages: Sequence[Any]) -> str | list[str]:
    """`litellm.text_completion` turns each prompt into one user message; undo that."""
    prompts = [str(m.get("content") or "") for m in messages if isinstance(m, Mapping)]
    return prompts[0] if len(prompts) == 1 else prompts


class _mapped:  # lower case: it reads as a function, `with _mapped(model):`
    """Transport errors leave as LiteLLM's (`to_litellm`). A class rather than a
    `@contextmanager` generator: entered a few times on every call, and this is cheaper."""

    __slots__ = ("_model", "_schema")

    def __init__(self, model: str, schema: str = "") -> None:
        self._model = model
        self._schema = schema

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, t.AzureLlamaError):
            raise to_litellm(exc, self._model, schema=self._schema) from exc


class _SyncChunks:
    """The sync stream handed to LiteLLM: already open (errors before the first byte were raised
    by `streaming()` itself), closed by LiteLLM's wrapper even if never iterated."""

    def __init__(self, stream: t.LlamaStream, model: str, schema: str) -> None:
        self._stream = stream
        # A module-level generator, not a method: a generator holding `self` would make a
        # reference cycle, and a stream the caller drops would keep its connection until gc.
        self._chunks = _sync_chunks(stream, model, schema)

    def __iter__(self) -> Iterator[GenericStreamingChunk]:
        return self

    def __next__(self) -> GenericStreamingChunk:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        self._stream.close()


class _SpentCalls:
    """One retry layer: the transport's, which honours `retry-after` within the call's budget.

    `litellm.completion(num_retries=N)` hands the provider `max_retries=N`, and when the call
    fails LiteLLM's own wrapper calls the provider N more times (same `litellm_call_id`,
    `max_retries=0`): 2N+1 requests. The transport has already spent the N retries, so those
    calls re-raise its error without sending. `max_retries=N` alone is not re-called by LiteLLM.

    A repeat is recognised by its call id *and* where it goes: endpoint, api-version,
    deployment, model and credential (see `_memo_key`). A caller's own `litellm_call_id`
    reused for another endpoint or key is a new call and gets its own request.
    """

    _MAX = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: OrderedDict[tuple[Any, ...], t.AzureLlamaError] = OrderedDict()

    def check(self, call: _Call) -> None:
        """Re-raise the transport's error for LiteLLM's repeat of a call it already retried."""
        if not self._errors or call.call_id is None or call.settings.max_retries != 0:
            return  # the common case, read without the lock: nothing remembered, or no repeat
        key = _memo_key(call)
        with self._lock:
            error = self._errors.get(key)
        if error is not None:
            raise error

    def remember(self, call: _Call, exc: t.AzureLlamaError) -> None:
        """A failed call whose retries the transport spent: LiteLLM may call it again."""
        if call.call_id is None or call.settings.max_retries <= 0:
            return
        key = _memo_key(call)
        with self._lock:
            self._errors[key] = exc
            while len(self._errors) > self._MAX:
                self._errors.popitem(last=False)


# Keys in the memo are digests keyed with this process's own secret: an API key is never kept in
# clear, and the digest is worthless outside this process.
_MEMO_SALT = os.urandom(16)


def _memo_key(call: _Call) -> tuple[Any, ...]:
    """A call id and where the call goes; the credential as a keyed digest of the API key, or as
    the credential object compares (by identity, or by the wrapped token provider)."""
    settings = call.settings
    credential: Any = settings.credential
    if credential is None:
        digest = hashlib.blake2b(settings.api_key.encode(), key=_MEMO_SALT, digest_size=16)
        credential = digest.hexdigest()
    return (
        call.call_id,
        settings.endpoint,
        settings.api_version,
        call.plan.deployment,
        call.model,
        credential,
    )


class _InfoOnDemand:
    """The client bound to the call's deployment, as the transport's 404 explanation uses it
    (`get_model_info` only): built on the first 404, so a correct call builds no second client
    (each holds a connection pool; the cache keeps one per deployment once it exists)."""

    __slots__ = ("_call", "_clients")

    def __init__(self, clients: ClientCache, call: _Call) -> None:
        self._clients = clients
        self._call = call

    def get_model_info(self, refresh: bool = False) -> t.ModelInfo:
        client = self._clients.sync(self._call.info_settings())
        return client.get_model_info(refresh=refresh)


class _AsyncInfoOnDemand(_InfoOnDemand):
    __slots__ = ()

    async def get_model_info(self, refresh: bool = False) -> t.ModelInfo:  # type: ignore[override]
        client = self._clients.async_(self._call.info_settings())
        return await client.get_model_info(refresh=refresh)


class AzureLlamaLLM(CustomLLM):
    """LiteLLM custom provider for Meta Llama on Azure AI (`azure_llama/<model>`)."""

    def __init__(self) -> None:
        super().__init__()
        self._clients = ClientCache()
        self._spent = _SpentCalls()
        register_models()
        share_capabilities()  # refusals learned by one proxy instance, known to all (`_fleet`)

    def close(self) -> None:
        """Close the cached sync clients' connection pools."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the cached async clients' pools for the running event loop."""
        await self._clients.aclose()

    # -- sending: chat through the Llama protocol, text through the client -------------------

    def _send(self, call: _Call, *, stream: bool) -> Any:
        self._spent.check(call)
        try:
            return self._send_once(call, stream)
        except t.AzureLlamaError as exc:
            self._spent.remember(call, exc)
            raise

    def _send_once(self, call: _Call, stream: bool) -> Any:
        http = self._clients.sync(call.settings)
        info = cast("t.AzureLlamaClient", _InfoOnDemand(self._clients, call))
        if call.prompt is None:
            chat = t.chat_stream if stream else t.chat
            return chat(http, call.chat_request(), info_client=info)
        complete = t.complete_stream if stream else t.complete
        return complete(http, call.text_request(), info_client=info)

    async def _asend(self, call: _Call, *, stream: bool) -> Any:
        self._spent.check(call)
        try:
            return await self._asend_once(call, stream)
        except t.AzureLlamaError as exc:
            self._spent.remember(call, exc)
            raise

    async def _asend_once(self, call: _Call, stream: bool) -> Any:
        http = self._clients.async_(call.settings)
        info = cast("t.AsyncAzureLlamaClient", _AsyncInfoOnDemand(self._clients, call))
        if call.prompt is None:
            achat = t.achat_stream if stream else t.achat
            return await achat(http, call.chat_request(), info_client=info)
        acomplete = t.acomplete_stream if stream else t.acomplete
        return await acomplete(http, call.text_request(), info_client=info)

    # LiteLLM's signatures, verbatim; everything below them takes a `_Call`.
    def completion(
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        with _mapped(model):
            call = _read_call(
                model,
                messages,
                api_base,
                api_key,
                optional_params,
                litellm_params,
                headers,
                timeout,
            )
        with _mapped(model, call.schema):
            data = self._send(call, stream=False)
            return _filled(call, data, model_response)

    async def acompletion(
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        with _mapped(model):
            call = _read_call(
                model,
                messages,
                api_base,
                api_key,
                optional_params,
                litellm_params,
                headers,
                timeout,
            )
        with _mapped(model, call.schema):
            data = await self._asend(call, stream=False)
            return _filled(call, data, model_response)

    def streaming(
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> Iterator[GenericStreamingChunk]:
        with _mapped(model):
            call = _read_call(
                model,
                messages,
                api_base,
                api_key,
                optional_params,
                litellm_params,
                headers,
                timeout,
            )
        with _mapped(model, call.schema):
            stream: t.LlamaStream = self._send(call, stream=True)
        return _SyncChunks(stream, model, call.schema)

    async def astreaming(  # type: ignore[override,misc]
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Callable[..., Any],
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> AsyncIterator[GenericStreamingChunk]:
        # An async generator: LiteLLM wraps what this call returns before awaiting anything, so
        # errors before the first byte surface on the first chunk (the Router reads it first).
        with _mapped(model):
            call = _read_call(
                model,
                messages,
                api_base,
                api_key,
                optional_params,
                litellm_params,
                headers,
                timeout,
            )
        with _mapped(model, call.schema):
            stream: t.AsyncLlamaStream = await self._asend(call, stream=True)
        convert = StreamConverter().convert
        try:
            with _mapped(model, call.schema):
                async for chunk in stream:
                    for out in convert(chunk):
                        yield _told(out, stream) if out["is_finished"] else out
        finally:
            await stream.aclose()


def _sync_chunks(
    stream: t.LlamaStream, model: str, schema: str
) -> Generator[GenericStreamingChunk, None, None]:
    convert = StreamConverter().convert
    with _mapped(model, schema):
        for chunk in stream:
            for out in convert(chunk):
                # Only the finishing chunk is told the protocol (a call saved per token).
                yield _told(out, stream) if out["is_finished"] else out


def _told(chunk: GenericStreamingChunk, stream: object) -> GenericStreamingChunk:
    """The finishing chunk of a chat stream says how the transport's Llama protocol ran (as the
    whole answer's message does: `provider_specific_fields["llama_protocol"]`); a text
    completion's stream has no protocol to report."""
    protocol = getattr(stream, "protocol", None)
    if chunk["is_finished"] and protocol is not None:
        chunk["provider_specific_fields"] = {"llama_protocol": protocol}
    return chunk


def _filled(call: _Call, data: Any, model_response: ModelResponse) -> ModelResponse:
    if call.prompt is not None:
        return fill_text_response(data, model_response, call.model)
    response = fill_response(data, model_response, call.model)
    protocol = data.get("llama_protocol")
    if protocol is not None:
        for choice in response.choices:
            message = getattr(choice, "message", None)
            if message is not None:
                message.provider_specific_fields = {"llama_protocol": protocol}
    return response


handler = AzureLlamaLLM()


# -- /info --------------------------------------------------------------------------------------


def _info_settings(
    api_base: str | None,
    api_key: str | None,
    deployment: str | None,
    api_version: str | None,
    azure_ad_token_provider: Any,
) -> Settings:
    endpoint, _ = _endpoint(api_base)
    return _settings(
        endpoint,
        api_key,
        azure_ad_token_provider,
        api_version=api_version or t.DEFAULT_API_VERSION,
        max_retries=2,
        deployment=deployment,
    )


def get_model_info(
    model: str = PROVIDER_MODEL,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    deployment: str | None = None,
    api_version: str | None = None,
    azure_ad_token_provider: Any = None,
    refresh: bool = False,
) -> t.ModelInfo:
    """The deployment's `GET /info`, cached per endpoint, credential and deployment.

    `model_type` is normalised (`chat-completion` / `text-generation`; the raw spelling is
    `raw_model_type`) and the `served_model_*` fields are kept. The catalogue's facts about a
    model (limits, prices) are LiteLLM's own `litellm.get_model_info("azure_llama/<model>")`.

    Args:
        model: Used in error messages only (`azure_llama/<model>`).
        api_base: The endpoint; defaults to `AZURE_INFERENCE_ENDPOINT`.
        api_key: The key; defaults to `AZURE_INFERENCE_CREDENTIAL`.
        deployment: Managed compute deployment (`azureml-model-deployment`).
        api_version: The `api-version` query (default `2024-05-01-preview`).
        azure_ad_token_provider: Entra ID instead of a key (a token callable or credential).
        refresh: Ask the endpoint again instead of using the cached answer.

    Raises:
        litellm.exceptions.APIError: (and its subclasses) as for `litellm.completion`.
    """
    settings = _info_settings(api_base, api_key, deployment, api_version, azure_ad_token_provider)
    with _mapped(model):
        return handler._clients.sync(settings).get_model_info(refresh=refresh)


async def aget_model_info(
    model: str = PROVIDER_MODEL,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    deployment: str | None = None,
    api_version: str | None = None,
    azure_ad_token_provider: Any = None,
    refresh: bool = False,
) -> t.ModelInfo:
    """Async `get_model_info` (its own cache, on the async client)."""
    settings = _info_settings(api_base, api_key, deployment, api_version, azure_ad_token_provider)
    with _mapped(model):
        return await handler._clients.async_(settings).get_model_info(refresh=refresh)
