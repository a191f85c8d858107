"""`ChatAzureLlama`: Meta Llama on Azure AI as a LangChain chat model, over the shared transport."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import (
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from . import _tokens
from . import transport as _t
from ._calls import build_request, choice_logprobs, wire_tool_choice
from ._convert import ChunkConverter, generation_chunk, response_to_messages
from ._errors import ContentFilterWarning, RequestValidationError, mapped_errors
from ._fast import chat_generation, chat_result
from ._profile import profile_for
from ._settings import _AzureLlamaSettings, known_signature

if TYPE_CHECKING:
    from ._structured import Method

__all__ = ["ChatAzureLlama"]

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

    Tools and structured output go through the transport's Llama protocol
    (`langchain_azure_llama.transport.chat`); this class only converts LangChain types to wire
    dicts and back. Tool calling (`bind_tools`) has three modes, set with `tool_calling`:

    * ``"native"`` sends `tools` / `tool_choice` as the Model Inference API defines them.
    * ``"prompt"`` never sends `tools`: they are written into the system prompt in Meta's
      Llama 3.1 JSON tool-calling format and the JSON answer is parsed back into `tool_calls`
      (streamed too, as tool-call chunks). Earlier tool calls go back as the assistant's JSON
      text and tool results as `tool` turns (Meta's `ipython` turn in Azure's roles).
    * ``"auto"`` (default) sends native tools; if the endpoint refuses them (the vLLM 400
      real Llama deployments return, or a 400/422 naming `tools`), the call is retried once in
      prompted mode, and the refusal is remembered for the endpoint + deployment + model by
      every model object in the process (`transport.CAPABILITIES`; ``forget()`` clears it).

    Structured output: ``bind(response_format={"type": "json_schema", ...})`` (what
    LangChain's agents send with the provider strategy) is sent natively until the endpoint
    refuses it (Azure's documented 422 for Llama), then asked for in the system prompt; either
    way the answer is validated against the schema, with one repair round, and comes back as
    its canonical JSON text (a second failure raises `StructuredOutputError`, an
    `OutputParserException`). Streams are validated at the end, without repair.
    `with_structured_output` defaults to ``method="json_schema"`` (that `response_format`);
    ``"function_calling"`` uses a forced tool in the current tool-calling mode.
    ``response_format={"type": "json_object"}`` is refused before sending (Azure answers 422).
    How a call ran is in ``response_metadata["llama_protocol"]`` (``{"tool_calling",
    "structured_output", "repaired"}``; on a stream, on the chunk with the finish reason).

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
    filtered (docs/wire-protocol.md §12). Logprobs, when asked for, are in
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
    to prompted when the endpoint refuses tools (the transport's `ChatRequest.tool_calling`)."""

    _model_kind = "chat-completion"
    _use_instead = _USE_TEXT_MODEL

    @property
    def _llm_type(self) -> str:
        return "azure-llama-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, "tool_calling": self.tool_calling}

    def _resolve_model_profile(self) -> ModelProfile | None:
        return profile_for(self.model)

    def _request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _t.ChatRequest:
        return build_request(
            messages,
            self._defaults(),
            stop=stop,
            model_extras=self.model_extras,
            kwargs=kwargs,
            api=self.api,
            tool_calling=self.tool_calling,
            use_instead=_USE_TEXT_MODEL,
            model=self.model or self.deployment,
        )

    def _fallback_model(self, request: _t.ChatRequest) -> str | None:
        return request.params.get("model") or self.deployment

    # -- the four entry points ----------------------------------------------------------------

    @known_signature
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        request = self._request(messages, stop, kwargs)
        with mapped_errors():
            data = _t.chat(self._client, request)
        return self._result(data, request)

    @known_signature
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.pop("stream", self.streaming):
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        request = self._request(messages, stop, kwargs)
        with mapped_errors():
            data = await _t.achat(self._async_client, request)
        return self._result(data, request)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        request = self._request(messages, stop, kwargs)
        converter = ChunkConverter(self._fallback_model(request))
        with mapped_errors(), _t.chat_stream(self._client, request) as stream:
            for wire in stream:
                chunk = _converted(converter, wire, stream.protocol)
                if chunk is not None:
                    yield self._emitted(chunk, run_manager)
            last = converter.close()
            if last is not None:
                yield self._emitted(_with_protocol(last, stream.protocol), run_manager)
        if stream.content_filtered:
            self._warn_filtered(stream.finish_reason)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        kwargs.pop("stream", None)
        request = self._request(messages, stop, kwargs)
        converter = ChunkConverter(self._fallback_model(request))
        with mapped_errors():
            async with await _t.achat_stream(self._async_client, request) as stream:
                async for wire in stream:
                    chunk = _converted(converter, wire, stream.protocol)
                    if chunk is not None:
                        yield await self._aemitted(chunk, run_manager)
                last = converter.close()
                if last is not None:
                    yield await self._aemitted(_with_protocol(last, stream.protocol), run_manager)
        if stream.content_filtered:
            self._warn_filtered(stream.finish_reason)

    # -- results --------------------------------------------------------------------------------

    def _result(self, data: dict[str, Any], request: _t.ChatRequest) -> ChatResult:
        messages = response_to_messages(data, fallback_model=self._fallback_model(request))
        for index, message in enumerate(messages):
            message.response_metadata["llama_protocol"] = data["llama_protocol"]
            logprobs = choice_logprobs(data, index)
            if logprobs is not None:
                message.response_metadata["logprobs"] = logprobs
            finish_reason = message.response_metadata.get("finish_reason")
            if _t.content_filtered(finish_reason):
                self._warn_filtered(finish_reason)
        return chat_result([chat_generation(m) for m in messages])

    @staticmethod
    def _emitted(
        chunk: AIMessageChunk, run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        generation = generation_chunk(chunk)
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=generation)
        return generation

    @staticmethod
    async def _aemitted(
        chunk: AIMessageChunk, run_manager: AsyncCallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        generation = generation_chunk(chunk)
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=generation)
        return generation

    @staticmethod
    def _warn_filtered(finish_reason: str | None) -> None:
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
            method: "json_schema" (default: `response_format` sent natively, the schema asked
                for in the prompt after a refusal or for models Azure lists without response
                formats; validated, one repair round),
                "function_calling" (a forced tool, native or prompted per `tool_calling`), or
                "json_mode" (same as "json_schema": Llama on Azure has no JSON mode).
            strict: Accepted for compatibility and ignored: validation is always on.
            **kwargs: Not supported.
        """
        if kwargs:
            raise RequestValidationError(f"Received unsupported arguments {kwargs}")
        # Loaded on first use: its output parsers are not needed to import or call the model.
        from ._structured import structured_runnable

        return structured_runnable(self, schema, method=method, include_raw=include_raw)


def _converted(
    converter: ChunkConverter, wire: dict[str, Any], protocol: dict[str, Any]
) -> AIMessageChunk | None:
    """One wire chunk as a message chunk; the finish chunk also says how the protocol ran."""
    chunk = converter.convert(wire)
    if chunk is None:
        return None
    logprobs = choice_logprobs(wire)
    if logprobs is not None:
        chunk.response_metadata["logprobs"] = logprobs
    return _with_protocol(chunk, protocol)


def _with_protocol(chunk: AIMessageChunk, protocol: dict[str, Any]) -> AIMessageChunk:
    if "finish_reason" in chunk.response_metadata:
        chunk.response_metadata["llama_protocol"] = protocol
    return chunk
