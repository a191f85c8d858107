"""Images in the transport: which models take them, how many, the part shapes Azure reads, the
image-count 400 explained, and a large data URL sent whole (issue 21, item 4)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from azure_llama_transport import (
    BadRequestError,
    RequestValidationError,
    build_chat_request,
    count_images,
    image_limit,
    image_tokens,
)
from tests._support.images import AZURE_400 as AZURE_400_BODY
from tests._support.images import MAVERICK, TEXT_ONLY
from tests._support.images import PNG_URL as PNG
from tests._support.transport import make_async, make_sync

SCOUT = "Llama-4-Scout-17B-16E-Instruct"

AZURE_400 = json.loads(AZURE_400_BODY)
ANSWER = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": MAVERICK,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "A dog."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 150, "completion_tokens": 3, "total_tokens": 153},
}


def image(url: str = PNG, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def asking(*parts: dict[str, Any], role: str = "user") -> list[dict[str, Any]]:
    return [{"role": role, "content": [{"type": "text", "text": "What is this?"}, *parts]}]


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        pytest.param(MAVERICK, 1, id="maverick-one"),
        pytest.param(f"azure_llama/{MAVERICK.lower()}", 1, id="maverick-any-spelling"),
        pytest.param(SCOUT, None, id="scout-azure-decides"),
        pytest.param("Llama-3.2-90B-Vision-Instruct", 1, id="llama-3.2-vision-one"),
        pytest.param(TEXT_ONLY, 0, id="llama-3.3-text-only"),
        pytest.param("Meta-Llama-3.1-8B-Instruct", 0, id="llama-3.1-text-only"),
        pytest.param("blue", None, id="custom-deployment-name"),
        pytest.param(None, None, id="no-name"),
    ],
)
def test_image_limit(model: str | None, limit: int | None) -> None:
    assert image_limit(model) == limit


def test_image_tokens_follow_the_model_family() -> None:
    # Llama 4: at most 16 tiles + a global one of 144 patch tokens (module docstring).
    assert image_tokens(MAVERICK) == 2467
    assert image_tokens("Llama-3.2-11B-Vision-Instruct") == 1
    assert image_tokens(None) == image_tokens(MAVERICK)


class Recorder:
    def __init__(self, response: httpx.Response | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.response = response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return self.response or httpx.Response(200, json=ANSWER)


async def call_chat(sync: bool, recorder: Recorder, messages: Any, **kwargs: Any) -> Any:
    params = kwargs.pop("params", {})
    if sync:
        with make_sync(recorder, max_retries=0, **kwargs) as client:
            return client.chat(messages, params)
    async with make_async(recorder, max_retries=0, **kwargs) as client:
        return await client.chat(messages, params)


SYNC = [pytest.param(True, id="sync"), pytest.param(False, id="async")]


@pytest.mark.parametrize("sync", SYNC)
@pytest.mark.parametrize(
    ("where", "part"),
    [
        pytest.param({"params": {"model": MAVERICK}}, image(), id="model-data-url"),
        pytest.param({"deployment": MAVERICK}, image(), id="deployment-data-url"),
        pytest.param(
            {"params": {"model": SCOUT}}, image("https://x.test/a.jpg", detail="high"), id="https"
        ),
        pytest.param({"deployment": "blue"}, image(), id="unknown-deployment"),
    ],
)
async def test_an_image_reaches_the_wire_as_an_image_url_part(
    sync: bool, where: dict[str, Any], part: dict[str, Any]
) -> None:
    recorder = Recorder()
    await call_chat(sync, recorder, asking(part), **where)
    assert recorder.bodies[0]["messages"][0]["content"][1] == part


@pytest.mark.parametrize("sync", SYNC)
@pytest.mark.parametrize(
    ("where", "count", "says"),
    [
        pytest.param(
            {"params": {"model": TEXT_ONLY}},
            1,
            "Llama-3.3-70B-Instruct is text-only",
            id="text-only-model",
        ),
        pytest.param(
            {"deployment": TEXT_ONLY},
            1,
            "Llama-3.3-70B-Instruct is text-only",
            id="text-only-deployment",
        ),
        pytest.param({"params": {"model": MAVERICK}}, 2, "at most 1 image", id="two-for-maverick"),
        # The model name wins over a custom deployment name.
        pytest.param(
            {"params": {"model": MAVERICK}, "deployment": "blue"},
            2,
            "at most 1 image",
            id="model-over-deployment",
        ),
    ],
)
async def test_refused_before_sending(
    sync: bool, where: dict[str, Any], count: int, says: str
) -> None:
    recorder = Recorder()
    with pytest.raises(RequestValidationError, match=says) as info:
        await call_chat(sync, recorder, asking(*[image()] * count), **where)
    assert info.value.param == "messages"
    assert recorder.bodies == []


def test_images_of_earlier_turns_count() -> None:
    messages = [*asking(image()), {"role": "assistant", "content": "A dog."}, *asking(image())]
    assert count_images(messages) == 2
    with pytest.raises(RequestValidationError, match="has 2"):
        build_chat_request(messages, {"model": MAVERICK})


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        pytest.param(asking(image("http://x.test/a.jpg")), "content\\[1\\]", id="plain-http"),
        pytest.param(
            asking(image("data:text/plain;base64,aGk=")), "content\\[1\\]", id="not-an-image"
        ),
        pytest.param(asking(image("data:image/png;base64,")), "content\\[1\\]", id="empty-data"),
        pytest.param(
            asking({"type": "image_url", "image_url": "https://x.test/a.jpg"}),
            "content\\[1\\]",
            id="bare-string",
        ),
        pytest.param(asking(image(detail="ultra")), "detail 'ultra'", id="bad-detail"),
        pytest.param(asking(image(), role="system"), "'system' message", id="in-system"),
        pytest.param(asking(image(), role="assistant"), "'assistant' message", id="in-assistant"),
        pytest.param(
            asking({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}),
            "audio and files are not accepted",
            id="audio-still-refused",
        ),
    ],
)
def test_bad_image_parts_are_named(messages: Any, says: str) -> None:
    with pytest.raises(RequestValidationError, match=says):
        build_chat_request(messages, {"model": MAVERICK})


@pytest.mark.parametrize("sync", SYNC)
@pytest.mark.parametrize(
    ("where", "who"),
    [
        pytest.param({"deployment": "blue"}, "blue", id="custom-deployment"),
        pytest.param({"params": {"model": SCOUT}}, SCOUT, id="named-model"),
    ],
)
async def test_azure_image_count_400_keeps_its_sentence_and_adds_the_limit(
    sync: bool, where: dict[str, Any], who: str
) -> None:
    recorder = Recorder(httpx.Response(400, json=AZURE_400))
    with pytest.raises(BadRequestError) as info:
        await call_chat(sync, recorder, asking(image(), image()), **where)
    message = str(info.value)
    assert "At most 1 image(s) may be provided in one request." in message
    assert f"{who} takes at most 1 image(s) per request" in message
    assert info.value.status_code == 400
    assert len(recorder.bodies) == 1  # a 400 is not retried


async def test_other_400s_get_no_image_hint() -> None:
    body = {"object": "error", "message": "bad temperature", "type": "BadRequestError"}
    with pytest.raises(BadRequestError) as info:
        await call_chat(
            True, Recorder(httpx.Response(400, json=body)), asking(image()), deployment="blue"
        )
    assert "image" not in str(info.value).split("bad temperature")[1]


def test_a_5_mb_data_url_is_sent_whole() -> None:
    """No request-size limit refuses it; the body carries the bytes, once."""
    data = "A" * (5 * 1024 * 1024)
    prepared = build_chat_request(
        asking(image(f"data:image/png;base64,{data}")), {"model": MAVERICK}
    )
    assert prepared.content is not None
    assert 5 * 1024 * 1024 < len(prepared.content) < 5 * 1024 * 1024 + 500
    assert prepared.images == 1
