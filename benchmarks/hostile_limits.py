"""Memory and time against hostile endpoints (issue 11 items 3 and 4), before vs after.

Run:  .venv/bin/python benchmarks/hostile_limits.py [--stream-seconds 60] [--only NAME,...]

Each scenario runs the client in a fresh subprocess (so its peak RSS is its own) against a raw
loopback server in this process:

- gzip-bomb-{sync,async}: a 0.49 MB gzip body that inflates to 500 MB.
- big-body-{sync,async}: a 100 MB JSON body.
- endless-{transport,langchain}: an SSE stream that never sends [DONE], read for
  `--stream-seconds` (or until the client raises).
- slow-{headers,body}-{sync,async}: headers / body trickled at 5 bytes/s, `timeout=2`.
- silent-{sync,async}: accepts, never answers; `timeout=2`, `max_retries=2`.

Reported per scenario: outcome (error class or "still running"), wall time, peak traced memory
(tracemalloc: Python allocations only, not aiohttp's C buffers; above the level after imports)
and peak RSS of the client process. Times start after the imports.
The endless streams run without tracemalloc (it slows the client tenfold, hiding the growth) and
report the chunks received instead.
Only public APIs are used, so the same script measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The server is the tests' own raw loopback server (tests/_support/raw_server.py).
sys.path.insert(0, str(Path(__file__).parents[1]))
from tests._support.raw_server import (
    Connection,
    RawServer,
    Script,
    Write,
    gzip_bomb,
    head,
    trickle,
    until_hang_up,
)

KEY = "bench-key"
MODEL = "Meta-Llama-3.1-8B-Instruct"
BOMB_SIZE = 500 * 1024 * 1024
BIG_SIZE = 100 * 1024 * 1024
CHUNK = 1024 * 1024
SCENARIOS = [
    "gzip-bomb-sync",
    "gzip-bomb-async",
    "big-body-sync",
    "big-body-async",
    "endless-transport",
    "endless-langchain",
    "slow-headers-sync",
    "slow-headers-async",
    "slow-body-sync",
    "slow-body-async",
    "silent-sync",
    "silent-async",
]

# -- the hostile server (runs in the parent) ----------------------------------------------------


def _gzip(write: Write) -> None:
    bomb = _BOMB.get("gzip") or _BOMB.setdefault("gzip", gzip_bomb(BOMB_SIZE))
    write(head(content_type="application/json", content_encoding="gzip", length=len(bomb)))
    write(bomb)


_BOMB: dict[str, bytes] = {}


def _big(write: Write) -> None:
    prefix = b'{"id":"x","object":"chat.completion","choices":[{"index":0,'
    prefix += b'"message":{"role":"assistant","content":"'
    suffix = b'"},"finish_reason":"stop"}]}'
    write(head(content_type="application/json", length=len(prefix) + BIG_SIZE + len(suffix)))
    write(prefix)
    block = b"x" * CHUNK
    for _ in range(BIG_SIZE // CHUNK):
        write(block)
    write(suffix)


def _endless(write: Write) -> None:
    write(head(content_type="text/event-stream"))
    chunk = {"id": "x", "choices": [{"index": 0, "delta": {"content": "y" * 1000}}]}
    until_hang_up(write, f"data: {json.dumps(chunk)}\n\n".encode() * 16, seconds=600)


def _slow_headers(write: Write) -> None:
    write(b"HTTP/1.1 200 OK\r\n")
    trickle(write, b"X-Slow: " + b"a" * 600, seconds=600)  # 5 bytes/s


def _slow_body(write: Write) -> None:
    write(head(content_type="application/json", length=600))
    trickle(write, b" " * 600, seconds=600)


def _silent(request: bytes, conn: Connection) -> None:
    conn.pause(120)  # woken when the server stops


def _writes(script: Callable[[Write], None]) -> Script:
    return lambda request, conn: script(conn.send)


_MODES: dict[str, Script] = {
    "gzip-bomb": _writes(_gzip),
    "big-body": _writes(_big),
    "endless": _writes(_endless),
    "slow-headers": _writes(_slow_headers),
    "slow-body": _writes(_slow_body),
    "silent": _silent,
}


def _mode(scenario: str) -> Script:
    return next(mode for prefix, mode in _MODES.items() if scenario.startswith(prefix))


# -- the client (runs in a subprocess) ----------------------------------------------------------


def _client_main(scenario: str, url: str, seconds: float) -> None:
    import resource
    import tracemalloc

    import azure_llama_transport  # noqa: F401

    # Imports first: the numbers are the call's, from a warm process (peak traced memory is
    # above the level after imports; RSS is the whole process, imports included).

    traced = not scenario.startswith("endless")
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    result: dict[str, Any] = {"scenario": scenario}
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def report(outcome: str) -> None:
        result["outcome"] = outcome
        result["seconds"] = round(time.monotonic() - start, 2)
        if traced:
            result["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        else:
            result["chunks"] = _RECEIVED[0]
        result["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        result["rss_after_imports_mb"] = round(rss_start, 1)
        print(json.dumps(result), flush=True)
        os._exit(0)

    # A watchdog: a hung call is reported as still running, not waited on forever.
    limit = seconds if scenario.startswith("endless") else max(seconds, 100.0)
    timer = threading.Timer(limit, report, args=("still running (stopped by the benchmark)",))
    timer.daemon = True
    timer.start()
    try:
        _run(scenario, url)
    except Exception as exc:
        message = str(exc).replace("\n", " ")[:120]
        body = getattr(exc, "body", None)
        size = len(body) if isinstance(body, (str, bytes)) else None
        partial = getattr(exc, "partial_text", None)
        result["error_body_len"] = size
        result["partial_text_len"] = len(partial) if isinstance(partial, str) else None
        report(f"{type(exc).__name__}: {message}")
    report("returned")


_RECEIVED = [0]


def _run(scenario: str, url: str) -> None:
    import asyncio

    from azure_llama_transport import AsyncAzureLlamaClient, AzureLlamaClient
    from langchain_azure_llama import ChatAzureLlama

    messages = [{"role": "user", "content": "hi"}]
    retries = 2 if scenario.startswith("silent") else 0
    kwargs: dict[str, Any] = {"api_key": KEY, "timeout": 2.0, "max_retries": retries}
    if scenario == "endless-langchain":
        model = ChatAzureLlama(endpoint=url, model=MODEL, **kwargs)
        for _ in model.stream("hi"):
            _RECEIVED[0] += 1
    elif scenario == "endless-transport":
        with AzureLlamaClient(url, **kwargs) as client:
            for _ in client.chat_stream(messages):
                _RECEIVED[0] += 1
    elif scenario.endswith("-sync"):
        with AzureLlamaClient(url, **kwargs) as client:
            client.chat(messages)
    else:

        async def main() -> None:
            async with AsyncAzureLlamaClient(url, **kwargs) as client:
                await client.chat(messages)

        asyncio.run(main())


# -- driver -------------------------------------------------------------------------------------


def _run_scenario(scenario: str, seconds: float) -> dict[str, Any]:
    if scenario.startswith("gzip"):
        _BOMB.setdefault("gzip", gzip_bomb(BOMB_SIZE))  # built before the client starts
    with RawServer(_mode(scenario), lifetime=max(seconds, 100.0) + 300) as server:
        cmd = [sys.executable, __file__, "--client", scenario, "--url", server.url]
        cmd += ["--stream-seconds", str(seconds)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=max(seconds, 100.0) + 300)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return {"scenario": scenario, "outcome": f"client failed: {out.stderr[-500:]}"}
        data: dict[str, Any] = json.loads(lines[-1])
        return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--client")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.client:
        _client_main(args.client, args.url, args.stream_seconds)
        return
    wanted = [s for s in SCENARIOS if not args.only or any(w in s for w in args.only.split(","))]
    for scenario in wanted:
        print(json.dumps(_run_scenario(scenario, args.stream_seconds)), flush=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main()
