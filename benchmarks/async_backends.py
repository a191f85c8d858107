"""Which async HTTP backend should the transport use? 200 concurrent calls, one event loop.

Run:  .venv/bin/python benchmarks/async_backends.py [--concurrency 200] [--rounds 7]

Starts the emulator in a separate process (so server and client do not share a GIL), then
times, in the same run, raw httpx, raw aiohttp, and the transport's AsyncAzureLlamaClient on
each backend. Prints medians and ratios to raw httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from azure_llama_transport import AsyncAzureLlamaClient

KEY = "bench-key"
BODY = {"messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 16}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "azure_llama_emulator",
        "--port",
        str(port),
        "--api-key",
        KEY,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/info", headers={"api-key": KEY}, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("emulator did not start")


async def raw_httpx(url: str, n: int) -> None:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one() -> None:
            r = await client.post(
                f"{url}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {KEY}"}
            )
            json.loads(r.content)

        await asyncio.gather(*(one() for _ in range(n)))


async def raw_aiohttp(url: str, n: int) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)) as session:

        async def one() -> None:
            async with session.post(
                f"{url}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {KEY}"}
            ) as r:
                json.loads(await r.read())

        await asyncio.gather(*(one() for _ in range(n)))


def transport(backend: str) -> Callable[[str, int], Awaitable[None]]:
    async def run(url: str, n: int) -> None:
        client = AsyncAzureLlamaClient(url, api_key=KEY, backend=backend)  # type: ignore[arg-type]
        await asyncio.gather(*(client.chat(BODY["messages"], {"max_tokens": 16}) for _ in range(n)))
        await client.aclose()

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    port = free_port()
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}"
    cases = {
        "raw httpx": raw_httpx,
        "raw aiohttp": raw_aiohttp,
        "transport (httpx backend)": transport("httpx"),
        "transport (aiohttp backend)": transport("aiohttp"),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for _ in range(args.rounds):  # interleave the cases so machine noise hits all alike
            for name, case in cases.items():
                start = time.perf_counter()
                asyncio.run(case(url, args.concurrency))
                times[name].append(time.perf_counter() - start)
    finally:
        proc.terminate()
        proc.wait()
    base = statistics.median(times["raw httpx"])
    print(f"{args.concurrency} concurrent chat calls, median of {args.rounds} rounds\n")
    print("| client | median wall (ms) | ratio to raw httpx |")
    print("|---|---:|---:|")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med * 1000:.1f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
