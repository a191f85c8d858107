"""The live suite: the front ends against a real endpoint, opt-in (`make live`).

Runs when `AZURE_INFERENCE_ENDPOINT` and `AZURE_INFERENCE_CREDENTIAL` are set and pytest is
asked for the `live` marker (`pytest -m live tests/live`); the default run deselects the marker
(pyproject), so a developer's Azure settings never reach a real endpoint by accident. Also set
`AZURE_INFERENCE_MODEL` when the endpoint needs `model` (optional on a serverless endpoint,
which serves one). The variables are read here, at collection, because the project-wide
fixture clears every `AZURE_*` variable before each test.

`test_live_against_emulator.py` runs this suite in a subprocess against the emulator, so that it
is known to work without an Azure subscription.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.conftest import base_vcr_config

from tests._support.live import CASSETTES, NOT_POINTED, TARGET


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("live") and not TARGET.ready:
            item.add_marker(pytest.mark.skip(reason=NOT_POINTED))


# -- VCR: `make record` rewrites the cassettes from the endpoint; keys and hosts are scrubbed ---


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    config = base_vcr_config()
    config["cassette_library_dir"] = str(CASSETTES)
    # The host is the deployment's (or the emulator's random port): match everything else.
    config["match_on"] = ["method", "scheme", "path", "query", "body"]
    config["filter_headers"] = [*config["filter_headers"], ("user-agent", "PLACEHOLDER")]
    config["filter_headers"].append(("host", "PLACEHOLDER"))
    config["before_record_request"] = scrub_request
    config["before_record_response"] = scrub_response
    return config


def scrub_request(request: Any) -> Any:
    """The resource name in the URL says whose deployment it is: replace the host."""
    scheme, _, rest = request.uri.partition("://")
    request.uri = f"{scheme}://endpoint.invalid/{rest.partition('/')[2]}"
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keep only the headers the client reads; Azure's tracing headers stay out."""
    response["headers"] = {
        name: value
        for name, value in response["headers"].items()
        if name.lower() in ("content-type", "x-request-id")
    }
    return response
