"""The shared transport: Azure AI Model Inference API + Llama-native API, framework-free.

Imports only the standard library, httpx, httpx-sse and pydantic (aiohttp on the first async
call), so both front ends (LangChain and LiteLLM) can sit on it without either loading the
other. A call flows top to bottom: config (`_config`) → request build and validation
(`_request`) → HTTP with auth, retries, deadline and size limits (`_auth`, `_retry`,
`_deadline`, `_limits`, `_client`) → SSE parse (`_streaming`) → one shape check of every answer
(`_shape`) → errors (`_errors`, `_error_body`). Above the client, `_llama` is the Llama protocol
on wire dicts (tools native or prompted, structured output, refusals remembered): `chat`,
`achat`, `chat_stream`, `achat_stream` take a client and a `ChatRequest`.
`_family` is the one reading of model names (`parse_model_name`: Llama 3.1, 4 Maverick, a Vision
model, ...) that the prompt format, the image rule and token counting share.
`_catalogue` is the one table of Llama models (context, output, type, sources) the front ends
read, and tells a chat deployment from a base-model one after a 404.

`_llama` and `_catalogue` load on first use (a call, a model profile, a `max_tokens` check):
their names are lazy here, as the package root's are, so that importing a front end does not
pay for them (issue 14).

A package of its own (importing it loads no other package of this project); `__version__` is
the distribution's, read from its metadata. ``langchain_azure_llama.transport`` is a deprecated
alias of it.
"""

# Aliased: the module's namespace is its public API (`dir()` is pinned against `__all__`).
import importlib as _importlib
import typing as _typing

from . import _errors
from ._answers import (
    FILTERED_FINISH_REASONS,
    OPENAI_FINISH_REASONS,
    ToolCallNumbers,
    content_filtered,
    normalize_usage,
    openai_finish_reason,
)
from ._auth import KeyAuth, TokenAuth
from ._client import AsyncAzureLlamaClient, AzureLlamaClient, normalize_model_type
from ._config import (
    CLIENT_SETTINGS,
    DEFAULT_API_VERSION,
    DEFAULT_SCOPES,
    DEPLOYMENT_HEADER,
    ENDPOINT_KINDS,
    FOUNDRY_SCOPES,
    OPENAI_V1_SCOPES,
    ROUTING_HEADERS,
    ClientConfig,
    EndpointKind,
    ExtraParametersMode,
    Secret,
    TokenCredentialLike,
    default_scopes,
    detect_endpoint_kind,
    is_serverless_host,
    routes_by_model,
)
from ._encode import arguments_json
from ._endpoint import EndpointFacts, endpoint_facts
from ._env import CREDENTIAL_ENV, ENDPOINT_ENV, EnvSettings, settings_from_env
from ._error_body import ErrorInfo, error_from_response, is_context_overflow, parse_error_body
from ._errors import *  # noqa: F403  (the error classes: `_errors.__all__`, the one list)
from ._errors import ERRORS
from ._family import LlamaFamily, ModelName, parse_model_name
from ._images import count_images, image_limit, image_tokens
from ._lifecycle import RetiredModelWarning, warn_if_retired
from ._limits import Limits
from ._request import (
    CHAT_PARAMS,
    COMPLETION_PARAMS,
    LLAMA_PARAMS,
    ROUTES,
    Api,
    PreparedRequest,
    Route,
    build_chat_request,
    build_completion_request,
    build_info_request,
    check_llama_params,
    check_messages,
)
from ._retry import RetryPolicy, is_retryable_status, retry_after_seconds
from ._shape import check_chunk, check_completion, shape_problem
from ._streaming import AsyncStream, Stream
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatParams,
    LlamaParams,
    Message,
    ModelInfo,
    ModelKind,
    TextCompletion,
    ToolCall,
    Usage,
)
from ._version import __version__ as __version__

# public name -> submodule that defines it, imported on first access (see `__getattr__`)
_LAZY: dict[str, str] = {
    "CATALOGUE": "._catalogue",
    "CatalogueEntry": "._catalogue",
    "ModelSources": "._catalogue",
    "Retirement": "._catalogue",
    "remember_served": "._catalogue",
    "aexplain_not_found": "._catalogue",
    "check_max_tokens": "._catalogue",
    "check_model_type": "._catalogue",
    "explain_not_found": "._catalogue",
    "lookup": "._catalogue",
    "model_type_error": "._catalogue",
    "CAPABILITIES": "._llama",
    "AsyncLlamaStream": "._llama",
    "Capabilities": "._llama",
    "CapabilityStore": "._llama",
    "ChatRequest": "._llama",
    "LlamaStream": "._llama",
    "Plan": "._llama",
    "Schema": "._llama",
    "TextRequest": "._llama",
    "ToolCallBuffer": "._llama",
    "achat": "._llama",
    "achat_stream": "._llama",
    "acomplete": "._llama",
    "acomplete_stream": "._llama",
    "capability_key": "._llama",
    "chat": "._llama",
    "chat_stream": "._llama",
    "complete": "._llama",
    "complete_stream": "._llama",
    "extract_json": "._llama",
    "parse_tool_calls": "._llama",
    "plan_chat": "._llama",
    "refused_feature": "._llama",
    "schema_of": "._llama",
    "tools_prompt": "._llama",
}

