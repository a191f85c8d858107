"""langchain-azure-llama against its peers, same work, same local server, same run.

Run:  make bench                      (installs the `bench` extra, then runs this)
      .venv/bin/python benchmarks/run.py [--quick] [--rounds N] [--server lean|emulator]
      BENCH_QUICK=1 make bench        (a short run: fewer rounds, calls and chunks)

Each client runs in a fresh process per round (benchmarks/worker.py), so import time and peak
memory are its own; rounds interleave the clients so a noisy machine hits all alike. Per
client: import time; sequential whole calls (median and p99); one stream of 5,000 one-token
chunks (chunks per second seen by the user's loop, time to first chunk); 200 concurrent async
calls on one event loop (wall time); peak RSS. Ratios are to raw httpx measured in the same
run. The server runs in its own process: a lean wire-format server by default
(benchmarks/lean_server.py), because the emulator's per-request validation is slower than
the fastest clients (the first table shows both servers' ceilings).

Timing lives here and only here: nothing in tests/ depends on it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import payloads  # noqa: E402
import proxy_bench  # noqa: E402
from clients import CLIENTS, KEY  # noqa: E402

WORKER = str(HERE / "worker.py")
FLOOR = "raw-httpx"
IMPORT_ROWS = (
    "bare python",
    "httpx",
    "langchain-core (BaseChatModel)",
    "transport",
    "import langchain_azure_llama",
    "chat-azure-llama",
    "ChatAzureLlama after langchain-core",
    "transport after httpx",
    "litellm-azure-ai",
)
# Streamed over 100,000 chunks once each, to see whether memory stays flat.
MEMORY_ROWS = ("chat-azure-llama", "langchain-core-floor", "transport")
# The call and stream targets hold on both servers (issue 25): these clients run on the other.
SECOND_SERVER_ROWS = (
    "raw-httpx",
    "chat-azure-llama",
    "chat-azure-llama-prompted",
    "litellm-azure-llama",
    "litellm-azure-ai",
    "langchain-azure-ai",
    "azure-ai-inference",
)
ALL_PARTS = "ceiling,clients,server2,memory,payloads,proxy,imports"


@dataclass
class Settings:
    rounds: int
    calls: int
    chunks: int
    concurrency: int
    clients: list[str]
    server: str
    output: str | None = None
    timeout: float = 600.0
    memory_chunks: int = 100_000
    quick: bool = False
    parts: set[str] = field(default_factory=set)
    payload_calls: int = 5
    proxy_bursts: int = 3
    proxy_streams: int = 200
    proxy_chunks: int = 100


@dataclass
class Samples:
    """Everything one client produced over the rounds."""

    missing: str | None = None
    errors: list[str] = field(default_factory=list)
    import_s: list[float] = field(default_factory=list)
    call_s: list[float] = field(default_factory=list)
    first_chunk_s: list[float] = field(default_factory=list)
    chunks_per_s: list[float] = field(default_factory=list)
    cpu_us_per_chunk: list[float] = field(default_factory=list)
    sys_us_per_chunk: list[float] = field(default_factory=list)
    concurrent_s: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)
    litellm_loaded: bool = False

    def add(self, result: dict[str, Any]) -> None:
        if "missing" in result:
            self.missing = str(result["missing"])
            return
        if "error" in result:
            self.errors.append(str(result["error"]))
            return
        self.import_s.append(result["import_s"])
        self.litellm_loaded |= bool(result["litellm_loaded"])
        if "call_s" not in result:  # an import-only row
            return
        self.call_s.extend(result["call_s"])
        self.first_chunk_s.append(result["first_chunk_s"])
        self.chunks_per_s.append(result["chunks_seen"] / result["stream_s"])
        user, kernel = result["stream_user_s"], result["stream_sys_s"]
        self.cpu_us_per_chunk.append((user + kernel) / result["chunks_seen"] * 1e6)
        self.sys_us_per_chunk.append(kernel / result["chunks_seen"] * 1e6)
        self.concurrent_s.append(result["concurrent_s"])
        self.peak_rss_mb.append(result["peak_rss_mb"])

    @property
    def ok(self) -> bool:
        return self.missing is None and bool(self.call_s)


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p99(values: Sequence[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within 30 s")


@contextmanager
def servers() -> Iterator[dict[str, str]]:
    """The lean server and the emulator, each in its own process, on loopback ports."""
    lean_port, emu_port = free_port(), free_port()
    commands = {
        "lean": [sys.executable, str(HERE / "lean_server.py"), "--port", str(lean_port)],
        "emulator": [
            sys.executable,
            "-m",
            "azure_llama_emulator",
            "--port",
            str(emu_port),
            "--api-key",
            KEY,
        ],
    }
    procs = {
        name: subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, cmd in commands.items()
    }
    try:
        _wait_for_port(lean_port, procs["lean"], "lean server")
        _wait_for_port(emu_port, procs["emulator"], "emulator")
        yield {"lean": f"http://127.0.0.1:{lean_port}", "emulator": f"http://127.0.0.1:{emu_port}"}
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # No network but loopback: LiteLLM must not fetch its price map or a tokenizer.
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1", LITELLM_TELEMETRY="False")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # imports are timed as users see them: cached
    return env


def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, WORKER, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {done.returncode}: {tail[0][:200]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def rounds_of(
    names: Sequence[str], rounds: int, work: Callable[[str], dict[str, Any]], label: str
) -> dict[str, Samples]:
    """Run `work` for every name, `rounds` times, rotating the order each round."""
    samples = {name: Samples() for name in names}
    for r in range(rounds):
        order = list(names[r % len(names) :]) + list(names[: r % len(names)])
        for name in order:
            if samples[name].missing:
                continue
            start = time.monotonic()
            samples[name].add(work(name))
            print(
                f"  [{label} {r + 1}/{rounds}] {name}: {time.monotonic() - start:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return samples


# -- the three measurements -------------------------------------------------------------------


def measure_clients(settings: Settings, url: str, names: Sequence[str]) -> dict[str, Samples]:
    def work(name: str) -> dict[str, Any]:
        args = [name, url, str(settings.calls), str(settings.chunks), str(settings.concurrency)]
        return run_worker(args, settings.timeout)

    return rounds_of(names, settings.rounds, work, "clients")


def measure_imports(settings: Settings) -> dict[str, list[float]]:
    def work(name: str) -> dict[str, Any]:
        return run_worker(["--import-only", name], 120)

    samples = rounds_of(IMPORT_ROWS, max(settings.rounds, 5), work, "imports")
    return {name: s.import_s for name, s in samples.items()}


def measure_memory(settings: Settings, url: str) -> dict[str, float]:
    """Peak RSS growth (MB) over one long stream per client."""
    out: dict[str, float] = {}
    for name in MEMORY_ROWS:
        if name not in settings.clients:
            continue
        result = run_worker(["--memory", name, url, str(settings.memory_chunks)], settings.timeout)
        print(f"  [memory] {name}: {result}", file=sys.stderr, flush=True)
        if "rss_growth_mb" in result and result["chunks_seen"] >= settings.memory_chunks:
            out[name] = float(result["rss_growth_mb"])
    return out


def measure_ceiling(settings: Settings, urls: dict[str, str]) -> dict[str, dict[str, Samples]]:
    """The floors against both servers: which one is the bottleneck?"""
    out: dict[str, dict[str, Samples]] = {server: {} for server in urls}
    for r in range(settings.rounds):
        for server, url in list(urls.items()) if r % 2 == 0 else list(urls.items())[::-1]:
            for name in ("raw-httpx", "raw-aiohttp"):
                args = [name, url, str(settings.calls), str(settings.chunks)]
                result = run_worker([*args, str(settings.concurrency)], settings.timeout)
                out[server].setdefault(name, Samples()).add(result)
                print(f"  [ceiling {r + 1}/{settings.rounds}] {server} {name}", file=sys.stderr)
    return out


def measure_payloads(settings: Settings, url: str) -> dict[str, dict[str, dict[str, Any]]]:
    """(a)-(c): every payload client, fresh process per round, rounds interleaved."""
    names = [n for n in payloads.CLIENTS if n in settings.clients or n == FLOOR]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    rounds = max(1, settings.rounds // 2)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            args = [
                "--payloads",
                name,
                url,
                str(settings.payload_calls),
                ",".join(payloads.PAYLOADS),
            ]
            start = time.monotonic()
            results[name].append(run_worker(args, settings.timeout))
            print(
                f"  [payloads {r + 1}/{rounds}] {name}: {time.monotonic() - start:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return payloads.merge(results)


# -- report -----------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def _ratio(value: float, base: float) -> str:
    return "n/a" if value != value or not base or base != base else f"{value / base:.2f}x"


def client_table(samples: dict[str, Samples], settings: Settings) -> list[str]:
    base = samples.get(FLOOR, Samples())
    b_call, b_rate, b_conc = med(base.call_s), med(base.chunks_per_s), med(base.concurrent_s)
    lines = [
        f"| client | import (ms) | call median (µs) | call p99 (µs) | call ratio | "
        f"stream (chunks/s) | stream ratio | stream CPU µs/chunk (kernel) | first chunk (ms) | "
        f"{settings.concurrency} async (ms) | async ratio | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in samples.items():
        label = CLIENTS[name].name
        if not s.ok:
            why = s.missing or (s.errors[-1] if s.errors else "no result")
            lines.append(f"| {label} | not measured: {why} |" + " |" * 11)
            continue
        call, rate, conc = med(s.call_s), med(s.chunks_per_s), med(s.concurrent_s)
        lines.append(
            f"| {label} | {_fmt(med(s.import_s) * 1e3)} | {_fmt(call * 1e6)} | "
            f"{_fmt(p99(s.call_s) * 1e6)} | {_ratio(call, b_call)} | {_fmt(rate)} | "
            f"{_ratio(rate, b_rate)} | {_fmt(med(s.cpu_us_per_chunk))} "
            f"({_fmt(med(s.sys_us_per_chunk))}) | {_fmt(med(s.first_chunk_s) * 1e3, 1)} | "
            f"{_fmt(conc * 1e3)} | {_ratio(conc, b_conc)} | {_fmt(med(s.peak_rss_mb), 1)} |"
        )
    return lines


IMPORT_LABELS = {
    "transport": "import azure_llama_transport",
    "chat-azure-llama": "from langchain_azure_llama import ChatAzureLlama",
    "litellm-azure-ai": "import litellm",
    "httpx": "import httpx",
    "langchain-core (BaseChatModel)": "from langchain_core.language_models import BaseChatModel",
}


def import_table(imports: dict[str, list[float]]) -> list[str]:
    lines = ["| import (fresh process, over bare Python) | median (ms) |", "|---|---:|"]
    for name, values in imports.items():
        lines.append(f"| {IMPORT_LABELS.get(name, name)} | {_fmt(med(values) * 1e3)} |")
    return lines


def memory_table(memory: dict[str, float], settings: Settings) -> list[str]:
    lines = [
        f"| client | peak RSS growth over a {settings.memory_chunks:,}-chunk stream (MB) |",
        "|---|---:|",
    ]
    for name, growth in memory.items():
        lines.append(f"| {CLIENTS[name].name} | {growth:.1f} |")
    return lines


def ceiling_table(ceiling: dict[str, dict[str, Samples]], settings: Settings) -> list[str]:
    lines = [
        "| server | raw httpx call median (µs) | raw httpx stream (chunks/s) | raw aiohttp "
        f"{settings.concurrency} async (ms) |",
        "|---|---:|---:|---:|",
    ]
    for server, by_client in ceiling.items():
        hx, ah = by_client.get("raw-httpx", Samples()), by_client.get("raw-aiohttp", Samples())
        lines.append(
            f"| {server} | {_fmt(med(hx.call_s) * 1e6)} | {_fmt(med(hx.chunks_per_s))} | "
            f"{_fmt(med(ah.concurrent_s) * 1e3)} |"
        )
    return lines


class Targets:
    """The issue's targets, one table row each: figure, target, met / not met."""

    def __init__(self) -> None:
        self.rows: list[str] = ["| target | figure | met |", "|---|---|---|"]

    def add(self, target: str, figure: str, ok: bool | None) -> None:
        mark = "n/a" if ok is None else ("met" if ok else "**not met**")
        self.rows.append(f"| {target} | {figure} | {mark} |")


