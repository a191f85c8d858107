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
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import CLIENTS, KEY  # noqa: E402

WORKER = str(HERE / "worker.py")
FLOOR = "raw-httpx"
IMPORT_ROWS = (
    "bare python",
    "langchain-core (BaseChatModel)",
    "transport",
    "import langchain_azure_llama",
    "chat-azure-llama",
    "ChatAzureLlama after langchain-core",
    "litellm-azure-ai",
)
LANGCHAIN_PEERS = ("chat-openai", "langchain-azure-ai")


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


@dataclass
class Samples:
    """Everything one client produced over the rounds."""

    missing: str | None = None
    errors: list[str] = field(default_factory=list)
    import_s: list[float] = field(default_factory=list)
    call_s: list[float] = field(default_factory=list)
    first_chunk_s: list[float] = field(default_factory=list)
    chunks_per_s: list[float] = field(default_factory=list)
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
            "langchain_azure_llama.emulator",
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


# -- report -----------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def _ratio(value: float, base: float) -> str:
    return "n/a" if value != value or not base or base != base else f"{value / base:.2f}x"


def client_table(samples: dict[str, Samples], settings: Settings) -> list[str]:
    base = samples[FLOOR]
    b_call, b_rate, b_conc = med(base.call_s), med(base.chunks_per_s), med(base.concurrent_s)
    lines = [
        f"| client | import (ms) | call median (µs) | call p99 (µs) | call ratio | "
        f"stream (chunks/s) | stream ratio | first chunk (ms) | {settings.concurrency} async "
        "(ms) | async ratio | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in samples.items():
        label = CLIENTS[name].name
        if not s.ok:
            why = s.missing or (s.errors[-1] if s.errors else "no result")
            lines.append(f"| {label} | not measured: {why} |" + " |" * 10)
            continue
        call, rate, conc = med(s.call_s), med(s.chunks_per_s), med(s.concurrent_s)
        lines.append(
            f"| {label} | {_fmt(med(s.import_s) * 1e3)} | {_fmt(call * 1e6)} | "
            f"{_fmt(p99(s.call_s) * 1e6)} | {_ratio(call, b_call)} | {_fmt(rate)} | "
            f"{_ratio(rate, b_rate)} | {_fmt(med(s.first_chunk_s) * 1e3, 1)} | "
            f"{_fmt(conc * 1e3)} | {_ratio(conc, b_conc)} | {_fmt(med(s.peak_rss_mb), 1)} |"
        )
    return lines


def import_table(imports: dict[str, list[float]]) -> list[str]:
    labels = {
        "transport": "import langchain_azure_llama.transport",
        "chat-azure-llama": "from langchain_azure_llama import ChatAzureLlama",
        "litellm-azure-ai": "import litellm",
    }
    lines = ["| import (fresh process, over bare Python) | median (ms) |", "|---|---:|"]
    for name, values in imports.items():
        lines.append(f"| {labels.get(name, name)} | {_fmt(med(values) * 1e3)} |")
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


def targets(samples: dict[str, Samples], imports: dict[str, list[float]]) -> list[str]:
    def get(name: str) -> Samples | None:
        s = samples.get(name)
        return s if s is not None and s.ok else None

    lines: list[str] = []

    def line(ok: bool | None, text: str) -> None:
        mark = "n/a" if ok is None else ("met" if ok else "NOT met")
        lines.append(f"- {mark}: {text}")

    base, ours = get(FLOOR), get("chat-azure-llama")
    if base and ours:
        ratio = med(ours.call_s) / med(base.call_s)
        line(ratio <= 1.4, f"ChatAzureLlama call ≤ 1.4x raw httpx: {ratio:.2f}x")
        rate = med(ours.chunks_per_s)
        line(rate >= 12_000, f"ChatAzureLlama.stream ≥ 12,000 chunks/s: {rate:,.0f}/s")
        peers = [med(s.chunks_per_s) for n in LANGCHAIN_PEERS if (s := get(n))]
        if peers:
            best = max(peers)
            line(rate >= 2.5 * best, f"stream ≥ 2.5x fastest LangChain peer: {rate / best:.2f}x")
        conc = med(ours.concurrent_s) / med(base.concurrent_s)
        line(conc <= 0.2, f"ChatAzureLlama 200 async ≤ 0.2x raw httpx wall: {conc:.2f}x")
        line(not ours.litellm_loaded, "ChatAzureLlama never imports litellm")
    mine, builtin = get("litellm-azure-llama"), get("litellm-azure-ai")
    if mine and builtin:
        call = med(mine.call_s) / med(builtin.call_s)
        line(call <= 1.0, f'litellm "azure_llama/" call ≤ "azure_ai/": {call:.2f}x')
        rate = med(mine.chunks_per_s) / med(builtin.chunks_per_s)
        line(rate >= 1.0, f'litellm "azure_llama/" chunks/s ≥ "azure_ai/": {rate:.2f}x')
    if imports.get("transport"):
        ms = med(imports["transport"]) * 1e3
        line(ms <= 250, f"transport import ≤ 250 ms over bare Python: {ms:.0f} ms")
    after_core = imports.get("ChatAzureLlama after langchain-core")
    if after_core:
        extra = med(after_core) * 1e3
        line(
            extra <= 150,
            f"ChatAzureLlama import ≤ langchain-core's + 150 ms: +{extra:.0f} ms (timed in one "
            "process after langchain-core)",
        )
    if imports.get("import langchain_azure_llama"):
        ms = med(imports["import langchain_azure_llama"]) * 1e3
        line(ms <= 150, f"`import langchain_azure_llama` alone (lazy root): {ms:.0f} ms")
    return lines


def report(
    settings: Settings,
    samples: dict[str, Samples],
    imports: dict[str, list[float]],
    ceiling: dict[str, dict[str, Samples]],
) -> str:
    out = [
        f"## Clients ({settings.server} server; {settings.rounds} rounds; {settings.calls} "
        f"sequential calls, a {settings.chunks:,}-chunk stream and {settings.concurrency} "
        "concurrent async calls per round)",
        "",
        "Medians over rounds. Ratios are to raw httpx in the same run: for times (call, "
        "async) lower is better, for chunks/s higher is better. Async: one event loop, after "
        "10 warm-up calls on it.",
        "",
        *client_table(samples, settings),
        "",
        "## Imports",
        "",
        *import_table(imports),
        "",
        "## Server ceiling (the floors against each server)",
        "",
        *ceiling_table(ceiling, settings),
        "",
        "## Targets (issue #8)",
        "",
        *targets(samples, imports),
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
        ceiling = measure_ceiling(settings, urls)
        samples = measure_clients(settings, urls[settings.server], settings.clients)
    imports = measure_imports(settings)
    text = report(settings, samples, imports, ceiling)
    text += f"\nTotal benchmark time: {time.monotonic() - start:.0f} s.\n"
    print(text)
    if settings.output:
        Path(settings.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
