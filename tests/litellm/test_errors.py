"""Every transport error becomes the matching LiteLLM exception (one table, `_errors.py`)."""

from __future__ import annotations

import json
import socket
from typing import Any

import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError

import azure_llama_transport as t
from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from litellm_azure_llama._errors import to_litellm
from tests._support.litellm import KEY, MODEL, MODES, call_kwargs, run, unwrap


def _status(cls: type[t.APIStatusError], status: int, **kwargs: Any) -> t.APIStatusError:
    return cls(f"answered {status}", status_code=status, **kwargs)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            t.ContentFilterError("filtered", source="prompt", status_code=400),
            litellm.ContentPolicyViolationError,
            id="content-filter",
        ),
        pytest.param(
            t.RequestValidationError("json_object", param="response_format"),
            litellm.BadRequestError,
            id="validation",
        ),
        pytest.param(
            t.RequestValidationError("No credential", param="api_key"),
            litellm.AuthenticationError,
            id="validation-no-key",
        ),
        pytest.param(_status(t.BadRequestError, 400), litellm.BadRequestError, id="400"),
        pytest.param(
            t.ContextWindowExceededError(
                "This model's maximum context length is 8192 tokens", status_code=400
            ),
            litellm.ContextWindowExceededError,
            id="400-context-window",
        ),
        pytest.param(_status(t.UnprocessableEntityError, 422), litellm.BadRequestError, id="422"),
        pytest.param(_status(t.AuthenticationError, 401), litellm.AuthenticationError, id="401"),
        pytest.param(t.CredentialError("token"), litellm.AuthenticationError, id="credential"),
        pytest.param(
            _status(t.PermissionDeniedError, 403), litellm.PermissionDeniedError, id="403"
        ),
        pytest.param(_status(t.NotFoundError, 404), litellm.NotFoundError, id="404"),
        pytest.param(_status(t.RateLimitError, 429), litellm.RateLimitError, id="429"),
        pytest.param(_status(t.APIStatusError, 408), litellm.Timeout, id="408"),
        pytest.param(_status(t.APIStatusError, 409), litellm.APIError, id="409"),
        pytest.param(_status(t.InternalServerError, 500), litellm.InternalServerError, id="500"),
        pytest.param(_status(t.InternalServerError, 502), litellm.InternalServerError, id="502"),
        pytest.param(
            _status(t.InternalServerError, 503), litellm.ServiceUnavailableError, id="503"
        ),
        pytest.param(t.APITimeoutError("slow", host="h"), litellm.Timeout, id="timeout"),
        pytest.param(
            t.APIConnectionError("refused", host="h"), litellm.APIConnectionError, id="connect"
        ),
        pytest.param(
            t.StreamInterruptedError("cut", partial_text="Hel", chunks_received=2),
            litellm.APIConnectionError,
            id="stream-interrupted",
        ),
        pytest.param(
            t.StructuredOutputError("no", partial_text="x", validation_error="not JSON"),
            litellm.JSONSchemaValidationError,
            id="structured-output",
        ),
        pytest.param(t.ResponseDecodeError("garbage"), litellm.InternalServerError, id="decode"),
        pytest.param(
            t.ResponseTooLargeError("big", limit="max_body_bytes", limit_bytes=1),
            litellm.InternalServerError,
            id="too-large",
        ),
        pytest.param(t.AzureLlamaError("other"), litellm.APIConnectionError, id="base"),
    ],
)
def test_table(error: t.AzureLlamaError, expected: type[Exception]) -> None:
    mapped = to_litellm(error, "Meta-Llama-3.1-8B-Instruct")
    assert type(mapped) is expected
    assert mapped.llm_provider == "azure_llama"  # type: ignore[attr-defined]


def test_rate_limit_keeps_retry_after_for_the_router() -> None:
    error = t.RateLimitError(
        "slow down", status_code=429, headers={"retry-after": "3", "set-cookie": "x"}
    )
    mapped = to_litellm(error, "m")
    assert mapped.response.headers["retry-after"] == "3"  # type: ignore[attr-defined]
    assert "set-cookie" not in mapped.response.headers  # type: ignore[attr-defined]


def test_stream_interrupted_notes_the_partial_text() -> None:
    error = t.StreamInterruptedError("cut", partial_text="Hello", chunks_received=3)
    mapped = to_litellm(error, "m")
    assert "incomplete" in str(mapped) and "5 characters" in str(mapped)
    assert mapped.partial_text == "Hello"  # type: ignore[attr-defined]


