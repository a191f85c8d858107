"""What the transport builds once and reuses per request (issue #8) still goes out unchanged."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from azure_llama_transport import AzureLlamaClient, build_chat_request
from tests._support.transport import ENDPOINT, KEY, make_async, make_sync


def _recorder() -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
        )

    return seen, handler


MESSAGES = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize("kind", ["sync", "async"], ids=["sync", "async"])
async def test_each_request_gets_its_own_url_query_and_timeout(kind: str) -> None:
    seen, handler = _recorder()
    make = make_sync if kind == "sync" else make_async
    client: Any = make(handler, timeout=12.5)

    async def call(*args: Any, **kwargs: Any) -> Any:
        result = client.chat(*args, **kwargs)
        return await result if kind == "async" else result

    await call(MESSAGES)
    await call(MESSAGES, timeout=3.0)
    await call(MESSAGES, api="llama")
    await call(MESSAGES)
    urls = [str(r.url) for r in seen]
    assert urls == [
        f"{ENDPOINT}/chat/completions?api-version=2024-05-01-preview",
        f"{ENDPOINT}/chat/completions?api-version=2024-05-01-preview",
        f"{ENDPOINT}/v1/chat/completions",  # the Llama-native route takes no api-version
        f"{ENDPOINT}/chat/completions?api-version=2024-05-01-preview",
    ]
    # Each attempt gets what is left of its call's deadline (a whole call, not one attempt).
    timeouts = [r.extensions["timeout"] for r in seen]
    for got, whole in zip(timeouts, [12.5, 3.0, 12.5, 12.5], strict=True):
        assert set(got) == {"connect", "read", "write", "pool"}
        assert all(whole - 1.0 < value <= whole for value in got.values())
    # A per-request override never leaks into the client's default.
    assert seen[0].extensions["timeout"] is not seen[1].extensions["timeout"]
    if kind == "async":
        await client.aclose()


def test_no_api_version_sends_no_query() -> None:
    seen, handler = _recorder()
    make_sync(handler, api_version=None).chat(MESSAGES)
    assert str(seen[0].url) == f"{ENDPOINT}/chat/completions"


def test_a_caller_clients_own_query_params_still_merge() -> None:
    seen, handler = _recorder()
    http = httpx.Client(transport=httpx.MockTransport(handler), params={"trace": "1"})
    client = AzureLlamaClient(ENDPOINT, api_key=KEY, http_client=http)
    client.chat(MESSAGES)
    assert dict(seen[0].url.params) == {"api-version": "2024-05-01-preview", "trace": "1"}


@pytest.mark.parametrize(
    "content",
    ["plain", "é ü — 😀 日本語", 'quotes " and \\ backslashes', "line\nbreak\ttab"],
    ids=["ascii", "unicode", "escapes", "control"],
)
def test_body_bytes_are_compact_utf8_json(content: str) -> None:
    prepared = build_chat_request([{"role": "user", "content": content}], {"temperature": 0.5})
    body = {"messages": [{"role": "user", "content": content}], "temperature": 0.5}
    assert prepared.content == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
