"""Images through ChatAzureLlama (issue 21, item 4): OpenAI parts and LangChain's image blocks
reach the wire as `image_url` parts for a model that takes them, are refused before sending
for a text-only one, and Azure's image-count 400 arrives explained."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import HumanMessage

from langchain_azure_llama import ChatAzureLlama
from tests._support.images import (
    KEY,
    MAVERICK,
    PNG_B64,
    PNG_URL,
    TEXT_ONLY,
    answer,
    bodies,
    refuse_second_image,
)
from tests._support.langchain import Api, merged
from tests._support.raw_server import RawServer

BLOCKS = [
    pytest.param({"type": "image_url", "image_url": {"url": PNG_URL}}, id="openai-part"),
    pytest.param({"type": "image", "base64": PNG_B64, "mime_type": "image/png"}, id="v1-base64"),
    pytest.param(
        {"type": "image", "source_type": "base64", "data": PNG_B64, "mime_type": "image/png"},
        id="v0-base64",
    ),
]
STREAMED = [pytest.param(False, id="whole"), pytest.param(True, id="streamed")]


async def ask(api: Api, model: ChatAzureLlama, message: HumanMessage, streamed: bool) -> Any:
    if streamed:
        return merged(await api.stream(model, [message]))
    return await api.invoke(model, [message])


def looking_at(*blocks: dict[str, Any]) -> HumanMessage:
    return HumanMessage([{"type": "text", "text": "What is this?"}, *blocks])


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize("block", BLOCKS)
async def test_an_image_reaches_llama_4_as_an_image_url_part(
    api: Api, block: dict[str, Any], streamed: bool
) -> None:
    with RawServer(answer) as server:
        model = ChatAzureLlama(endpoint=server.url, api_key=KEY, model=MAVERICK, max_retries=0)
        reply = await ask(api, model, looking_at(block), streamed)
        model.close()
    assert reply.content == "A dog."
    sent = bodies(server)[0]["messages"][0]["content"]
    assert sent == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL}},
    ]


@pytest.mark.parametrize("streamed", STREAMED)
@pytest.mark.parametrize(
    ("model_name", "count", "says"),
    [
        pytest.param(TEXT_ONLY, 1, "Llama-3.3-70B-Instruct is text-only", id="text-only"),
        pytest.param(MAVERICK, 2, "at most 1 image", id="too-many"),
    ],
)
async def test_refused_before_sending(
    api: Api, model_name: str, count: int, says: str, streamed: bool
) -> None:
    block = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    with RawServer(answer) as server:
        model = ChatAzureLlama(endpoint=server.url, api_key=KEY, model=model_name)
        with pytest.raises(ModelInvalidRequestError, match=says):
            await ask(api, model, looking_at(*[block] * count), streamed)
        model.close()
    assert server.hits == 0


@pytest.mark.parametrize("streamed", STREAMED)
async def test_azure_image_count_400_is_explained(api: Api, streamed: bool) -> None:
    block = {"type": "image_url", "image_url": {"url": PNG_URL}}
    # A custom deployment name: the client cannot know the limit, Azure answers.
    with RawServer(refuse_second_image) as server:
        model = ChatAzureLlama(endpoint=server.url, api_key=KEY, deployment="blue", max_retries=0)
        with pytest.raises(ModelInvalidRequestError) as info:
            await ask(api, model, looking_at(block, block), streamed)
        model.close()
    message = str(info.value)
    assert "At most 1 image(s) may be provided in one request." in message
    assert "blue takes at most 1 image(s) per request" in message
