"""The `CustomLLM` subclass: LiteLLM's 16-argument signatures stop here.

Each of the four entry points reads LiteLLM's arguments into one `_Call`, sends it through a
cached transport client (`_clients`), and converts the answer (`_convert`); every transport error
leaves through `_errors.to_litellm`. LiteLLM's `client` argument (an OpenAI or httpx client meant
for its built-in providers) is ignored: the transport owns its connection pools.

Sync streams are opened before `streaming()` returns, so an error before the first byte is raised
by `litellm.completion()` itself. `astreaming()` must be an async generator (LiteLLM wraps what
it returns without awaiting), so there such an error arrives with the first chunk.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from litellm.llms.custom_llm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from langchain_azure_llama import transport as t

from ._clients import ClientCache, Settings
from ._convert import (
    RequestPlan,
    StreamConverter,
    fill_response,
    fill_text_response,
    plan_request,
    to_wire_messages,
)
from ._errors import to_litellm
from ._models import register_models

__all__ = ["AzureLlamaLLM", "handler"]

ENDPOINT_ENV = "AZURE_INFERENCE_ENDPOINT"
CREDENTIAL_ENV = "AZURE_INFERENCE_CREDENTIAL"
_DEPLOYMENT_HEADER = "azureml-model-deployment"
_LLAMA_SUFFIX = "/v1"


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

    def request_kwargs(self) -> dict[str, Any]:
        return {
            "api": self.plan.api,
            "model_extras": self.plan.extras,
            "headers": self.headers,
            "timeout": self.timeout,
        }


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
    endpoint = (api_base or os.environ.get(ENDPOINT_ENV) or "").strip().rstrip("/")
    default_api: Any = "inference"
    if endpoint.endswith(_LLAMA_SUFFIX):
        # The Llama docs point OpenAI-style clients at "<endpoint>/v1": honour that form.
        endpoint, default_api = endpoint[: -len(_LLAMA_SUFFIX)], "llama"
    text = litellm_params.get("text_completion") is True
    try:
        plan = plan_request(optional_params, text=text, default_api=default_api)
    except ValueError as exc:
        raise t.RequestValidationError(str(exc), param="azure_llama_api") from exc
    settings = Settings(
        endpoint=endpoint,
        api_key=api_key or os.environ.get(CREDENTIAL_ENV) or "",
        api_version=_api_version(optional_params, litellm_params),
        max_retries=_max_retries(optional_params, litellm_params),
    )
    out_headers = {k: str(v) for k, v in (headers or {}).items() if v is not None}
    if plan.deployment:
        out_headers[_DEPLOYMENT_HEADER] = plan.deployment
    return _Call(
        model=model,
        settings=settings,
        plan=plan,
        messages=[] if text else to_wire_messages(messages),
        prompt=_prompt(messages) if text else None,
        headers=out_headers,
        timeout=_seconds(timeout),
    )


def _api_version(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any]) -> str:
    value = litellm_params.get("api_version") or optional_params.get("api_version")
    return str(value) if value else t.DEFAULT_API_VERSION


def _max_retries(optional_params: Mapping[str, Any], litellm_params: Mapping[str, Any]) -> int:
    """LiteLLM's `max_retries` is the client's retry budget (the Router sets 0: it retries)."""
    value = optional_params.get("max_retries")
    if value is None:
        value = litellm_params.get("max_retries")
    return 2 if value is None else max(int(value), 0)


def _seconds(timeout: float | httpx.Timeout | str | None) -> float | None:
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


@contextlib.contextmanager
def _mapped(model: str) -> Iterator[None]:
    try:
        yield
    except t.AzureLlamaError as exc:
        raise to_litellm(exc, model) from exc


class _SyncChunks:
    """The sync stream handed to LiteLLM: already open (errors before the first byte were raised
    by `streaming()` itself), closed by LiteLLM's wrapper even if never iterated."""

    def __init__(self, stream: t.Stream[Any], model: str) -> None:
        self._stream = stream
        self._model = model
        self._chunks = self._iterate()

    def _iterate(self) -> Generator[GenericStreamingChunk, None, None]:
        converter = StreamConverter()
        with _mapped(self._model):
            for chunk in self._stream:
                yield from converter.convert(chunk)

    def __iter__(self) -> Iterator[GenericStreamingChunk]:
        return self

    def __next__(self) -> GenericStreamingChunk:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        self._stream.close()


class AzureLlamaLLM(CustomLLM):
    """LiteLLM custom provider for Meta Llama on Azure AI (`azure_llama/<model>`)."""

    def __init__(self) -> None:
        super().__init__()
        self._clients = ClientCache()
        register_models()

    def close(self) -> None:
        """Close the cached sync clients' connection pools."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close the cached async clients' pools for the running event loop."""
        await self._clients.aclose()

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
            http = self._clients.sync(call.settings)
            if call.prompt is not None:
                text = http.complete(call.prompt, call.plan.params, **call.request_kwargs())
                return fill_text_response(text, model_response, model)
            data = http.chat(call.messages, call.plan.params, **call.request_kwargs())
        return fill_response(data, model_response, model)

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
            http = self._clients.async_(call.settings)
            if call.prompt is not None:
                text = await http.complete(call.prompt, call.plan.params, **call.request_kwargs())
                return fill_text_response(text, model_response, model)
            data = await http.chat(call.messages, call.plan.params, **call.request_kwargs())
        return fill_response(data, model_response, model)

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
            http = self._clients.sync(call.settings)
            stream: t.Stream[Any]
            if call.prompt is not None:
                stream = http.complete_stream(
                    call.prompt, call.plan.params, **call.request_kwargs()
                )
            else:
                stream = http.chat_stream(call.messages, call.plan.params, **call.request_kwargs())
        return _SyncChunks(stream, model)

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
            http = self._clients.async_(call.settings)
            stream: t.AsyncStream[Any]
            if call.prompt is not None:
                stream = await http.complete_stream(
                    call.prompt, call.plan.params, **call.request_kwargs()
                )
            else:
                stream = await http.chat_stream(
                    call.messages, call.plan.params, **call.request_kwargs()
                )
        converter = StreamConverter()
        try:
            with _mapped(model):
                async for chunk in stream:
                    for out in converter.convert(chunk):
                        yield out
        finally:
            await stream.aclose()


handler = AzureLlamaLLM()
