"""One benchmark worker: a fresh process that measures one client, then prints one JSON line.

Run by benchmarks/run.py:  python benchmarks/worker.py KEY URL CALLS CHUNKS CONCURRENCY
                           python benchmarks/worker.py --import-only KEY
                           python benchmarks/worker.py --memory KEY URL CHUNKS
                           python benchmarks/worker.py --payloads KEY URL CALLS NAMES

The import is timed first, before this script imports anything but `sys` and `time`, so it
counts everything the client's import pulls in (asyncio, json, ...) over bare Python. Then:
warm-up; then, each after a full garbage collection (`clients.settle`), sequential whole calls
(each timed), a short warm-up stream and one long stream (time to first chunk, chunks per
second seen by the loop, user and kernel CPU seconds of the whole process, all threads), n
concurrent async calls on one fresh event loop (wall time); and the process's peak RSS.
`--memory` streams CHUNKS chunks once and reports how much the peak RSS grew. `--payloads`
sends each of the large payloads NAMES (benchmarks/payloads.py) CALLS times.
"""

import sys
import time

# What each client's user writes first; timed in a fresh process.
_LITELLM_OURS = "import litellm, litellm_azure_llama; litellm_azure_llama.register()"
IMPORTS: dict[str, str | tuple[str, str]] = {
    "raw-httpx": "import json, httpx",
    "raw-aiohttp": "import json, aiohttp",
    "langchain-core-floor": "from langchain_core.language_models import BaseChatModel",
    "litellm-floor": "import litellm",
    "transport": "import azure_llama_transport",
    "chat-azure-llama": "from langchain_azure_llama import ChatAzureLlama",
    "chat-azure-llama-prompted": "from langchain_azure_llama import ChatAzureLlama",
    "litellm-azure-llama": _LITELLM_OURS,
    "litellm-azure-llama-tuned": _LITELLM_OURS,
    "litellm-azure-ai": "import litellm",
    "chat-openai": "from langchain_openai import ChatOpenAI",
    "langchain-azure-ai": (
        "from langchain_azure_ai.chat_models.inference import AzureAIChatCompletionsModel"
    ),
    "azure-ai-inference": (
        "from azure.ai.inference import ChatCompletionsClient\n"
        "from azure.ai.inference.aio import ChatCompletionsClient as A"
    ),
    # import-only rows: what the import targets are measured against
    "bare python": "pass",
    "httpx": "import httpx",
    "langchain-core (BaseChatModel)": "from langchain_core.language_models import BaseChatModel",
    "import langchain_azure_llama": "import langchain_azure_llama",
    # (untimed setup, timed statement): our own cost once langchain-core is loaded
    "ChatAzureLlama after langchain-core": (
        "from langchain_core.language_models import BaseChatModel",
        "from langchain_azure_llama import ChatAzureLlama",
    ),
    "transport after httpx": ("import httpx", "import azure_llama_transport"),
}


def _timed_import(key: str) -> float:
    import warnings  # already loaded by the interpreter: free

    statement = IMPORTS[key]
    setup, timed = statement if isinstance(statement, tuple) else ("pass", statement)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecations some peers print on import
        exec(setup, {})
        start = time.perf_counter()
        exec(timed, {})
        return time.perf_counter() - start


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _import_only(key: str) -> dict[str, object]:
    seconds = _timed_import(key)
    return {"import_s": seconds, "litellm_loaded": "litellm" in sys.modules}


def _cpu() -> tuple[float, float]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _client(key: str, url: str):
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # peers' one-off warnings (tokenizer fallbacks) are noise
    from clients import CLIENTS

    client = CLIENTS[key](url)
    client.load()
    client.setup()
    return client


def _memory(key: str, url: str, chunks: int) -> dict[str, object]:
    """Peak RSS growth over one long stream, after a short one has paid the one-off costs."""
    import_s = _timed_import(key)
    client = _client(key, url)
    client.timed_stream(1_000)
    before = _peak_rss_mb()
    _, stream_s, seen = client.timed_stream(chunks)
    return {
        "import_s": import_s,
        "rss_growth_mb": _peak_rss_mb() - before,
        "chunks_seen": seen,
        "stream_s": stream_s,
        "litellm_loaded": "litellm" in sys.modules,
    }


def _measure(key: str, url: str, calls: int, chunks: int, concurrency: int) -> dict[str, object]:
    try:
        import_s = _timed_import(key)
    except ImportError as exc:
        return {"missing": f"{type(exc).__name__}: {exc}"}
    client = _client(key, url)
    from clients import settle

    client.sequential(max(5, calls // 10))  # warm-up: connections, lazy imports, caches
    settle()
    call_s = client.sequential(calls)
    client.timed_stream(50)
    settle()
    user, kernel = _cpu()
    first_s, stream_s, seen = client.timed_stream(chunks)
    user_after, kernel_after = _cpu()
    wall_s = client.concurrent(concurrency)
    return {
        "import_s": import_s,
        "call_s": call_s,
        "first_chunk_s": first_s,
        "stream_s": stream_s,
        "chunks_seen": seen,
        "stream_user_s": user_after - user,
        "stream_sys_s": kernel_after - kernel,
        "concurrent_s": wall_s,
        "peak_rss_mb": _peak_rss_mb(),
        "litellm_loaded": "litellm" in sys.modules,
    }


def main() -> None:
    if sys.argv[1] == "--import-only":
        result = _import_only(sys.argv[2])
    elif sys.argv[1] == "--payloads":
        from payloads import measure_payloads

        _timed_import(sys.argv[2])
        client = _client(sys.argv[2], sys.argv[3])
        result = measure_payloads(client, sys.argv[3], int(sys.argv[4]), sys.argv[5].split(","))
    elif sys.argv[1] == "--memory":
        result = _memory(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        key, url, calls, chunks, concurrency = sys.argv[1:6]
        result = _measure(key, url, int(calls), int(chunks), int(concurrency))
    import json

    print(json.dumps(result))


if __name__ == "__main__":
    main()
