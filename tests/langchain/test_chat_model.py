"""ChatAzureLlama against the emulator: wire contents, metadata, content filter, limits, secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.tools import tool

from azure_llama_emulator import Emulator, EmulatorConfig
from langchain_azure_llama import ChatAzureLlama, ContentFilterWarning, RequestValidationError
from tests._support.langchain import EMULATOR_KEY, MODEL, Api, merged

Make = Callable[..., ChatAzureLlama]


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(zone: str) -> str:
    """Get the current time in a time zone."""
    return f"noon in {zone}"


def _bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emu.requests if r.path == "/chat/completions"]


# -- calls, metadata, usage --------------------------------------------------------------------


async def test_invoke(api: Api, make_model: Make, native_emu: Emulator) -> None:
    answer = await api.invoke(make_model(native_emu), "Hello there")
    assert answer.content == f"Emulated reply from {MODEL}: Hello there"
    assert answer.usage_metadata == {"input_tokens": 2, "output_tokens": 6, "total_tokens": 8}
    assert answer.response_metadata["model_name"] == MODEL
    assert answer.response_metadata["finish_reason"] == "stop"
    assert answer.response_metadata["id"] == answer.id
    [body] = _bodies(native_emu)
    assert body["messages"] == [{"role": "user", "content": "Hello there"}]
    assert "stream" not in body


async def test_stream_metadata_exactly_once(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    chunks = await api.stream(make_model(native_emu), "Hello there friend")
    assert sum(c.usage_metadata is not None for c in chunks) == 1
    assert sum("model_name" in c.response_metadata for c in chunks) == 1
    assert sum("finish_reason" in c.response_metadata for c in chunks) == 1
    assert chunks[-1].chunk_position == "last"
    full = merged(chunks)
    assert full.content == f"Emulated reply from {MODEL}: Hello there friend"
    assert full.response_metadata["model_name"] == MODEL
    assert full.usage_metadata["output_tokens"] == 7
    assert _bodies(native_emu)[0]["stream"] is True


async def test_streaming_true_streams_under_invoke(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    answer = await api.invoke(make_model(native_emu, streaming=True), "Hello there")
    assert answer.content == f"Emulated reply from {MODEL}: Hello there"
    assert answer.usage_metadata is not None
    assert _bodies(native_emu)[0]["stream"] is True


async def test_batch(api: Api, make_model: Make, native_emu: Emulator) -> None:
    answers = await api.batch(make_model(native_emu), ["one", "two", "three"])
    assert [a.content.rsplit(": ", 1)[1] for a in answers] == ["one", "two", "three"]
    assert len(_bodies(native_emu)) == 3


async def test_typed_params_and_stop(api: Api, make_model: Make, native_emu: Emulator) -> None:
    model = make_model(native_emu, temperature=0.5, top_p=0.9, max_tokens=50, seed=7, stop=["x"])
    await api.invoke(model, "hi", stop=["reply"], presence_penalty=0.1)
    [body] = _bodies(native_emu)
    assert body["temperature"] == 0.5
    assert (body["top_p"], body["max_tokens"], body["seed"]) == (0.9, 50, 7)
    assert body["stop"] == ["reply"]
    assert body["presence_penalty"] == 0.1


async def test_model_extras_header_and_body(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    model = make_model(native_emu, model_extras={"top_k": 5})
    await api.invoke(model, "hi", model_extras={"ignore_eos": False}, repetition_penalty=1.1)
    await api.invoke(make_model(native_emu), "hi")
    with_extras, plain = native_emu.requests
    assert with_extras.headers["extra-parameters"] == "pass-through"
    assert with_extras.json["top_k"] == 5
    assert with_extras.json["ignore_eos"] is False
    assert with_extras.json["repetition_penalty"] == 1.1
    assert "extra-parameters" not in plain.headers
    assert "top_k" not in plain.json


async def test_deployment_and_default_headers(api: Api, make_model: Make) -> None:
    deployments = {"llama-8b": MODEL, "llama-70b": "Meta-Llama-3.1-70B-Instruct"}
    config = EmulatorConfig(api_key=EMULATOR_KEY, kind="managed", deployments=deployments)
    with Emulator(config) as emu:
        model = make_model(emu, model=None, deployment="llama-70b", default_headers={"x-app": "t"})
        answer = await api.invoke(model, "hi")
        [request] = emu.requests
    assert answer.response_metadata["model_name"] == "Meta-Llama-3.1-70B-Instruct"
    assert request.headers["azureml-model-deployment"] == "llama-70b"
    assert request.headers["x-app"] == "t"
    assert "model" not in request.json


def test_standard_aliases() -> None:
    chat = ChatAzureLlama(
        base_url="https://x.eastus2.models.ai.azure.com",
        api_key="k",
        model_name=MODEL,
        stop_sequences=["END"],
    )
    assert (chat.endpoint, chat.model, chat.stop) == (
        "https://x.eastus2.models.ai.azure.com",
        MODEL,
        ["END"],
    )
    chat.close()


def test_bad_endpoint_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="plain http"):
        ChatAzureLlama(endpoint="http://example.com", api_key="k")


@pytest.mark.parametrize(
    ("model", "limits"),
    [
        ("Meta-Llama-3.1-405B-Instruct", (131_072, 8_192)),
        ("Meta-Llama-3-70B-Instruct", (8_192, 2_048)),
        (None, (None, None)),
    ],
    ids=["llama-3.1", "llama-3", "unnamed"],
)
def test_profile(model: str | None, limits: tuple[int | None, int | None]) -> None:
    chat = ChatAzureLlama(
        endpoint="https://x.eastus2.models.ai.azure.com", api_key="k", model=model
    )
    profile = chat.profile
    assert profile is not None
    assert (profile.get("max_input_tokens"), profile.get("max_output_tokens")) == limits
    assert profile["tool_calling"] and profile["structured_output"]
    assert not profile["image_inputs"]
    chat.close()


def test_ls_params_honour_a_per_call_model(native_emu: Emulator) -> None:
    model = ChatAzureLlama(
        endpoint=native_emu.url, api_key=EMULATOR_KEY, model=MODEL, temperature=0.2, max_tokens=9
    )
    params = model._get_ls_params(stop=["END"], model="Meta-Llama-3.1-70B-Instruct")
    assert params["ls_provider"] == "azure_llama"
    assert params["ls_model_name"] == "Meta-Llama-3.1-70B-Instruct"
    assert params["ls_model_type"] == "chat"
    assert (params["ls_temperature"], params["ls_max_tokens"]) == (0.2, 9)
    assert params["ls_stop"] == ["END"]
    assert model._get_ls_params()["ls_model_name"] == MODEL
    model.close()


async def test_per_call_model_goes_on_the_wire(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    answer = await api.invoke(make_model(native_emu), "hi", model="Meta-Llama-3.1-70B-Instruct")
    assert _bodies(native_emu)[0]["model"] == "Meta-Llama-3.1-70B-Instruct"
    # The model the response names wins (this endpoint serves one model).
    assert answer.response_metadata["model_name"] == MODEL


# -- content safety on the output --------------------------------------------------------------


async def test_output_filter_whole(api: Api, make_model: Make, native_emu: Emulator) -> None:
    with pytest.warns(ContentFilterWarning, match="content_filter"):
        answer = await api.invoke(make_model(native_emu), "tell me FILTERME please")
    assert answer.response_metadata["finish_reason"] == "content_filter"
    assert answer.content == "Emulated reply from"


async def test_output_filter_streamed(api: Api, make_model: Make, native_emu: Emulator) -> None:
    with pytest.warns(ContentFilterWarning, match="content_filter"):
        chunks = await api.stream(make_model(native_emu), "tell me FILTERME please")
    full = merged(chunks)
    assert full.response_metadata["finish_reason"] == "content_filter"
    assert full.content == "Emulated reply from"
    assert sum(c.usage_metadata is not None for c in chunks) == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_output_filter_in_prompted_mode_is_text(
    api: Api, make_model: Make, reject_emu: Emulator, streamed: bool
) -> None:
    model = make_model(reject_emu, tool_calling="prompt").bind_tools([get_weather])
    with pytest.warns(ContentFilterWarning):
        if streamed:
            answer = merged(await api.stream(model, "get_weather FILTERME"))
        else:
            answer = await api.invoke(model, "get_weather FILTERME")
    assert answer.tool_calls == []
    assert answer.response_metadata["finish_reason"] == "content_filter"


# -- rate limiter ------------------------------------------------------------------------------


class CountingLimiter(InMemoryRateLimiter):
    """Azure's quota for a serverless deployment: 1,000 requests a minute."""

    def __init__(self) -> None:
        super().__init__(
            requests_per_second=1000 / 60, check_every_n_seconds=0.005, max_bucket_size=10
        )
        self.acquired = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return super().acquire(blocking=blocking)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return await super().aacquire(blocking=blocking)