def _get(samples: dict[str, Samples], name: str) -> Samples | None:
    s = samples.get(name)
    return s if s is not None and s.ok else None


def langchain_targets(t: Targets, samples: dict[str, Samples], memory: dict[str, float]) -> None:
    base, ours = _get(samples, FLOOR), _get(samples, "chat-azure-llama")
    if not (base and ours):
        return
    call, b_call = med(ours.call_s), med(base.call_s)
    core = _get(samples, "langchain-core-floor")
    floor = f"; langchain-core with no I/O {med(core.call_s) * 1e6:,.0f} µs" if core else ""
    rest = ""
    if core:
        remainder = (call - b_call - med(core.call_s)) * 1e6
        rest = f", remainder over raw httpx + that floor {remainder:,.0f} µs"
    t.add(
        "ChatAzureLlama call ≤ 1.3x raw httpx",
        f"{call / b_call:.2f}x ({call * 1e6:,.0f} vs {b_call * 1e6:,.0f} µs{floor}{rest})",
        call / b_call <= 1.3,
    )
    conc = med(ours.concurrent_s)
    aio = _get(samples, "raw-aiohttp")
    aio_note = f"; raw aiohttp {med(aio.concurrent_s) / med(base.concurrent_s):.2f}x" if aio else ""
    if aio and core:
        # Both floors are paid by any LangChain model on aiohttp: their sum bounds the ratio.
        both = (med(aio.concurrent_s) + med(core.concurrent_s)) / med(base.concurrent_s)
        aio_note += f", raw aiohttp + langchain-core with no I/O {both:.2f}x"
    ratio = conc / med(base.concurrent_s)
    t.add("200 async ainvoke ≤ 0.2x raw httpx", f"{ratio:.2f}x{aio_note}", ratio <= 0.2)
    sdk = _get(samples, "azure-ai-inference")
    if sdk:
        ratio = conc / med(sdk.concurrent_s)
        t.add("200 async ainvoke ≤ 0.75x azure-ai-inference SDK", f"{ratio:.2f}x", ratio <= 0.75)
    rate = med(ours.chunks_per_s)
    t.add("ChatAzureLlama.stream ≥ 30,000 chunks/s", f"{rate:,.0f}/s", rate >= 30_000)
    peers = {
        n: med(s.chunks_per_s) for n, s in samples.items() if s.ok and CLIENTS[n].group == "peer"
    }
    if peers:
        best = max(peers, key=peers.__getitem__)
        t.add(
            "ChatAzureLlama.stream ≥ 2.5x the fastest peer",
            f"{rate / peers[best]:.2f}x ({CLIENTS[best].name}: {peers[best]:,.0f}/s)",
            rate >= 2.5 * peers[best],
        )
    if "chat-azure-llama" in memory:
        growth = memory["chat-azure-llama"]
        floor_mb = memory.get("langchain-core-floor")
        note = f" (langchain-core with no I/O: {floor_mb:.1f} MB)" if floor_mb is not None else ""
        t.add("ChatAzureLlama.stream RSS growth < 10 MB", f"{growth:.1f} MB{note}", growth < 10)
    t.add(
        "ChatAzureLlama never imports litellm",
        str(not ours.litellm_loaded),
        not ours.litellm_loaded,
    )


