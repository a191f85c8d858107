"""The settings `ChatAzureLlama` and `AzureLlama` share, declared once.

`_AzureLlamaSettings` holds the fields (endpoint, auth, sampling, Llama-native parameters, client
options), their validation, the transport pools built from them, LangChain's serialisation and
tracing hooks, model info and `close`. Each front end puts it first among its bases::

    class ChatAzureLlama(_AzureLlamaSettings, BaseChatModel): ...
    class AzureLlama(_AzureLlamaSettings, BaseLLM): ...

so that its hooks win over langchain-core's defaults while `BaseChatModel` / `BaseLLM` keep
everything else. Unknown constructor keywords are not dropped (pydantic's ``extra="ignore"``
would): they move into `model_extras`, with a warning naming them, as `ChatOpenAI` moves them
into `model_kwargs`.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from langchain_core.language_models.base import BaseLanguageModel, LangSmithParams
from langchain_core.utils import get_pydantic_field_names
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from typing_extensions import Self

import azure_llama_transport as _t

from . import __version__, _tokens
from ._calls import LLAMA_PARAMS, refuse_llama_fields
from ._convert import PROVIDER
from ._errors import mapped_errors
from ._pools import Pools, settings_errors
from ._typos import caller_stacklevel, close_name

__all__ = ["_AzureLlamaSettings", "known_signature"]

_F = TypeVar("_F", bound=Callable[..., Any])


# The fields the transport clients are built from (see `_set_azure_llama_clients`): those named
# as `ClientConfig.create` names them (`transport.CLIENT_SETTINGS`, the one list), and the pools'.
_POOL_FIELDS = frozenset({"http_client", "http_async_client_factory"})
_CLIENT_FIELDS = frozenset(_t.CLIENT_SETTINGS) | _POOL_FIELDS


# Never in `repr`: secrets, and LangChain's bookkeeping a user did not type.
_NOT_SHOWN = frozenset({"api_key", "credential", "metadata", "profile"})


def known_signature(func: _F) -> _F:
    """Give `func` its own signature once, for langchain-core's per-call look.

    langchain-core asks `inspect.signature(self._generate)` on every call whether the method
    takes `run_manager`; building it from the code object is the largest single cost this
    package adds to `invoke`. `inspect.signature` returns a function's `__signature__` as is.
    """
    func.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    return func


def describe_fields(cls: type[BaseModel]) -> None:
    """Give each field declared in `cls`'s body the docstring under it as its description.

    What pydantic's `use_attribute_docstrings` does, read with `ast` from the module's file
    (one parse, ~1 ms): `help()`, `inspect.signature` and the JSON schema show them. Runs
    before the (deferred) validator is built; subclasses inherit the descriptions.
    """
    path = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if not path:
        return
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    body = next(
        (n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__),
        [],
    )
    for node, after in itertools.pairwise(body):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        doc = after.value if isinstance(after, ast.Expr) else None
        field = cls.model_fields.get(node.target.id)
        if field is not None and isinstance(doc, ast.Constant) and isinstance(doc.value, str):
            field.description = field.description or inspect.cleandoc(doc.value)


class _BuiltSignature:
    """`__signature__` of a model class whose build pydantic defers (``defer_build``): the
    class is built on first look, so pydantic's own signature (every field, by the name users
    type) is returned instead of the parent class's."""

    def __get__(self, instance: object, owner: type[BaseModel]) -> inspect.Signature:
        if not owner.__pydantic_complete__:
            owner.model_rebuild()
        if "__signature__" in owner.__dict__:
            return owner.__signature__
        return inspect.signature(owner.__init__)


if TYPE_CHECKING:
    _Base = BaseLanguageModel[Any]
    # What a caller may pass: a plain string is wrapped in `SecretStr` by pydantic, so the
    # attribute always holds a `SecretStr` at runtime (read it with `_secret_text`).
    _Key = str | SecretStr | None
else:
    _Key = SecretStr | None
    # The unparametrised class: both `BaseChatModel` and `BaseLLM` have it in their MRO.
    _Base = BaseLanguageModel


