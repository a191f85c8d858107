"""Images through the LiteLLM provider (issue 21, item 4): `image_url` parts are passed through
to a model that takes them, refused before sending for a text-only one, and Azure's
image-count 400 arrives as LiteLLM's BadRequestError with the limit explained."""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from tests._support.images import (
    KEY,
    MAVERICK,
    PNG_URL,
    TEXT_ONLY,
    answer,
    bodies,
    refuse_second_image,
)
from tests._support.litellm import MODES, run, unwrap
from tests._support.raw_server import RawServer

PARTS = [
    pytest.param({"url": PNG_URL}, {"url": PNG_URL}, id="data-url"),
    pytest.param(
        {"url": "https://x.test/dog.jpg", "detail": "low"},
        {"url": "https://x.test/dog.jpg", "detail": "low"},
        id="https-detail",
    ),
    pytest.param(PNG_URL, {"url": PNG_URL}, id="bare-string"),
]


def looking_at(*images: Any) -> list[dict[str, Any]]:
    parts = [{"type": "image_url", "image_url": image} for image in images]
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


def kwargs(server: RawServer, model: str, messages: Any) -> dict[str, Any]:
    return {
        "model": f"azure_llama/{model}",
        "api_base": server.url,
        "api_key": KEY,
        "messages": messages,
        "max_retries": 0,
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("given", "sent"), PARTS)
async def test_image_url_parts_reach_llama_4(mode: str, given: Any, sent: Any) -> None:
    with RawServer(answer) as server:
        result = await run(mode, **kwargs(server, MAVERICK, looking_at(given)))
    assert result.text == "A dog."
    assert bodies(server)[0]["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": sent,
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("model", "count", "says"),
    [
        pytest.param(TEXT_ONLY, 1, "Llama-3.3-70B-Instruct is text-only", id="text-only"),
        pytest.param(MAVERICK, 2, "at most 1 image", id="too-many"),
    ],
)
async def test_refused_before_sending(mode: str, model: str, count: int, says: str) -> None:
    with RawServer(answer) as server, pytest.raises(litellm.BadRequestError, match=says):
        await run(mode, **kwargs(server, model, looking_at(*[PNG_URL] * count)))
    assert server.hits == 0


@pytest.mark.parametrize("mode", MODES)
async def test_azure_image_count_400_is_explained(mode: str) -> None:
    # A model name the catalogue does not know: the client cannot check, Azure answers.
    with RawServer(refuse_second_image) as server, pytest.raises(Exception) as info:
        await run(mode, **kwargs(server, "my-deployment", looking_at(PNG_URL, PNG_URL)))
    error = unwrap(info.value)
    assert isinstance(error, litellm.BadRequestError)
    assert "At most 1 image(s) may be provided in one request." in str(error)
    assert "takes at most 1 image(s) per request" in str(error)
