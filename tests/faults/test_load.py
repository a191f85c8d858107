"""Load: hundreds of concurrent streams on one event loop, every chunk accounted for, and memory
back to its baseline once the pools are closed.

The emulator runs in its own process (the `python -m azure_llama_emulator` CLI, which
never records requests), so that the memory traced here is the client's alone and the server does
not share this process's GIL.

Short version (default, run by CI): 500 concurrent streams of 3 tokens through the transport and
through `ChatAzureLlama.astream`, 100 through `litellm.acompletion(stream=True)` (LiteLLM's own
per-call work, not the transport, is what bounds it). Long version, `SOAK=1`: 5 rounds of 500
streams of 32 tokens through each. Both are bounded: every round must finish within the hang
guard, or the test fails.

Memory: `tracemalloc` starts after a warm-up (imports, lazy caches) with the pools closed; after
the rounds the pools are closed again, the loop settles and `gc.collect()` runs, and what is still
traced must be under `TOLERANCE` (1 MiB). For scale, one open stream holds ~30 KB, so leaking a
single response per stream would retain over 10 MB after 500 streams; the traced peak must show
the load really ran (at least 4 MiB).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator

import litellm
import pytest

import azure_llama_transport as t
import litellm_azure_llama
from langchain_azure_llama import ChatAzureLlama
from tests._support.faults import KEY, LITELLM_MODEL, MODEL

SOAK = os.environ.get("SOAK") == "1"
ROUNDS = 5 if SOAK else 1
TOKENS = 32 if SOAK else 3
STREAMS = {"transport": 500, "langchain": 500, "litellm": 500 if SOAK else 100}
HANG_GUARD = 300.0 if SOAK else 120.0  # seconds for one round of concurrent streams
TOLERANCE = 1 << 20  # bytes still traced after the load, pools closed
MIN_PEAK = 4 << 20  # bytes: proof that the traced rounds really held many streams
EXPECTED = " ".join(f"tok{i}" for i in range(TOKENS))
HEADERS = {"x-emulator-reply-tokens": str(TOKENS)}

pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    command = [sys.executable, "-m", "azure_llama_emulator"]
    args = ["--host", "127.0.0.1", "--port", "0", "--api-key", KEY, "--model", MODEL]
    with subprocess.Popen([*command, *args], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+) ", banner)
            assert match, banner
            yield match.group(1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class Front:
    """One front end's way to run stream number `i` and to close its pools."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.client = t.AsyncAzureLlamaClient(url, api_key=KEY, default_headers=HEADERS)
        self.model = ChatAzureLlama(endpoint=url, api_key=KEY, model=MODEL, default_headers=HEADERS)

    async def stream(self, i: int) -> tuple[str, int]:
        """The text and the number of content chunks of one stream."""
        prompt = f"stream {i}"
        pieces: list[str] = []
        if self.name == "transport":
            stream = await self.client.chat_stream([{"role": "user", "content": prompt}])
            async for chunk in stream:
                delta = chunk["choices"][0]["delta"] if chunk.get("choices") else {}
                if delta.get("content"):
                    pieces.append(delta["content"])
            assert stream.completed and stream.usage["completion_tokens"] == TOKENS
        elif self.name == "langchain":
            async for message in self.model.astream(prompt):
                if message.text:
                    pieces.append(message.text)
        else:
            response = await litellm.acompletion(
                model=LITELLM_MODEL,
                api_base=self.url,
                api_key=KEY,
                messages=[{"role": "user", "content": prompt}],
                extra_headers=HEADERS,
                stream=True,
            )
            async for part in response:
                if part.choices[0].delta.content:
                    pieces.append(part.choices[0].delta.content)
        return "".join(pieces), len(pieces)

    async def close(self) -> None:
        await self.client.aclose()
        await self.model.aclose()
        await litellm_azure_llama.handler.aclose()
        # Closed connections are released by callbacks on the next loop iterations.
        for _ in range(20):
            await asyncio.sleep(0)


async def run_round(front: Front, count: int) -> None:
    results = await asyncio.wait_for(
        asyncio.gather(*(front.stream(i) for i in range(count))), timeout=HANG_GUARD
    )
    broken = [n for n, result in enumerate(results) if result != (EXPECTED, TOKENS)]
    assert not broken, f"{len(broken)} of {count} streams lost chunks, e.g. {results[broken[0]]}"


def traced_now() -> int:
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    return current


@pytest.mark.parametrize("name", ["transport", "langchain", "litellm"])
async def test_concurrent_streams_complete_and_memory_returns_to_baseline(
    name: str, emulator_url: str
) -> None:
    front = Front(name, emulator_url)
    await run_round(front, 20)  # warm-up: imports, lazy caches, LiteLLM's model map
    await front.close()
    front = Front(name, emulator_url)  # a closed client stays closed: new ones for the load
    gc.collect()
    tracemalloc.start()
    try:
        baseline = traced_now()
        for _ in range(ROUNDS):
            await run_round(front, STREAMS[name])
        _, peak = tracemalloc.get_traced_memory()
        await front.close()
        retained = traced_now() - baseline
    finally:
        tracemalloc.stop()
    assert peak - baseline > MIN_PEAK, "the load did not run"
    assert retained < TOLERANCE, f"{retained} bytes still held after {ROUNDS} rounds"
