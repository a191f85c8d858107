"""Quickstart: one chat and one streamed answer from Meta Llama on Azure AI.

Run:  make quickstart            (installs, then runs this file)
  or: python cookbook/quickstart.py

Offline by default: with no AZURE_INFERENCE_ENDPOINT set, it starts the built-in emulator of
the Azure AI Model Inference API on loopback and talks real HTTP to it. Set
AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL) to use your own
serverless deployment instead; the code is the same.
"""

from __future__ import annotations

from _target import Target, target  # cookbook/ is on sys.path when a recipe runs as a script

from langchain_azure_llama.transport import AzureLlamaClient

QUESTION = "In one sentence, what is the distance from the Earth to the Moon?"


def transport_demo(t: Target) -> None:
    print("== Shared transport (no framework) ==")
    with AzureLlamaClient(t.endpoint, api_key=t.api_key) as client:
        messages = [{"role": "user", "content": QUESTION}]
        answer = client.chat(messages, {"max_tokens": 64, "temperature": 0})
        print("chat   :", answer["choices"][0]["message"]["content"])
        print("stream : ", end="", flush=True)
        stream = client.chat_stream(messages, {"max_tokens": 64, "temperature": 0})
        for chunk in stream:
            for choice in chunk["choices"]:
                print(choice["delta"].get("content") or "", end="", flush=True)
        print()
        usage = stream.usage or {}
        print(
            f"usage  : {usage.get('prompt_tokens')} prompt + "
            f"{usage.get('completion_tokens')} completion tokens "
            f"(finish_reason={stream.finish_reason})"
        )


def main() -> None:
    with target() as t:
        print(f"Talking to {t.describe()}\n")
        transport_demo(t)


if __name__ == "__main__":
    main()