class _AzureLlamaSettings(_Base):
    """Fields and hooks common to the chat model and the text-completion model."""

    _model_kind: ClassVar[_t.ModelKind]
    """The `/info` model type this class serves ("chat-completion" or "text-generation")."""
    _use_instead: ClassVar[str]
    """What to use for a deployment of the other model type."""

    model: str | None = Field(default=None, validation_alias=AliasChoices("model", "model_name"))
    """Model name sent as `model` and used for tracing (e.g. "Llama-3.3-70B-Instruct").

    Optional on serverless endpoints, which serve one model; required on a Foundry resource's
    endpoints, where it names the deployment (README "Configuration"). The name in each
    response wins in the response metadata."""

    endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("endpoint", "base_url")
    )
    """Endpoint URL, e.g. ``https://<host>.<region>.models.ai.azure.com``; defaults to
    ``AZURE_INFERENCE_ENDPOINT``."""

    api_key: _Key = None
    """Endpoint key; defaults to ``AZURE_INFERENCE_CREDENTIAL`` unless `credential` is given.
    Sent as both ``Authorization: Bearer`` and ``api-key``, as the Azure SDK does."""

    credential: Any = Field(default=None, exclude=True, repr=False)
    """Entra ID token credential (``get_token(*scopes)``) for managed compute endpoints.

    Exclusive with `api_key` (a key in the environment is then ignored); not serialised."""

    api_version: str | None = _t.DEFAULT_API_VERSION
    """``api-version`` query parameter (Model Inference API only); None omits it."""

    deployment: str | None = None
    """Managed compute deployment, sent as the ``azureml-model-deployment`` header."""

    endpoint_kind: _t.EndpointKind | None = None
    """What serves the endpoint (one of `transport.ENDPOINT_KINDS`); read from the endpoint's
    host and path when None. Set it for a proxy, a custom domain or the emulator. The kinds, and
    on which of them `model` names the deployment and is required: README "Configuration"."""

    credential_scopes: list[str] | None = None
    """Entra ID scopes; by default the one the endpoint's kind documents (README
    "Configuration")."""

    api: _t.Api = "inference"
    """"inference": the Azure AI Model Inference API; "llama": the Llama-native ``/v1`` routes,
    where the Llama parameters below are typed."""

    temperature: float | None = None
    """Sampling temperature, 0 to 2."""

    max_tokens: int | None = Field(
        default=None,
        validation_alias=AliasChoices("max_tokens", "max_completion_tokens", "max_output_tokens"),
    )
    """Most tokens to generate (Azure's default is small for text completion: set it)."""

    top_p: float | None = None
    """Nucleus sampling mass, 0 to 1."""

    stop: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
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
    """Model-specific body keys passed through with ``extra-parameters: pass-through``.

    Unknown constructor keywords land here too (with a warning naming them)."""

    streaming: bool = False
    """Stream under the hood even for `invoke`."""

    default_headers: dict[str, str] | None = None
    """Headers added to every request."""

    http_client: Any = Field(default=None, exclude=True, repr=False)
    """Optional `httpx.Client` for sync calls (tests inject a mock transport here)."""

    http_async_client_factory: Any = Field(default=None, exclude=True, repr=False)
    """Optional zero-argument callable returning an `httpx.AsyncClient` (one per event loop)."""

    tokenizer: Annotated[Any, AfterValidator(_tokens.checked_tokenizer)] = Field(
        default=None, exclude=True, repr=False
    )
    """A Llama tokenizer for exact `get_num_tokens*` counts: a path to a Hugging Face
    ``tokenizer.json`` or a `tokenizers.Tokenizer` (extra ``[tokenizers]``). Without one the
    counts are an offline estimate (README "Token counting")."""

    # defer_build: pydantic builds the validator on first construction, not at import (a third
    # of what importing ChatAzureLlama adds to langchain-core's own import; issue 14).
    # The attribute docstrings become the fields' descriptions through `describe_fields`, not
    # pydantic's `use_attribute_docstrings` (which finds the source through `inspect.getmodule`:
    # ~50 ms at import, more than everything else this package adds).
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    _pools: Pools = PrivateAttr()

    # `inspect.signature(ChatAzureLlama)` / `help()`: the fields, built on first look (see
    # `_BuiltSignature`), not BaseChatModel's while the validator is deferred.
    __signature__: ClassVar[inspect.Signature] = _BuiltSignature()  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _unknown_keywords_to_model_extras(cls, values: Any) -> Any:
        """Move keywords that are not fields into `model_extras`, warning about each one.

        LangChain's usual ``model_kwargs={...}`` is merged into `model_extras` (with a note);
        a keyword close to a setting's name is named as the likely typo.
        """
        if not isinstance(values, dict):
            return values
        values = dict(values)
        notes = []
        if "model_kwargs" in values:
            values = _merged_model_kwargs(values)
            notes.append(
                "model_kwargs is model_extras here: its keys are sent to the model as "
                "model_extras (extra-parameters: pass-through)."
            )
        known = _known_names(cls)
        unknown = sorted(set(values) - known)
        if unknown:
            extras = dict(values.get("model_extras") or {})
            if twice := [name for name in unknown if name in extras]:
                raise ValueError(f"{twice} given both as keywords and in model_extras.")
            extras.update((name, values.pop(name)) for name in unknown)
            values["model_extras"] = extras
            notes.append(_unknown_note(cls.__name__, unknown, known))
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=caller_stacklevel())
        return values

    def __init__(self, **kwargs: Any) -> None:
        with settings_errors():  # the transport's typed error, not pydantic's echo of the input
            super().__init__(**kwargs)

    @model_validator(mode="after")
    def _set_azure_llama_clients(self) -> Self:
        """Read the environment, then build the transport clients once; bad settings fail here."""
        self._add_version("langchain-azure-llama", __version__)
        refuse_llama_fields(self, self.api)
        env = _t.settings_from_env(self.endpoint, _secret_text(self.api_key), self.credential)
        self.endpoint = env.endpoint
        if self.api_key is None and env.api_key is not None:
            self.api_key = SecretStr(env.api_key)
        fields = type(self).model_fields
        options = {name: getattr(self, name) for name in _t.CLIENT_SETTINGS if name in fields}
        del options["endpoint"]
        options.update(api_key=env.api_key, credential=env.credential)
        self._pools = Pools(
            self.endpoint,
            options,
            http_client=self.http_client,
            http_async_client_factory=self.http_async_client_factory,
        )
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; one that changes a setting the transport clients are built from (endpoint,
        key, credential, api-version, deployment, timeout, retries, headers...) is validated
        and gets clients of its own, so it sends where it says with the key it shows. Other
        copies share the original's clients (and connection pools)."""
        copy = super().model_copy(update=update, deep=deep)
        if not update or not _CLIENT_FIELDS.intersection(update):
            return copy
        values = {name: getattr(copy, name) for name in copy.model_fields_set}
        with settings_errors():
            return type(self)(**values)

    # Read on every call: straight from pydantic's private-attribute dict, as `self._pools`
    # would after a miss in `__dict__` and a trip through `BaseModel.__getattr__`.
    @property
    def _client(self) -> _t.AzureLlamaClient:
        pools: Pools = self.__pydantic_private__["_pools"]  # type: ignore[index]
        return pools.sync

    @property
    def _async_client(self) -> _t.AsyncAzureLlamaClient:
        pools: Pools = self.__pydantic_private__["_pools"]  # type: ignore[index]
        return pools.async_

    # -- identity, tracing, serialisation ------------------------------------------------------

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Only the settings the caller set, in field order; keys and credentials never."""
        fields = type(self).model_fields
        for name in fields:
            if name in self.model_fields_set and name not in _NOT_SHOWN and fields[name].repr:
                yield name, getattr(self, name)

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": _t.CREDENTIAL_ENV}

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
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    def _model_label(self) -> str:
        return self.model or self.deployment or "unknown"

    def _defaults(self) -> dict[str, Any]:
        """The model's own wire parameters, before a call's kwargs are merged in."""
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
        """Check now (one cached ``/info`` request) that the deployment suits this class.

        `ChatAzureLlama` needs a chat model, `AzureLlama` a text-generation (base) model.

        Raises:
            NotFoundError: The deployment is of the other type; the message names the class
                to use instead.
        """
        with mapped_errors():
            info = self._client.get_model_info()
            return _t.check_model_type(info, expected=self._model_kind, use=self._use_instead)

    async def acheck_model_type(self) -> _t.ModelInfo:
        """Async `check_model_type`."""
        with mapped_errors():
            info = await self._async_client.get_model_info()
            return _t.check_model_type(info, expected=self._model_kind, use=self._use_instead)

    # -- token counting (offline; exact with `tokenizer`) ----------------------------------------

    def get_token_ids(self, text: str) -> list[int]:
        return _tokens.token_ids(self, text)

    def get_num_tokens(self, text: str) -> int:
        return _tokens.num_tokens(self, text)

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync connection pool: sync calls are refused from then on (`RuntimeError`,
        as a closed httpx or openai client refuses); async calls are closed by `aclose`."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async client: async calls are refused from then on (`RuntimeError`), on
        every event loop; the running loop's pool closes now."""
        await self._async_client.aclose()


