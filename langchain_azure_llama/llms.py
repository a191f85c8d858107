"""`AzureLlama`: a Meta Llama base (text-completion) model on Azure AI as a LangChain LLM."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM
from langchain_core.language_models.base import LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.utils import from_env, secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from . import __version__
from . import transport as _t
from ._calls import LLAMA_PARAMS, merge_params, refuse_llama_fields
from ._convert import FILTERED_FINISH_REASONS, PROVIDER
from ._errors import ContentFilterWarning, mapped_errors
from ._pools import Pools, settings_errors

__all__ = ["AzureLlama"]

# Keys of `/completions` (azure-wire.md §10) a call may set directly; `stop` is merged apart.
_TEXT_PARAMS = (
    "frequency_penalty",
    "max_tokens",
    "model",
    "presence_penalty",
    "seed",
    "temperature",
    "top_p",
)
_USE_CHAT_MODEL = "Use ChatAzureLlama (langchain_azure_llama.ChatAzureLlama) for it."
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


@dataclass
class _TextCall:
    """One call's wire parameters and client options, planned before any I/O."""

    params: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)


class AzureLlama(BaseLLM):
    """A Meta Llama base model (text completion) deployed on Azure AI.

    Base models such as ``Meta-Llama-3.1-8B``, ``Meta-Llama-3-8B`` or ``Llama-2-7b`` answer
    ``/completions`` (the Azure AI Model Inference API, ``api="inference"``, default) or the
    Llama-native ``/v1/completions`` (``api="llama"``), not the chat routes: use
    `ChatAzureLlama` for chat and instruct models.

    ```python
    from azure.identity import DefaultAzureCredential

    from langchain_azure_llama import AzureLlama

    llm = AzureLlama(
        endpoint="https://my-endpoint.eastus2.inference.ml.azure.com",
        credential=DefaultAzureCredential(),  # or api_key=...
        deployment="llama-31-8b-base",
        max_tokens=64,
    )
    llm.invoke("Math is a")
    ```

    `invoke`/`stream`/`batch` and their async twins are native. Usage is summed into
    ``llm_output["token_usage"]``; each generation's ``generation_info`` holds its
    ``finish_reason`` (and ``logprobs`` when asked for). Settings, secrets and errors are the
    same as `ChatAzureLlama`'s. On ``api="llama"``, `n`, `best_of`, `logprobs`, ... are typed
    fields, checked before sending; content safety runs on the Model Inference API only.

    Pointed at a chat deployment, the first call raises a `NotFoundError` that says to use
    `ChatAzureLlama`; `check_model_type()` checks up front (one cached ``/info`` request).
    """

    model: str | None = Field(default=None, alias="model_name")
    """Model name, sent as `model` and used for tracing (e.g. "Meta-Llama-3.1-8B")."""

    endpoint: str | None = Field(
        default_factory=from_env("AZURE_INFERENCE_ENDPOINT", default=None), alias="base_url"
    )
    """Endpoint URL; defaults to ``AZURE_INFERENCE_ENDPOINT``."""

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("AZURE_INFERENCE_CREDENTIAL", default=None)
    )
    """Endpoint key; defaults to ``AZURE_INFERENCE_CREDENTIAL``."""

    credential: Any = Field(default=None, exclude=True, repr=False)
    """Entra ID token credential (managed compute); exclusive with `api_key`; not serialised."""

    api_version: str | None = _t.DEFAULT_API_VERSION
    """``api-version`` query parameter (Model Inference API only); None omits it."""

    deployment: str | None = None
    """Managed compute deployment, sent as the ``azureml-model-deployment`` header."""

    api: _t.Api = "inference"
    """"inference": ``/completions``; "llama": the Llama-native ``/v1/completions``."""

    temperature: float | None = None
    """Sampling temperature, 0 to 2."""

    max_tokens: int | None = None
    """Most tokens to generate (Azure's default is small: set it)."""

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
    """Llama-native API only: candidates generated, the best `n` returned (cannot stream)."""

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
    """Retries of connection errors, 408, 429 and 5xx before the first byte."""

    model_extras: dict[str, Any] | None = None
    """Model-specific body keys passed through with ``extra-parameters: pass-through``."""

    streaming: bool = False
    """Stream under the hood even for `invoke`."""

    default_headers: dict[str, str] | None = None
    """Headers added to every request."""

    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls."""

    http_async_client_factory: Any = Field(default=None, exclude=True, repr=False)
    """Optional zero-argument callable returning an `httpx.AsyncClient`."""

    model_config = ConfigDict(populate_by_name=True)

    _pools: Pools = PrivateAttr()

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
        return ["langchain_azure_llama", "llms"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "AZURE_INFERENCE_CREDENTIAL"}

    @property
    def _llm_type(self) -> str:
        return "azure-llama"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "deployment": self.deployment,
            "api_version": self.api_version,
            "api": self.api,
            **self._defaults(),
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = PROVIDER
        model = kwargs.get("model")
        params["ls_model_name"] = model if isinstance(model, str) else self._model_label()
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

    def _plan(self, stop: list[str] | None, kwargs: dict[str, Any]) -> _TextCall:
        typed = _TEXT_PARAMS + LLAMA_PARAMS if self.api == "llama" else _TEXT_PARAMS
        params, options, extras = merge_params(
            self._defaults(), typed=typed, stop=stop, model_extras=self.model_extras, kwargs=kwargs
        )
        options.update(api=self.api, model_extras=extras or None)
        with mapped_errors():
            _t.check_max_tokens(params.get("model"), params.get("max_tokens"))
        return _TextCall(params, options)

    # -- whole answers ----------------------------------------------------------------------

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

    def _complete(self, prompt: str, call: _TextCall) -> _t.TextCompletion:
        try:
            return self._client.complete(prompt, call.params, **call.kwargs())
        except _t.NotFoundError as exc:
            better = _t.explain_not_found(
                self._client, exc, expected="text-generation", use=_USE_CHAT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    async def _acomplete(self, prompt: str, call: _TextCall) -> _t.TextCompletion:
        try:
            return await self._async_client.complete(prompt, call.params, **call.kwargs())
        except _t.NotFoundError as exc:
            better = await _t.aexplain_not_found(
                self._async_client, exc, expected="text-generation", use=_USE_CHAT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    def _result(self, answers: Sequence[Mapping[str, Any]], call: _TextCall) -> LLMResult:
        generations = [[_generation(choice) for choice in _choices(a)] for a in answers]
        for generation in (g for row in generations for g in row):
            self._warn_if_filtered((generation.generation_info or {}).get("finish_reason"))
        usage = _sum_usage(answer.get("usage") for answer in answers)
        model = next((a.get("model") for a in answers if a.get("model")), None)
        llm_output = {"token_usage": usage, "model_name": model or self._model_label()}
        return LLMResult(generations=generations, llm_output=llm_output)

    def _result_from_chunks(self, chunks: Sequence[GenerationChunk]) -> LLMResult:
        usages = [(c.generation_info or {}).pop("token_usage", None) for c in chunks]
        llm_output = {"token_usage": _sum_usage(usages), "model_name": self._model_label()}
        return LLMResult(generations=[[c] for c in chunks], llm_output=llm_output)

    def _warn_if_filtered(self, finish_reason: str | None) -> None:
        if finish_reason in FILTERED_FINISH_REASONS:
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
        call = self._plan(stop, kwargs)
        finish: str | None = None
        with mapped_errors():
            stream = self._open(prompt, call)
            with stream:
                for wire in stream:
                    chunk = _chunk(wire)
                    if chunk is None:
                        continue
                    finish = (chunk.generation_info or {}).get("finish_reason") or finish
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        self._warn_if_filtered(finish)

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        kwargs.pop("stream", None)
        call = self._plan(stop, kwargs)
        finish: str | None = None
        with mapped_errors():
            stream = await self._aopen(prompt, call)
            async with stream:
                async for wire in stream:
                    chunk = _chunk(wire)
                    if chunk is None:
                        continue
                    finish = (chunk.generation_info or {}).get("finish_reason") or finish
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        self._warn_if_filtered(finish)

    def _open(self, prompt: str, call: _TextCall) -> _t.Stream[_t.TextCompletion]:
        try:
            return self._client.complete_stream(prompt, call.params, **call.kwargs())
        except _t.NotFoundError as exc:
            better = _t.explain_not_found(
                self._client, exc, expected="text-generation", use=_USE_CHAT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    async def _aopen(self, prompt: str, call: _TextCall) -> _t.AsyncStream[_t.TextCompletion]:
        try:
            return await self._async_client.complete_stream(prompt, call.params, **call.kwargs())
        except _t.NotFoundError as exc:
            better = await _t.aexplain_not_found(
                self._async_client, exc, expected="text-generation", use=_USE_CHAT_MODEL
            )
            if better is None:
                raise
            raise better from exc

    # -- the deployment ----------------------------------------------------------------------

    def get_model_info(self, *, refresh: bool = False) -> _t.ModelInfo:
        """The deployment's ``/info`` (type normalised, `served_model_*` kept), cached.

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
        """Check now (one cached ``/info`` request) that the deployment is a text model.

        Raises:
            NotFoundError: It is a chat model; the message says to use `ChatAzureLlama`.
        """
        with mapped_errors():
            info = self._client.get_model_info()
            return _t.check_model_type(info, expected="text-generation", use=_USE_CHAT_MODEL)

    async def acheck_model_type(self) -> _t.ModelInfo:
        """Async `check_model_type`."""
        with mapped_errors():
            info = await self._async_client.get_model_info()
            return _t.check_model_type(info, expected="text-generation", use=_USE_CHAT_MODEL)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync connection pool."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async connection pool of the running event loop."""
        await self._async_client.aclose()


