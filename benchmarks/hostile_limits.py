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
import contextlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from typing import Any

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


def _bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    zeros = bytes(CHUNK)
    parts = [compressor.compress(zeros) for _ in range(BOMB_SIZE // CHUNK)]
    parts.append(compressor.flush())
    return b"".join(parts)


class Hostile(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bomb = _bomb() if mode == "gzip" else b""
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.StreamRequestHandler):
    server: Hostile

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        with contextlib.suppress(OSError):  # the client gave up: that is the point
            getattr(self, "_" + self.server.mode)()

    def _send_head(self, extra: str, length: int | None) -> None:
        size = f"Content-Length: {length}\r\n" if length is not None else ""
        self.wfile.write(f"HTTP/1.1 200 OK\r\n{extra}{size}Connection: close\r\n\r\n".encode())

    def _gzip(self) -> None:
        bomb = self.server.bomb
        head = "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        self._send_head(head, len(bomb))
        self.wfile.write(bomb)

    def _big(self) -> None:
        prefix = b'{"id":"x","object":"chat.completion","choices":[{"index":0,'
        prefix += b'"message":{"role":"assistant","content":"'
        suffix = b'"},"finish_reason":"stop"}]}'
        self._send_head("Content-Type: application/json\r\n", len(prefix) + BIG_SIZE + len(suffix))
        self.wfile.write(prefix)
        block = b"x" * CHUNK
        for _ in range(BIG_SIZE // CHUNK):
            self.wfile.write(block)
        self.wfile.write(suffix)

    def _endless(self) -> None:
        self._send_head("Content-Type: text/event-stream\r\n", None)
        chunk = {"id": "x", "choices": [{"index": 0, "delta": {"content": "y" * 1000}}]}
        event = f"data: {json.dumps(chunk)}\n\n".encode() * 16
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            self.wfile.write(event)

    def _trickle(self, data: bytes) -> None:
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(0.2)  # 5 bytes/s

    def _slow_headers(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self._trickle(b"X-Slow: " + b"a" * 600)

    def _slow_body(self) -> None:
        self._send_head("Content-Type: application/json\r\n", 600)
        self._trickle(b" " * 600)

    def _silent(self) -> None:
        time.sleep(120)


_MODES = {
    "gzip-bomb": "gzip",
    "big-body": "big",
    "endless": "endless",
    "slow-headers": "slow_headers",
    "slow-body": "slow_body",
    "silent": "silent",
}


def _mode(scenario: str) -> str:
    return next(mode for prefix, mode in _MODES.items() if scenario.startswith(prefix))


# -- the client (runs in a subprocess) ----------------------------------------------------------


def _client_main(scenario: str, url: str, seconds: float) -> None:
    import resource
    import tracemalloc

    # Imports first: the numbers are the call's, from a warm process (peak traced memory is
    # above the level after imports; RSS is the whole process, imports included).
    import langchain_azure_llama.chat_models
    import langchain_azure_llama.transport  # noqa: F401

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

    from langchain_azure_llama import ChatAzureLlama
    from langchain_azure_llama.transport import AsyncAzureLlamaClient, AzureLlamaClient

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
    server = Hostile(_mode(scenario))
    try:
        cmd = [sys.executable, __file__, "--client", scenario, "--url", server.url]
        cmd += ["--stream-seconds", str(seconds)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=max(seconds, 100.0) + 300)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return {"scenario": scenario, "outcome": f"client failed: {out.stderr[-500:]}"}
        data: dict[str, Any] = json.loads(lines[-1])
        return data
    finally:
        server.shutdown()
        server.server_close()


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
