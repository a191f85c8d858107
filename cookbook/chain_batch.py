"""A chain (prompt | ChatAzureLlama | parser) run with `batch` over 20 inputs, within quota.

Shows: LangChain's `InMemoryRateLimiter` set to a serverless deployment's quota (1,000
requests per minute), `batch` with `max_concurrency`, results in input order, and progress
on stderr: a bar redrawn in place on a terminal, plain lines when stderr is a file or pipe.

Run:  make install && .venv/bin/python cookbook/chain_batch.py
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers, enforcing the same 1,000 requests/min.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from _target import target  # cookbook/ is on sys.path when a recipe runs as a script
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_azure_llama import ChatAzureLlama

REQUESTS_PER_MINUTE = 1000  # Azure's quota per serverless deployment
TOPICS = [
    "Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune", "Pluto",
    "Ceres", "Moon", "Io", "Europa", "Ganymede", "Callisto", "Titan", "Enceladus", "Triton",
    "Charon", "Eris",
]  # fmt: skip


class Progress(BaseCallbackHandler):
    """Counts finished model calls and draws them on stderr (batch runs them on threads)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self._lock = total, 0, threading.Lock()
        self._live = sys.stderr.isatty()

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        with self._lock:
            self.done += 1
            if self._live:
                filled = 30 * self.done // self.total
                bar = "#" * filled + "." * (30 - filled)
                end = "\n" if self.done == self.total else ""
                print(f"\r[{bar}] {self.done}/{self.total}", end=end, file=sys.stderr, flush=True)
            elif self.done % 5 == 0 or self.done == self.total:
                print(f"progress: {self.done}/{self.total}", file=sys.stderr, flush=True)


def main() -> None:
    with target(rpm_limit=REQUESTS_PER_MINUTE) as t:
        print(f"Talking to {t.describe()}\n")
        limiter = InMemoryRateLimiter(
            requests_per_second=REQUESTS_PER_MINUTE / 60,  # 16.7 requests/s
            check_every_n_seconds=0.01,
            max_bucket_size=10,  # short bursts of up to 10, never above the per-minute rate
        )
        llm = ChatAzureLlama(
            model=t.model, endpoint=t.endpoint, api_key=t.api_key, rate_limiter=limiter
        )
        prompt = ChatPromptTemplate.from_messages(
            [("system", "Answer in one short sentence."), ("user", "One fact about {topic}.")]
        )
        chain = prompt | llm | StrOutputParser()
        progress = Progress(len(TOPICS))
        answers = chain.batch(
            [{"topic": topic} for topic in TOPICS],
            config={"max_concurrency": 8, "callbacks": [progress]},
        )
        for topic, answer in zip(TOPICS, answers, strict=True):
            print(f"{topic:>9}: {answer}")
        print(f"\n{len(answers)} answers, in input order")


if __name__ == "__main__":
    main()
