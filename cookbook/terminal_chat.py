"""A terminal chat: answers stream in as they are written; tokens and cost after each turn.

Shows: `ChatAzureLlama.stream` over a growing history (the model sees the whole conversation),
`usage_metadata` from the stream, and the cost from the serverless per-token prices that
`litellm_azure_llama.MODELS` records with their sources (importing it does not import LiteLLM).
Type a message and press Enter; `/quit` or Ctrl-D ends. Lines can be piped in too:
    printf 'Hello\\nWhat did I just say?\\n' | .venv/bin/python cookbook/terminal_chat.py

Run:  make install && .venv/bin/python cookbook/terminal_chat.py
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers (it echoes your words, streamed at a readable pace).
"""

from __future__ import annotations

import contextlib
import sys

from _target import target  # cookbook/ is on sys.path when a recipe runs as a script
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)

from langchain_azure_llama import ChatAzureLlama
from litellm_azure_llama import MODELS

PRICES = {m.name: m for m in MODELS if m.input_cost_per_token is not None}


def cost_of(model: str, tokens_in: int, tokens_out: int) -> float | None:
    facts = PRICES.get(model)
    if facts is None or facts.output_cost_per_token is None:
        return None  # no public per-token price (or managed compute: billed per VM hour)
    return tokens_in * (facts.input_cost_per_token or 0) + tokens_out * facts.output_cost_per_token


def read_line(interactive: bool) -> str | None:
    try:
        line = input("you> " if interactive else "")
    except EOFError:
        return None
    if not interactive and line.strip():
        print(f"you> {line}")  # echo piped input so the transcript reads like a chat
    return None if line.strip() == "/quit" else line


def main() -> None:
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (arrow keys and history in input(), where available)
    with target(chunk_delay=0.02) as t:
        print(f"Chatting with {t.describe()}. /quit or Ctrl-D to leave.\n")
        llm = ChatAzureLlama(model=t.model, endpoint=t.endpoint, api_key=t.api_key)
        history: list[BaseMessage] = [SystemMessage("You are a concise, friendly assistant.")]
        total = 0.0
        while (line := read_line(interactive)) is not None:
            if not line.strip():
                continue
            history.append(HumanMessage(line))
            print("llama> ", end="", flush=True)
            reply = AIMessageChunk(content="")
            for chunk in llm.stream(history):
                print(chunk.content, end="", flush=True)
                reply += chunk
            print()
            history.append(AIMessage(content=reply.content))
            usage = reply.usage_metadata or {"input_tokens": 0, "output_tokens": 0}
            tokens_in, tokens_out = usage["input_tokens"], usage["output_tokens"]
            cost = cost_of(t.model, tokens_in, tokens_out)
            total += cost or 0.0
            priced = f"${cost:.7f}, ${total:.7f} so far" if cost is not None else "no price"
            print(f"      [{tokens_in} in + {tokens_out} out tokens, {priced}]\n")
        print("bye")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