def litellm_targets(t: Targets, samples: dict[str, Samples]) -> None:
    mine, builtin = _get(samples, "litellm-azure-llama"), _get(samples, "litellm-azure-ai")
    if not (mine and builtin):
        return
    floor = _get(samples, "litellm-floor")
    rate = med(mine.chunks_per_s) / med(builtin.chunks_per_s)
    note = ""
    if floor:
        # A provider that costs nothing streams at LiteLLM's own rate: the ratio's ceiling.
        ceiling = med(floor.chunks_per_s) / med(builtin.chunks_per_s)
        note = f"; LiteLLM with no I/O {med(floor.chunks_per_s):,.0f}/s, {ceiling:.2f}x"
    t.add('litellm "azure_llama/" chunks/s ≥ 1.3x "azure_ai/"', f"{rate:.2f}x{note}", rate >= 1.3)
    cpu, cpu_b = med(mine.cpu_us_per_chunk), med(builtin.cpu_us_per_chunk)
    note = (
        f"; no I/O {med(floor.cpu_us_per_chunk):,.0f} ({med(floor.sys_us_per_chunk):,.0f})"
        if floor
        else ""
    )
    t.add(
        'litellm "azure_llama/" CPU/chunk < "azure_ai/"',
        f"{cpu:,.0f} ({med(mine.sys_us_per_chunk):,.0f} kernel) vs {cpu_b:,.0f} "
        f"({med(builtin.sys_us_per_chunk):,.0f}) µs{note}",
        cpu < cpu_b,
    )
    call = med(mine.call_s) / med(builtin.call_s)
    note = f"; LiteLLM with no I/O {med(floor.call_s) * 1e6:,.0f} µs" if floor else ""
    t.add('litellm "azure_llama/" call ≤ 0.7x "azure_ai/"', f"{call:.2f}x{note}", call <= 0.7)
    conc = med(mine.concurrent_s) / med(builtin.concurrent_s)
    note = f"; LiteLLM with no I/O {med(floor.concurrent_s) * 1e3:,.0f} ms" if floor else ""
    t.add('litellm "azure_llama/" 200 async ≤ 0.6x "azure_ai/"', f"{conc:.2f}x{note}", conc <= 0.6)


