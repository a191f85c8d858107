"""The shared transport: Azure AI Model Inference API + Llama-native API, framework-free.

Imports only the standard library, httpx, httpx-sse and pydantic, so both front ends (LangChain
and LiteLLM) can sit on it without either loading the other. A call flows top to bottom:
config (`_config`) → request build and validation (`_request`) → HTTP with auth and retries
(`_auth`, `_retry`, `_client`) → SSE parse (`_streaming`) → errors (`_errors`, `_error_body`).
`_catalogue` is the one table of Llama models (context, output, type, sources) the front ends
read, and tells a chat deployment from a base-model one after a 404.
"""

from ._auth import KeyAuth, TokenAuth
from ._catalogue import (
    CATALOGUE,
    CatalogueEntry,
    ModelKind,
    ModelSources,
    aexplain_not_found,
    check_max_tokens,
    check_model_type,
    explain_not_found,
    lookup,
    model_type_error,
)
from ._client import AsyncAzureLlamaClient, AzureLlamaClient, normalize_model_type
from ._config import (
    DEFAULT_API_VERSION,
    DEFAULT_SCOPES,
    ClientConfig,
    ExtraParametersMode,
    Secret,
    TokenCredentialLike,
    is_serverless_host,
)
from ._error_body import ErrorInfo, error_from_response, parse_error_body
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    AzureLlamaError,
    BadRequestError,
    ContentFilterError,
    CredentialError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    StreamInterruptedError,
    UnprocessableEntityError,
)
from ._request import (
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
from ._streaming import AsyncStream, Stream, completion_filter_error
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatParams,
    LlamaParams,
    Message,
    ModelInfo,
    TextCompletion,
    ToolCall,
    Usage,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_API_VERSION",
    "DEFAULT_SCOPES",
    "ROUTES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Api",
    "AsyncAzureLlamaClient",
    "AsyncStream",
    "AuthenticationError",
    "AzureLlamaClient",
    "AzureLlamaError",
    "BadRequestError",
    "CatalogueEntry",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatParams",
    "ClientConfig",
    "ContentFilterError",
    "CredentialError",
    "ErrorInfo",
    "ExtraParametersMode",
    "InternalServerError",
    "KeyAuth",
    "LlamaParams",
    "Message",
    "ModelInfo",
    "ModelKind",
    "ModelSources",
    "NotFoundError",
    "PermissionDeniedError",
    "PreparedRequest",
    "RateLimitError",
    "RequestValidationError",
    "ResponseDecodeError",
    "RetryPolicy",
    "Route",
    "Secret",
    "Stream",
    "StreamInterruptedError",
    "TextCompletion",
    "TokenAuth",
    "TokenCredentialLike",
    "ToolCall",
    "UnprocessableEntityError",
    "Usage",
    "aexplain_not_found",
    "build_chat_request",
    "build_completion_request",
    "build_info_request",
    "check_llama_params",
    "check_max_tokens",
    "check_messages",
    "check_model_type",
    "completion_filter_error",
    "error_from_response",
    "explain_not_found",
    "is_retryable_status",
    "is_serverless_host",
    "lookup",
    "model_type_error",
    "normalize_model_type",
    "parse_error_body",
    "retry_after_seconds",
]
