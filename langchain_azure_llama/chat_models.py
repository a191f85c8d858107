"""`ChatAzureLlama`: Meta Llama on Azure AI as a LangChain chat model, over the shared transport."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from . import __version__
from . import transport as _t
from ._calls import (
    LLAMA_PARAMS,
    SHAPE_ERRORS,
    ChatCall,
    Mode,
    StreamPipeline,
    build_call,
    choice_logprobs,
    is_tools_rejection,
    refuse_llama_fields,
    unreadable,
    wire_tool_choice,
)
from ._convert import FILTERED_FINISH_REASONS, PROVIDER, response_to_messages
from ._errors import ContentFilterWarning, ResponseDecodeError, mapped_errors
from ._pools import Pools, settings_errors
from ._profile import profile_for
from ._prompted_tools import apply_to_message
from ._structured import Method, structured_runnable

__all__ = ["ChatAzureLlama"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_USE_TEXT_MODEL = (
    "Use AzureLlama (langchain_azure_llama.AzureLlama), the text-completion model, for it."
)


class ChatAzureLlama(BaseChatModel):
    """Meta Llama deployed on Azure AI (serverless API or managed compute).

    Setup: set ``AZURE_INFERENCE_ENDPOINT`` and ``AZURE_INFERENCE_CREDENTIAL`` (the endpoint
    key), or pass ``endpoint=`` and ``api_key=``. Managed compute endpoints also accept an
    Entra ID ``credential=`` (e.g. ``DefaultAzureCredential()``); its token is fetched per
    request, never at construction.

    ```python
    from langchain_azure_llama import ChatAzureLlama

    llm = ChatAzureLlama(model="Meta-Llama-3.1-8B-Instruct", temperature=0, max_tokens=256)
    llm.invoke("Hello")
    ```

    Every call is native: `invoke`/`stream`/`batch` use a sync HTTP pool, `ainvoke`/`astream`/
    `abatch` an async one. Usage comes back as `usage_metadata` (on exactly one stream chunk),
    and `response_metadata` holds `model_name`, `finish_reason` and `id`.

    Tool calling (`bind_tools`) has three modes, set with `tool_calling`:

    * ``"native"`` sends `tools` / `tool_choice` as the Model Inference API defines them.
    * ``"prompt"`` never sends `tools`: they are written into the system prompt in Llama 3.1's
      JSON tool-call format and the JSON answer is parsed back into `tool_calls` (streamed too).
      Earlier tool results go back as user turns starting ``Tool result (<name>):``.
    * ``"auto"`` (default) sends native tools; if the endpoint refuses them (the vLLM 400
      real Llama deployments return, or a 422 naming `tools`), it switches this endpoint to
      prompted mode for the rest of this instance's life and retries the same call once.

    Structured output (`with_structured_output`) defaults to ``method="json_schema"``: the
    schema goes into a system message and the answer is validated, with one repair round.
    ``"function_calling"`` uses a forced tool in the current tool-calling mode.
    ``response_format={"type": "json_object"}`` is never sent (Llama on Azure answers 422).

    Content safety: a prompt that Azure AI Content Safety blocks raises `ContentFilterError`
    (a langchain-core `ModelInvalidRequestError`, with `categories` when Azure sends them).
    When the filter cuts the *answer* (``finish_reason="content_filter"``), the message is
    returned (or streamed) as far as it got, with ``response_metadata["finish_reason"] ==
    "content_filter"``, and a `ContentFilterWarning` (a `UserWarning`) is emitted. Inside
    `with_structured_output` such an answer raises `ModelRefusalError` instead of parsing.

    APIs: ``api="inference"`` (default) uses the Azure AI Model Inference API
    (``/chat/completions``); ``api="llama"`` the Llama-native ``/v1/chat/completions``, where
    `n`, `best_of`, `logprobs`, `use_beam_search`, `ignore_eos`, `stop_token_ids` and
    `skip_special_tokens` are typed fields, checked before sending (``best_of`` >= ``n``; beam
    search needs ``best_of`` > 1 and ``temperature=0``; ``best_of`` > 1 cannot stream). Azure
    documents content safety for the Model Inference API routes only: the ``/v1`` route is not
    filtered (azure-wire.md §12). Logprobs, when asked for, are in
    ``response_metadata["logprobs"]``.

    Model facts: the profile's limits come from the transport's catalogue
    (`langchain_azure_llama.transport.CATALOGUE`), and a ``max_tokens`` above a known model's
    max output is refused before sending. `get_model_info()` reads the deployment's ``/info``
    (cached). A chat model pointed at a text-generation (base model) deployment fails on its
    first call with a `NotFoundError` that says to use `AzureLlama`; `check_model_type()` checks
    up front.

    Errors: every transport error is raised as a class that is both the transport error
    (`status_code`, `request_id`, `body`, ...) and the matching langchain-core `Model*Error`.
    """

    model: str | None = Field(default=None, alias="model_name")
    """Model name sent as `model` and used for tracing (e.g. "Meta-Llama-3.1-8B-Instruct").

    Optional on serverless endpoints, which serve one model; the name in each response wins
    in `response_metadata["model_name"]`."""

    endpoint: str | None = Field(
        default_factory=from_env("AZURE_INFERENCE_ENDPOINT", default=None), alias="base_url"
    )
    """Endpoint URL, e.g. ``https://<host>.<region>.models.ai.azure.com``; defaults to
    ``AZURE_INFERENCE_ENDPOINT``."""

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("AZURE_INFERENCE_CREDENTIAL", default=None)
    )
    """Endpoint key; defaults to ``AZURE_INFERENCE_CREDENTIAL``. Sent as both
    ``Authorization: Bearer`` and ``api-key``, as the Azure SDK does."""

    credential: Any = Field(default=None, exclude=True, repr=False)
    """Entra ID token credential (``get_token(*scopes)``) for managed compute endpoints.

    Exclusive with `api_key`; not serialised."""

    api_version: str | None = _t.DEFAULT_API_VERSION
    """``api-version`` query parameter; None omits it."""

    deployment: str | None = None
    """Managed compute deployment, sent as the ``azureml-model-deployment`` header."""

    api: _t.Api = "inference"
    """"inference": the Azure AI Model Inference API (``/chat/completions``); "llama": the
    Llama-native API (``/v1/chat/completions``), where the Llama parameters below are typed."""

    temperature: float | None = None
    """Sampling temperature, 0 to 2."""

    max_tokens: int | None = None
    """Most tokens to generate."""

    top_p: float | None = None
    """Nucleus sampling mass, 0 to 1."""

    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences."""

    presence_penalty: float | None = None
    """Presence penalty, -2 to 2."""

    frequency_penalty: float | None = None
    """Frequency penalty, -2 to 2."""

    seed: int | None = None
    """Sampling seed."""

    n: int | None = None
    """Llama-native API only: completions per prompt."""

    best_of: int | None = None
    """Llama-native API only: candidates generated server-side, the best `n` returned (>= `n`;
    cannot stream)."""

    logprobs: int | None = None
    """Llama-native API only: how many top log-probabilities to return per token."""

    use_beam_search: bool | None = None
    """Llama-native API only: beam search (needs `best_of` > 1 and `temperature` = 0)."""

    ignore_eos: bool | None = None
    """Llama-native API only: keep generating after the end-of-sequence token."""

    stop_token_ids: list[int] | None = None
    """Llama-native API only: token ids that stop generation."""

    skip_special_tokens: bool | None = None
    """Llama-native API only: drop special tokens from the output."""

    timeout: float | None = None
    """Request timeout in seconds (the transport's default, 60, when None)."""

    max_retries: int = 2
    """Retries of connection errors, 408, 429 and 5xx before the first byte (honours
    ``retry-after``)."""

    model_extras: dict[str, Any] | None = None
    """Model-specific body keys passed through with ``extra-parameters: pass-through``."""

    streaming: bool = False
    """Stream under the hood even for `invoke`."""

    default_headers: dict[str, str] | None = None
    """Headers added to every request."""

    tool_calling: Literal["auto", "native", "prompt"] = "auto"
    """How `bind_tools` reaches the model: native `tools`, prompted, or native with a switch
    to prompted when the endpoint refuses tools."""

    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls (tests inject a mock transport here)."""

    http_async_client_factory: Any = Field(default=None, exclude=True, repr=False)
    """Optional zero-argument callable returning an `httpx.AsyncClient` (one per event loop)."""

    model_config = ConfigDict(populate_by_name=True)

    _pools: Pools = PrivateAttr()
    _prompted_targets: set[tuple[str | None, ...]] = PrivateAttr(default_factory=set)

    def __init__(self, **kwargs: Any) -> None:
        with settings_errors():  # the transport's typed error, not pydantic's echo of the input
            super().__init__(**kwargs)

    @model_validator(mode="after")
    def _set_azure_llama_clients(self) -> Self:
        """Build the transport clients once; a bad endpoint or credential fails here."""
        self._add_version("langchain-azure-llama", __version__)
        refuse_llama_fields(self, self.api)
        self._pools = Pools.for_model(self)
        return self

    @property
    def _client(self) -> _t.AzureLlamaClient:
        return self._pools.sync

    @property
    def _async_client(self) -> _t.AsyncAzureLlamaClient:
        return self._pools.async_

    # -- identity, tracing, serialisation ------------------------------------------------------

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_azure_llama", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "AZURE_INFERENCE_CREDENTIAL"}

    @property
    def _llm_type(self) -> str:
        return "azure-llama-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "deployment": self.deployment,
            "api_version": self.api_version,
            "api": self.api,
            "tool_calling": self.tool_calling,
            **self._defaults(),
        }

    def _resolve_model_profile(self) -> ModelProfile | None:
        return profile_for(self.model)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = PROVIDER
        model = kwargs.get("model")
        params["ls_model_name"] = model if isinstance(model, str) else self._model_label()
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def _model_label(self) -> str:
        return self.model or self.deployment or "unknown"

    def _defaults(self) -> dict[str, Any]:
        defaults = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
            "seed": self.seed,
            "stop": self.stop,
            "model": self.model,
        }
        if self.api == "llama":
            defaults.update((key, getattr(self, key)) for key in LLAMA_PARAMS)
        return defaults

    # -- planning ------------------------------------------------------------------------------

    def _plan(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatCall:
        call = build_call(
            messages,
            self._defaults(),
            stop=stop,
            model_extras=self.model_extras,
            kwargs=kwargs,
            api=self.api,
        )
        call.fallback_model = call.params.get("model") or self.deployment
        with mapped_errors():
            _t.check_max_tokens(call.params.get("model"), call.params.get("max_tokens"))
        return call

    def _target(self, call: ChatCall) -> tuple[str | None, ...]:
        return (self.endpoint, self.deployment, call.params.get("model"))

    def _mode(self, call: ChatCall) -> Mode:
        if self.tool_calling != "auto":
            return self.tool_calling
        return "prompt" if self._target(call) in self._prompted_targets else "native"

    def _switches(self, call: ChatCall, mode: Mode, error: BaseException) -> bool:
        """In "auto", a refusal of native tools switches this endpoint to prompted mode."""
        if self.tool_calling != "auto" or mode != "native" or not call.tools:
            return False
        if not is_tools_rejection(error):
            return False
        self._prompted_targets.add(self._target(call))
        logger.info("%s refused native tools; switching to prompted tool calling", self.endpoint)
        return True

    def _send(self, call: ChatCall, send: Callable[..., T]) -> tuple[T, Mode]:
        try:
            return self._send_in_mode(call, send)
        except _t.NotFoundError as exc:
            better = _t.explain_not_found(
                self._client, exc, expected="chat-completion", use=_USE_TEXT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    async def _asend(self, call: ChatCall, send: Callable[..., Awaitable[T]]) -> tuple[T, Mode]:
        try:
            return await self._asend_in_mode(call, send)
        except _t.NotFoundError as exc:
            better = await _t.aexplain_not_found(
                self._async_client, exc, expected="chat-completion", use=_USE_TEXT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    def _send_in_mode(self, call: ChatCall, send: Callable[..., T]) -> tuple[T, Mode]:
        mode = self._mode(call)
        try:
            return send(*call.wire(mode), **call.client_kwargs()), mode
        except _t.AzureLlamaError as exc:
            if not self._switches(call, mode, exc):
                raise
        return send(*call.wire("prompt"), **call.client_kwargs()), "prompt"

    async def _asend_in_mode(
        self, call: ChatCall, send: Callable[..., Awaitable[T]]
    ) -> tuple[T, Mode]:
        mode = self._mode(call)
        try:
            return await send(*call.wire(mode), **call.client_kwargs()), mode
        except _t.AzureLlamaError as exc:
            if not self._switches(call, mode, exc):
                raise
        return await send(*call.wire("prompt"), **call.client_kwargs()), "prompt"

    # -- the four entry points ----------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        call = self._plan(messages, stop, kwargs)
        with mapped_errors():
            response, mode = self._send(call, self._client.chat)
            return self._result(response, call, mode)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        call = self._plan(messages, stop, kwargs)
        with mapped_errors():
            response, mode = await self._asend(call, self._async_client.chat)
            return self._result(response, call, mode)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        call = self._plan(messages, stop, kwargs)
        with mapped_errors():
            stream, mode = self._send(call, self._client.chat_stream)
            pipeline = StreamPipeline(call, mode)
            with stream:
                for wire in stream:
                    for chunk in pipeline.feed(wire):
                        yield self._emitted(chunk, run_manager)
            for chunk in pipeline.close():
                yield self._emitted(chunk, run_manager)
        self._warn_if_filtered(pipeline.finish_reason)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        call = self._plan(messages, stop, kwargs)
        with mapped_errors():
            stream, mode = await self._asend(call, self._async_client.chat_stream)
            pipeline = StreamPipeline(call, mode)
            async with stream:
                async for wire in stream:
                    for chunk in pipeline.feed(wire):
                        generation = ChatGenerationChunk(message=chunk)
                        if run_manager:
                            await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                        yield generation
            for chunk in pipeline.close():
                generation = ChatGenerationChunk(message=chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation
        self._warn_if_filtered(pipeline.finish_reason)

    # -- results --------------------------------------------------------------------------------

    def _result(self, response: Any, call: ChatCall, mode: Mode) -> ChatResult:
        try:
            messages = response_to_messages(response, fallback_model=call.fallback_model)
        except SHAPE_ERRORS as exc:
            raise unreadable(response, exc) from exc
        if not messages:
            raise ResponseDecodeError(
                f"Azure AI endpoint {self._client.config.host} answered without choices.",
                body=response,
            )
        if mode == "prompt" and call.names:
            messages = [apply_to_message(message, call.names) for message in messages]
        for index, message in enumerate(messages):
            logprobs = choice_logprobs(response, index)
            if logprobs is not None:
                message.response_metadata["logprobs"] = logprobs
            self._warn_if_filtered(message.response_metadata.get("finish_reason"))
        return ChatResult(generations=[ChatGeneration(message=m) for m in messages])

    @staticmethod
    def _emitted(
        chunk: AIMessageChunk, run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        generation = ChatGenerationChunk(message=chunk)
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=generation)
        return generation

    def _warn_if_filtered(self, finish_reason: str | None) -> None:
        if finish_reason in FILTERED_FINISH_REASONS:
            warnings.warn(
                ContentFilterWarning(
                    f"Azure AI Content Safety cut the completion (finish_reason="
                    f"{finish_reason!r}); the answer is returned as far as it got."
                ),
                stacklevel=3,
            )

    # -- tools and structured output -----------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, pydantic models, functions or OpenAI-style dicts).

        Args:
            tools: The tools the model may call.
            tool_choice: "auto", "none", "required" (or "any" / True), a tool name, or an
                OpenAI-style ``{"type": "function", "function": {"name": ...}}`` dict.
            strict: Accepted for compatibility; Azure's Llama endpoints have no strict mode,
                so it is not sent.
            **kwargs: Further call arguments to bind.
        """
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        choice = wire_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Method = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable that returns output matching `schema` (pydantic, TypedDict or JSON schema).

        Args:
            schema: The output schema.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            method: "json_schema" (prompted schema, validated, one repair round; default),
                "function_calling" (a forced tool, native or prompted per `tool_calling`), or
                "json_mode" (same as "json_schema": Llama on Azure has no JSON mode).
            strict: Accepted for compatibility and ignored: validation is always on.
            **kwargs: Not supported.
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        return structured_runnable(self, schema, method=method, include_raw=include_raw)

    # -- the deployment ----------------------------------------------------------------------

    def get_model_info(self, *, refresh: bool = False) -> _t.ModelInfo:
        """The deployment's ``/info``: `model_name`, `model_type`, `model_provider_name`, ...

        `model_type` is normalised (``chat-completion`` / ``text-generation``; the raw value
        is `raw_model_type`); `served_model_*` fields are kept. Cached on the sync client.

        Args:
            refresh: Ask the endpoint again instead of using the cached answer.
        """
        with mapped_errors():
            return self._client.get_model_info(refresh=refresh)

    async def aget_model_info(self, *, refresh: bool = False) -> _t.ModelInfo:
        """Async `get_model_info` (cached on the async client)."""
        with mapped_errors():
            return await self._async_client.get_model_info(refresh=refresh)

    def check_model_type(self) -> _t.ModelInfo:
        """Check now (one cached ``/info`` request) that the deployment is a chat model.

        Raises:
            NotFoundError: It is a text-generation (base) model; the message says to use
                `AzureLlama`.
        """
        with mapped_errors():
            info = self._client.get_model_info()
            return _t.check_model_type(info, expected="chat-completion", use=_USE_TEXT_MODEL)

    async def acheck_model_type(self) -> _t.ModelInfo:
        """Async `check_model_type`."""
        with mapped_errors():
            info = await self._async_client.get_model_info()
            return _t.check_model_type(info, expected="chat-completion", use=_USE_TEXT_MODEL)

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync connection pool."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async connection pool of the running event loop."""
        await self._async_client.aclose()