describe_fields(_AzureLlamaSettings)


def _secret_text(value: str | SecretStr | None) -> str | None:
    """The text of a key field (a `SecretStr` at runtime; `str` is what callers may pass)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _known_names(cls: type[BaseModel]) -> set[str]:
    """Every spelling a constructor accepts: field names, aliases and their alias choices."""
    names = set(get_pydantic_field_names(cls))
    for field in cls.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices):
            names.update(c for c in field.validation_alias.choices if isinstance(c, str))
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
    return names


def _merged_model_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """`model_kwargs` (LangChain's usual name) folded into `model_extras`."""
    given = values.pop("model_kwargs") or {}
    if not isinstance(given, Mapping):
        raise ValueError("model_kwargs must be a dict of body keys (it is model_extras here).")
    extras = dict(values.get("model_extras") or {})
    if twice := sorted(set(given) & set(extras)):
        raise ValueError(f"{twice} given both in model_kwargs and in model_extras.")
    values["model_extras"] = {**extras, **given}
    return values


def _unknown_note(owner: str, unknown: list[str], known: set[str]) -> str:
    """The constructor's warning: what was not a setting, and the setting each looks like."""
    public = sorted(name for name in known if not name.startswith("_"))
    guesses = [
        f"{name!r} (did you mean {guess!r}?)" if guess else repr(name)
        for name in unknown
        for guess in [close_name(name, public)]
    ]
    return (
        f"{owner} has no setting {', '.join(guesses)}: sent to the model as model_extras "
        "(extra-parameters: pass-through). Check the spelling, or pass model_extras={...} to "
        "say it is meant."
    )
