"""Llama 4 Maverick on a Foundry resource: the OpenAI v1 route, from LangChain and LiteLLM.

Shows: a Foundry resource serves its deployments at `https://<resource>.openai.azure.com/openai/v1`
(or `https://<resource>.services.ai.azure.com/openai/v1`). There `model` is the DEPLOYMENT name
you chose ("my-maverick"), always required; there is no `api-version`. Each answer names the model
that served it. Auth is the resource key or Microsoft Entra ID (`DefaultAzureCredential()`, asked
for the scope Microsoft's current pages give for Foundry; the `[credential]` lines show it;
`credential_scopes=[...]` overrides it). Llama 4 Maverick reads images: one per request, sent
here as a tiny PNG in a data URL. The same deployment answers `ChatAzureLlama` (invoke and
stream) and `litellm.completion(model="azure_llama/<deployment>")` (whole and streamed).

Run:  make install && .venv/bin/python cookbook/llama4_foundry.py
Azure: set AZURE_INFERENCE_ENDPOINT (https://<resource>.openai.azure.com/openai/v1),
AZURE_LLAMA_DEPLOYMENT (your Maverick deployment's name) and AZURE_INFERENCE_CREDENTIAL (the
resource key); for Entra ID sign in (`az login`, a managed identity, ...) with the `entra` extra
installed. The endpoint kind is read from such a host; `endpoint_kind="openai-v1"` below is what
a proxy or the loopback emulator needs and changes nothing on Azure.

Offline (no AZURE_INFERENCE_ENDPOINT): the built-in emulator plays the resource (as
`azure-llama-emulator --kind openai-v1 --models my-maverick=Llama-4-Maverick-17B-128E-Instruct-FP8`
would) and a STAND-IN credential replaces DefaultAzureCredential, which cannot get a token
without Azure. The emulator is not a model: it answers "Emulated reply from <model>: <words>".
"""

from __future__ import annotations

import base64
import os
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

# Offline-safe LiteLLM: its bundled price map instead of a download at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no tokenizer download either

import litellm

import litellm_azure_llama
from azure_llama_emulator import Emulator
from langchain_azure_llama import ChatAzureLlama

MAVERICK = "Llama-4-Maverick-17B-128E-Instruct-FP8"
DEPLOYMENT = "my-maverick"  # offline; on Azure, AZURE_LLAMA_DEPLOYMENT
QUESTION = "In one sentence, what is Llama 4 Maverick good at?"
IMAGE_QUESTION = "What colour is this pixel?"
STAND_IN_TOKEN = "stand-in-entra-token"


def tiny_png_url() -> str:
    """A 1x1 red PNG as a data URL; any image Maverick takes goes the same way, one per request."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    return "data:image/png;base64," + base64.b64encode(png + chunk(b"IEND", b"")).decode()


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class StandInCredential:
    """Offline stand-in for DefaultAzureCredential: one token the emulator accepts."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(STAND_IN_TOKEN, int(time.time()) + 3600)