def server_targets(t: Targets, samples: dict[str, Samples], server: str) -> None:
    """The call and stream targets on one server, named after it; prompted vs plain streams."""
    base, ours = _get(samples, FLOOR), _get(samples, "chat-azure-llama")
    if not (base and ours):
        return
    call = med(ours.call_s) / med(base.call_s)
    t.add(f"[{server}] ChatAzureLlama call ≤ 1.3x raw httpx", f"{call:.2f}x", call <= 1.3)
    rate = med(ours.chunks_per_s)
    cpu = med(ours.cpu_us_per_chunk)
    t.add(
        f"[{server}] ChatAzureLlama.stream ≥ 30,000 chunks/s",
        f"{rate:,.0f}/s ({cpu:,.0f} µs CPU/chunk)",
        rate >= 30_000,
    )
    peers = {
        n: med(s.chunks_per_s) for n, s in samples.items() if s.ok and CLIENTS[n].group == "peer"
    }
    peers.pop("litellm-azure-ai", None)  # LiteLLM has its own target
    if peers:
        best = max(peers, key=peers.__getitem__)
        t.add(
            f"[{server}] ChatAzureLlama.stream ≥ 2.5x the fastest peer",
            f"{rate / peers[best]:.2f}x ({CLIENTS[best].name}: {peers[best]:,.0f}/s)",
            rate >= 2.5 * peers[best],
        )
    prompted = _get(samples, "chat-azure-llama-prompted")
    if prompted:
        ratio = med(prompted.cpu_us_per_chunk) / cpu
        t.add(
            f"[{server}] prompted-tools stream CPU/chunk ≤ 1.3x plain",
            f"{ratio:.2f}x ({med(prompted.cpu_us_per_chunk):,.0f} vs {cpu:,.0f} µs)",
            ratio <= 1.3,
        )
    mine, builtin = _get(samples, "litellm-azure-llama"), _get(samples, "litellm-azure-ai")
    if mine and builtin:
        ratio = med(mine.chunks_per_s) / med(builtin.chunks_per_s)
        t.add(
            f'[{server}] litellm "azure_llama/" stream ≥ 1.3x "azure_ai/"',
            f"{ratio:.2f}x",
            ratio >= 1.3,
        )


