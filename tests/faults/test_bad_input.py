"""Bad input is refused before sending, with a message that says what to change; the emulator
sees no request. Both front ends, every mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import litellm
import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import ChatMessage, HumanMessage

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator
from langchain_azure_llama import ChatAzureLlama
from tests._support.faults import ALL_MODES, KEY, LITELLM_MODES, MODEL, Case, Drivers, Lookups

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}


@dataclass
class Call:
    """One front end's spelling of the bad call: model settings, messages, call kwargs."""

    messages: Any = "hello"
    settings: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bad:
    langchain: Call
    litellm: Call
    says: str  # the message names what is wrong
    litellm_says: str | None = None


BAD = [
    pytest.param(Bad(Call([]), Call([]), "non-empty list"), id="empty-messages"),
    pytest.param(
        Bad(
            Call([ChatMessage(role="narrator", content="Once")]),
            Call([{"role": "narrator", "content": "Once"}]),
            "role 'narrator'",
        ),
        id="unknown-role",
    ),
    pytest.param(
        Bad(
            Call([HumanMessage(content=[{"type": "text", "text": "What is it?"}, IMAGE])]),
            Call([{"role": "user", "content": [{"type": "text", "text": "What is it?"}, IMAGE]}]),
            f"{MODEL} is text-only",
        ),
        id="image-for-a-text-only-model",
    ),
    pytest.param(
        Bad(
            Call([HumanMessage(content=[AUDIO])]),
            Call([{"role": "user", "content": [AUDIO]}]),
            "audio and files are not accepted",
        ),
        id="audio-content",
    ),
    pytest.param(
        Bad(
            Call(kwargs={"response_format": {"type": "json_object"}}),
            Call(kwargs={"response_format": {"type": "json_object"}}),
            "json_object",
        ),
        id="json-object",
    ),
    pytest.param(
        Bad(
            Call(settings={"max_tokens": 100_000}),
            Call(kwargs={"max_tokens": 100_000}),
            "max_tokens=100000 exceeds",
        ),
        id="max-tokens-above-model-max",
    ),
    pytest.param(
        Bad(
            Call(settings={"temperature": 0.5, "model_extras": {"temperature": 0.2}}),
            Call(kwargs={"temperature": 0.5, "model_extras": {"temperature": 0.2}}),
            "collide with typed parameters",
            litellm_says="'temperature' is set both as a parameter and in model_extras",
        ),
        id="model-extras-collide",
    ),
    pytest.param(
        Bad(
            Call(settings={"model_extras": {"top_k": float("nan")}}),
            Call(kwargs={"model_extras": {"top_k": float("nan")}}),
            "top_k is nan, which JSON cannot carry",
        ),
        id="model-extras-nan",
    ),
    pytest.param(
        Bad(
            Call(settings={"model_extras": {"when": date(2026, 12, 7)}}),
            Call(kwargs={"model_extras": {"when": date(2026, 12, 7)}}),
            "when cannot be sent as JSON: Object of type date",
        ),
        id="model-extras-not-json",
    ),
    pytest.param(
        Bad(
            Call([HumanMessage(content="caf\ud800")]),
            Call([{"role": "user", "content": "caf\ud800"}]),
            "messages[0].content cannot be sent as JSON",
        ),
        id="lone-surrogate",
    ),
    pytest.param(
        Bad(
            Call(settings={"api": "llama", "n": 3, "best_of": 2}),
            Call(kwargs={"azure_llama_api": "llama", "n": 3, "best_of": 2}),
            "best_of (2) must be greater than n (3)",
        ),
        id="llama-best-of-below-n",
    ),
    pytest.param(
        Bad(
            Call(settings={"api": "llama", "use_beam_search": True, "best_of": 1}),
            Call(kwargs={"azure_llama_api": "llama", "use_beam_search": True, "best_of": 1}),
            "use_beam_search needs best_of > 1",
        ),
        id="llama-beam-search-without-candidates",
    ),
]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("case", ALL_MODES)
async def test_refused_before_sending(case: Case, bad: Bad, emu: Emulator, drive: Drivers) -> None:
    front = case[0]
    call: Call = getattr(bad, front)
    reply = await drive(case, emu.url, **call.settings).call(call.messages, **call.kwargs)
    error: Any = reply.error
    if front == "langchain":
        assert isinstance(error, lc.RequestValidationError), repr(reply.caught)
        assert isinstance(error, ModelInvalidRequestError)
        assert bad.says in str(error)
    else:
        assert type(error) is litellm.BadRequestError, repr(reply.caught)
        assert (bad.litellm_says or bad.says) in str(error)
    assert emu.requests == []
    assert reply.text == ""


