"""(d) The LiteLLM proxy: 200 concurrent streams through one instance, azure_llama/ vs azure_ai/.

Run by benchmarks/run.py (part `proxy`), or alone:
      .venv/bin/python benchmarks/proxy_bench.py [--bursts N] [--streams 200] [--chunks 100]

One `litellm` proxy process (the CLI, as an operator runs it) serves two model groups over the
same lean server (benchmarks/lean_server.py, its own process, answering every stream with
`--chunks` one-token chunks): `llama`, through this package's `azure_llama/` provider, and `ai`,
through LiteLLM's built-in `azure_ai/`. Each burst opens `--streams` streams at once from one
asyncio client (httpx) and reads them to `[DONE]`; bursts alternate between the groups, after a
warm-up burst of each. Per group: client p50 / p99 of a stream's whole time, and the proxy's CPU
(user + kernel seconds of its process and any children, from /proc) per streamed chunk the
clients received.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MASTER_KEY = "sk-bench-proxy-master-key"
MODEL = "Meta-Llama-3.1-8B-Instruct"
GROUPS = {"llama": f"azure_llama/{MODEL}", "ai": f"azure_ai/{MODEL}"}
STARTUP_DEADLINE = 300.0


def _config(lean_url: str) -> str:
    models = "".join(
        f"  - model_name: {group}\n"
        f"    litellm_params:\n"
        f"      model: {model}\n"
        f"      api_base: {lean_url}\n"
        f"      api_key: bench-key\n"
        for group, model in GROUPS.items()
    )
    return (
        f"model_list:\n{models}"
        "litellm_settings:\n"
        "  custom_provider_map:\n"
        "    - provider: azure_llama\n"
        "      custom_handler: litellm_azure_llama.handler\n"
        "general_settings:\n"
        "  master_key: os.environ/LITELLM_MASTER_KEY\n"
    )


def _cpu_seconds(pid: int) -> float:
    """User + kernel seconds of `pid` and its descendants (from /proc; clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / ticks
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _wait(url: str, proc: subprocess.Popen[bytes], what: str, log: Path | None = None) -> None:
    import httpx

    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}: {tail}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{what} did not start within {STARTUP_DEADLINE:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def proxy(chunks: int) -> Iterator[tuple[str, int]]:
    """(the proxy's URL, its pid), with a lean server behind it."""
    from run import _env, free_port

    cli = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if cli is None:
        raise RuntimeError("the `litellm` CLI is not installed next to this Python")
    lean_port, port = free_port(), free_port()
    env = {**_env(), "LITELLM_MASTER_KEY": MASTER_KEY}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as folder:
        lean = subprocess.Popen(
            [sys.executable, str(HERE / "lean_server.py"), "--port", str(lean_port),
             "--reply-tokens", str(chunks)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        config = Path(folder) / "config.yaml"
        config.write_text(_config(f"http://127.0.0.1:{lean_port}"))
        log_path = Path(folder) / "proxy.log"
        with log_path.open("wb") as log:
            command = [cli, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=folder
            )
            try:
                _wait(f"http://127.0.0.1:{lean_port}/bench/last", lean, "lean server")
                url = f"http://127.0.0.1:{port}"
                _wait(f"{url}/health/liveliness", proc, "litellm proxy", log_path)
                yield url, proc.pid
            finally:
                _stop(proc)
                _stop(lean)


async def _one(client: Any, url: str, group: str) -> tuple[float, int]:
    body = {"model": group, "messages": [{"role": "user", "content": "Hello"}], "stream": True}
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    start = time.perf_counter()
    seen = 0
    async with client.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as r:
        if r.status_code != 200:
            raise RuntimeError(f"{group}: HTTP {r.status_code}: {(await r.aread())[:300]!r}")
        async for line in r.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                seen += 1
    return time.perf_counter() - start, seen


def burst(url: str, pid: int, group: str, streams: int) -> dict[str, Any]:
    import httpx

    async def run() -> tuple[list[tuple[float, int]], float, float]:
        limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
        async with httpx.AsyncClient(limits=limits, timeout=300) as client:
            await _one(client, url, group)  # a first stream opens the pool's first connection
            cpu, wall = _cpu_seconds(pid), time.perf_counter()
            done = await asyncio.gather(*(_one(client, url, group) for _ in range(streams)))
            return done, time.perf_counter() - wall, _cpu_seconds(pid) - cpu

    done, wall, cpu = asyncio.run(run())
    chunks = sum(seen for _, seen in done)
    return {"times": [t for t, _ in done], "chunks": chunks, "wall": wall, "cpu": cpu}


def measure(bursts: int, streams: int, chunks: int) -> dict[str, Any]:
    """Per group: stream times, chunks, walls and proxy CPU of every burst; or an error."""
    out: dict[str, Any] = {
        group: {"times": [], "cpu_per_chunk": [], "walls": []} for group in GROUPS
    }
    try:
        with proxy(chunks) as (url, pid):
            for group in GROUPS:  # warm-up: imports, the Router's first use, connections
                burst(url, pid, group, min(streams, 20))
            for b in range(bursts):
                for group in list(GROUPS)[:: 1 if b % 2 == 0 else -1]:
                    r = burst(url, pid, group, streams)
                    out[group]["times"] += r["times"]
                    out[group]["walls"].append(r["wall"])
                    out[group]["cpu_per_chunk"].append(r["cpu"] / max(r["chunks"], 1))
                    out[group]["chunks"] = r["chunks"] / streams
                    print(
                        f"  [proxy {b + 1}/{bursts}] {group}: {r['wall']:.1f} s wall, "
                        f"{r['cpu']:.1f} s proxy CPU, {r['chunks']} chunks",
                        file=sys.stderr,
                        flush=True,
                    )
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc)[:500]}
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")
    )