def _free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# vLLM's overflow text inside Azure's error envelope; the transport classifies it.
OVERFLOW_BODY = {
    "error": {
        "code": "Bad Request",
        "message": json.dumps(
            {
                "message": "This model's maximum context length is 8192 tokens. However, you "
                "requested 9000 tokens (8000 in the messages, 1000 in the completion)."
            }
        ),
    }
}
CASES = [
    pytest.param({"fault": Fault.status(400)}, litellm.BadRequestError, id="400"),
    pytest.param(
        {"fault": Fault.status(400, body=OVERFLOW_BODY)},
        litellm.ContextWindowExceededError,
        id="400-context-window",
    ),
    pytest.param({"fault": Fault.status(403)}, litellm.PermissionDeniedError, id="403"),
    pytest.param({"fault": Fault.status(404)}, litellm.NotFoundError, id="404"),
    pytest.param({"fault": Fault.status(422)}, litellm.BadRequestError, id="422"),
    pytest.param({"fault": Fault.status(408)}, litellm.Timeout, id="408"),
    pytest.param({"fault": Fault.status(429, retry_after=0)}, litellm.RateLimitError, id="429"),
    pytest.param({"fault": Fault.status(500)}, litellm.InternalServerError, id="500"),
    pytest.param({"fault": Fault.status(502)}, litellm.InternalServerError, id="502"),
    pytest.param({"fault": Fault.status(503)}, litellm.ServiceUnavailableError, id="503"),
    pytest.param({"api_key": "wrong"}, litellm.AuthenticationError, id="401-bad-key"),
    pytest.param({"text": "BLOCKME"}, litellm.ContentPolicyViolationError, id="prompt-filter"),
    pytest.param({"text": "JAILBREAK"}, litellm.ContentPolicyViolationError, id="jailbreak"),
    pytest.param(
        {"response_format": {"type": "json_object"}}, litellm.BadRequestError, id="json-object"
    ),
    pytest.param({"api_base": "closed-port"}, litellm.APIConnectionError, id="connection"),
    pytest.param(
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
        litellm.BadRequestError,
        id="non-text-part",
    ),
    pytest.param({"azure_llama_api": "v2"}, litellm.BadRequestError, id="unknown-api"),
    pytest.param({"fault": Fault.slow_first_byte(2.0)}, litellm.Timeout, id="timeout"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("case", "expected"), CASES)
async def test_emulator_errors_map(
    emu: Emulator, mode: str, case: dict[str, Any], expected: type[Exception]
) -> None:
    kwargs = call_kwargs(emu, max_retries=0)
    if "fault" in case:
        emu.inject(case["fault"])
        kwargs["timeout"] = 0.3
    if "text" in case:
        kwargs["messages"] = [{"role": "user", "content": f"please {case['text']} this"}]
    if case.get("api_base") == "closed-port":
        kwargs["api_base"] = _free_port_url()
    elif "api_key" in case:
        kwargs["api_key"] = case["api_key"]
    for key in ("response_format", "messages", "azure_llama_api"):
        if key in case:
            kwargs[key] = case[key]
    with pytest.raises(Exception) as info:
        await run(mode, **kwargs)
    error = unwrap(info.value)
    assert type(error) is expected, repr(info.value)
    assert KEY not in str(info.value) and KEY not in repr(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_content_policy_error_carries_the_categories(emu: Emulator, mode: str) -> None:
    kwargs = call_kwargs(emu, messages=[{"role": "user", "content": "JAILBREAK now"}])
    with pytest.raises(litellm.ContentPolicyViolationError) as info:
        await run(mode, **kwargs)
    fields = info.value.provider_specific_fields
    assert fields is not None and fields["source"] == "prompt"
    assert "jailbreak" in fields["filtered_categories"]
    assert fields["content_filter_result"]["jailbreak"]["filtered"] is True
    assert fields["innererror"]["code"] == "ResponsibleAIPolicyViolation"


@pytest.mark.parametrize("mode", [p for p in MODES if p.id in ("stream", "astream")])
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param(Fault.cut_after(3), litellm.APIConnectionError, id="cut"),
        pytest.param(Fault.cut_after(3, clean=True), litellm.APIConnectionError, id="cut-clean"),
        pytest.param(Fault.error_event_after(2), litellm.InternalServerError, id="error-event"),
        pytest.param(Fault.malformed_after(2), litellm.InternalServerError, id="malformed"),
    ],
)
async def test_broken_streams_never_look_complete(
    emu: Emulator, mode: str, fault: Fault, expected: type[Exception]
) -> None:
    emu.inject(fault)
    with pytest.raises(MidStreamFallbackError) as info:
        await run(mode, **call_kwargs(emu))
    assert type(unwrap(info.value)) is expected
    assert info.value.generated_content  # what arrived before the break is on the error


@pytest.mark.parametrize("mode", MODES)
async def test_chat_call_to_a_base_model_says_to_use_text_completion(mode: str) -> None:
    config = EmulatorConfig(api_key=KEY, model_type="text-generation", model_name="Meta-Llama-3-8B")
    with Emulator(config) as base, pytest.raises(Exception) as info:
        await run(mode, **call_kwargs(base, model="azure_llama/Meta-Llama-3-8B"))
    error = unwrap(info.value)
    assert type(error) is litellm.NotFoundError
    assert "litellm.text_completion(model='azure_llama/Meta-Llama-3-8B'" in str(error)


