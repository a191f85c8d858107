"""`ChatAzureLlama`: Meta Llama on Azure AI as a LangChain chat model, over the shared transport."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, PrivateAttr

from . import _tokens
from . import transport as _t
from ._calls import (
    SHAPE_ERRORS,
    ChatCall,
    Mode,
    StreamPipeline,
    build_call,
    choice_logprobs,
    is_tools_rejection,
    unreadable,
    wire_tool_choice,
)
from ._convert import FILTERED_FINISH_REASONS, response_to_messages
from ._errors import ContentFilterWarning, ResponseDecodeError, mapped_errors
from ._profile import profile_for
from ._prompted_tools import apply_to_message
from ._settings import _AzureLlamaSettings
from ._structured import Method, structured_runnable

__all__ = ["ChatAzureLlama"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
_USE_TEXT_MODEL = (
    "Use AzureLlama (langchain_azure_llama.AzureLlama), the text-completion model, for it."
)


class ChatAzureLlama(_AzureLlamaSettings, BaseChatModel):
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

    tool_calling: Literal["auto", "native", "prompt"] = "auto"
    """How `bind_tools` reaches the model: native `tools`, prompted, or native with a switch
    to prompted when the endpoint refuses tools."""

    _model_kind = "chat-completion"
    _use_instead = _USE_TEXT_MODEL
    _prompted_targets: set[tuple[str | None, ...]] = PrivateAttr(default_factory=set)

    @property
    def _llm_type(self) -> str:
        return "azure-llama-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, "tool_calling": self.tool_calling}

    def _resolve_model_profile(self) -> ModelProfile | None:
        return profile_for(self.model)

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

    # -- token counting (the base counts text; the chat template is counted here) ---------------

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Tokens of the prompt `messages` (and `tools`) become, Llama chat template included."""
        return _tokens.count_messages(self, messages, tools)

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