BAD_ENDPOINTS = [
    pytest.param("not a url", "is not an http(s) URL", id="not-a-url"),
    pytest.param("llama.eastus2.models.ai.azure.com", "is not an http(s) URL", id="no-scheme"),
    pytest.param(
        "http://llama.eastus2.models.ai.azure.com", "Refusing plain http://", id="plain-http"
    ),
    pytest.param("http://10.0.0.8:8080", "Refusing plain http://", id="plain-http-private-ip"),
    pytest.param(
        "https://llama:hunter2@llama.eastus2.models.ai.azure.com",
        "user name or password",
        id="userinfo",
    ),
    # Today's silent failure: the route lands in the query or fragment and the call goes to "/".
    pytest.param("https://llama.eastus2.models.ai.azure.com?", "query or fragment", id="bare-?"),
    pytest.param("https://llama.eastus2.models.ai.azure.com#", "query or fragment", id="bare-#"),
    pytest.param("https://llama.eastus2.models.ai.azure.com:44x3", "port", id="junk-port"),
    pytest.param("https://llama.eastus2.models.ai.azure.com/a\r\nb", "control", id="crlf-path"),
    # Hosts URL parsers read differently: one would pick the kind and Entra scope, another the
    # connection (a Foundry scope for a host that is not Foundry's).
    pytest.param(
        "https://evil.example\\.services.ai.azure.com/models", "backslash", id="backslash-host"
    ),
    pytest.param("http://[::1%25lo]:8089", "zone ID", id="zone-id"),
    pytest.param("https://evil.example%2f.services.ai.azure.com/models", "'%'", id="percent-host"),
]


@pytest.mark.parametrize(("endpoint", "says"), BAD_ENDPOINTS)
def test_langchain_refuses_a_bad_endpoint_at_construction(
    endpoint: str, says: str, lookups: Lookups
) -> None:
    # The typed error itself, not pydantic's ValidationError (which repeats the arguments).
    with pytest.raises(lc.RequestValidationError) as info:
        ChatAzureLlama(endpoint=endpoint, api_key=KEY, model=MODEL)
    assert isinstance(info.value, ModelInvalidRequestError)
    assert info.value.param == "endpoint"
    assert says in str(info.value)
    assert KEY not in str(info.value) and "hunter2" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert lookups.refused == []  # not even a name lookup


@pytest.mark.parametrize(("endpoint", "says"), BAD_ENDPOINTS)
@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_litellm_refuses_a_bad_endpoint_before_sending(
    case: Case, endpoint: str, says: str, drive: Drivers, lookups: Lookups
) -> None:
    reply = await drive(case, endpoint).call()
    assert type(reply.error) is litellm.BadRequestError, repr(reply.caught)
    assert says in str(reply.error) and KEY not in str(reply.error)
    assert "hunter2" not in str(reply.error)
    assert lookups.refused == []


BAD_HEADER_VALUES = [
    pytest.param("blue\r\nX-Injected: 1", id="crlf"),
    pytest.param("blue\x00", id="nul"),
    pytest.param("bleu-ciel-é", id="non-ascii"),
]


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
@pytest.mark.parametrize("setting", ["deployment", "default_headers"])
@pytest.mark.parametrize("cls", [ChatAzureLlama, lc.AzureLlama], ids=["chat", "text"])
def test_langchain_refuses_a_bad_header_at_construction(
    cls: type[Any], setting: str, value: str, emu: Emulator
) -> None:
    """Before: sync said "Could not reach..." and retried with backoff; async raised a raw
    ValueError; a non-ASCII deployment raised UnicodeEncodeError, all at the first call."""
    settings: dict[str, Any] = (
        {"deployment": value} if setting == "deployment" else {"default_headers": {"x-t": value}}
    )
    with pytest.raises(lc.RequestValidationError) as info:
        cls(endpoint=emu.url, api_key=KEY, model=MODEL, **settings)
    assert info.value.param == setting
    assert value not in str(info.value)
    assert emu.requests == []


@pytest.mark.parametrize("value", BAD_HEADER_VALUES)
@pytest.mark.parametrize("setting", ["deployment", "extra_headers"])
@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_litellm_refuses_a_bad_header_before_sending(
    case: Case, setting: str, value: str, emu: Emulator, drive: Drivers
) -> None:
    driver = drive(case, emu.url, max_retries=5)
    kwargs: dict[str, Any] = (
        {"deployment": value} if setting == "deployment" else {"extra_headers": {"x-t": value}}
    )
    reply = await driver.call(**kwargs)
    assert type(reply.error) is litellm.BadRequestError, repr(reply.caught)
    assert "printable ASCII" in str(reply.error)
    assert emu.requests == []
