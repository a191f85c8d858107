"""The hot paths in two source trees, same run, same servers, interleaved.

Run:  .venv/bin/python benchmarks/compare_trees.py BEFORE_TREE AFTER_TREE [--rounds 5]
          [--probes hot,history,chunks,litellm]
      (e.g. `git worktree add --detach /tmp/base <commit>` and compare it with `.`)

Each probe runs in a fresh process with PYTHONPATH set to one tree, CPU time (process time, so
a noisy machine's waiting is not counted), medians over rounds and after/before ratios:

* hot: a sync and an async stream of the transport (µs per chunk), a ChatAzureLlama stream, and
  sequential whole calls of the transport and of ChatAzureLlama (lean server);
* history: one call at turn 200 of an agent's history (benchmarks/payloads.py, 402 messages)
  from raw httpx + json.dumps, ChatAzureLlama and the transport's request build alone, and the
  ChatAzureLlama / floor ratio within the process (lean server);
* chunks: per Azure-shaped chunk (`id`/`created`/`model`/`logprobs: null`), the transport's
  event parse (`_StreamState.feed`) and ChatAzureLlama's chunk conversion, no I/O;
* litellm: `litellm.completion(stream=True)` CPU µs per chunk, `azure_llama/` and `azure_ai/`,
  on the emulator (issue 25's 1.3x target) and the lean server, and a call at turn 200.
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
from layout import transport
AsyncAzureLlamaClient = transport().AsyncAzureLlamaClient
AzureLlamaClient = transport().AzureLlamaClient
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

_HISTORY = r"""
import json, sys, time, logging
sys.path.insert(0, sys.argv[3])
logging.disable(logging.WARNING)
import payloads
from worker import _client
url, turns = sys.argv[1], int(sys.argv[2])
wire = payloads.history_messages(turns)
out = {}

def cpu(call, k=60):
    for _ in range(10):
        call()
    best = []
    for _ in range(3):
        c = time.process_time()
        for _ in range(k):
            call()
        best.append((time.process_time() - c) / k * 1e6)
    return min(best)

floor = cpu(_client("raw-httpx", url).prepare(wire, payloads.MODEL))
out[f"raw httpx + json.dumps, turn {turns} (CPU µs/call)"] = floor
ours = cpu(_client("chat-azure-llama", url).prepare(wire, payloads.MODEL))
out[f"ChatAzureLlama, turn {turns} (CPU µs/call)"] = ours
out[f"ChatAzureLlama / floor, turn {turns} (x)"] = ours / floor
from langchain_core.messages import convert_to_messages
from langchain_azure_llama._convert import messages_to_wire
from layout import transport
ChatRequest, plan_chat = transport().ChatRequest, transport().plan_chat
build_chat_request = transport("._request").build_chat_request
lc = list(convert_to_messages(wire))
params = {"model": payloads.MODEL}
out[f"messages_to_wire, turn {turns} (µs)"] = cpu(lambda: messages_to_wire(lc), 200)
def build():
    plan = plan_chat(ChatRequest(messages=messages_to_wire(lc), params=params))
    return build_chat_request(plan.messages, plan.params)
out[f"conversion + Llama plan + request build, turn {turns} (µs)"] = cpu(build, 200)
print(json.dumps(out))
"""

_CHUNKS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from layout import transport
_StreamState = transport("._streaming")._StreamState
from langchain_azure_llama._convert import ChunkConverter
n = int(sys.argv[2])

def event(token):
    chunk = {
        "choices": [{"delta": {"content": token}, "finish_reason": None, "index": 0,
                     "logprobs": None}],
        "created": 1700000000, "id": "0123456789abcdef0123456789abcdef",
        "model": "Meta-Llama-3.1-8B-Instruct", "object": "chat.completion.chunk",
    }
    return json.dumps(chunk, separators=(",", ":"))

events = [event(f" tok{i}") for i in range(n)]
out = {}

def per_chunk(run):
    best = []
    for _ in range(3):
        c = time.process_time()
        run()
        best.append((time.process_time() - c) / n * 1e6)
    return min(best)

def feed_all():
    state = _StreamState("bench", {}, 10_000, "chat")
    state.on_model = lambda model: None
    return [state.feed(e) for e in events]

out["_StreamState.feed, Azure chunk (µs)"] = per_chunk(feed_all)
chunks = feed_all()
def convert_all():
    convert = ChunkConverter("m").convert
    for chunk in chunks:
        convert(chunk)
out["ChunkConverter.convert, Azure chunk (µs)"] = per_chunk(convert_all)
print(json.dumps(out))
"""