class ShowingCredential:
    """Wraps a credential and prints the scope of each `get_token` call (never the token)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        print(f"  [credential] get_token for {', '.join(scopes)}")
        return self.inner.get_token(*scopes, **kwargs)


@dataclass(frozen=True)
class Resource:
    endpoint: str  # .../openai/v1
    key: str
    deployment: str
    credential: ShowingCredential
    emulator: Emulator | None


@contextmanager
def foundry_resource() -> Iterator[Resource]:
    """Azure if AZURE_INFERENCE_ENDPOINT is set, else the emulator as a Foundry resource."""
    endpoint = os.environ.get("AZURE_INFERENCE_ENDPOINT")
    if endpoint:
        from azure.identity import DefaultAzureCredential  # pip install "...[entra]"

        key = os.environ.get("AZURE_INFERENCE_CREDENTIAL", "")
        deployment = os.environ.get("AZURE_LLAMA_DEPLOYMENT", DEPLOYMENT)
        yield Resource(endpoint, key, deployment, ShowingCredential(DefaultAzureCredential()), None)
        return
    from azure_llama_emulator import EmulatorConfig

    config = EmulatorConfig(
        kind="openai-v1",
        models=(f"{DEPLOYMENT}={MAVERICK}",),
        accepted_tokens=(STAND_IN_TOKEN,),
    )
    with Emulator(config) as emulator:
        credential = ShowingCredential(StandInCredential())
        yield Resource(
            f"{emulator.url}/openai/v1", config.api_key, DEPLOYMENT, credential, emulator
        )


def langchain_part(r: Resource, auth: str) -> None:
    print(f"\n== LangChain, {auth}: ChatAzureLlama(model={r.deployment!r}, ...) ==")
    secret = {"credential": r.credential} if auth == "Entra ID" else {"api_key": r.key}
    llm = ChatAzureLlama(
        endpoint=r.endpoint,
        endpoint_kind="openai-v1",
        model=r.deployment,  # the deployment name, as on the v1 route
        max_tokens=64,
        temperature=0,
        **secret,
    )
    answer = llm.invoke(QUESTION)
    print(f"invoke : {answer.content}")
    print(f"served : {answer.response_metadata['model_name']}")
    streamed = "".join(str(chunk.content) for chunk in llm.stream(QUESTION))
    print(f"stream : {streamed}")
    image = {"type": "image_url", "image_url": {"url": tiny_png_url()}}
    message = {"role": "user", "content": [{"type": "text", "text": IMAGE_QUESTION}, image]}
    print(f"image  : {llm.invoke([message]).content}")
    llm.close()


def litellm_part(r: Resource, auth: str) -> None:
    print(f"\n== LiteLLM, {auth}: completion(model='azure_llama/{r.deployment}', ...) ==")
    secret: dict[str, Any] = (
        {"azure_ad_token_provider": r.credential} if auth == "Entra ID" else {"api_key": r.key}
    )
    kwargs = {
        "model": f"azure_llama/{r.deployment}",
        "messages": [{"role": "user", "content": QUESTION}],
        "api_base": r.endpoint,
        "endpoint_kind": "openai-v1",
        "max_tokens": 64,
        "temperature": 0,
        **secret,
    }
    response = litellm.completion(**kwargs)
    print(f"whole  : {response.choices[0].message.content}")
    print(f"served : {response.model}")
    chunks = litellm.completion(stream=True, **kwargs)
    print(f"stream : {''.join(c.choices[0].delta.content or '' for c in chunks if c.choices)}")


def show_requests(r: Resource, emulator: Emulator) -> None:
    """What went over the wire (offline only): path, query, body `model` and the auth used."""
    print("\n== Requests the emulated resource received ==")
    sent = {f"Bearer {r.key}": "key", f"Bearer {STAND_IN_TOKEN}": "Entra ID token"}
    for seen in emulator.requests:
        authorization = seen.headers.get("authorization", "")
        auth = "key" if seen.headers.get("api-key") == r.key else sent.get(authorization, "?")
        body = seen.json or {}
        images = sum(
            1
            for m in body.get("messages", [])
            if isinstance(m.get("content"), list)
            for part in m["content"]
            if part.get("type") == "image_url"
        )
        query = "?" + "&".join(seen.query) if seen.query else ""
        print(
            f"seen   : {seen.method} {seen.path}{query} model={body.get('model')} "
            f"stream={bool(body.get('stream'))} images={images} auth={auth}"
        )


def main() -> None:
    litellm_azure_llama.register()
    with foundry_resource() as r:
        where = "the built-in emulator (offline)" if r.emulator else "Azure"
        print(f"Talking to deployment {r.deployment} at {r.endpoint} via {where}")
        if r.emulator is not None:
            litellm.disable_hf_tokenizer_download = True  # offline: no tokenizer download
            print(
                "Credential: a STAND-IN for DefaultAzureCredential, which cannot get a token "
                "without Azure; against Azure this recipe uses DefaultAzureCredential()."
            )
        for auth in ("API key", "Entra ID"):
            if auth == "API key" and not r.key:
                print("\nskipped: set AZURE_INFERENCE_CREDENTIAL to the resource key to try it")
                continue
            langchain_part(r, auth)
            litellm_part(r, auth)
        if r.emulator is not None:
            show_requests(r, r.emulator)


if __name__ == "__main__":
    main()