__all__ = [
    "CAPABILITIES",
    "CATALOGUE",
    "CHAT_PARAMS",
    "CLIENT_SETTINGS",
    "COMPLETION_PARAMS",
    "CREDENTIAL_ENV",
    "DEFAULT_API_VERSION",
    "DEFAULT_SCOPES",
    "DEPLOYMENT_HEADER",
    "ENDPOINT_ENV",
    "ENDPOINT_KINDS",
    "ERRORS",
    "FILTERED_FINISH_REASONS",
    "FOUNDRY_SCOPES",
    "LLAMA_PARAMS",
    "OPENAI_FINISH_REASONS",
    "OPENAI_V1_SCOPES",
    "ROUTES",
    "ROUTING_HEADERS",
    "Api",
    "AsyncAzureLlamaClient",
    "AsyncLlamaStream",
    "AsyncStream",
    "AzureLlamaClient",
    "Capabilities",
    "CapabilityStore",
    "CatalogueEntry",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatParams",
    "ChatRequest",
    "ClientConfig",
    "EndpointFacts",
    "EndpointKind",
    "EnvSettings",
    "ErrorInfo",
    "ExtraParametersMode",
    "KeyAuth",
    "Limits",
    "LlamaFamily",
    "LlamaParams",
    "LlamaStream",
    "Message",
    "ModelInfo",
    "ModelKind",
    "ModelName",
    "ModelSources",
    "Plan",
    "PreparedRequest",
    "RetiredModelWarning",
    "Retirement",
    "RetryPolicy",
    "Route",
    "Schema",
    "Secret",
    "Stream",
    "TextCompletion",
    "TextRequest",
    "TokenAuth",
    "TokenCredentialLike",
    "ToolCall",
    "ToolCallBuffer",
    "ToolCallNumbers",
    "Usage",
    "achat",
    "achat_stream",
    "acomplete",
    "acomplete_stream",
    "aexplain_not_found",
    "arguments_json",
    "build_chat_request",
    "build_completion_request",
    "build_info_request",
    "capability_key",
    "chat",
    "chat_stream",
    "check_chunk",
    "check_completion",
    "check_llama_params",
    "check_max_tokens",
    "check_messages",
    "check_model_type",
    "complete",
    "complete_stream",
    "content_filtered",
    "count_images",
    "default_scopes",
    "detect_endpoint_kind",
    "endpoint_facts",
    "error_from_response",
    "explain_not_found",
    "extract_json",
    "image_limit",
    "image_tokens",
    "is_context_overflow",
    "is_retryable_status",
    "is_serverless_host",
    "lookup",
    "model_type_error",
    "normalize_model_type",
    "normalize_usage",
    "openai_finish_reason",
    "parse_error_body",
    "parse_model_name",
    "parse_tool_calls",
    "plan_chat",
    "refused_feature",
    "remember_served",
    "retry_after_seconds",
    "routes_by_model",
    "schema_of",
    "settings_from_env",
    "shape_problem",
    "tools_prompt",
    "warn_if_retired",
]
__all__ += _errors.__all__

# Type checkers see the real names (at run time `__getattr__` loads them on first access);
# `tests/test_packaging.py` pins that this block and `_LAZY` name the same things.
if _typing.TYPE_CHECKING:  # pragma: no cover
    from ._catalogue import (
        CATALOGUE,
        CatalogueEntry,
        ModelSources,
        Retirement,
        aexplain_not_found,
        check_max_tokens,
        check_model_type,
        explain_not_found,
        lookup,
        model_type_error,
        remember_served,
    )
    from ._llama import (
        CAPABILITIES,
        AsyncLlamaStream,
        Capabilities,
        CapabilityStore,
        ChatRequest,
        LlamaStream,
        Plan,
        Schema,
        TextRequest,
        ToolCallBuffer,
        achat,
        achat_stream,
        acomplete,
        acomplete_stream,
        capability_key,
        chat,
        chat_stream,
        complete,
        complete_stream,
        extract_json,
        parse_tool_calls,
        plan_chat,
        refused_feature,
        schema_of,
        tools_prompt,
    )


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
