"""Extra parameters: `model_extras` on the Model Inference API, and the Llama-native API.

Shows: the Model Inference API (`/chat/completions`) types only a dozen parameters and, by
default, answers 400 to any other key. `model_extras={...}` sends more (here vLLM's
`logprobs`) with the `extra-parameters: pass-through` header, which tells Azure to hand them to
the model. `api="llama"` uses the Llama-native API (`/v1/chat/completions`), where Llama's own
parameters (`n`, `best_of`, `use_beam_search`, `logprobs`, ...) are typed fields; their
documented rules are checked before anything is sent, so a broken combination fails at once
with a message saying what to change. (LiteLLM: `model_extras={...}` and
`azure_llama_api="llama"` do the same.)

Run:  make install && .venv/bin/python cookbook/extra_parameters.py
Azure: set AZURE_INFERENCE_ENDPOINT, AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL);
otherwise the built-in emulator answers (it accepts logprobs but computes none).
"""

from __future__ import annotations

from typing import Any

from _target import Target, target  # cookbook/ is on sys.path when a recipe runs as a script
from langchain_core.messages import HumanMessage

from azure_llama_transport import AzureLlamaClient, BadRequestError
from langchain_azure_llama import ChatAzureLlama, RequestValidationError

QUESTION = "Name three primary colours."
EXTRAS = {"logprobs": True, "top_logprobs": 2}


def model_extras(t: Target) -> None:
    print("== model_extras on /chat/completions ==")
    llm = ChatAzureLlama(model=t.model, endpoint=t.endpoint, api_key=t.api_key, max_tokens=32)
    # What goes on the wire, from the request builder that every front end shares:
    with AzureLlamaClient(t.endpoint, api_key=t.api_key) as client:
        wire = client.prepare_chat([{"role": "user", "content": QUESTION}], model_extras=EXTRAS)
        print("header   : extra-parameters:", wire.headers.get("extra-parameters"))
        print("body     :", (wire.content or b"").decode())
    answer = llm.invoke(QUESTION, model_extras=EXTRAS)
    print("answer   :", answer.content)
    print("logprobs :", answer.response_metadata.get("logprobs"))
    with AzureLlamaClient(t.endpoint, api_key=t.api_key, extra_parameters="error") as strict:
        try:  # what Azure says to the same keys without pass-through
            strict.chat([{"role": "user", "content": QUESTION}], model_extras=EXTRAS)
        except BadRequestError as exc:
            print(f"'error'  : HTTP {exc.status_code} {exc}")


def llama_native(t: Target) -> None:
    print("\n== api='llama': the Llama-native /v1/chat/completions ==")
    base: dict[str, Any] = {
        "model": t.model,
        "endpoint": t.endpoint,
        "api_key": t.api_key,
        "max_tokens": 32,
    }
    two = ChatAzureLlama(api="llama", n=2, temperature=0.8, **base)
    for index, generation in enumerate(two.generate([[HumanMessage(QUESTION)]]).generations[0]):
        print(f"n=2 [{index}]  :", generation.text)
    beam = ChatAzureLlama(api="llama", best_of=3, use_beam_search=True, temperature=0, **base)
    print("beam     :", beam.invoke(QUESTION).content)
    warm = ChatAzureLlama(api="llama", best_of=3, use_beam_search=True, temperature=0.7, **base)
    try:  # beam search is greedy: at temperature 0.7 it is refused before anything is sent
        warm.invoke(QUESTION)
    except RequestValidationError as exc:
        print("refused  :", exc)
    try:  # Llama-native fields on the Model Inference API: refused when the model is built
        ChatAzureLlama(best_of=3, **base)
    except RequestValidationError as exc:
        print("refused  :", exc)


def main() -> None:
    with target() as t:
        print(f"Talking to {t.describe()}\n")
        model_extras(t)
        llama_native(t)


if __name__ == "__main__":
    main()
