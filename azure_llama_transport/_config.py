"""Endpoint, credential and client settings, checked once at construction.

Defaults come from `AZURE_INFERENCE_ENDPOINT` and `AZURE_INFERENCE_CREDENTIAL`, as in the Azure
documentation, read by `_env.settings_from_env`. `ClientConfig.create`'s keywords are the one
declaration of what a client takes (`CLIENT_SETTINGS` lists them). The key is held in a `Secret`
so that no `repr`, log line or exception shows it.

The endpoint is parsed once (`parse_endpoint`, httpx's parser, the one every request's URL is
built with): that one parse gives the host the kind, the Entra scope, the loopback exemption and
the connection all use. Characters on which URL parsers disagree are refused rather than read one
way here and another way in a connection: a backslash anywhere, ``%`` in the host (percent-escapes
and IPv6 zone IDs such as ``[::1%25eth0]``), ``@`` before the host.

What would otherwise fail late, untyped, or silently is refused here with `RequestValidationError`:
an endpoint with a user:password (it would show in every repr and dump), a query or fragment
(even a bare trailing ``?`` or ``#``, which would move the route into it), a bad port, control
characters or spaces, a backslash, a ``%`` in the host; plain ``http://`` except to a loopback
address (and then never through an `HTTP_PROXY`); header values (``deployment``,
``default_headers``) with CR, LF, NUL or other control characters, or non-ASCII text, which httpx
and aiohttp refuse only when sending.
Messages never repeat a header value or an endpoint's user:password.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import httpx

from ._env import CREDENTIAL_ENV, ENDPOINT_ENV, settings_from_env
from ._errors import RequestValidationError

__all__ = [
    "CLIENT_SETTINGS",
    "DEFAULT_API_VERSION",
    "DEFAULT_SCOPES",
    "DEPLOYMENT_HEADER",
    "ENDPOINT_KINDS",
    "FOUNDRY_SCOPES",
    "OPENAI_V1_SCOPES",
    "ROUTING_HEADERS",
    "ClientConfig",
    "EndpointKind",
    "EndpointURL",
    "ExtraParametersMode",
    "Secret",
    "TokenCredentialLike",
    "check_headers",
    "default_scopes",
    "detect_endpoint_kind",
    "is_serverless_host",
    "parse_endpoint",
    "routes_by_model",
]

DEFAULT_API_VERSION = "2024-05-01-preview"
# Managed online endpoints take Entra tokens for Azure ML (the SDK's default scope).
DEFAULT_SCOPES: tuple[str, ...] = ("https://ml.azure.com/.default",)
# Foundry Models endpoints belong to an Azure AI Services (Cognitive Services) resource
# (docs/wire-protocol.md §19).
FOUNDRY_SCOPES: tuple[str, ...] = ("https://cognitiveservices.azure.com/.default",)
# The OpenAI v1 route of a Foundry resource: Microsoft's 2026 pages give this scope
# (`get_bearer_token_provider(DefaultAzureCredential(), "https://ai.azure.com/.default")`,
# MicrosoftDocs/azure-ai-docs articles/foundry/includes/migrate-model-inference-to-v1-openai.md;
# the Nov 2025 migration page said cognitiveservices: pass credential_scopes for that).
OPENAI_V1_SCOPES: tuple[str, ...] = ("https://ai.azure.com/.default",)
EndpointKind = Literal["serverless", "managed", "foundry", "openai-v1", "other"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = (
    "serverless",
    "managed",
    "foundry",
    "openai-v1",
    "other",
)
# The header that picks a deployment of a managed compute endpoint.
DEPLOYMENT_HEADER = "azureml-model-deployment"
# Headers that pick the deployment or carry a credential (lower case): the key goes as both
# `api-key` and `Authorization`, as the Azure SDK sends it.
ROUTING_HEADERS = frozenset({DEPLOYMENT_HEADER, "api-key", "authorization", "host"})
ExtraParametersMode = Literal["pass-through", "drop", "error"]
_SERVERLESS_SUFFIXES = (".inference.ai.azure.com", ".models.ai.azure.com")
_MANAGED_SUFFIXES = (".inference.ml.azure.com",)
# Hosts of an Azure AI Services resource; its Model Inference API is under `/models`.
_AI_SERVICES_SUFFIXES = (
    ".services.ai.azure.com",
    ".cognitiveservices.azure.com",
    ".openai.azure.com",
)
_FOUNDRY_PATH = "/models"
# The resource's OpenAI v1 route (docs/wire-protocol.md §20): `model` = the deployment name.
_OPENAI_V1_PATH = "/openai/v1"
# Kinds that serve many deployments and pick one by the body's `model`.
_ROUTED_BY_MODEL: frozenset[EndpointKind] = frozenset({"foundry", "openai-v1"})
# RFC 9110 §5.6.2 token (a header name) and field value: visible ASCII, space and tab.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # controls (CR, LF, NUL, ...) and spaces


@runtime_checkable
class TokenCredentialLike(Protocol):
    """azure-core's `TokenCredential` or `AsyncTokenCredential`: `get_token(*scopes)`."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


