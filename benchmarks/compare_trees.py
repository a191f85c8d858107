"""The transport's hot paths in two source trees, same run, same server, interleaved.

Run:  .venv/bin/python benchmarks/compare_trees.py BEFORE_TREE AFTER_TREE [--rounds 5]
      (e.g. `git worktree add /tmp/base <commit>` and compare it with `.`)

Each measurement runs in a fresh process with PYTHONPATH set to one tree: a sync and an async
stream of the transport (CPU µs per chunk: process time over chunks, so a noisy machine's
waiting is not counted), a ChatAzureLlama stream, and sequential whole calls of the transport
and of ChatAzureLlama. Prints medians and after/before ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import servers  # noqa: E402

_PROBE = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[3])
from clients import KEY, MESSAGES, MODEL, PROMPT, reply_headers
from langchain_azure_llama import ChatAzureLlama
from langchain_azure_llama.transport import AsyncAzureLlamaClient, AzureLlamaClient
url, n = sys.argv[1], int(sys.argv[2])
params = {"model": MODEL}
out = {}

def cpu(fn):
    fn(50)
    c, w = time.process_time(), time.perf_counter()
    seen = fn(n)
    c, w = time.process_time() - c, time.perf_counter() - w
    assert seen >= n, seen
    return c / seen * 1e6

client = AzureLlamaClient(url, api_key=KEY)
def sync_stream(k):
    with client.chat_stream(MESSAGES, params, headers=reply_headers(k)) as s:
        return sum(1 for _ in s)
out["transport stream (CPU µs/chunk)"] = cpu(sync_stream)

async def astream(k):
    aclient = AsyncAzureLlamaClient(url, api_key=KEY)
    s = await aclient.chat_stream(MESSAGES, params, headers=reply_headers(k))
    seen = 0
    async for _ in s:
        seen += 1
    await aclient.aclose()
    return seen
out["transport async stream (CPU µs/chunk)"] = cpu(lambda k: asyncio.run(astream(k)))

model = ChatAzureLlama(endpoint=url, api_key=KEY, model=MODEL)
out["ChatAzureLlama stream (CPU µs/chunk)"] = cpu(
    lambda k: sum(1 for _ in model.stream(PROMPT, headers=reply_headers(k)))
)

def calls(fn, k=300):
    for _ in range(30):
        fn()
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2] * 1e6
out["transport call (µs)"] = calls(lambda: client.chat(MESSAGES, params))
out["ChatAzureLlama invoke (µs)"] = calls(lambda: model.invoke(PROMPT))
print(json.dumps(out))
"""


def probe(tree: str, url: str, chunks: int) -> dict[str, float]:
    tree = str(Path(tree).resolve())
    env = {**os.environ, "PYTHONPATH": tree}
    # `python -c` puts the working directory first on sys.path: run in the tree itself.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, url, str(chunks), str(HERE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=300,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=20_000)
    args = parser.parse_args()
    trees = {"before": args.before, "after": args.after}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    with servers() as urls:
        for r in range(args.rounds):
            for name in list(trees)[:: 1 if r % 2 == 0 else -1]:
                for key, value in probe(trees[name], urls["lean"], args.chunks).items():
                    samples[name].setdefault(key, []).append(value)
                print(f"  [round {r + 1}/{args.rounds}] {name}", file=sys.stderr, flush=True)
    print(f"| measurement (median of {args.rounds}) | before | after | after/before |")
    print("|---|---:|---:|---:|")
    for key in samples["before"]:
        before = statistics.median(samples["before"][key])
        after = statistics.median(samples["after"][key])
        print(f"| {key} | {before:,.1f} | {after:,.1f} | {after / before:.2f}x |")


if __name__ == "__main__":
    main()