async def test_rate_limiter_is_asked_once_per_request(
    api: Api, make_model: Make, native_emu: Emulator
) -> None:
    limiter = CountingLimiter()
    model = make_model(native_emu, rate_limiter=limiter)
    await api.invoke(model, "one")
    await api.stream(model, "two")
    await api.batch(model, ["three", "four"])
    assert limiter.acquired == 4
    assert len(native_emu.requests) == 4


# -- serialisation and secrets -----------------------------------------------------------------


class _Credential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.calls += 1
        return ("entra-token-abc", 4_102_444_800)


def test_no_secret_in_repr_or_serialisation() -> None:
    model = ChatAzureLlama(endpoint="https://x.eastus2.models.ai.azure.com", api_key="s3cret-k3y")
    for text in (repr(model), str(model), dumps(model), json.dumps(dumpd(model))):
        assert "s3cret-k3y" not in text
    assert dumpd(model)["kwargs"]["api_key"] == {
        "lc": 1,
        "type": "secret",
        "id": ["AZURE_INFERENCE_CREDENTIAL"],
    }
    assert model.lc_secrets == {"api_key": "AZURE_INFERENCE_CREDENTIAL"}
    model.close()


def test_credential_is_not_serialised_and_not_called_at_construction(
    native_emu: Emulator,
) -> None:
    credential = _Credential()
    model = ChatAzureLlama(endpoint="https://x.inference.ml.azure.com", credential=credential)
    assert credential.calls == 0
    assert "credential" not in dumpd(model)["kwargs"]
    assert "entra-token" not in repr(model)
    model.close()


