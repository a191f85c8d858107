"""Quickstart: one chat and one streamed answer from Meta Llama on Azure AI, three ways.

The same question goes through the framework-free transport, a LangChain chain
(prompt | ChatAzureLlama | parser) and LiteLLM (`azure_llama/` provider), each whole and streamed.

Run:  make quickstart            (installs, then runs this file)
  or: python cookbook/quickstart.py

Offline by default: with no AZURE_INFERENCE_ENDPOINT set, it starts the built-in emulator on
loopback, serving Llama-3.3-70B-Instruct, and talks real HTTP to it. Set AZURE_INFERENCE_ENDPOINT,
AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL) to use your own deployment instead; the code is
the same. On a Foundry resource's OpenAI v1 route (https://<resource>.openai.azure.com/openai/v1),
AZURE_LLAMA_MODEL is your deployment's name; cookbook/llama4_foundry.py shows that route in full.
"""

from __future__ import annotations

import os

# Offline-safe LiteLLM: its bundled price map instead of a download at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no tokenizer download either

from _target import Target, target  # cookbook/ is on sys.path when a recipe runs as a script

from azure_llama_transport import AzureLlamaClient

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


def langchain_demo(t: Target) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_azure_llama import ChatAzureLlama

    print("\n== LangChain: prompt | ChatAzureLlama | parser ==")
    llm = ChatAzureLlama(
        model=t.model, endpoint=t.endpoint, api_key=t.api_key, temperature=0, max_tokens=64
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one sentence."), ("user", "{question}")]
    )
    chain = prompt | llm | StrOutputParser()
    print("chat   :", chain.invoke({"question": QUESTION}))
    print("stream : ", end="", flush=True)
    for piece in chain.stream({"question": QUESTION}):
        print(piece, end="", flush=True)
    print()
    message = llm.invoke(QUESTION)
    usage = message.usage_metadata
    if usage is not None:
        print(f"usage  : {usage['input_tokens']} in + {usage['output_tokens']} out tokens")


def litellm_demo(t: Target) -> None:
    import litellm

    import litellm_azure_llama

    print("\n== LiteLLM: litellm.completion(model='azure_llama/...') ==")
    litellm_azure_llama.register()
    if t.emulated:
        # Offline: LiteLLM would try to download a Llama tokenizer to count stream tokens.
        litellm.disable_hf_tokenizer_download = True
    kwargs = {
        "model": f"azure_llama/{t.model}",
        "messages": [{"role": "user", "content": QUESTION}],
        "api_base": t.endpoint,
        "api_key": t.api_key,
        "max_tokens": 64,
        "temperature": 0,
    }
    response = litellm.completion(**kwargs)
    print("chat   :", response.choices[0].message.content)
    print("stream : ", end="", flush=True)
    for chunk in litellm.completion(stream=True, stream_options={"include_usage": True}, **kwargs):
        if chunk.choices:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()
    cost = response._hidden_params.get("response_cost")
    print(
        f"usage  : {response.usage.prompt_tokens} prompt + "
        f"{response.usage.completion_tokens} completion tokens, cost ${cost or 0:.8f}"
    )


def main() -> None:
    with target() as t:
        print(f"Talking to {t.describe()}\n")
        transport_demo(t)
        langchain_demo(t)
        litellm_demo(t)


if __name__ == "__main__":
    main()