class Secret:
    """A string that never shows itself in `repr` or `str`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_serverless_host(host: str) -> bool:
    """Serverless (MaaS) hosts accept keys only: Entra ID is not supported there."""
    return host.lower().endswith(_SERVERLESS_SUFFIXES)


def detect_endpoint_kind(endpoint: str, kind: str | None = None) -> EndpointKind:
    """What serves `endpoint`: "serverless", "managed", "foundry", "openai-v1" or "other".

    Read from the host name and path (docs/wire-protocol.md §19, §20); `kind` overrides it for
    a proxy, a custom domain or the emulator, whose host names say nothing.
    """
    if kind is not None:
        return _checked_kind(kind)
    if not endpoint.strip():
        return "other"  # no endpoint yet: `ClientConfig.create` says what is missing
    # The host and path a connection uses (refused, typed, where parsers could disagree).
    url = parse_endpoint(endpoint)
    host, path = url.host, url.path
    if host.endswith(_SERVERLESS_SUFFIXES):
        return "serverless"
    if host.endswith(_MANAGED_SUFFIXES):
        return "managed"
    if host.endswith(_AI_SERVICES_SUFFIXES) and path.lower() == _OPENAI_V1_PATH:
        return "openai-v1"
    if host.endswith(_AI_SERVICES_SUFFIXES) and path == _FOUNDRY_PATH:
        return "foundry"
    if host.endswith(".services.ai.azure.com") and not path:
        return "foundry"  # the resource's base URL: `/models` is added, as LiteLLM does
    return "other"


def default_scopes(kind: EndpointKind) -> tuple[str, ...]:
    """The Entra ID scope for a kind of endpoint: Azure AI on the OpenAI v1 route, Cognitive
    Services on the Model Inference API of a Foundry resource, else Azure ML."""
    if kind == "openai-v1":
        return OPENAI_V1_SCOPES
    return FOUNDRY_SCOPES if kind == "foundry" else DEFAULT_SCOPES


def routes_by_model(kind: EndpointKind) -> bool:
    """Does this kind of endpoint pick the deployment by the body's `model` (then required)?"""
    return kind in _ROUTED_BY_MODEL


def _checked_kind(kind: str) -> EndpointKind:
    if kind not in ENDPOINT_KINDS:
        raise RequestValidationError(
            f"endpoint_kind must be one of {list(ENDPOINT_KINDS)}, not {kind!r}.",
            param="endpoint_kind",
        )
    return kind


def _foundry_base(endpoint: str) -> str:
    """A Foundry resource URL given without `/models` gets it (the inference API lives there)."""
    return endpoint if parse_endpoint(endpoint).path else endpoint + _FOUNDRY_PATH