def test_entra_token_fetched_per_request() -> None:
    config = EmulatorConfig(
        api_key=EMULATOR_KEY, kind="managed", accepted_tokens=("entra-token-abc",)
    )
    credential = _Credential()
    with Emulator(config) as emu:
        model = ChatAzureLlama(endpoint=emu.url, credential=credential)
        assert credential.calls == 0
        model.invoke("hi")
        [request] = emu.requests
        model.close()
    assert credential.calls == 1
    assert request.headers["authorization"] == "Bearer entra-token-abc"


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_round_trip_through_load(native_emu: Emulator) -> None:
    model = ChatAzureLlama(endpoint=native_emu.url, api_key=EMULATOR_KEY, model=MODEL)
    loaded = load(
        dumpd(model),
        valid_namespaces=["langchain_azure_llama"],
        allowed_objects=[ChatAzureLlama],
        secrets_map={"AZURE_INFERENCE_CREDENTIAL": EMULATOR_KEY},
    )
    assert isinstance(loaded, ChatAzureLlama)
    assert loaded.asdict() == model.asdict()
    assert loaded.invoke("hi").content.endswith(": hi")
    model.close()
    loaded.close()


# -- native tools ------------------------------------------------------------------------------


async def test_tool_message_round_trip(api: Api, make_model: Make, native_emu: Emulator) -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_7", "type": "tool_call"}
    history = [
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("sunny", tool_call_id="call_7"),
    ]
    answer = await api.invoke(make_model(native_emu).bind_tools([get_weather]), history)
    assert answer.content == "The tool get_weather returned: sunny."
    [body] = _bodies(native_emu)
    assistant, tool_turn = body["messages"][1:]
    assert assistant["tool_calls"] == [
        {
            "id": "call_7",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert tool_turn == {"role": "tool", "tool_call_id": "call_7", "content": "sunny"}
    assert body["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("any", "required"),
        ("required", "required"),
        (True, "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
        (
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "function", "function": {"name": "get_time"}},
        ),
    ],
    ids=["auto", "none", "any", "required", "true", "name", "dict"],
)
async def test_tool_choice_on_the_wire(
    api: Api, make_model: Make, native_emu: Emulator, choice: Any, wire: Any
) -> None:
    model = make_model(native_emu).bind_tools([get_weather, get_time], tool_choice=choice)
    await api.invoke(model, "hi")
    assert _bodies(native_emu)[0]["tool_choice"] == wire


def test_unknown_tool_choice_is_refused(native_emu: Emulator) -> None:
    model = ChatAzureLlama(endpoint=native_emu.url, api_key=EMULATOR_KEY)
    with pytest.raises(RequestValidationError, match="names no bound tool") as info:
        model.bind_tools([get_weather], tool_choice="launch")
    assert info.value.param == "tool_choice"
    model.close()


async def test_streamed_tool_call_merges(api: Api, make_model: Make, native_emu: Emulator) -> None:
    model = make_model(native_emu).bind_tools([get_weather, get_time])
    chunks = await api.stream(model, "get_time for zone: UTC")
    full = merged(chunks)
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("get_time", {"zone": "UTC"})]
    assert full.tool_calls[0]["id"].startswith("call_")
    assert sum(c.usage_metadata is not None for c in chunks) == 1


