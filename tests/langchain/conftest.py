"""Fixtures for the LangChain front end: emulators on loopback, models that close their pools.

Two emulators run for the whole session: `native` answers `tools` with tool calls and
`response_format: json_schema` with a matching object; `reject` ("reject modes") answers them
with the vLLM 400 and the documented 422 that real Llama deployments send. Tests that need
other settings (rate limits, faults) start their own. The transport remembers refusals for the
whole process (`CAPABILITIES`); each test starts with that memory empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_tests.conftest import base_vcr_config

from azure_llama_emulator import Emulator, EmulatorConfig
from azure_llama_transport import CAPABILITIES
from langchain_azure_llama import ChatAzureLlama
from tests._support.langchain import (
    CASSETTES,
    EMULATOR_KEY,
    EMULATORS,
    LLAMA4,
    MODEL,
    Api,
    model_params,
)


@pytest.fixture(scope="session", autouse=True)
def emulators() -> Iterator[dict[str, Emulator]]:
    """Start the `native`, `reject` and `llama4` emulators once; standard-suite properties read
    them. `llama4` serves Llama 4 Maverick as Azure lists it: text and one image per request, no
    native tools or response formats (refused, as vLLM-backed deployments do)."""
    native = Emulator(EmulatorConfig(api_key=EMULATOR_KEY, tool_mode="native", model_name=MODEL))
    reject = Emulator(
        EmulatorConfig(
            api_key=EMULATOR_KEY,
            tool_mode="reject",
            response_format_mode="reject",
            model_name=MODEL,
        )
    )
    llama4 = Emulator(
        EmulatorConfig(
            api_key=EMULATOR_KEY,
            tool_mode="reject",
            response_format_mode="reject",
            model_name=LLAMA4,
        )
    )
    with native, reject, llama4:
        EMULATORS.update(native=native, reject=reject, llama4=llama4)
        yield EMULATORS
        EMULATORS.clear()


@pytest.fixture(autouse=True)
def fresh_capabilities() -> Iterator[None]:
    """No test sees the refusals an earlier test taught the process-wide memory."""
    CAPABILITIES.forget()
    yield
    CAPABILITIES.forget()


@pytest.fixture
def native_emu(emulators: dict[str, Emulator]) -> Emulator:
    emulators["native"].clear()
    return emulators["native"]


@pytest.fixture
def reject_emu(emulators: dict[str, Emulator]) -> Emulator:
    emulators["reject"].clear()
    return emulators["reject"]


@pytest.fixture
async def make_model() -> AsyncIterator[Callable[..., ChatAzureLlama]]:
    """Build models against an emulator; their pools close in the test's own event loop."""
    made: list[ChatAzureLlama] = []

    def make(emu: Emulator, **overrides: Any) -> ChatAzureLlama:
        model = ChatAzureLlama(**model_params(emu, **overrides))
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()
        await model.aclose()


@pytest.fixture(params=["sync", "async"], ids=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


# -- VCR: cassettes recorded from the emulator, auth headers filtered --------------------------


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    config = base_vcr_config()
    config["cassette_library_dir"] = str(CASSETTES)
    # The emulator listens on a random port: match everything but the host and port.
    config["match_on"] = ["method", "scheme", "path", "query", "body"]
    config["filter_headers"] = [*config["filter_headers"], ("user-agent", "PLACEHOLDER")]
    config["before_record_response"] = _scrub_response
    return config


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        name: value
        for name, value in response["headers"].items()
        if name.lower() in ("content-type", "x-request-id")
    }
    return response