@dataclass(frozen=True)
class ClientConfig:
    """Validated settings shared by the sync and async clients."""

    endpoint: str
    api_key: Secret | None = None
    credential: TokenCredentialLike | None = field(default=None, repr=False)
    api_version: str | None = DEFAULT_API_VERSION
    deployment: str | None = None
    timeout: float = 60.0
    max_retries: int = 2
    extra_parameters: ExtraParametersMode = "pass-through"
    credential_scopes: tuple[str, ...] = DEFAULT_SCOPES
    default_headers: Mapping[str, str] = field(default_factory=dict)
    kind: EndpointKind = "other"

    @functools.cached_property
    def url(self) -> EndpointURL:
        """The endpoint as parsed once: the host requests connect to, its kind's and scope's."""
        return parse_endpoint(self.endpoint)

    @property
    def host(self) -> str:
        # Read on every call (error messages, shape checks): parsed once, above.
        return self.url.host

    @property
    def proxies_from_env(self) -> bool:
        """Whether `HTTP(S)_PROXY` may carry this client's requests: not on plain http, which is
        accepted only to loopback, where a proxy would receive the key in clear."""
        return self.url.scheme == "https"

    @classmethod
    def create(
        cls,
        endpoint: str | None = None,
        *,
        api_key: str | Secret | None = None,
        credential: Any = None,
        api_version: str | None = DEFAULT_API_VERSION,
        deployment: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        extra_parameters: ExtraParametersMode = "pass-through",
        credential_scopes: Sequence[str] | None = None,
        default_headers: Mapping[str, str] | None = None,
        endpoint_kind: EndpointKind | None = None,
    ) -> ClientConfig:
        """Resolve defaults from the environment and refuse settings that cannot work.

        The endpoint's kind is read from its host unless `endpoint_kind` is given; it picks the
        default `credential_scopes` and, on "foundry" and "openai-v1", requires `model` in
        every request. The OpenAI v1 route takes no `api-version`: none is sent there.
        """
        endpoint, api_key, credential = settings_from_env(endpoint, api_key, credential)
        url = normalize_endpoint(endpoint or "")
        kind = detect_endpoint_kind(url, endpoint_kind)
        if kind == "foundry" and endpoint_kind is None:
            url = _foundry_base(url)
        key, token_credential = _resolve_credential(api_key, credential)
        if token_credential is not None and kind == "serverless":
            raise RequestValidationError(
                "Serverless API endpoints accept keys only, not Microsoft Entra ID tokens: pass "
                "api_key=... (the endpoint's key) instead of credential=... (Entra ID works on "
                "managed compute and Foundry resource endpoints).",
                param="credential",
            )
        if deployment and routes_by_model(kind):
            raise RequestValidationError(
                "Foundry resource endpoints (/models, /openai/v1) choose the deployment by "
                "model=... in each request, not by the azureml-model-deployment header: pass "
                "model='<deployment name>'.",
                param="deployment",
            )
        if kind == "openai-v1":
            api_version = None  # "api-version: not required" on the v1 route (§20)
        if deployment:
            check_header_value(DEPLOYMENT_HEADER, deployment, param="deployment")
        check_headers(default_headers or {}, param="default_headers")
        if max_retries < 0:
            raise RequestValidationError("max_retries must be >= 0", param="max_retries")
        if extra_parameters not in ("pass-through", "drop", "error"):
            raise RequestValidationError(
                "extra_parameters must be 'pass-through', 'drop' or 'error'",
                param="extra_parameters",
            )
        return cls(
            endpoint=url,
            api_key=key,
            credential=token_credential,
            api_version=api_version or None,
            deployment=deployment or None,
            timeout=60.0 if timeout is None else float(timeout),
            max_retries=max_retries,
            extra_parameters=extra_parameters,
            credential_scopes=tuple(credential_scopes or default_scopes(kind)),
            default_headers=dict(default_headers or {}),
            kind=kind,
        )


# What a client takes, by name: `ClientConfig.create`'s keywords (the front ends' settings that
# build a client derive from it; a test pins LangChain's fields against it).
CLIENT_SETTINGS: tuple[str, ...] = tuple(inspect.signature(ClientConfig.create).parameters)


@dataclass(frozen=True)
class EndpointURL:
    """An endpoint as httpx parses it, the parse every request's URL is built from."""

    scheme: str  # "http" or "https"
    host: str  # lower case, ASCII (IDNA-encoded) as resolved and connected to; IPv6 unbracketed
    port: int | None  # None for the scheme's default
    path: str  # without a trailing "/"


