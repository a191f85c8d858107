"""`AzureLlama`: a Meta Llama base (text-completion) model on Azure AI as a LangChain LLM."""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

import azure_llama_transport as _t

from ._calls import LLAMA_PARAMS, merge_params
from ._errors import ContentFilterWarning, mapped_errors
from ._settings import _AzureLlamaSettings, describe_fields, known_signature

__all__ = ["AzureLlama"]

# The transport's typed `/completions` keys a call may set directly; `stop` apart (merged).
_TEXT_PARAMS = tuple(key for key in _t.COMPLETION_PARAMS if key != "stop")
_USE_CHAT_MODEL = "Use ChatAzureLlama (langchain_azure_llama.ChatAzureLlama) for it."
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


class AzureLlama(_AzureLlamaSettings, BaseLLM):
    """A Meta Llama base model (text completion) on Azure AI as a LangChain LLM.

    Base models such as ``Meta-Llama-3.1-8B`` are offered on managed compute only; they answer
    ``/completions`` (the Model Inference API, ``api="inference"``, default) or the
    Llama-native ``/v1/completions`` (``api="llama"``), not the chat routes: use
    `ChatAzureLlama` for chat and instruct models (Llama-3.3-70B-Instruct, Llama 4), and on
    the Foundry v1 route, which serves chat only. Every setting below is also in
    ``inspect.signature(AzureLlama)``, and each field's ``description`` says what it does.

    Setup:
        Install the package (``pip install langchain-azure-llama``; Entra ID needs the
        ``[entra]`` extra) and set the endpoint and its key, or pass ``endpoint=`` and
        ``api_key=`` / ``credential=``:

        ```bash
        export AZURE_INFERENCE_ENDPOINT="https://<endpoint>.<region>.inference.ml.azure.com"
        export AZURE_INFERENCE_CREDENTIAL="<the endpoint key>"
        ```

    Key init args — completion params:
        model: str | None
            The model name sent as ``model`` (optional on managed compute; also
            ``model_name``).
        max_tokens: int | None
            Most tokens to generate; Azure's default is small for text completion, so set it
            (also ``max_completion_tokens`` / ``max_output_tokens``).
        temperature, top_p, presence_penalty, frequency_penalty, seed
            The usual sampling parameters.
        stop: list[str] | None
            Stop sequences (also ``stop_sequences``).
        streaming: bool
            Stream under the hood even for ``invoke``.
        model_extras: dict | None
            Model-specific body keys, sent with ``extra-parameters: pass-through``; unknown
            keywords and ``model_kwargs={...}`` land here, with a warning.
        api: "inference" | "llama"
            ``"llama"``: ``/v1/completions``, where ``n``, ``best_of``, ``logprobs``,
            ``use_beam_search``, ``ignore_eos``, ``stop_token_ids`` and
            ``skip_special_tokens`` are typed fields, checked before sending.

    Key init args — client params:
        endpoint: str | None
            The endpoint URL (also ``base_url``); default ``AZURE_INFERENCE_ENDPOINT``.
        api_key: str | SecretStr | None
            The key; default ``AZURE_INFERENCE_CREDENTIAL``. Never shown in ``repr``, logs or
            errors.
        credential: TokenCredential | None
            Microsoft Entra ID instead of a key (``DefaultAzureCredential()``; scope
            ``https://ml.azure.com/.default`` on managed compute, ``credential_scopes=`` for
            another): a token per request, never at construction.
        deployment: str | None
            The deployment of a managed endpoint (``azureml-model-deployment``).
        endpoint_kind, credential_scopes, api_version, timeout, max_retries
            As on `ChatAzureLlama`: the kind read from the URL unless set; Entra scopes;
            the Model Inference API's ``api-version``; a deadline for the whole call (60 s);
            retries of connection errors, 408, 429 and 5xx honouring ``retry-after``.
        default_headers, http_client, http_async_client_factory, tokenizer
            Headers for every request; your own httpx clients; a Llama ``tokenizer.json``
            for exact ``get_num_tokens``.

        LangChain's own settings (``callbacks``, ``tags``, ``metadata``, ``cache``,
        ``verbose``, ``name``, ``custom_get_token_ids``) are inherited from ``BaseLLM`` and
        documented by langchain-core (their ``description`` there is empty).

    Instantiate:
        ```python
        from azure.identity import DefaultAzureCredential

        from langchain_azure_llama import AzureLlama

        llm = AzureLlama(
            endpoint="https://my-endpoint.eastus2.inference.ml.azure.com",
            credential=DefaultAzureCredential(),  # or api_key="..." (the endpoint key)
            deployment="llama-31-8b-base",
            max_tokens=64,
        )
        ```

    Endpoints & routes:
        ``https://<endpoint>.<region>.inference.ml.azure.com`` (managed compute) with
        ``deployment=``; ``/completions`` by default, ``/v1/completions`` with
        ``api="llama"``. ``get_model_info()`` reads the deployment's ``/info`` (cached).
        Pointed at a chat deployment, the first call raises a `NotFoundError` that says to
        use `ChatAzureLlama`; ``check_model_type()`` checks up front.

    Invoke:
        ```python
        llm.invoke("Math is a")
        # " branch of knowledge that deals with numbers, quantities and shapes."
        ```

    Stream:
        ```python
        for text in llm.stream("Math is a"):
            print(text, end="")
        ```

        A stream cut off before Azure's ``[DONE]`` raises `StreamInterruptedError` with the
        partial text.

    Async:
        ```python
        await llm.ainvoke("Math is a")
        async for text in llm.astream("Math is a"):
            print(text, end="")
        await llm.abatch(["Math is a", "Poetry is a"])
        ```

        All native (a sync pool for the sync calls, an async one per event loop).

    Token usage:
        ```python
        result = llm.generate(["Math is a"])
        result.llm_output
        # {"token_usage": {"prompt_tokens": 3, "completion_tokens": 16, "total_tokens": 19},
        #  "model_name": "Meta-Llama-3.1-8B"}
        ```

        Usage is summed over the prompts of a call; ``get_num_tokens(text)`` counts before
        sending (exact with ``tokenizer=``, else an offline estimate).

    Response metadata:
        Each generation's ``generation_info`` holds its ``finish_reason`` (``"stop"``,
        ``"length"``, ``"content_filter"``) and ``logprobs`` when asked for
        (``api="llama"``); ``llm_output["model_name"]`` is the model that answered.

    Tool calling and structured output are chat features: use `ChatAzureLlama`. Content
    safety runs on the Model Inference API only: a blocked prompt raises
    `ContentFilterError`, an answer cut by the filter comes back as far as it got with a
    `ContentFilterWarning`. Errors are the same classes as `ChatAzureLlama`'s.
    """

    _model_kind = "text-generation"
    _use_instead = _USE_CHAT_MODEL

    @property
    def _llm_type(self) -> str:
        return "azure-llama"

    def _plan(self, stop: list[str] | None, kwargs: dict[str, Any]) -> _t.TextRequest:
        """The call without its prompt (`max_tokens` is checked by the transport's call)."""
        typed = _TEXT_PARAMS + LLAMA_PARAMS if self.api == "llama" else _TEXT_PARAMS
        params, options, extras = merge_params(
            self._defaults(), typed=typed, stop=stop, model_extras=self.model_extras, kwargs=kwargs
        )
        return _t.TextRequest(
            "",
            params,
            model_extras=extras or None,
            api=self.api,
            headers=options.get("headers"),
            timeout=options.get("timeout"),
            use_instead=_USE_CHAT_MODEL,
        )

    # -- whole answers ----------------------------------------------------------------------

    @known_signature
    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if kwargs.pop("stream", self.streaming):
            chunks = [self._streamed(p, stop, run_manager, dict(kwargs)) for p in prompts]
            return self._result_from_chunks(chunks)
        call = self._plan(stop, kwargs)
        with mapped_errors():
            answers = [self._complete(prompt, call) for prompt in prompts]
        return self._result(answers, call)

    @known_signature
    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if kwargs.pop("stream", self.streaming):
            chunks = [await self._astreamed(p, stop, run_manager, dict(kwargs)) for p in prompts]
            return self._result_from_chunks(chunks)
        call = self._plan(stop, kwargs)
        with mapped_errors():
            answers = await asyncio.gather(*(self._acomplete(p, call) for p in prompts))
        return self._result(list(answers), call)

    def _complete(self, prompt: str, call: _t.TextRequest) -> _t.TextCompletion:
        return _t.complete(self._client, dataclasses.replace(call, prompt=prompt))

    async def _acomplete(self, prompt: str, call: _t.TextRequest) -> _t.TextCompletion:
        return await _t.acomplete(self._async_client, dataclasses.replace(call, prompt=prompt))

    def _result(self, answers: Sequence[Mapping[str, Any]], call: _t.TextRequest) -> LLMResult:
        generations = [[_generation(choice) for choice in _choices(a)] for a in answers]
        for generation in (g for row in generations for g in row):
            finish_reason = (generation.generation_info or {}).get("finish_reason")
            if _t.content_filtered(finish_reason):
                self._warn_filtered(finish_reason)
        usage = _sum_usage(answer.get("usage") for answer in answers)
        model = next((a.get("model") for a in answers if a.get("model")), None)
        llm_output = {"token_usage": usage, "model_name": model or self._model_label()}
        return LLMResult(generations=generations, llm_output=llm_output)

    def _result_from_chunks(self, chunks: Sequence[GenerationChunk]) -> LLMResult:
        usages = [(c.generation_info or {}).pop("token_usage", None) for c in chunks]
        llm_output = {"token_usage": _sum_usage(usages), "model_name": self._model_label()}
        return LLMResult(generations=[[c] for c in chunks], llm_output=llm_output)

    @staticmethod
    def _warn_filtered(finish_reason: str | None) -> None:
        warnings.warn(
            ContentFilterWarning(
                f"Azure AI Content Safety cut the completion (finish_reason="
                f"{finish_reason!r}); the text is returned as far as it got."
            ),
            stacklevel=3,
        )

    # -- streams ----------------------------------------------------------------------------

    def _streamed(
        self,
        prompt: str,
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> GenerationChunk:
        total = GenerationChunk(text="")
        for chunk in self._stream(prompt, stop, run_manager, **kwargs):
            total += chunk
        return total

    async def _astreamed(
        self,
        prompt: str,
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> GenerationChunk:
        total = GenerationChunk(text="")
        async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
            total += chunk
        return total

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        kwargs.pop("stream", None)
        call = dataclasses.replace(self._plan(stop, kwargs), prompt=prompt)
        with mapped_errors():
            stream = _t.complete_stream(self._client, call)
            with stream:
                for wire in stream:
                    chunk = _chunk(wire)
                    if chunk is None:
                        continue
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        if stream.content_filtered:
            self._warn_filtered(stream.finish_reason)

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        kwargs.pop("stream", None)
        call = dataclasses.replace(self._plan(stop, kwargs), prompt=prompt)
        with mapped_errors():
            stream = await _t.acomplete_stream(self._async_client, call)
            async with stream:
                async for wire in stream:
                    chunk = _chunk(wire)
                    if chunk is None:
                        continue
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        if stream.content_filtered:
            self._warn_filtered(stream.finish_reason)


# -- pure conversions: wire → LangChain ------------------------------------------------------


describe_fields(AzureLlama)


def _choices(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # Shape-checked by the transport. With best_of > 1 Azure may return choices out of order
    # (docs/wire-protocol.md §13).
    return sorted(answer["choices"], key=lambda c: c.get("index") or 0)


def _generation(choice: Mapping[str, Any]) -> Generation:
    info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if choice.get("logprobs") is not None:
        info["logprobs"] = choice["logprobs"]
    return Generation(text=choice.get("text") or "", generation_info=info)


def _chunk(wire: Mapping[str, Any]) -> GenerationChunk | None:
    """One `/completions` stream chunk (the whole-answer shape, docs/wire-protocol.md §10)."""
    choices = _choices(wire)
    choice: Mapping[str, Any] = choices[0] if choices else {}
    info: dict[str, Any] = {}
    if choice.get("finish_reason"):
        info["finish_reason"] = choice["finish_reason"]
    if choice.get("logprobs") is not None:
        info["logprobs"] = choice["logprobs"]
    if wire.get("usage") is not None:
        info["token_usage"] = _sum_usage([wire["usage"]])
    text = choice.get("text") or ""
    if not (text or info):
        return None
    return GenerationChunk(text=text, generation_info=info or None)


def _sum_usage(usages: Any) -> dict[str, int]:
    """The answers' usage (normalised by the transport), summed."""
    total = dict.fromkeys(_USAGE_KEYS, 0)
    for usage in usages:
        if usage:
            for key in _USAGE_KEYS:
                total[key] += usage[key]
    return total