def import_targets(t: Targets, imports: dict[str, list[float]]) -> None:
    """Judged on the increment timed in one process (the base imported first, untimed): the
    difference of two separate fresh-process medians of 1-2 s imports swings by ±200 ms on a
    shared machine. That difference is shown too."""
    pairs = (
        ("chat-azure-llama", "langchain-core (BaseChatModel)", "ChatAzureLlama import",
         "ChatAzureLlama after langchain-core"),
        ("transport", "httpx", "transport import", "transport after httpx"),
    )  # fmt: skip
    for ours, base, label, after in pairs:
        if imports.get(after):
            extra = med(imports[after]) * 1e3
            apart = ""
            if imports.get(ours) and imports.get(base):
                diff = (med(imports[ours]) - med(imports[base])) * 1e3
                apart = f"; separate processes: {med(imports[ours]) * 1e3:.0f} vs "
                apart += f"{med(imports[base]) * 1e3:.0f} ms, {diff:+.0f}"
            t.add(
                f"{label} ≤ `{IMPORT_LABELS[base]}` + 50 ms",
                f"+{extra:.0f} ms, timed after it in one process{apart}",
                extra <= 50,
            )


def targets(
    samples: dict[str, Samples], imports: dict[str, list[float]], memory: dict[str, float]
) -> list[str]:
    t = Targets()
    langchain_targets(t, samples, memory)
    litellm_targets(t, samples)
    import_targets(t, imports)
    return t.rows