@functools.lru_cache(maxsize=128)
def parse_endpoint(endpoint: str) -> EndpointURL:
    """Parse an http(s) endpoint once, refusing what URL parsers read differently.

    The text before the host is checked as text first (scheme, control characters, backslash,
    ``?``/``#``, ``@`` and ``%`` in the authority); what is left has one reading, httpx's, which
    yarl (the aiohttp path) is handed already encoded. Whether plain http is allowed is
    `normalize_endpoint`'s decision, not this one's.

    Raises:
        RequestValidationError: (param "endpoint") the text is not such a URL.
    """
    endpoint = endpoint.strip()
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise _bad_endpoint(f"Endpoint {_redacted(endpoint)!r} is not an http(s) URL.")
    if _URL_UNSAFE.search(endpoint):  # urlsplit drops CR, LF and tab without a word
        raise _bad_endpoint(
            "The endpoint contains a space or a control character (CR, LF, NUL, tab...)."
        )
    if "\\" in endpoint:  # a path separator to browsers and yarl, a host character to httpx
        raise _bad_endpoint("The endpoint must not contain a backslash ('\\').")
    if "?" in endpoint or "#" in endpoint:  # even bare: the route would land in the query
        raise _bad_endpoint(
            "The endpoint must not carry a query or fragment ('?' or '#'); set api_version instead."
        )
    authority = rest.partition("/")[0]
    if "@" in authority:
        raise _bad_endpoint(
            "The endpoint must not carry a user name or password (user:password@host): "
            "pass the key as api_key=... (it is sent as a header, never shown)."
        )
    if "%" in authority:
        raise _bad_endpoint(
            "The endpoint's host must not contain '%' (a percent-escape or an IPv6 zone ID such "
            "as [fe80::1%25eth0]): URL parsers disagree on which host that names."
        )
    try:
        url = httpx.URL(endpoint)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _bad_endpoint(f"Endpoint {endpoint!r} is not a valid URL: {exc}") from None
    host = url.raw_host.decode("ascii").lower()
    if not host:
        raise _bad_endpoint(f"Endpoint {endpoint!r} is not an http(s) URL: it names no host.")
    if url.port is not None and not 0 < url.port < 65536:
        raise _bad_endpoint("The endpoint's port is not a number from 1 to 65535.")
    return EndpointURL(url.scheme, host, url.port, url.path.rstrip("/"))


def normalize_endpoint(endpoint: str) -> str:
    """Check the endpoint is an https URL (plain http only on loopback) and drop a trailing /."""
    if not endpoint:
        raise RequestValidationError(
            f"No endpoint: pass endpoint=... or set {ENDPOINT_ENV} "
            "(e.g. https://<host>.<region>.models.ai.azure.com).",
            param="endpoint",
        )
    endpoint = endpoint.strip()
    url = parse_endpoint(endpoint)
    if url.scheme == "http" and not _is_loopback(url.host):
        raise _bad_endpoint(
            f"Refusing plain http:// to {url.host}: the key would cross the network "
            "unencrypted. Use https://, or http:// only for a loopback emulator."
        )
    return endpoint.rstrip("/")


def _bad_endpoint(message: str) -> RequestValidationError:
    return RequestValidationError(message, param="endpoint")


def _redacted(endpoint: str) -> str:
    """The endpoint without any user:password before the host."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        scheme, rest = "", endpoint
    host_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc = rest[:host_end]
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{rest[host_end:]}"


def check_header_value(name: str, value: object, *, param: str) -> None:
    """Refuse a header value httpx or aiohttp would refuse late, or that could split headers."""
    if not isinstance(value, str):
        raise RequestValidationError(
            f"{param}: header {name!r} must be a string, not {type(value).__name__}.",
            param=param,
        )
    if not _HEADER_VALUE.fullmatch(value):
        raise RequestValidationError(
            f"{param}: header {name!r} contains a line break, NUL, another control character "
            "or non-ASCII text; header values must be printable ASCII.",
            param=param,
        )


def check_headers(headers: Mapping[str, object], *, param: str = "headers") -> None:
    """Check every header name is an HTTP token and every value is printable ASCII."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise RequestValidationError(
                f"{param} has a header name that is not a valid HTTP token: {name!r}.",
                param=param,
            )
        check_header_value(name, value, param=param)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve_credential(
    api_key: str | Secret | None, credential: Any
) -> tuple[Secret | None, TokenCredentialLike | None]:
    if api_key is not None and credential is not None:
        raise RequestValidationError(
            "Pass either api_key or credential, not both.", param="credential"
        )
    if credential is not None:
        if hasattr(credential, "get_token"):
            return None, credential
        key = getattr(credential, "key", None)  # azure-core's AzureKeyCredential
        if isinstance(key, str) and key:
            return Secret(key), None
        raise RequestValidationError(
            "credential must have get_token(*scopes) (an azure-identity credential) "
            "or be an AzureKeyCredential.",
            param="credential",
        )
    value = api_key.get_secret_value() if isinstance(api_key, Secret) else api_key
    if not value:
        raise RequestValidationError(
            f"No credential: pass api_key=..., credential=..., or set {CREDENTIAL_ENV}.",
            param="api_key",
        )
    return Secret(value), None