def _sse(*events: dict[str, Any]) -> bytes:
    lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


# The recorded MaaS shape (docs/wire-protocol.md §8): whole calls in one delta, no `index`,
# no `type`.
WEATHER = {"function": {"arguments": '{"city": "Seattle"}', "name": "get_weather"}, "id": "a1"}
TIME = {"function": {"arguments": '{"zone": "PST"}', "name": "get_time"}, "id": "a2"}
REC_STREAM = _sse(
    {
        "choices": [
            {"delta": {"content": "", "role": "assistant"}, "finish_reason": None, "index": 0}
        ],
        "id": "e3f1",
        "model": "mistral-large-2411",
        "object": "chat.completion.chunk",
    },
    {
        "choices": [
            {
                "delta": {"tool_calls": [WEATHER, TIME]},
                "finish_reason": "tool_calls",
                "index": 0,
                "logprobs": None,
            }
        ],
        "id": "e3f1",
        "model": "mistral-large-2411",
        "object": "chat.completion.chunk",
        "usage": {"completion_tokens": 22, "prompt_tokens": 147, "total_tokens": 169},
    },
)


async def test_recorded_stream_shape_merges_into_two_calls(api: Api) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=REC_STREAM)

    model = ChatAzureLlama(
        endpoint="https://my-llama.eastus2.models.ai.azure.com",
        api_key="k",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        http_async_client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    chunks = await api.stream(model.bind_tools([get_weather, get_time]), "go")
    full = merged(chunks)
    assert full.tool_calls == [
        {"name": "get_weather", "args": {"city": "Seattle"}, "id": "a1", "type": "tool_call"},
        {"name": "get_time", "args": {"zone": "PST"}, "id": "a2", "type": "tool_call"},
    ]
    assert full.usage_metadata == {"input_tokens": 147, "output_tokens": 22, "total_tokens": 169}
    assert full.response_metadata["model_name"] == "mistral-large-2411"
    model.close()
    await model.aclose()


# -- prompted tool calling and the auto switch -------------------------------------------------


def _with_tools(emu: Emulator) -> int:
    return sum(1 for body in _bodies(emu) if "tools" in body)


async def test_auto_switches_once_then_goes_straight_to_prompted(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    model = make_model(reject_emu).bind_tools([get_weather, get_time])
    first = await api.invoke(model, "get_weather for city: Paris")
    assert [(c["name"], c["args"]) for c in first.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert first.response_metadata["llama_protocol"]["tool_calling"] == "prompt"
    assert (len(_bodies(reject_emu)), _with_tools(reject_emu)) == (2, 1)
    second = merged(await api.stream(model, "get_time for zone: UTC"))
    assert [(c["name"], c["args"]) for c in second.tool_calls] == [("get_time", {"zone": "UTC"})]
    await api.invoke(model, "get_time again")
    assert (len(_bodies(reject_emu)), _with_tools(reject_emu)) == (4, 1)
    # The refusal is a fact about the deployment, remembered for the process: a fresh model
    # object aimed at it goes straight to prompted mode too.
    fresh = await api.invoke(make_model(reject_emu).bind_tools([get_time]), "get_time")
    assert fresh.response_metadata["llama_protocol"]["tool_calling"] == "prompt"
    assert _with_tools(reject_emu) == 1


async def test_auto_switch_on_a_first_streamed_call(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    model = make_model(reject_emu).bind_tools([get_weather])
    chunks = await api.stream(model, "get_weather for city: Rome")
    assert [(c["name"], c["args"]) for c in merged(chunks).tool_calls] == [
        ("get_weather", {"city": "Rome"})
    ]
    assert ["tools" in body for body in _bodies(reject_emu)] == [True, False]
    assert all(body["stream"] is True for body in _bodies(reject_emu))


async def test_native_mode_surfaces_the_refusal(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    from langchain_azure_llama import BadRequestError

    model = make_model(reject_emu, tool_calling="native").bind_tools([get_weather])
    with pytest.raises(BadRequestError, match="enable-auto-tool-choice"):
        await api.invoke(model, "get_weather")
    assert len(reject_emu.requests) == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_prompt_mode_never_sends_tools(
    api: Api, make_model: Make, native_emu: Emulator, streamed: bool
) -> None:
    model = make_model(native_emu, tool_calling="prompt").bind_tools([get_weather])
    if streamed:
        answer = merged(await api.stream(model, "get_weather for city: Oslo"))
    else:
        answer = await api.invoke(model, "get_weather for city: Oslo")
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    assert answer.content == ""
    [body] = _bodies(native_emu)
    assert "tools" not in body
    assert "tool_choice" not in body
    system = body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Given the following functions, please respond with a JSON")


async def test_prompted_text_answer_stays_text(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    model = make_model(reject_emu, tool_calling="prompt").bind_tools(
        [get_weather], tool_choice="none"
    )
    chunks = await api.stream(model, "just chat")
    assert merged(chunks).content == f"Emulated reply from {MODEL}: just chat"
    assert len(chunks) > 3  # flowed token by token, not held back


async def test_prompted_history_on_the_wire(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    model = make_model(reject_emu, tool_calling="prompt").bind_tools([get_weather])
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"}
    history = [
        HumanMessage("Weather in Paris?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("sunny", tool_call_id="c1"),
    ]
    answer = await api.invoke(model, history)
    assert answer.tool_calls == []
    [body] = _bodies(reject_emu)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    # The call is replayed as the JSON the model wrote, the result as a `tool` turn (Meta's
    # `ipython` turn in Azure's roles).
    assert json.loads(body["messages"][2]["content"]) == {
        "name": "get_weather",
        "parameters": {"city": "Paris"},
    }
    assert "tool_calls" not in body["messages"][2]
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert answer.content == "The tool get_weather returned: sunny."


async def test_simple_tool_loop_with_two_tools(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    tools = {"get_weather": get_weather, "get_time": get_time}
    model = make_model(reject_emu).bind_tools(list(tools.values()))
    messages: list[Any] = []
    for question in ("get_weather for city: Paris", "and get_time for zone: CET"):
        messages.append(HumanMessage(question))
        while True:
            answer = await api.invoke(model, messages)
            messages.append(answer)
            if not answer.tool_calls:
                break
            messages.extend(tools[c["name"]].invoke(c) for c in answer.tool_calls)
    results = [m.content for m in messages if isinstance(m, ToolMessage)]
    assert results == ["sunny in Paris", "noon in CET"]
    assert isinstance(messages[-1], AIMessage)
    assert "noon in CET" in messages[-1].content
    assert _with_tools(reject_emu) == 1  # only the first call, refused; the rest prompted


@pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10")
async def test_langgraph_react_agent_in_prompted_mode(
    api: Api, make_model: Make, reject_emu: Emulator
) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(make_model(reject_emu), [get_weather, get_time])
    state = await api.invoke(agent, {"messages": [("user", "get_time for zone: UTC")]})
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert state["messages"][2].content == "noon in UTC"
    assert "noon in UTC" in state["messages"][-1].content