@pytest.mark.parametrize("mode", MODES)
async def test_text_completion_on_a_chat_model_says_to_use_completion(
    emu: Emulator, mode: str
) -> None:
    kwargs = call_kwargs(emu, prompt="Math is a")
    del kwargs["messages"]
    with pytest.raises(Exception) as info:
        await run(mode, fn="text_completion", **kwargs)
    error = unwrap(info.value)
    assert type(error) is litellm.NotFoundError
    assert f"litellm.completion(model='azure_llama/{MODEL}', messages=[...])" in str(error)


async def test_missing_credentials_are_an_authentication_error(emu: Emulator) -> None:
    kwargs = call_kwargs(emu)
    del kwargs["api_key"]
    with pytest.raises(litellm.AuthenticationError, match="AZURE_INFERENCE_CREDENTIAL"):
        litellm.completion(**kwargs)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"response_format": {"type": "json_object"}}, id="json-object"),
        pytest.param({"azure_llama_api": "v2"}, id="unknown-api"),
        pytest.param({"messages": [{"role": "function", "content": "x"}]}, id="bad-role"),
    ],
)
async def test_bad_requests_are_refused_before_sending(emu: Emulator, bad: dict[str, Any]) -> None:
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(**call_kwargs(emu, **bad))
    assert emu.requests == []


AZURE_422 = {
    "status": 422,
    "code": "parameter_not_supported",
    "detail": {"loc": ["body", "response_format"], "input": "json_object"},
    "message": "One of the parameters contain invalid values.",
}


@pytest.mark.parametrize("mode", MODES)
async def test_422_names_the_parameter(emu: Emulator, mode: str) -> None:
    emu.inject(Fault.status(422, body=AZURE_422))
    with pytest.raises(litellm.BadRequestError) as info:
        await run(mode, **call_kwargs(emu))
    assert "param 'response_format'" in str(info.value)
    assert "code 'parameter_not_supported'" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_404_on_a_pasted_route_url_names_the_path_and_the_endpoint(
    emu: Emulator, mode: str
) -> None:
    with pytest.raises(litellm.NotFoundError) as info:
        await run(mode, **call_kwargs(emu, api_base=f"{emu.url}/chat/completions"))
    assert "404 to /chat/completions/chat/completions" in str(info.value)
    assert f"it should be '{emu.url}'" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_a_404_is_explained_from_the_calls_own_deployment(mode: str) -> None:
    """The `/info` that explains a 404 is read from the deployment the call named (managed
    compute endpoints host several), not from the endpoint's default one."""
    config = EmulatorConfig(api_key=KEY, model_type="text-generation", model_name="Meta-Llama-3-8B")
    with Emulator(config) as base, pytest.raises(Exception) as info:
        await run(mode, **call_kwargs(base, model="azure_llama/Meta-Llama-3-8B", deployment="b1"))
    assert type(unwrap(info.value)) is litellm.NotFoundError
    reads = [r for r in base.requests if r.path == "/info"]
    assert reads and all(r.headers.get("azureml-model-deployment") == "b1" for r in reads)


@pytest.mark.parametrize("mode", MODES)
async def test_json_object_is_refused_with_front_end_neutral_advice(
    emu: Emulator, mode: str
) -> None:
    """An OpenAI-SDK client of the proxy reads this message: it names what to send instead
    (a json_schema response_format), not a LangChain method."""
    kwargs = call_kwargs(emu, response_format={"type": "json_object"})
    with pytest.raises(litellm.BadRequestError) as caught:
        await run(mode, **kwargs)
    message = str(caught.value)
    assert "'type': 'json_schema'" in message
    assert "ChatAzureLlama" not in message
    assert emu.requests == []  # refused before anything is sent


@pytest.mark.parametrize("mode", MODES)
async def test_a_blocked_prompt_carries_content_filter_code_and_categories(
    emu: Emulator, mode: str
) -> None:
    kwargs = call_kwargs(emu, messages=[{"role": "user", "content": "please JAILBREAK this"}])
    with pytest.raises(litellm.ContentPolicyViolationError) as caught:
        await run(mode, **kwargs)
    error = unwrap(caught.value)
    assert getattr(error, "code", None) == "content_filter"
    fields = error.provider_specific_fields  # type: ignore[attr-defined]
    assert fields["filtered_categories"] == ["jailbreak"]


def test_every_transport_error_has_its_row() -> None:
    """The table has a row for each class of the transport's one list (`transport.ERRORS`), and
    nothing else: a new transport error fails here until LiteLLM's exception for it is chosen."""
    from litellm_azure_llama import _errors

    assert set(_errors._TABLE) == set(t.ERRORS)
