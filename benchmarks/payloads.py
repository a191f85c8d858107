"""Today's payloads (issue 25): a 4 MB prompt, a 5 MB image, an agent's history of N turns.

Llama 4 Maverick takes 1M tokens (about 4 MB of text in one request); Llama 4 takes images (a
photo as a data URL is 1-7 MB of base64); a LangGraph / `create_agent` loop resends its whole
history every turn. Each client sends each payload in a fresh worker process
(`worker.py --payloads`), `calls` times (a history 4 x `calls` times); per call:

* to last byte: from the call to the moment the server holds the whole request body (the lean
  server notes `time.monotonic()`, a clock all processes share, and answers it at
  `GET /bench/last`, asked after the call, untimed);
* to answer: from the call to its return;
* CPU: the process's user + kernel seconds over the call, and over the work the call left to
  background threads (LiteLLM's logging thread copies and scans the messages after the call
  returns: 1-5 ms on these payloads), counted until the process is idle again (at most 50 ms,
  untimed for the wall clock; an idle process's cost of that wait is taken off). Without it, a
  client's background work landed in the next call's window when that call waited on the socket
  and in none when it did not (the no-I/O floors), which made the floors look cheaper;
* peak RSS growth: the process's peak resident set (reset through `/proc/self/clear_refs`
  before the first call) over what it was before it, divided by the body's size.

The payload is built before anything is measured, in the form the client's user holds it
(LangChain messages for the LangChain models, OpenAI dicts for the others). The floor is raw
httpx + `json.dumps` of the same body (the dumps inside the call). History turns are an
assistant message with one tool call and its tool result (about 1.5 KB of JSON text), after a
system prompt and the user's question: turn N sends 2 + 2N messages. The per-message cost is
the CPU the client spends over the floor's, divided by the messages sent: constant across
50/100/200 turns when the conversion is linear in the history.

The two frameworks' own floors run the same payloads with no I/O: langchain-core (a
`BaseChatModel` answering from memory, invoked with the same LangChain messages) and LiteLLM (a
custom provider answering from memory, called through `litellm.completion` with the same
messages); nothing reaches the server, so they have no time to last byte. They show what the
framework itself costs per call on that payload, whoever the provider is. "Our share" (the
targets' diagnostic rows for `ChatAzureLlama` and LiteLLM `azure_llama/`) is the client's CPU
minus its framework's no-I/O floor CPU (medians, same payload, same run), over raw httpx +
`json.dumps`'s CPU: what our conversion, Llama protocol, request build, HTTP exchange and answer
conversion cost, against a bare client doing the exchange. It assumes the framework's own
work is the same whichever provider answers (LiteLLM prices and logs our answer as it does the
floor's); it is not the issue's target, which is judged on the whole client, unchanged.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

MODEL = "Llama-4-Maverick-17B-128E-Instruct-FP8"  # takes images, and 1M tokens of context
TEXT_BYTES = 4_000_000
IMAGE_BYTES = 5_000_000
HISTORY_TURNS = (50, 100, 200)
PAYLOADS = ("text-4mb", "image-5mb", *(f"history-{n}" for n in HISTORY_TURNS))
LABELS = {
    "text-4mb": "(a) 4 MB user message",
    "image-5mb": "(b) 5 MB image data URL",
    **{f"history-{n}": f"(c) agent turn {n}" for n in HISTORY_TURNS},
}
CLIENTS = (
    "raw-httpx",
    "langchain-core-floor",
    "litellm-floor",
    "transport",
    "chat-azure-llama",
    "litellm-azure-llama",
    "litellm-azure-ai",
    "chat-openai",
    "langchain-azure-ai",
    "azure-ai-inference",
)
FLOOR = "raw-httpx"
OURS = ("transport", "chat-azure-llama", "litellm-azure-llama")
# Each front end's framework, as its no-I/O floor (see "our share" above).
FRAMEWORK_FLOORS = {
    "chat-azure-llama": ("langchain-core-floor", "langchain-core"),
    "litellm-azure-llama": ("litellm-floor", "LiteLLM"),
}
SMALL = [{"role": "user", "content": "Hello there"}]

_PARAGRAPH = (
    'The quarterly report (section 4.2) says: "revenue grew 12% year over year", while the '
    "appendix lists every region's figures in a table\twith tabs, slashes / and backslashes \\ "
    "that JSON must escape.\n"
)


def text_messages(size: int = TEXT_BYTES) -> list[dict[str, Any]]:
    text = (_PARAGRAPH * (size // len(_PARAGRAPH) + 1))[:size]
    return [
        {"role": "system", "content": "You answer questions about the document."},
        {"role": "user", "content": f"Summarise this document.\n\n{text}"},
    ]


def image_messages(size: int = IMAGE_BYTES) -> list[dict[str, Any]]:
    import base64

    prefix = "data:image/jpeg;base64,"
    raw = random.Random(25).randbytes((size - len(prefix)) * 3 // 4)
    url = prefix + base64.b64encode(raw).decode("ascii")
    image = {"type": "image_url", "image_url": {"url": url}}
    return [{"role": "user", "content": [{"type": "text", "text": "What is in it?"}, image]}]


def history_messages(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a research agent. Use the tools, then answer."},
        {"role": "user", "content": "Find every paper on sparse attention since 2019."},
    ]
    for i in range(turns):
        arguments = json.dumps({"query": f"sparse attention page {i}", "page": i, "limit": 10})
        function = {"name": "search_papers", "arguments": arguments}
        call = {"id": f"call_{i:04d}", "type": "function", "function": function}
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        hits = [
            {"title": f"Paper {i}-{j} on sparse attention", "year": 2019 + j % 6, "cites": j * 7}
            for j in range(16)
        ]
        messages.append(
            {"role": "tool", "tool_call_id": call["id"], "content": json.dumps({"hits": hits})}
        )
    return messages


def build(name: str) -> list[dict[str, Any]]:
    if name == "text-4mb":
        return text_messages()
    if name == "image-5mb":
        return image_messages()
    return history_messages(int(name.rsplit("-", 1)[1]))


def body_size(messages: list[dict[str, Any]]) -> int:
    return len(json.dumps({"messages": messages, "model": MODEL}).encode())


# -- in the worker -------------------------------------------------------------------------------


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:  # "5": reset the peak RSS (Linux >= 4.0)
            f.write("5")
        return True
    except OSError:
        return False


def _status_kb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return float(line.split()[1])
    return float("nan")


def _server_last(url: str) -> float:
    with urllib.request.urlopen(f"{url}/bench/last", timeout=10) as r:
        return float(r.read())


def measure_payloads(client: Any, url: str, calls: int, names: Sequence[str]) -> dict[str, Any]:
    """Run in a worker: every payload `calls` times; one dict of samples per payload."""
    try:
        warm = client.prepare(SMALL, MODEL)
    except NotImplementedError:
        return {"missing": "this client cannot send arbitrary messages"}
    for _ in range(3):
        warm()
    out: dict[str, Any] = {}
    for name in names:
        messages = build(name)
        size = body_size(messages)
        n = calls if size > 1_000_000 else 4 * calls  # histories are cheap: more samples
        sends = getattr(client, "sends", True)  # a no-I/O floor has no last byte
        out[name] = _one(client.prepare(messages, MODEL), url, n, size, len(messages), sends)
        del messages
        gc.collect()
    return {"payloads": out}


_DRAIN_S = 0.05  # the longest a call's background work is waited for
_TICK_S = 0.001
_IDLE_CPU_S = 0.0001  # less CPU than this over a tick: the process is idle


def _drain() -> float:
    """The process CPU clock once background threads have finished (see the module docstring)."""
    end = time.monotonic() + _DRAIN_S
    last = time.process_time()
    while time.monotonic() < end:
        time.sleep(_TICK_S)
        now = time.process_time()
        if now - last < _IDLE_CPU_S:
            return now
        last = now
    return last


def _idle_drain_cpu() -> float:
    """What `_drain` costs a process with nothing in the background (taken off every call)."""
    costs = []
    for _ in range(20):
        c0 = time.process_time()
        costs.append(_drain() - c0)
    return statistics.median(costs)


def _one(
    call: Callable[[], Any], url: str, calls: int, size: int, count: int, sends: bool = True
) -> dict[str, Any]:
    gc.collect()
    if not _reset_peak():
        return {"error": "cannot reset the peak RSS (/proc/self/clear_refs)"}
    idle = _idle_drain_cpu()
    before = _status_kb("VmRSS:")
    last_byte, answer, cpu = [], [], []
    for _ in range(calls):
        c0, t0 = time.process_time(), time.monotonic()
        call()
        t1 = time.monotonic()
        c1 = _drain() - idle
        if sends:
            last_byte.append(_server_last(url) - t0)
        answer.append(t1 - t0)
        cpu.append(c1 - c0)
    growth = (_status_kb("VmHWM:") - before) * 1024
    return {
        "body_bytes": size,
        "messages": count,
        "last_byte_s": last_byte,
        "answer_s": answer,
        "cpu_s": cpu,
        "rss_growth_bytes": growth,
    }


# -- in run.py ---------------------------------------------------------------------------------


def merge(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per client, per payload: samples of every round pooled; growth: its worst round."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for client, rounds in results.items():
        merged: dict[str, dict[str, Any]] = {}
        for result in rounds:
            for name, p in result.get("payloads", {}).items():
                m = merged.setdefault(
                    name,
                    {"body_bytes": p["body_bytes"], "messages": p["messages"], "last_byte_s": [],
                     "answer_s": [], "cpu_s": [], "growth": []},
                )  # fmt: skip
                for key in ("last_byte_s", "answer_s", "cpu_s"):
                    m[key].extend(p[key])
                m["growth"].append(p["rss_growth_bytes"])
        why = next((r.get("missing") or r.get("error") for r in rounds if "payloads" not in r), "")
        out[client] = merged or {"": {"why": why or "no result"}}
    return out


def _med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def tables(data: dict[str, dict[str, dict[str, Any]]], names_of: dict[str, str]) -> list[str]:
    floor = data.get(FLOOR, {})
    lines: list[str] = []
    for name in PAYLOADS:
        base = floor.get(name)
        if base is None or "answer_s" not in base:
            continue
        mb = base["body_bytes"] / 1e6
        lines += [
            f"**{LABELS[name]}**: body {mb:,.2f} MB, {base['messages']} messages",
            "",
            "| client | to last byte (ms) | to answer (ms) | answer ratio | CPU (ms) | CPU ratio "
            "| peak RSS growth (MB) | growth / body |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        b_answer, b_cpu = _med(base["answer_s"]), _med(base["cpu_s"])
        for client, payloads in data.items():
            p = payloads.get(name)
            label = names_of.get(client, client)
            if p is None or "answer_s" not in p:
                why = next(iter(payloads.values()), {}).get("why", "no result")
                lines.append(f"| {label} | not measured: {why} |" + " |" * 6)
                continue
            answer, cpu, growth = _med(p["answer_s"]), _med(p["cpu_s"]), max(p["growth"])
            last = _med(p["last_byte_s"]) * 1e3
            last_cell = "no I/O" if last != last else f"{last:,.1f}"
            lines.append(
                f"| {label} | {last_cell} | {answer * 1e3:,.1f} | "
                f"{answer / b_answer:.2f}x | {cpu * 1e3:,.1f} | {cpu / b_cpu:.2f}x | "
                f"{growth / 1e6:,.1f} | {growth / p['body_bytes']:.2f}x |"
            )
        lines.append("")
    return lines + per_message_table(data, names_of)


def per_message_table(
    data: dict[str, dict[str, dict[str, Any]]], names_of: dict[str, str]
) -> list[str]:
    """The CPU a client adds over the floor, per message sent, at each history length."""
    floor = data.get(FLOOR, {})
    heads = [f"history-{n}" for n in HISTORY_TURNS]
    if not all(h in floor and "cpu_s" in floor[h] for h in heads):
        return []
    lines = [
        "**(c) per-message cost**: CPU over raw httpx + json.dumps, per message sent (µs); "
        "linear conversion keeps it flat as the history grows",
        "",
        "| client | " + " | ".join(f"turn {n}" for n in HISTORY_TURNS) + " | turn 200 / turn 50 |",
        "|---|" + "---:|" * (len(HISTORY_TURNS) + 1),
    ]
    for client, payloads in data.items():
        if client == FLOOR or not all(h in payloads and "cpu_s" in payloads[h] for h in heads):
            continue
        costs = [per_message(payloads[h], floor[h]) for h in heads]
        cells = " | ".join(f"{c:,.1f}" for c in costs)
        lines.append(f"| {names_of.get(client, client)} | {cells} | {costs[-1] / costs[0]:.2f}x |")
    return [*lines, ""]


def per_message(p: dict[str, Any], floor: dict[str, Any]) -> float:
    return (_med(p["cpu_s"]) - _med(floor["cpu_s"])) / p["messages"] * 1e6


def targets(t: Any, data: dict[str, dict[str, dict[str, Any]]], names_of: dict[str, str]) -> None:
    """(a)-(c) within 1.2x the floor's time to answer, growth <= 3x the body, per-message cost
    flat (turn 200 within 1.5x of turn 50: a history^2 step would make it 4x)."""
    floor = data.get(FLOOR, {})
    for client in OURS:
        payloads = data.get(client, {})
        for name in PAYLOADS:
            p, base = payloads.get(name), floor.get(name)
            if not p or not base or "answer_s" not in p or "answer_s" not in base:
                continue
            ratio = _med(p["answer_s"]) / _med(base["answer_s"])
            growth = max(p["growth"]) / p["body_bytes"]
            t.add(
                f"{names_of[client]} {LABELS[name]} ≤ 1.2x raw httpx + json.dumps; RSS ≤ 3x body",
                f"{ratio:.2f}x (CPU {_med(p['cpu_s']) / _med(base['cpu_s']):.2f}x); "
                f"growth {growth:.2f}x body",
                ratio <= 1.2 and growth <= 3,
            )
        if client in FRAMEWORK_FLOORS:
            our_share(t, data, client, names_of)
        heads = [f"history-{n}" for n in HISTORY_TURNS]
        if all(h in payloads and "cpu_s" in payloads[h] and h in floor for h in heads):
            costs = [per_message(payloads[h], floor[h]) for h in heads]
            t.add(
                f"{names_of[client]} per-message cost linear (turn 200 ≤ 1.5x turn 50)",
                " / ".join(f"{c:,.1f}" for c in costs) + f" µs; {costs[-1] / costs[0]:.2f}x",
                costs[-1] <= 1.5 * max(costs[0], 1.0),
            )


def our_share(
    t: Any, data: dict[str, dict[str, dict[str, Any]]], client: str, names_of: dict[str, str]
) -> None:
    """Diagnostic rows: the client's CPU over its framework's no-I/O floor, against raw httpx +
    json.dumps (see the module docstring), with the floor's own CPU and RSS growth."""
    key, framework = FRAMEWORK_FLOORS[client]
    raw, ours, fw = data.get(FLOOR, {}), data.get(client, {}), data.get(key, {})
    for name in PAYLOADS:
        p, base, f = ours.get(name), raw.get(name), fw.get(name)
        if not (p and base and f and all("cpu_s" in x for x in (p, base, f))):
            continue
        cpu, b_cpu, f_cpu = _med(p["cpu_s"]), _med(base["cpu_s"]), _med(f["cpu_s"])
        share = (cpu - f_cpu) / b_cpu
        f_growth = max(f["growth"]) / p["body_bytes"]
        t.add(
            f"{names_of[client]} {LABELS[name]}: our share, CPU over {framework}'s no-I/O floor "
            "≤ 1.2x raw httpx + json.dumps's (diagnostic)",
            f"{share:.2f}x (({cpu * 1e3:,.2f} - {f_cpu * 1e3:,.2f}) / {b_cpu * 1e3:,.2f} ms; "
            f"the floor alone {f_cpu / b_cpu:.2f}x, growth {f_growth:.2f}x body)",
            share <= 1.2,
        )
