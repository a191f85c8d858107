"""Errors: one mapping table, both parents, every attribute kept, `raise ... from` the original."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
    OutputParserException,
)

import azure_llama_transport as t
import langchain_azure_llama
from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from langchain_azure_llama import ChatAzureLlama
from langchain_azure_llama import _errors as lc
from tests._support.langchain import EMULATOR_KEY, MODEL, Api

Make = Callable[..., ChatAzureLlama]
STATUS = {"request_id": "req-1", "code": "c", "param": "p", "body": {"x": 1}, "headers": {"a": "b"}}

TABLE: list[tuple[str, t.AzureLlamaError, type[Any], type[ModelError]]] = [
    (
        "authentication",
        t.AuthenticationError("m", status_code=401, **STATUS),
        lc.AuthenticationError,
        ModelAuthenticationError,
    ),
    ("credential", t.CredentialError("m"), lc.CredentialError, ModelAuthenticationError),
    (
        "permission",
        t.PermissionDeniedError("m", status_code=403, **STATUS),
        lc.PermissionDeniedError,
        ModelPermissionDeniedError,
    ),
    (
        "bad-request",
        t.BadRequestError("m", status_code=400, **STATUS),
        lc.BadRequestError,
        ModelInvalidRequestError,
    ),
    (
        "content-filter",
        t.ContentFilterError(
            "m",
            source="prompt",
            categories={"jailbreak": {"filtered": True, "detected": True}},
            **STATUS,
        ),
        lc.ContentFilterError,
        ModelInvalidRequestError,
    ),
    (
        "unprocessable",
        t.UnprocessableEntityError("m", status_code=422, **STATUS),
        lc.UnprocessableEntityError,
        ModelInvalidRequestError,
    ),
    (
        "request-validation",
        t.RequestValidationError("m", param="temperature"),
        lc.RequestValidationError,
        ModelInvalidRequestError,
    ),
    (
        "not-found",
        t.NotFoundError("m", status_code=404, **STATUS),
        lc.NotFoundError,
        ModelNotFoundError,
    ),
    (
        "rate-limit",
        t.RateLimitError("m", retry_after=2.5, status_code=429, **STATUS),
        lc.RateLimitError,
        ModelRateLimitError,
    ),
    (
        "internal",
        t.InternalServerError("m", status_code=503, **STATUS),
        lc.InternalServerError,
        ModelAPIError,
    ),
    (
        "other-status",
        t.APIStatusError("m", status_code=409, **STATUS),
        lc.APIStatusError,
        ModelAPIError,
    ),
    (
        "stream-interrupted",
        t.StreamInterruptedError("m", partial_text="Once upon", chunks_received=3),
        lc.StreamInterruptedError,
        ModelAPIError,
    ),
    (
        "response-decode",
        t.ResponseDecodeError("m", partial_text="x", body="{not json"),
        lc.ResponseDecodeError,
        ModelAPIError,
    ),
    (
        "response-too-large",
        t.ResponseTooLargeError("m", limit="max_body_bytes", limit_bytes=10, body="{"),
        lc.ResponseTooLargeError,
        ModelAPIError,
    ),
    (
        "connection",
        t.APIConnectionError("m", host="h"),
        lc.APIConnectionError,
        ModelConnectionError,
    ),
    ("timeout", t.APITimeoutError("m", host="h"), lc.APITimeoutError, ModelTimeoutError),
    ("base", t.AzureLlamaError("m"), lc.AzureLlamaError, ModelAPIError),
    (
        "context-overflow",
        t.ContextWindowExceededError("m", status_code=400, **STATUS),
        lc.ContextWindowExceededError,
        ContextOverflowError,
    ),
    (
        "structured-output",
        t.StructuredOutputError("m", partial_text="{}", validation_error="'n' is required"),
        lc.StructuredOutputError,
        ModelAPIError,
    ),
    (
        "redirect",
        t.RedirectError("m", status_code=307, location_host="elsewhere.example", **STATUS),
        lc.RedirectError,
        ModelAPIError,
    ),
]


@pytest.mark.parametrize(
    ("original", "mapped_cls", "model_cls"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_mapping_table(
    original: t.AzureLlamaError, mapped_cls: type[Any], model_cls: type[ModelError]
) -> None:
    mapped = lc.map_error(original)
    assert type(mapped) is mapped_cls
    assert isinstance(mapped, type(original))
    assert isinstance(mapped, model_cls)
    assert vars(mapped) == vars(original)
    assert str(mapped) == str(original)


def test_table_covers_every_transport_error() -> None:
    transport_errors = {
        cls
        for name in t.__all__
        if isinstance(cls := getattr(t, name), type) and issubclass(cls, t.AzureLlamaError)
    }
    assert {type(row[1]) for row in TABLE} == transport_errors


def test_attributes_survive_mapping() -> None:
    filtered = lc.map_error(TABLE[4][1])
    assert isinstance(filtered, lc.ContentFilterError)
    assert filtered.categories == {"jailbreak": {"filtered": True, "detected": True}}
    assert filtered.filtered_categories == ["jailbreak"]
    assert (filtered.status_code, filtered.request_id, filtered.body) == (400, "req-1", {"x": 1})
    limited = lc.map_error(TABLE[8][1])
    assert isinstance(limited, lc.RateLimitError)
    assert limited.retry_after == 2.5
    assert limited.is_retryable
    cut = lc.map_error(TABLE[11][1])
    assert isinstance(cut, lc.StreamInterruptedError)
    assert cut.partial_text == "Once upon"


def test_timeout_is_also_a_connection_error() -> None:
    assert issubclass(lc.APITimeoutError, ModelConnectionError)
    assert issubclass(lc.APITimeoutError, lc.APIConnectionError)


def test_mapped_errors_map_to_themselves() -> None:
    mapped = lc.map_error(t.BadRequestError("m", status_code=400))
    assert lc.map_error(mapped) is mapped


def test_content_filter_error_is_exported_at_the_top() -> None:
    assert langchain_azure_llama.ContentFilterError is lc.ContentFilterError
    assert issubclass(langchain_azure_llama.ContentFilterError, ModelInvalidRequestError)
    assert issubclass(langchain_azure_llama.ContentFilterError, t.ContentFilterError)


# -- through the model, against the emulator --------------------------------------------------


async def _call(api: Api, model: ChatAzureLlama, text: str, streamed: bool, **kw: Any) -> Any:
    if streamed:
        return await api.stream(model, text, **kw)
    return await api.invoke(model, text, **kw)


def _check_cause(error: BaseException, transport_cls: type[Exception]) -> None:
    assert isinstance(error.__cause__, transport_cls)
    assert not isinstance(error.__cause__, ModelError)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_bad_key(api: Api, make_model: Make, native_emu: Emulator, streamed: bool) -> None:
    model = make_model(native_emu, api_key="not-the-key")
    with pytest.raises(lc.AuthenticationError) as info:
        await _call(api, model, "hi", streamed)
    assert isinstance(info.value, ModelAuthenticationError)
    assert info.value.status_code == 401
    assert "not-the-key" not in str(info.value)
    _check_cause(info.value, t.AuthenticationError)


async def test_missing_route_is_not_found(api: Api, make_model: Make) -> None:
    config = EmulatorConfig(api_key=EMULATOR_KEY, model_type="text-generation")
    with Emulator(config) as emu, pytest.raises(lc.NotFoundError) as info:
        await api.invoke(make_model(emu), "hi")
    assert isinstance(info.value, ModelNotFoundError)
    assert info.value.status_code == 404


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_rate_limit_after_retries(
    api: Api, make_model: Make, native_emu: Emulator, streamed: bool
) -> None:
    native_emu.inject(Fault.status(429, retry_after=7), times=1)
    with pytest.raises(lc.RateLimitError) as info:
        await _call(api, make_model(native_emu, max_retries=0), "hi", streamed)
    assert isinstance(info.value, ModelRateLimitError)
    assert info.value.retry_after == 7.0


async def test_server_error_is_retried_then_mapped(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    native_emu.inject(Fault.status(503, retry_after_ms=5), times=1)
    answer = await api.invoke(make_model(native_emu, max_retries=1), "hi")
    assert answer.content
    native_emu.inject(Fault.status(503, retry_after_ms=5), times=2)
    with pytest.raises(lc.InternalServerError) as info:
        await api.invoke(make_model(native_emu, max_retries=1), "hi")
    assert isinstance(info.value, ModelAPIError)
    assert info.value.status_code == 503


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_prompt_content_filter(
    api: Api, make_model: Make, native_emu: Emulator, streamed: bool
) -> None:
    with pytest.raises(langchain_azure_llama.ContentFilterError) as info:
        await _call(api, make_model(native_emu), "please BLOCKME now", streamed)
    error = info.value
    assert isinstance(error, ModelInvalidRequestError)
    assert (error.status_code, error.code, error.source) == (400, "content_filter", "prompt")
    assert error.categories == {}
    _check_cause(error, t.ContentFilterError)


async def test_prompt_content_filter_categories(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    with pytest.raises(langchain_azure_llama.ContentFilterError) as info:
        await api.invoke(make_model(native_emu), "JAILBREAK attempt")
    assert info.value.categories["jailbreak"] == {"filtered": True, "detected": True}
    assert info.value.filtered_categories == ["jailbreak"]


@pytest.mark.parametrize(
    ("fault", "expected", "model_cls"),
    [
        ("cut-after=3", lc.StreamInterruptedError, ModelAPIError),
        ("error-event-after=2", lc.InternalServerError, ModelAPIError),
        ("malformed-after=2", lc.ResponseDecodeError, ModelAPIError),
    ],
    ids=["cut", "error-event", "malformed"],
)
async def test_stream_faults(
    api: Api,
    make_model: Make,
    native_emu: Emulator,
    fault: str,
    expected: type[Exception],
    model_cls: type[Exception],
) -> None:
    model = make_model(native_emu)
    with pytest.raises(expected) as info:
        await api.stream(model, "tell me a long story", headers={"x-emulator-fault": fault})
    assert isinstance(info.value, model_cls)
    if expected is lc.StreamInterruptedError:
        assert info.value.partial_text.startswith("Emulated")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_endpoint(api: Api) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    model = ChatAzureLlama(endpoint=endpoint, api_key=EMULATOR_KEY, model=MODEL, max_retries=0)
    with pytest.raises(lc.APIConnectionError) as info:
        await api.invoke(model, "hi")
    assert isinstance(info.value, ModelConnectionError)
    model.close()
    await model.aclose()


async def test_timeout(api: Api, make_model: Make, native_emu: Emulator) -> None:
    model = make_model(native_emu, timeout=0.2, max_retries=0)
    with pytest.raises(lc.APITimeoutError) as info:
        await api.invoke(model, "hi", headers={"x-emulator-fault": "slow-first-byte=1"})
    assert isinstance(info.value, ModelTimeoutError)
    assert isinstance(info.value, ModelConnectionError)


async def test_bad_input_is_refused_before_sending(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    with pytest.raises(lc.RequestValidationError) as info:
        await api.invoke(make_model(native_emu, temperature=5), "hi")
    assert isinstance(info.value, ModelInvalidRequestError)
    assert info.value.param == "temperature"
    assert native_emu.requests == []


class _FailingCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise RuntimeError("no identity here")


async def test_credential_failure(api: Api) -> None:
    config = EmulatorConfig(api_key=EMULATOR_KEY, kind="managed")
    with Emulator(config) as emu:
        model = ChatAzureLlama(endpoint=emu.url, credential=_FailingCredential(), model=MODEL)
        with pytest.raises(lc.CredentialError) as info:
            await api.invoke(model, "hi")
        model.close()
        await model.aclose()
    assert isinstance(info.value, ModelAuthenticationError)
    assert emu.requests == []


AZURE_422 = {
    "status": 422,
    "code": "parameter_not_supported",
    "detail": {"loc": ["body", "response_format"], "input": "json_object"},
    "message": "One of the parameters contain invalid values.",
}


async def test_422_names_the_parameter(native_emu: Emulator, make_model: Make, api: Api) -> None:
    native_emu.inject(Fault.status(422, body=AZURE_422))
    with pytest.raises(ModelInvalidRequestError) as info:
        await api.invoke(make_model(native_emu, max_retries=0), "hello")
    assert "param 'response_format'" in str(info.value)
    assert "code 'parameter_not_supported'" in str(info.value)


async def test_404_on_a_pasted_route_url_names_the_path_and_the_endpoint(
    native_emu: Emulator, make_model: Make, api: Api
) -> None:
    model = make_model(native_emu, endpoint=f"{native_emu.url}/v1/chat/completions")
    with pytest.raises(ModelNotFoundError) as info:
        await api.invoke(model, "hello")
    message = str(info.value)
    assert "404 to /v1/chat/completions/chat/completions" in message
    assert f"it should be '{native_emu.url}'" in message


def test_the_langchain_tables_cannot_drift() -> None:
    """Every transport error (`transport.ERRORS`, the one list) has its LangChain twin: a
    subclass of it and of a langchain-core `ModelError`, exported by `_errors` and lazily by
    the package root, under the same name."""
    assert set(lc._TWINS) == set(t.ERRORS)
    for cls, twin in lc._TWINS.items():
        assert twin.__name__ == cls.__name__
        assert issubclass(twin, cls) and issubclass(twin, ModelError)
        assert twin.__module__ == lc.__name__
    names = {cls.__name__ for cls in t.ERRORS} | {"ContentFilterWarning"}
    assert set(lc.__all__) == names
    assert set(langchain_azure_llama._ERRORS) == names
    assert {
        name for name, module in langchain_azure_llama._LAZY.items() if module == "._errors"
    } == (names)
    assert names <= set(langchain_azure_llama.__all__)
    assert all(getattr(langchain_azure_llama, name) is getattr(lc, name) for name in names)


def test_a_twin_is_built_by_its_constructor() -> None:
    """The twin is built by its constructor from the original's fields, and a langchain-core
    parent's constructor (`OutputParserException` adds a link to its message) does not touch
    the transport's message."""
    original = t.StructuredOutputError("no match", partial_text="{}", validation_error="x")
    mapped = lc.map_error(original)
    assert isinstance(mapped, OutputParserException)
    assert (str(mapped), mapped.args) == ("no match", ("no match",))
    assert mapped is not original and vars(original) == vars(mapped)
