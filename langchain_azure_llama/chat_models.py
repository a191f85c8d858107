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

import azure_llama_transport as _t

from . import _tokens
from ._calls import build_request, choice_logprobs, wire_tool_choice
from ._convert import ChunkConverter, generation_chunk, response_to_messages
from ._errors import ContentFilterWarning, RequestValidationError, mapped_errors
from ._fast import chat_generation, chat_result
from ._profile import profile_for
from ._settings import _AzureLlamaSettings, describe_fields, known_signature

if TYPE_CHECKING:
    from ._structured import Method

__all__ = ["ChatAzureLlama"]

_USE_TEXT_MODEL = (
    "Use AzureLlama (langchain_azure_llama.AzureLlama), the text-completion model, for it."
)


class ChatAzureLlama(_AzureLlamaSettings, BaseChatModel):
    """Meta Llama on Azure AI as a LangChain chat model, over the shared transport.

    Today's Llama-3.3-70B-Instruct and Llama 4 (Maverick, Scout) on a Foundry resource's
    OpenAI v1 route, and the routes people still run: serverless API endpoints, managed
    compute online endpoints and the Model Inference API. Every setting below is also in
    ``inspect.signature(ChatAzureLlama)``, and each field's ``description``
    (``ChatAzureLlama.model_fields["endpoint"].description``) says what it does.

    Setup:
        Install the package (``pip install langchain-azure-llama``; Entra ID needs the
        ``[entra]`` extra, exact token counts ``[tokenizers]``) and set the endpoint and its
        key, or pass ``endpoint=`` and ``api_key=``:

        ```bash
        export AZURE_INFERENCE_ENDPOINT="https://<resource>.openai.azure.com/openai/v1"
        export AZURE_INFERENCE_CREDENTIAL="<the resource or endpoint key>"
        ```

        Offline, ``azure-llama-emulator`` (or ``azure_llama_emulator.Emulator``)
        serves the same routes on loopback.

    Key init args — completion params:
        model: str | None
            The model, or on a Foundry resource (kinds ``openai-v1`` and ``foundry``) your
            deployment's name (required there), e.g. ``"Llama-3.3-70B-Instruct"``. Also
            ``model_name``.
        temperature: float | None
            Sampling temperature, 0 to 2.
        max_tokens: int | None
            Most tokens to generate (also ``max_completion_tokens`` / ``max_output_tokens``);
            above a known model's max output it is refused before sending.
        top_p, presence_penalty, frequency_penalty, seed
            The usual sampling parameters.
        stop: list[str] | None
            Stop sequences (also ``stop_sequences``).
        streaming: bool
            Stream under the hood even for ``invoke``.
        model_extras: dict | None
            Model-specific body keys, sent with ``extra-parameters: pass-through``; unknown
            keywords and LangChain's usual ``model_kwargs={...}`` land here, with a warning.
        tool_calling: "auto" | "native" | "prompt"
            How ``bind_tools`` reaches the model (see Tool calling). Default ``"auto"``.
        api: "inference" | "llama"
            ``"llama"``: the Llama-native ``/v1`` route, where ``n``, ``best_of``,
            ``logprobs``, ``use_beam_search``, ``ignore_eos``, ``stop_token_ids`` and
            ``skip_special_tokens`` are typed fields, checked before sending (``best_of`` >=
            ``n``; beam search needs ``best_of`` > 1 and ``temperature=0``; ``best_of`` > 1
            cannot stream). Logprobs come back in ``response_metadata["logprobs"]``.

    Key init args — client params:
        endpoint: str | None
            The endpoint URL (also ``base_url``); default ``AZURE_INFERENCE_ENDPOINT``.
        api_key: str | SecretStr | None
            The key; default ``AZURE_INFERENCE_CREDENTIAL``. Sent as ``Authorization:
            Bearer`` and ``api-key``. Never shown in ``repr``, logs or errors.
        credential: TokenCredential | None
            Microsoft Entra ID instead of a key (``DefaultAzureCredential()``): a token per
            request, never at construction, refreshed before expiry and once after a 401.
            Not for serverless endpoints (keys only: refused before sending).
        deployment: str | None
            Managed compute: the deployment, sent as ``azureml-model-deployment``.
        endpoint_kind: "serverless" | "managed" | "foundry" | "openai-v1" | "other" | None
            Read from the endpoint's host and path; set it for a proxy, a custom domain or
            the emulator.
        credential_scopes: list[str] | None
            Entra ID scopes; by default the one the endpoint's kind documents.
        api_version: str | None
            ``api-version`` of the Model Inference API (default ``"2024-05-01-preview"``; not
            sent on the v1 route); None omits it.
        timeout: float | None
            A deadline for the whole call in seconds (default 60); for a stream, an idle
            timeout once the answer started.
        max_retries: int
            Retries of connection errors, 408, 429 and 5xx, honouring ``retry-after``.
        default_headers, http_client, http_async_client_factory
            Headers for every request; your own ``httpx.Client``, or a factory of
            ``httpx.AsyncClient`` (one per event loop).
        tokenizer: str | tokenizers.Tokenizer | None
            A Llama ``tokenizer.json`` for exact ``get_num_tokens*``; else an estimate.

        LangChain's own settings are inherited from ``BaseChatModel`` and documented by
        langchain-core (their ``description`` there is empty): ``rate_limiter`` (e.g.
        ``InMemoryRateLimiter(requests_per_second=...)``), ``disable_streaming``,
        ``callbacks``, ``tags``, ``metadata``, ``cache``, ``verbose``, ``name``,
        ``custom_get_token_ids``, ``output_version`` and ``profile``.

    Instantiate:
        ```python
        from langchain_azure_llama import ChatAzureLlama

        llm = ChatAzureLlama(
            model="Llama-3.3-70B-Instruct",  # on a Foundry resource: your deployment's name
            temperature=0,
            max_tokens=256,
            # endpoint="https://<resource>.openai.azure.com/openai/v1",  # else the env vars
            # api_key="...",  # or credential=DefaultAzureCredential()
        )
        ```

        ``repr(llm)`` shows the settings you set, never the key.

    Endpoints & routes:
        The kind of endpoint is read from its URL (``endpoint_kind=`` overrides it):

        * ``https://<resource>.openai.azure.com/openai/v1`` (``openai-v1``, current): a
          Foundry resource's OpenAI v1 route; ``model`` is the deployment name; key or
          Entra ID (scope ``https://ai.azure.com/.default``); chat only.
        * ``https://<resource>.services.ai.azure.com/models`` (``foundry``): the Model
          Inference API of a Foundry resource (legacy); ``model`` is the deployment name.
        * ``https://<host>.<region>.models.ai.azure.com`` (``serverless``, legacy): one
          model per endpoint; keys only.
        * ``https://<endpoint>.<region>.inference.ml.azure.com`` (``managed``): your own
          deployments, chosen with ``deployment=``; key or Entra ID.

        A missing ``/models`` or ``/openai/v1``, a missing ``deployment`` or a model name
        where the deployment's is expected comes back as an error naming the setting to
        change. ``get_model_info()`` reads a deployment's ``/info`` (cached);
        ``check_model_type()`` checks it serves chat (base models: `AzureLlama`).

    Invoke:
        ```python
        messages = [
            ("system", "You are a helpful translator. Translate the user sentence to French."),
            ("human", "I love programming."),
        ]
        llm.invoke(messages)
        ```

        ```python
        AIMessage(
            content="J'adore la programmation.",
            response_metadata={
                "model_name": "Llama-3.3-70B-Instruct",
                "finish_reason": "stop",
                "model_provider": "azure_llama",
                "id": "a46c355a649c4ba8ba98ba79dd9a8d0d",
                "llama_protocol": {"tool_calling": "none", "structured_output": "none",
                                   "repaired": False},
            },
            id="a46c355a649c4ba8ba98ba79dd9a8d0d",
            usage_metadata={"input_tokens": 31, "output_tokens": 5, "total_tokens": 36},
        )
        ```

    Stream:
        ```python
        for chunk in llm.stream(messages):
            print(chunk.text, end="")
        ```

        Chunks carry the text as it is written; the one with ``finish_reason`` carries the
        response metadata and ``usage_metadata`` (exactly one chunk has usage). Add them up
        (``full = full + chunk``) for the whole message. A stream cut off before Azure's
        ``[DONE]`` raises `StreamInterruptedError` with the partial text: it never ends
        looking complete.

    Async:
        ```python
        await llm.ainvoke(messages)
        async for chunk in llm.astream(messages):
            print(chunk.text, end="")
        await llm.abatch([messages, messages])
        ```

        Every call is native: ``invoke``/``stream``/``batch`` use a sync HTTP pool,
        ``ainvoke``/``astream``/``abatch`` an async one (no thread around a sync call).
        ``close()`` / ``aclose()`` release the pools.

    Tool calling:
        ```python
        from pydantic import BaseModel, Field


        class GetWeather(BaseModel):
            '''Get the current weather in a given city.'''

            city: str = Field(description="The city, e.g. Lisbon")


        llm_with_tools = llm.bind_tools([GetWeather])
        ai_msg = llm_with_tools.invoke("What is the weather like in Lisbon?")
        ai_msg.tool_calls
        # [{"name": "GetWeather", "args": {"city": "Lisbon"}, "id": "call_30b3...",
        #   "type": "tool_call"}]
        ```

        Azure lists Llama 3.3 and Llama 4 with "Tool calling: No", and Llama deployments
        answer ``tools`` with a 400 or ignore them. ``tool_calling="auto"`` (default)
        prompts for the tools from the first call for models the catalogue lists so (in
        Meta's format for the model's family: pythonic ``[f(a=1)]`` for 3.2 / 3.3 / 4, JSON
        for 3.1), else sends native ``tools`` and switches the endpoint to prompted mode
        when it refuses them, or asks again prompted within the same call when it ignores
        them; prompted answers are parsed back into ``tool_calls`` (streamed too, as
        tool-call chunks). ``"native"`` and ``"prompt"`` force one mode. ``tool_choice``:
        ``"auto"``, ``"none"``, ``"required"`` (or ``"any"`` / ``True``) or a tool's name. A
        forced call answered with text (prompted) raises `ResponseDecodeError`, never passes
        as a plain answer. Refusals are remembered per endpoint, deployment and model for an
        hour (``transport.CAPABILITIES``).

        LangChain v1 agents work unchanged on endpoints without native tools (``get_weather``
        a tool, ``Report`` a pydantic model):

        ```python
        from langchain.agents import create_agent
        from langchain.agents.structured_output import ToolStrategy

        agent = create_agent(llm, tools=[get_weather], response_format=ToolStrategy(Report))
        state = agent.invoke({"messages": [{"role": "user", "content": "Weather in Lisbon?"}]})
        state["structured_response"]  # a Report; ProviderStrategy(Report) and Report work too
        ```

    Structured output:
        ```python
        class Joke(BaseModel):
            '''Joke to tell user.'''

            setup: str = Field(description="The setup of the joke")
            punchline: str = Field(description="The punchline to the joke")


        structured_llm = llm.with_structured_output(Joke)
        structured_llm.invoke("Tell me a joke about cats")
        # Joke(setup="Why was the cat sitting on the computer?", punchline="...")
        ```

        The default ``method="json_schema"`` sends ``response_format`` natively first, and
        asks for the schema in the system prompt after the endpoint refuses it (Azure's 422)
        or from the start for models Azure lists without response formats; either way the
        answer is validated against the schema, with one repair round (a second failure
        raises `StructuredOutputError`, an ``OutputParserException``). Streams are validated
        at the end, without repair. ``method="function_calling"`` uses a forced tool in the
        current tool-calling mode. ``include_raw=True`` returns ``{"raw", "parsed",
        "parsing_error"}``. ``response_format={"type": "json_object"}`` is refused before
        sending (Llama on Azure has no JSON mode). ``bind(response_format={"type":
        "json_schema", ...})`` (what LangChain's ``ProviderStrategy`` sends) takes the same
        path and returns the canonical JSON text.

    Images (Llama 4):
        ```python
        question = {"type": "text", "text": "What is in this picture?"}
        picture = {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}
        maverick = ChatAzureLlama(model="my-maverick")  # a Llama 4 Maverick deployment
        maverick.invoke([{"role": "user", "content": [question, picture]}])
        ```

        OpenAI ``image_url`` parts and LangChain's image blocks (``base64`` + ``mime_type``,
        ``url``) go to the model as ``image_url`` parts. Refused before sending, naming the
        model: images for a text-only model (Llama-3.3-70B-Instruct, ...), more than one
        image for Llama 4 Maverick (Azure's limit).

    Token usage:
        ```python
        ai_msg = llm.invoke(messages)
        ai_msg.usage_metadata
        # {"input_tokens": 31, "output_tokens": 5, "total_tokens": 36}
        ```

        Azure's own counts, whole and streamed. Before sending, ``get_num_tokens`` and
        ``get_num_tokens_from_messages([HumanMessage(...)])`` count the prompt with Llama's
        chat template (exact with ``tokenizer=``, else an offline estimate), so
        ``trim_messages(..., token_counter=llm)`` works.

    Response metadata:
        ```python
        ai_msg.response_metadata
        # {"model_name": "Llama-3.3-70B-Instruct", "finish_reason": "stop",
        #  "model_provider": "azure_llama", "id": "...",
        #  "llama_protocol": {"tool_calling": "prompt", "structured_output": "none",
        #                     "repaired": False, "reason": "catalogue",
        #                     "format": "pythonic", "family": "llama3.3"}}
        ```

        ``model_name`` is the model that served the answer (on a Foundry resource, the
        model behind your deployment). ``llama_protocol`` says how the call ran: tools and
        schema ``native``, ``prompt`` or ``none``, whether a repair round ran, and for
        prompted tools why (``reason``: ``catalogue``, ``refused``, ``ignored``,
        ``requested``) and in which format. ``logprobs`` when asked for (``api="llama"``).

    Content safety:
        A prompt that Azure AI Content Safety blocks raises `ContentFilterError` (a
        langchain-core ``ModelInvalidRequestError``, with ``categories`` when Azure sends
        them). An answer cut by the filter is returned (or streamed) as far as it got, with
        ``response_metadata["finish_reason"] == "content_filter"`` and a
        `ContentFilterWarning`; inside ``with_structured_output`` it raises
        `ModelRefusalError`. Azure filters neither ``/v1`` route.

    Errors:
        Every transport error is raised as a class that is both the transport error
        (``status_code``, ``request_id``, ``body``, ...) and the matching langchain-core
        ``Model*Error``; errors Azure answers for a setting (native tools refused, a missing
        ``deployment``, a Foundry URL without its route) name the setting to change.
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


describe_fields(ChatAzureLlama)


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
