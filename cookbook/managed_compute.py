"""Managed compute: two deployments behind one endpoint, Entra ID tokens (and their refresh), keys.

Shows: a managed online endpoint hosts several deployments; `deployment=` (the
`azureml-model-deployment` header) picks one, in LangChain and in LiteLLM. Microsoft Entra ID
authenticates with `DefaultAzureCredential()`: a token is fetched on the first request (never at
construction), reused until five minutes before it expires, refreshed then, and refreshed once
more if the endpoint answers 401. The endpoint key works too. Watch the `[credential]` lines:
each is one `get_token` call.

Run:  make install && .venv/bin/python cookbook/managed_compute.py
Azure: set AZURE_INFERENCE_ENDPOINT (https://<endpoint>.<region>.inference.ml.azure.com) and
AZURE_LLAMA_DEPLOYMENT (one or more deployment names, comma-separated), and sign in (`az login`,
a managed identity, ...) with the `entra` extra installed; add AZURE_INFERENCE_CREDENTIAL (the
endpoint key) to try key auth as well.

Offline (no AZURE_INFERENCE_ENDPOINT): the built-in emulator plays a managed endpoint with two
deployments, and a STAND-IN credential replaces DefaultAzureCredential, which cannot get a token
without Azure. The stand-in's first token expires in four minutes (inside the refresh margin, so
the next request refreshes it), and the emulator treats its third token as revoked (so that
request gets a 401 and is retried with a fresh token).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled price map
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # and no tokenizer download

import litellm
from _target import target  # cookbook/ is on sys.path when run as a script

import litellm_azure_llama
from langchain_azure_llama import ChatAzureLlama

DEPLOYMENTS = {
    "llama-31-8b-blue": "Meta-Llama-3.1-8B-Instruct",
    "llama-31-70b-green": "Meta-Llama-3.1-70B-Instruct",
}
QUESTION = "Which deployment are you?"
REVOKED = "stand-in-token-3"  # the emulator refuses it: a 401, then one refresh
ACCEPTED = tuple(f"stand-in-token-{i}" for i in range(1, 50) if f"stand-in-token-{i}" != REVOKED)


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class StandInCredential:
    """Offline stand-in for DefaultAzureCredential: numbered tokens the emulator accepts."""

    def __init__(self) -> None:
        self.issued = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.issued += 1
        lifetime = 240 if self.issued == 1 else 3600  # the first one is about to expire
        return AccessToken(f"stand-in-token-{self.issued}", int(time.time()) + lifetime)

    def note(self, token: AccessToken) -> str:
        if token.token == REVOKED:
            return " (the emulator has revoked this one: expect a 401, then a refresh)"
        if token.expires_on - time.time() < 300:
            return " (inside the five-minute refresh margin: the next request refreshes it)"
        return ""


class CountingCredential:
    """Wraps a credential and prints each `get_token` call (works with the real one too)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.calls += 1
        token = self.inner.get_token(*scopes, **kwargs)
        valid = int(token.expires_on - time.time())
        note = self.inner.note(token) if hasattr(self.inner, "note") else ""
        print(f"  [credential] get_token #{self.calls} for {scopes[0]}: valid {valid} s{note}")
        return token


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: str
    deployments: list[str]
    credential: CountingCredential
    emulated: bool


@contextmanager
def managed_endpoint() -> Iterator[Endpoint]:
    """Azure if AZURE_INFERENCE_ENDPOINT is set, else the emulator as a managed endpoint."""
    if os.environ.get("AZURE_INFERENCE_ENDPOINT"):
        from azure.identity import DefaultAzureCredential  # pip install "...[entra]"

        names = os.environ.get("AZURE_LLAMA_DEPLOYMENT", "").split(",")
        credential = CountingCredential(DefaultAzureCredential())
        with target() as t:
            yield Endpoint(t.endpoint, t.api_key, [n for n in names if n], credential, False)
        return
    options = {"kind": "managed", "deployments": DEPLOYMENTS, "accepted_tokens": ACCEPTED}
    with target(**options) as t:
        credential = CountingCredential(StandInCredential())
        yield Endpoint(t.endpoint, t.api_key, list(DEPLOYMENTS), credential, True)


def entra_langchain(e: Endpoint) -> None:
    print("\n== Entra ID, LangChain: ChatAzureLlama(credential=..., deployment=...) ==")
    for deployment in e.deployments:
        llm = ChatAzureLlama(
            endpoint=e.url, credential=e.credential, deployment=deployment, max_tokens=64
        )
        for _ in range(2):  # the second call shows the token reused, or refreshed near expiry
            answer = llm.invoke(QUESTION)
            served = answer.response_metadata["model_name"]
            print(f"{deployment:<20} answered by {served}: {answer.content}")
        info = llm.get_model_info()
        print(f"{deployment:<20} /info: {info['model_name']} ({info['model_type']})")
        print(f"get_token calls so far: {e.credential.calls}")
        llm.close()


def entra_litellm(e: Endpoint) -> None:
    print("\n== Entra ID, LiteLLM: completion(deployment=..., azure_ad_token_provider=...) ==")
    litellm_azure_llama.register()
    for deployment in e.deployments:
        response = litellm.completion(
            model=f"azure_llama/{DEPLOYMENTS.get(deployment, deployment)}",
            messages=[{"role": "user", "content": QUESTION}],
            api_base=e.url,
            deployment=deployment,
            azure_ad_token_provider=e.credential,
            max_tokens=64,
        )
        print(f"{deployment:<20} answered: {response.choices[0].message.content}")
    print(f"get_token calls so far: {e.credential.calls}")


def key_auth(e: Endpoint) -> None:
    print("\n== Key: ChatAzureLlama(api_key=..., deployment=...) ==")
    if not e.key:
        print("skipped: set AZURE_INFERENCE_CREDENTIAL to the endpoint key to try it")
        return
    for deployment in e.deployments:
        llm = ChatAzureLlama(endpoint=e.url, api_key=e.key, deployment=deployment, max_tokens=64)
        answer = llm.invoke(QUESTION)
        print(f"{deployment:<20} answered by {answer.response_metadata['model_name']} (key)")
        llm.close()


def main() -> None:
    with managed_endpoint() as e:
        where = "the built-in emulator (offline)" if e.emulated else "Azure"
        print(f"Managed endpoint {e.url} via {where}; deployments: {', '.join(e.deployments)}")
        if e.emulated:
            print(
                "Credential: a STAND-IN for DefaultAzureCredential, which cannot get a token "
                "without Azure; against Azure this recipe uses DefaultAzureCredential()."
            )
        if not e.deployments:
            raise SystemExit("Set AZURE_LLAMA_DEPLOYMENT to the deployment name(s).")
        entra_langchain(e)
        entra_litellm(e)
        key_auth(e)


if __name__ == "__main__":
    main()