def issue25_targets(
    settings: Settings,
    samples: dict[str, Samples],
    second: dict[str, Samples],
    payload_data: dict[str, dict[str, dict[str, Any]]],
    proxy_data: dict[str, Any],
) -> list[str]:
    t = Targets()
    other = "emulator" if settings.server == "lean" else "lean"
    server_targets(t, samples, settings.server)
    server_targets(t, second, other)
    names = {key: cls.name for key, cls in CLIENTS.items()}
    payloads.targets(t, payload_data, names)
    if proxy_data:
        proxy_bench.targets(t, proxy_data)
    return t.rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("httpx", "aiohttp", "langchain-core", "litellm"):
        with suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs ({cpu}); "
        f"Python {platform.python_version()} on {platform.system()}; {', '.join(versions)}"
    )


def _quick_note(settings: Settings) -> list[str]:
    """The header line that says a file is from a short run, not the full `make bench`."""
    if not settings.quick:
        return []
    parts = ", ".join(p for p in ALL_PARTS.split(",") if p in settings.parts)
    return [
        "",
        f"**This file is from a quick run (`BENCH_QUICK=1`: {settings.rounds} rounds, "
        f"{settings.calls} calls, {settings.chunks:,}-chunk streams, {settings.payload_calls} "
        f"calls per payload, {settings.proxy_bursts} proxy burst; parts: {parts}) on a busy "
        "shared machine, not the full `make bench`, which is to be rerun when the machine is "
        "quiet.**",
        "",
    ]


