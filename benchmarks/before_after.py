"""Each optimisation of issue #8, before vs after, in one process, interleaved.

Run:  .venv/bin/python benchmarks/before_after.py [--rounds 9]

"Before" puts the original implementation back for the duration of one measurement
(`_ClientBase._build` with per-request URL parsing, query merging and `Timeout` building;
`json.dumps` with a new encoder per body, where orjson writes it now; the original
`ChunkConverter.convert`, validating every stream chunk with `AIMessageChunk(...)`),
so both variants share the process, the server and the noise. Starts its own lean server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import KEY, MESSAGES, MODEL, PROMPT, reply_headers  # noqa: E402
from langchain_core.messages import AIMessageChunk  # noqa: E402
from run import servers  # noqa: E402

from azure_llama_transport import (  # noqa: E402
    AsyncAzureLlamaClient,
    AzureLlamaClient,
    _client,
    _request,
)
from langchain_azure_llama import ChatAzureLlama, _convert  # noqa: E402


def _old_build(self: Any, client: Any, prepared: Any, timeout: float | None) -> httpx.Request:
    headers = {**self._headers, **prepared.headers} if prepared.headers else self._headers
    return client.build_request(  # type: ignore[no-any-return]
        prepared.method,
        self.config.endpoint + prepared.path,
        params=prepared.params or None,
        headers=headers,
        content=prepared.content,
        timeout=httpx.Timeout(self.config.timeout if timeout is None else timeout),
    )


def _old_convert(self: Any, chunk: Any) -> Any:
    self._model = chunk.get("model") or self._model
    self._id = chunk.get("id") or self._id
    choices = chunk.get("choices") or []
    choice = choices[0] if choices else {}
    delta = choice.get("delta") or {}
    text = delta.get("content") or ""
    calls = self._tool_call_chunks(delta.get("tool_calls") or [])
    fields: dict[str, Any] = {}
    usage = _convert.usage_to_metadata(chunk.get("usage"))
    if usage is not None and not self._usage_sent:
        self._usage_sent = True
        fields["usage_metadata"] = usage
    if choice.get("finish_reason"):
        self.finish_reason = choice["finish_reason"]
        if not self._metadata_sent:
            self._metadata_sent = True
            fields["response_metadata"] = self._response_metadata()
    if not (text or calls or fields):
        return None
    return AIMessageChunk(content=text, tool_call_chunks=calls, id=self._id, **fields)


def _old_encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@contextmanager
def original(parts: set[str]) -> Iterator[None]:
    """Put the pre-#8 implementation of `parts` back for the duration."""
    saved_build, saved_encoder = _client._ClientBase._build, _request.encode_body
    saved_convert = _convert.ChunkConverter.convert
    try:
        if "build" in parts:
            _client._ClientBase._build = _old_build  # type: ignore[method-assign]
        if "encoder" in parts:
            _request.encode_body = _old_encode
        if "chunks" in parts:  # every chunk through AIMessageChunk(...), original convert
            _convert.ChunkConverter.convert = _old_convert  # type: ignore[method-assign]
        yield
    finally:
        _client._ClientBase._build = saved_build  # type: ignore[method-assign]
        _request.encode_body = saved_encoder
        _convert.ChunkConverter.convert = saved_convert  # type: ignore[method-assign]


def per_call(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with servers() as urls:
        url = urls["lean"]
        model = ChatAzureLlama(endpoint=url, api_key=KEY, model=MODEL)
        client = AzureLlamaClient(url, api_key=KEY)
        params = {"model": MODEL}

        def stream_rate() -> float:
            start = time.perf_counter()
            n = sum(1 for _ in model.stream(PROMPT, headers=reply_headers(5000)))
            return n / (time.perf_counter() - start)

        def async_wall() -> float:
            async def run() -> float:
                aclient = AsyncAzureLlamaClient(url, api_key=KEY)
                await asyncio.gather(*(aclient.chat(MESSAGES, params) for _ in range(10)))
                start = time.perf_counter()
                await asyncio.gather(*(aclient.chat(MESSAGES, params) for _ in range(200)))
                wall = time.perf_counter() - start
                await aclient.aclose()
                return wall

            return asyncio.run(run())

        cases: dict[str, tuple[set[str], Callable[[], float], str]] = {
            "transport call (µs)": (
                {"build", "encoder"},
                lambda: per_call(lambda: client.chat(MESSAGES, params), 100) * 1e6,
                "lower",
            ),
            "ChatAzureLlama.invoke (µs)": (
                {"build", "encoder"},
                lambda: per_call(lambda: model.invoke(PROMPT), 100) * 1e6,
                "lower",
            ),
            "ChatAzureLlama.stream (chunks/s)": (
                {"build", "encoder", "chunks"},
                stream_rate,
                "higher",
            ),
            "transport 200 async (ms)": ({"build", "encoder"}, lambda: async_wall() * 1e3, "lower"),
        }
        for _, measure, _ in cases.values():  # warm-up
            measure()
        results: dict[str, dict[str, list[float]]] = {k: {"before": [], "after": []} for k in cases}
        for r in range(args.rounds):
            for name, (parts, measure, _) in cases.items():
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for variant in order:
                    if variant == "before":
                        with original(parts):
                            results[name][variant].append(measure())
                    else:
                        results[name][variant].append(measure())
    print(f"Before vs after, medians of {args.rounds} interleaved rounds, lean server\n")
    print("| measure | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for name, by in results.items():
        before, after = statistics.median(by["before"]), statistics.median(by["after"])
        print(f"| {name} | {before:,.0f} | {after:,.0f} | {after / before:.2f}x |")


if __name__ == "__main__":
    main()
