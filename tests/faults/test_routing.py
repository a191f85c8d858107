"""A LiteLLM proxy client cannot steer the upstream; an SDK caller (its own operator) still can.

The proxy hands the provider its snapshot of the client's request as `proxy_server_request`
(tests/litellm/test_proxy.py drives the real proxy); here the same argument is passed to
`litellm.completion` directly, in every mode, for every setting that picks where or how the
upstream is called. The emulator is a managed endpoint with the deployments "blue" and "secret".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from azure_llama_emulator import Emulator, EmulatorConfig
from tests._support.faults import KEY, LITELLM_MODES, MODEL, Case, Drivers

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def managed_emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        api_key=KEY, kind="managed", deployments={"blue": MODEL, "secret": MODEL}
    )
    with Emulator(config) as emu:
        yield emu


@pytest.fixture
def managed(managed_emulator: Emulator) -> Emulator:
    managed_emulator.clear()
    return managed_emulator


# (what the client's request carried, the call's keyword arguments after the Router's merge)
STEERING = [
    pytest.param({"deployment": "secret"}, {"deployment": "secret"}, id="deployment"),
    pytest.param({"azure_llama_api": "llama"}, {"azure_llama_api": "llama"}, id="route"),
    pytest.param({"api_version": "2099-01-01"}, {"api_version": "2099-01-01"}, id="api-version"),
    pytest.param({"endpoint_kind": "foundry"}, {"endpoint_kind": "foundry"}, id="kind"),
    pytest.param({"api_base": "http://127.0.0.1:9"}, {}, id="api-base"),
    pytest.param({"base_url": "http://127.0.0.1:9"}, {}, id="base-url"),
    pytest.param({"azure_ad_token": "t"}, {}, id="ad-token"),
    pytest.param(
        {"extra_headers": {"AzureML-Model-Deployment": "secret"}},
        {"extra_headers": {"AzureML-Model-Deployment": "secret"}},
        id="deployment-header",
    ),
    pytest.param(
        {"extra_headers": {"api-key": "stolen"}},
        {"extra_headers": {"api-key": "stolen"}},
        id="key-header",
    ),
]


@pytest.mark.parametrize(("body", "merged"), STEERING)
@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_a_proxy_client_cannot_steer_the_upstream(
    case: Case, body: dict[str, Any], merged: dict[str, Any], managed: Emulator, drive: Drivers
) -> None:
    request = {"body": {"model": "blue", "messages": MESSAGES, **body}}
    driver = drive(case, managed.url, deployment="blue")
    reply = await driver.call(MESSAGES, proxy_server_request=request, **merged)
    assert type(reply.error) is litellm.BadRequestError, repr(reply.caught)
    text = str(reply.error)
    assert "operator" in text and "secret" not in text and "stolen" not in text
    assert managed.requests == []  # nothing sent, not even to the operator's deployment


@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_a_proxy_clients_own_key_is_a_bad_request(
    case: Case, managed: Emulator, drive: Drivers
) -> None:
    """The proxy keeps `api_key` out of its body snapshot and lists it among the caller's
    credential fields: refused too, as a 400 (not the 401 of a missing key)."""
    request = {"body": {"model": "blue"}, "caller_credential_fields": ("api_key",)}
    reply = await drive(case, managed.url, deployment="blue").call(
        MESSAGES, proxy_server_request=request
    )
    assert type(reply.error) is litellm.BadRequestError, repr(reply.caught)
    assert "api_key" in str(reply.error) and KEY not in str(reply.error)
    assert managed.requests == []


@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_a_proxy_clients_harmless_request_reaches_the_operators_deployment(
    case: Case, managed: Emulator, drive: Drivers
) -> None:
    request = {"body": {"model": "blue", "messages": MESSAGES, "temperature": 0.5}}
    reply = await drive(case, managed.url, deployment="blue").call(
        MESSAGES, proxy_server_request=request, temperature=0.5
    )
    assert reply.error is None, repr(reply.caught)
    assert [r.headers.get("azureml-model-deployment") for r in managed.requests] == ["blue"]


@pytest.mark.parametrize("case", LITELLM_MODES)
async def test_an_sdk_caller_chooses_freely(case: Case, managed: Emulator, drive: Drivers) -> None:
    """No proxy snapshot: the caller of `litellm.completion` is the operator."""
    reply = await drive(case, managed.url).call(
        MESSAGES, deployment="secret", extra_headers={"x-trace": "1"}
    )
    assert reply.error is None, repr(reply.caught)
    (sent,) = managed.requests
    assert sent.headers.get("azureml-model-deployment") == "secret"