_LITELLM = r"""
import json, sys, time, logging
sys.path.insert(0, sys.argv[4])
logging.disable(logging.WARNING)
import payloads
from worker import _client
lean, emulator, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {}

def per_chunk(client):
    for _ in range(3):
        sum(1 for _ in client.stream(200))
    best = []
    for _ in range(3):
        c = time.process_time()
        seen = sum(1 for _ in client.stream(n))
        best.append((time.process_time() - c) / seen * 1e6)
    return min(best)

for server, url in (("emulator", emulator), ("lean", lean)):
    rates = {}
    for key, label in (("litellm-azure-llama", "azure_llama/"), ("litellm-azure-ai", "azure_ai/")):
        rates[label] = per_chunk(_client(key, url))
        out[f"litellm {label} stream on {server} (CPU µs/chunk)"] = rates[label]
    out[f"litellm azure_ai/ / azure_llama/ on {server} (x)"] = (
        rates["azure_ai/"] / rates["azure_llama/"]
    )
wire = payloads.history_messages(200)
call = _client("litellm-azure-llama", lean).prepare(wire, payloads.MODEL)
for _ in range(10):
    call()
best = []
for _ in range(3):
    c = time.process_time()
    for _ in range(30):
        call()
    best.append((time.process_time() - c) / 30 * 1e6)
out["litellm azure_llama/ turn 200 (CPU µs/call)"] = min(best)
print(json.dumps(out))
"""


def probe(tree: str, name: str, urls: dict[str, str], chunks: int) -> dict[str, float]:
    tree = str(Path(tree).resolve())
    env = {**os.environ, "PYTHONPATH": tree, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    args = {
        "hot": [_PROBE, urls["lean"], str(chunks), str(HERE)],
        "history": [_HISTORY, urls["lean"], "200", str(HERE)],
        "chunks": [_CHUNKS, "", str(max(chunks, 20_000)), str(HERE)],
        "litellm": [_LITELLM, urls["lean"], urls["emulator"], "2000", str(HERE)],
    }[name]
    # `python -c` puts the working directory first on sys.path: run in the tree itself.
    done = subprocess.run(
        [sys.executable, "-c", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"probe {name} failed in {tree}:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument(
        "--probes", default="hot", help="comma-separated: hot,history,chunks,litellm"
    )
    args = parser.parse_args()
    probes = [p for p in args.probes.split(",") if p]
    trees = {"before": args.before, "after": args.after}
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    with servers() as urls:
        for r in range(args.rounds):
            for name in list(trees)[:: 1 if r % 2 == 0 else -1]:
                for which in probes:
                    for key, value in probe(trees[name], which, urls, args.chunks).items():
                        samples[name].setdefault(key, []).append(value)
                print(f"  [round {r + 1}/{args.rounds}] {name}", file=sys.stderr, flush=True)
    print(f"| measurement (median of {args.rounds}) | before | after | after/before |")
    print("|---|---:|---:|---:|")
    for key in samples["before"]:
        before = statistics.median(samples["before"][key])
        after = statistics.median(samples["after"][key])
        digits = 2 if key.endswith("(x)") else 1
        print(f"| {key} | {before:,.{digits}f} | {after:,.{digits}f} | {after / before:.2f}x |")


if __name__ == "__main__":
    main()