def report(
    settings: Settings,
    samples: dict[str, Samples],
    imports: dict[str, list[float]],
    ceiling: dict[str, dict[str, Samples]],
    memory: dict[str, float],
    second: dict[str, Samples] | None = None,
    payload_data: dict[str, dict[str, dict[str, Any]]] | None = None,
    proxy_data: dict[str, Any] | None = None,
) -> str:
    second, payload_data, proxy_data = second or {}, payload_data or {}, proxy_data or {}
    other = "emulator" if settings.server == "lean" else "lean"
    names = {key: cls.name for key, cls in CLIENTS.items()}
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({'quick run, ' if settings.quick else ''}benchmarks/run.py): "
        f"{machine()}.",
        *_quick_note(settings),
        "Only ratios within this run mean anything: other work on the machine slows all clients.",
        "",
        "## Targets (issue #25: today's payloads, both servers, the proxy)",
        "",
        *issue25_targets(settings, samples, second, payload_data, proxy_data),
        "",
        "## Targets (issue #14)",
        "",
        *targets(samples, imports, memory),
        "",
        f"## Clients ({settings.server} server; {settings.rounds} rounds; {settings.calls} "
        f"sequential calls, a {settings.chunks:,}-chunk stream and {settings.concurrency} "
        "concurrent async calls per round)",
        "",
        "Medians over rounds. Ratios are to raw httpx in the same run: for times (call, "
        "async) lower is better, for chunks/s higher is better. Async: one event loop, after "
        "10 warm-up calls on it. Each timed section starts after a full garbage collection "
        "(the collector stays on inside it). Stream CPU: user + kernel seconds of the whole "
        "process (all threads) over the stream, per chunk; kernel alone in brackets. The floors "
        "with no I/O measure what langchain-core and LiteLLM cost by themselves.",
        "",
        *client_table(samples, settings),
        "",
        f"## Clients on the {other} server (the call and stream targets on both servers)",
        "",
        "Same measurements as above, fewer clients.",
        "",
        *(client_table(second, settings) if second else ["Not measured in this run."]),
        "",
        "## Memory",
        "",
        *memory_table(memory, settings),
        "",
        "## Today's payloads (lean server; model " + payloads.MODEL + ")",
        "",
        payloads.__doc__.split("\n\n", 1)[1].strip() if payloads.__doc__ else "",
        "",
        *(payloads.tables(payload_data, names) if payload_data else ["Not measured in this run."]),
        "## The LiteLLM proxy (lean server behind it)",
        "",
        *(
            proxy_bench.table(proxy_data, settings.proxy_streams, settings.proxy_chunks)
            if proxy_data
            else ["Not measured in this run."]
        ),
        "",
        "## Imports",
        "",
        *import_table(imports),
        "",
        "## Server ceiling (the floors against each server)",
        "",
        *ceiling_table(ceiling, settings),
    ]
    return "\n".join(out) + "\n"


def parse(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--chunks", type=int)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--server", choices=["lean", "emulator"], default="lean")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated keys")
    parser.add_argument("--output", help="also write the markdown report here")
    parser.add_argument("--memory-chunks", type=int, default=100_000)
    parser.add_argument(
        "--parts",
        default=ALL_PARTS,
        help="which measurements to run (comma-separated), for short partial runs",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    settings = Settings(
        rounds=args.rounds or (2 if quick else 5),
        calls=args.calls or (50 if quick else 200),
        chunks=args.chunks or (2_000 if quick else 5_000),
        concurrency=args.concurrency,
        clients=[c for c in args.clients.split(",") if c],
        server=args.server,
        output=args.output,
        memory_chunks=args.memory_chunks,
        quick=quick,
        parts=set(args.parts.split(",")),
        payload_calls=5 if quick else 9,
        proxy_bursts=1 if quick else 3,
        proxy_chunks=50 if quick else 100,
    )
    unknown = set(settings.clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients {sorted(unknown)}; known: {', '.join(CLIENTS)}")
    if FLOOR not in settings.clients:
        settings.clients.insert(0, FLOOR)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse(argv)
    start = time.monotonic()
    with servers() as urls:
        url = urls[settings.server]
        parts = settings.parts
        ceiling = measure_ceiling(settings, urls) if "ceiling" in parts else {}
        samples = measure_clients(settings, url, settings.clients) if "clients" in parts else {}
        other = "emulator" if settings.server == "lean" else "lean"
        second: dict[str, Samples] = {}
        if "server2" in parts:
            rows = [n for n in SECOND_SERVER_ROWS if n in settings.clients]
            second = measure_clients(settings, urls[other], rows)
        memory = measure_memory(settings, url) if "memory" in parts else {}
        payload_data = measure_payloads(settings, urls["lean"]) if "payloads" in parts else {}
    proxy_data: dict[str, Any] = {}
    if "proxy" in parts:
        proxy_data = proxy_bench.measure(
            settings.proxy_bursts, settings.proxy_streams, settings.proxy_chunks
        )
    imports = measure_imports(settings) if "imports" in parts else {}
    text = report(settings, samples, imports, ceiling, memory, second, payload_data, proxy_data)
    text += f"\nTotal benchmark time: {time.monotonic() - start:.0f} s.\n"
    notes = HERE / "NOTES.md"  # what stands in the way of the targets not met, by hand
    if notes.exists():
        text += "\n" + notes.read_text(encoding="utf-8")
    print(text)
    if settings.output:
        Path(settings.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
