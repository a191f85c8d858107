"""Helpers for the tests in tests/transport/ (fixtures stay in its conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from azure_llama_transport import (
    AsyncAzureLlamaClient,
    AzureLlamaClient,
    RetryPolicy,
)

ENDPOINT = "https://my-llama.eastus2.models.ai.azure.com"
KEY = "k3y-0123456789abcdef0123456789abcd"
Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeClock:
    """Records the waits the retry policy asks for instead of sleeping."""

    waits: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def sse(*events: Any, done: bool = True) -> bytes:
    """Encode chunks as Azure's data-only SSE (dicts become compact JSON)."""
    parts = [
        f"data: {e if isinstance(e, str) else json.dumps(e, separators=(',', ':'))}\n\n"
        for e in events
    ]
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def sse_response(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": "text/event-stream; charset=utf-8"}, content=body
    )


def make_sync(handler: Handler, clock: FakeClock | None = None, **kwargs: Any) -> AzureLlamaClient:
    kwargs.setdefault("api_key", KEY)
    policy = RetryPolicy(
        max_retries=kwargs.pop("max_retries", 2),
        sleep=clock.sleep if clock else (lambda s: None),
        rng=lambda: 0.0,
    )
    return AzureLlamaClient(
        kwargs.pop("endpoint", ENDPOINT),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        retry_policy=policy,
        **kwargs,
    )


def make_async(
    handler: Handler, clock: FakeClock | None = None, **kwargs: Any
) -> AsyncAzureLlamaClient:
    kwargs.setdefault("api_key", KEY)

    async def asleep(seconds: float) -> None:
        if clock:
            await clock.asleep(seconds)

    policy = RetryPolicy(max_retries=kwargs.pop("max_retries", 2), asleep=asleep, rng=lambda: 0.0)
    return AsyncAzureLlamaClient(
        kwargs.pop("endpoint", ENDPOINT),
        http_client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        retry_policy=policy,
        **kwargs,
    )