# -- pure conversions: wire → LangChain ------------------------------------------------------


def _choices(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    choices = [c for c in answer.get("choices") or [] if isinstance(c, Mapping)]
    # With best_of > 1 Azure may return choices out of order (azure-wire.md §13).
    return sorted(choices, key=lambda c: c.get("index") or 0)


def _generation(choice: Mapping[str, Any]) -> Generation:
    info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if choice.get("logprobs") is not None:
        info["logprobs"] = choice["logprobs"]
    return Generation(text=choice.get("text") or "", generation_info=info)


def _chunk(wire: Mapping[str, Any]) -> GenerationChunk | None:
    """One `/completions` stream chunk (the whole-answer shape, azure-wire.md §10)."""
    choices = _choices(wire)
    choice: Mapping[str, Any] = choices[0] if choices else {}
    info: dict[str, Any] = {}
    if choice.get("finish_reason"):
        info["finish_reason"] = choice["finish_reason"]
    if choice.get("logprobs") is not None:
        info["logprobs"] = choice["logprobs"]
    if isinstance(wire.get("usage"), Mapping):
        info["token_usage"] = _sum_usage([wire["usage"]])
    text = choice.get("text") or ""
    if not (text or info):
        return None
    return GenerationChunk(text=text, generation_info=info or None)


def _sum_usage(usages: Any) -> dict[str, int]:
    total = dict.fromkeys(_USAGE_KEYS, 0)
    for usage in usages:
        if isinstance(usage, Mapping):
            for key in _USAGE_KEYS:
                total[key] += int(usage.get(key) or 0)
    return total