def table(data: dict[str, Any], streams: int, chunks: int) -> list[str]:
    if "error" in data:
        return [f"Not measured: {data['error']}"]
    lines = [
        f"{streams} concurrent streams of {chunks} chunks through one `litellm` proxy; medians "
        "over bursts.",
        "",
        "| proxy model group | stream p50 (ms) | stream p99 (ms) | burst wall (s) | "
        "proxy CPU µs/chunk | chunks per stream |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for group, model in GROUPS.items():
        g = data[group]
        lines.append(
            f"| `{model.split('/')[0]}/` | {_pct(g['times'], 0.5) * 1e3:,.0f} | "
            f"{_pct(g['times'], 0.99) * 1e3:,.0f} | {statistics.median(g['walls']):.2f} | "
            f"{statistics.median(g['cpu_per_chunk']) * 1e6:,.0f} | {g.get('chunks', 0):.0f} |"
        )
    return lines


def targets(t: Any, data: dict[str, Any]) -> None:
    if "error" in data or not data["llama"]["cpu_per_chunk"]:
        return
    mine = statistics.median(data["llama"]["cpu_per_chunk"])
    theirs = statistics.median(data["ai"]["cpu_per_chunk"])
    t.add(
        'proxy CPU per chunk, "azure_llama/" ≤ 0.6x "azure_ai/"',
        f"{mine / theirs:.2f}x ({mine * 1e6:,.0f} vs {theirs * 1e6:,.0f} µs); stream p50 "
        f"{_pct(data['llama']['times'], 0.5) / _pct(data['ai']['times'], 0.5):.2f}x, p99 "
        f"{_pct(data['llama']['times'], 0.99) / _pct(data['ai']['times'], 0.99):.2f}x",
        mine <= 0.6 * theirs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=100)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    data = measure(args.bursts, args.streams, args.chunks)
    print("\n".join(table(data, args.streams, args.chunks)))


if __name__ == "__main__":
    main()
