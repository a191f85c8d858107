"""The transport against the emulator over real loopback HTTP, sync and async from one body."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from azure_llama_transport import (
    APIConnectionError,
    APITimeoutError,
    AsyncAzureLlamaClient,
    AuthenticationError,
    AzureLlamaClient,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    RetryPolicy,
    StreamInterruptedError,
)
from tests._support.transport import FakeClock

USER = [{"role": "user", "content": "Tell me about Seattle"}]
KINDS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig()) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh(emulator: Emulator) -> None:
    emulator.clear()


class Caller:
    """Runs the same call through the sync or the async client."""

    def __init__(self, kind: str, url: str, clock: FakeClock | None = None, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("api_key", "emulator-key")
        policy = RetryPolicy(max_retries=kwargs.pop("max_retries", 2), rng=lambda: 0.0)
        if clock is not None:
            policy.sleep, policy.asleep = clock.sleep, clock.asleep
        cls = AzureLlamaClient if kind == "sync" else AsyncAzureLlamaClient
        self.client: Any = cls(url, retry_policy=policy, **kwargs)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        return await result if self.kind == "async" else result

    async def stream(self, *args: Any, **kwargs: Any) -> tuple[list[Any], Any]:
        stream = await self.call("chat_stream", *args, **kwargs)
        if self.kind == "sync":
            return list(stream), stream
        return [chunk async for chunk in stream], stream


@pytest.mark.parametrize("kind", KINDS)
async def test_chat_and_stream_agree(kind: str, emulator: Emulator) -> None:
    caller = Caller(kind, emulator.url)
    whole = await caller.call("chat", USER, {"max_tokens": 100, "temperature": 0})
    chunks, stream = await caller.stream(USER, {"max_tokens": 100, "temperature": 0})
    text = whole["choices"][0]["message"]["content"]
    assert text.startswith("Emulated reply from Meta-Llama-3.1-8B-Instruct")
    assert stream.text == text
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert stream.usage == whole["usage"] and stream.finish_reason == "stop"
    assert [c for c in chunks if c.get("usage")] == [chunks[-1]]
    assert emulator.requests[0].query.get("api-version") == "2024-05-01-preview"


@pytest.mark.parametrize("kind", KINDS)
async def test_streamed_tool_call_has_no_index(kind: str, emulator: Emulator) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    chunks, stream = await Caller(kind, emulator.url).stream(
        [{"role": "user", "content": "get_weather please"}], {"tools": tools}
    )
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if c["choices"][0]["delta"].get("tool_calls")
    ]
    assert len(calls) == 1 and calls[0][0]["function"]["name"] == "get_weather"
    assert "index" not in calls[0][0] and "type" not in calls[0][0]
    assert stream.finish_reason == "tool_calls"


@pytest.mark.parametrize("kind", KINDS)
async def test_model_extras_pass_through(kind: str, emulator: Emulator) -> None:
    await Caller(kind, emulator.url).call("chat", USER, model_extras={"logprobs": True})
    request = emulator.requests[0]
    assert request.headers["extra-parameters"] == "pass-through"
    assert request.json is not None and request.json["logprobs"] is True


@pytest.mark.parametrize("kind", KINDS)
async def test_extras_with_error_mode_are_rejected_by_azure(kind: str, emulator: Emulator) -> None:
    caller = Caller(kind, emulator.url, extra_parameters="error")
    with pytest.raises(BadRequestError, match=r"Extra parameters \['logprobs'\]"):
        await caller.call("chat", USER, model_extras={"logprobs": True})


@pytest.mark.parametrize("kind", KINDS)
async def test_refused_input_never_reaches_the_wire(kind: str, emulator: Emulator) -> None:
    caller = Caller(kind, emulator.url)
    with pytest.raises(RequestValidationError):
        await caller.call("chat", USER, {"response_format": {"type": "json_object"}})
    with pytest.raises(RequestValidationError):
        await caller.call("chat", [])
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("trigger", "categories"),
    [
        pytest.param("BLOCKME", [], id="llama-doc-shape"),
        pytest.param("JAILBREAK", ["jailbreak"], id="innererror-shape"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_prompt_content_filter(
    kind: str, trigger: str, categories: list[str], emulator: Emulator
) -> None:
    with pytest.raises(ContentFilterError) as info:
        await Caller(kind, emulator.url).call("chat", [{"role": "user", "content": trigger}])
    assert info.value.source == "prompt" and info.value.status_code == 400
    assert info.value.filtered_categories == categories


@pytest.mark.parametrize("kind", KINDS)
async def test_output_content_filter_in_stream(kind: str, emulator: Emulator) -> None:
    _, stream = await Caller(kind, emulator.url).stream(
        [{"role": "user", "content": "please FILTERME now and say more words"}]
    )
    assert stream.content_filtered and stream.completed
    assert stream.finish_reason == "content_filter" and stream.text != ""


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_gives_gateway_401(kind: str, emulator: Emulator) -> None:
    with pytest.raises(AuthenticationError, match="Auth token validation failed") as info:
        await Caller(kind, emulator.url, api_key="wrong").call("chat", USER)
    assert "wrong" not in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_missing_route_is_not_found(kind: str, emulator: Emulator) -> None:
    with pytest.raises(NotFoundError, match="NOT FOUND"):
        await Caller(kind, emulator.url).call("complete", "Math is a")


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("chat-completion", id="real"),
        pytest.param("chat-completions", id="docs"),
        pytest.param("chat_completion", id="sdk-enum"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_info_spellings_normalised_and_cached(kind: str, spelling: str) -> None:
    with Emulator(EmulatorConfig(info_spelling=spelling)) as emu:
        caller = Caller(kind, emu.url)
        info = await caller.call("get_model_info")
        again = await caller.call("get_model_info")
        assert info["model_type"] == "chat-completion" and info["raw_model_type"] == spelling
        assert info["model_name"] == "Meta-Llama-3.1-8B-Instruct" and again is info
        assert len(emu.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limit_retry_honours_retry_after(kind: str, emulator: Emulator) -> None:
    clock = FakeClock()
    emulator.inject(Fault.status(429, retry_after=3), times=2)
    result = await Caller(kind, emulator.url, clock).call("chat", USER)
    assert result["choices"][0]["finish_reason"] == "stop"
    assert clock.waits == [3.0, 3.0] and len(emulator.requests) == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_rpm_limit_surfaces_as_rate_limit_error(kind: str) -> None:
    with Emulator(EmulatorConfig(rpm_limit=1)) as emu:
        clock = FakeClock()
        # The emulator asks for up to 60 s: within a longer deadline the (fake) wait is honoured.
        caller = Caller(kind, emu.url, clock, max_retries=1, timeout=3600)
        await caller.call("chat", USER)
        with pytest.raises(RateLimitError) as info:
            await caller.call("chat", USER)
        assert info.value.retry_after is not None and info.value.retry_after > 0
        assert len(clock.waits) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param("cut-after=3", StreamInterruptedError, id="cut"),
        pytest.param("malformed-after=2", ResponseDecodeError, id="malformed"),
        pytest.param("error-event-after=2", InternalServerError, id="error-event"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
async def test_stream_faults_raise_typed(
    kind: str, fault: str, error: type[Exception], emulator: Emulator
) -> None:
    with pytest.raises(error):
        await Caller(kind, emulator.url).stream(USER, headers={"x-emulator-fault": fault})
    assert len(emulator.requests) == 1  # a stream that broke after bytes is never retried


@pytest.mark.parametrize("kind", KINDS)
async def test_stall_past_read_timeout_interrupts(kind: str, emulator: Emulator) -> None:
    caller = Caller(kind, emulator.url, timeout=0.3)
    with pytest.raises(StreamInterruptedError) as info:
        await caller.stream(USER, headers={"x-emulator-fault": "stall-after=2; seconds=3"})
    assert info.value.chunks_received == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_first_byte_times_out(kind: str, emulator: Emulator) -> None:
    caller = Caller(kind, emulator.url, timeout=0.2, max_retries=0)
    with pytest.raises(APITimeoutError):
        await caller.call("chat", USER, headers={"x-emulator-fault": "slow-first-byte=2"})


@pytest.mark.parametrize("kind", KINDS)
async def test_managed_deployment_header_and_token(kind: str) -> None:
    config = EmulatorConfig(
        kind="managed",
        deployments={"blue": "Meta-Llama-3.1-8B-Instruct", "green": "Meta-Llama-3.1-70B-Instruct"},
        accepted_tokens=("entra-token",),
    )

    class Credential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            return ("entra-token", 4_102_444_800)

    with Emulator(config) as emu:
        caller = Caller(kind, emu.url, api_key=None, credential=Credential(), deployment="green")
        result = await caller.call("chat", USER)
        assert result["model"] == "Meta-Llama-3.1-70B-Instruct"
        assert emu.requests[0].headers["azureml-model-deployment"] == "green"


def test_async_client_survives_fresh_event_loops(emulator: Emulator) -> None:
    """pytest-asyncio and asyncio.run start a new loop per call; the client must keep working."""
    client = AsyncAzureLlamaClient(emulator.url, api_key="emulator-key")
    for _ in range(3):
        result = asyncio.run(client.chat(USER))
        assert result["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    "backend", [pytest.param("aiohttp", id="aiohttp"), pytest.param("httpx", id="httpx")]
)
async def test_concurrent_async_calls(backend: Any, emulator: Emulator) -> None:
    client = AsyncAzureLlamaClient(emulator.url, api_key="emulator-key", backend=backend)
    results = await asyncio.gather(*(client.chat(USER, {"seed": i}) for i in range(50)))
    assert len({r["id"] for r in results}) == 50
    await client.aclose()


def test_text_completion_routes() -> None:
    config = EmulatorConfig(model_name="Meta-Llama-3.1-8B", model_type="text-generation")
    with Emulator(config) as emu:
        client = AzureLlamaClient(emu.url, api_key="emulator-key")
        assert client.complete("Math is a", {"max_tokens": 5})["choices"][0]["text"]
        stream = client.complete_stream("Math is a", {"max_tokens": 5}, api="llama")
        assert len(list(stream)) >= 1 and stream.text
        assert [r.path for r in emu.requests] == ["/completions", "/v1/completions"]
        with pytest.raises(NotFoundError):
            client.chat(USER)


def test_config_is_a_dataclass() -> None:
    assert dataclasses.is_dataclass(EmulatorConfig)


@pytest.mark.parametrize("kind", KINDS)
async def test_refused_connection_is_a_connection_error(kind: str) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caller = Caller(kind, f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        await caller.call("chat", USER)
    assert not isinstance(info.value, APITimeoutError)
    assert "127.0.0.1" in str(info.value) and "emulator-key" not in str(info.value)
