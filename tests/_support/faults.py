"""Helpers for the tests in tests/faults/ (fixtures stay in its conftest.py)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

import pytest

# The root conftest sets these too; repeat them so this directory also runs on its own.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm
from litellm.exceptions import MidStreamFallbackError

import azure_llama_transport as t
import litellm_azure_llama
from langchain_azure_llama import ChatAzureLlama
from litellm_azure_llama._clients import Settings

# Distinctive, so that a scan for it cannot match anything else.
KEY = "fault-suite-key-5e0c9d7a41b2f386"
MODEL = "Meta-Llama-3.1-8B-Instruct"
LITELLM_MODEL = f"azure_llama/{MODEL}"
# `x-emulator-reply-tokens: N` makes the emulator answer exactly "tok0 tok1 ... tok{N-1}", one
# token per stream chunk after the role chunk: every chunk can be accounted for.
REPLY_TOKENS = 8
REPLY = " ".join(f"tok{i}" for i in range(REPLY_TOKENS))
TOKENS_HEADER = {"x-emulator-reply-tokens": str(REPLY_TOKENS)}

litellm.suppress_debug_info = True  # LiteLLM prints a banner for every exception it maps


# -- network guard ------------------------------------------------------------------------------


def is_loopback(host: Any) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Lookups:
    """Names the code under test tried to resolve that are not loopback (each one refused)."""

    refused: list[str] = field(default_factory=list)


# -- emulator, fake clock -----------------------------------------------------------------------


@dataclass
class FakeClock:
    """Stands in for `RetryPolicy.sleep`/`asleep`: records each wait, never sleeps."""

    waits: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def install(self, policy: t.RetryPolicy, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(policy, "sleep", self.sleep)
        monkeypatch.setattr(policy, "asleep", self.asleep)
        monkeypatch.setattr(policy, "rng", lambda: 0.0)  # backoff without jitter


# -- one driver for both front ends -------------------------------------------------------------

FRONTS = ("langchain", "litellm")
# (front, mode) -> id. LangChain's "invoke-streaming" is `invoke()` on a `streaming=True` model,
# which gathers a stream under the hood: a broken stream there must not become a short answer.
ALL_MODES = [
    pytest.param(("langchain", "invoke"), id="langchain-invoke"),
    pytest.param(("langchain", "ainvoke"), id="langchain-ainvoke"),
    pytest.param(("langchain", "stream"), id="langchain-stream"),
    pytest.param(("langchain", "astream"), id="langchain-astream"),
    pytest.param(("litellm", "invoke"), id="litellm-completion"),
    pytest.param(("litellm", "ainvoke"), id="litellm-acompletion"),
    pytest.param(("litellm", "stream"), id="litellm-stream"),
    pytest.param(("litellm", "astream"), id="litellm-astream"),
]
STREAM_MODES = [
    pytest.param(("langchain", "stream"), id="langchain-stream"),
    pytest.param(("langchain", "astream"), id="langchain-astream"),
    pytest.param(("langchain", "invoke-streaming"), id="langchain-invoke-streaming"),
    pytest.param(("langchain", "ainvoke-streaming"), id="langchain-ainvoke-streaming"),
    pytest.param(("litellm", "stream"), id="litellm-stream"),
    pytest.param(("litellm", "astream"), id="litellm-astream"),
]
LITELLM_MODES = [p for p in ALL_MODES if p.id and p.id.startswith("litellm")]
Case = tuple[str, str]


@dataclass
class Reply:
    """What the caller got: the answer (or the pieces streamed before the end) and any error."""

    pieces: list[str] = field(default_factory=list)
    caught: BaseException | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def error(self) -> BaseException | None:
        """The error as its front end defines it: LiteLLM hands a failed stream to its reader as
        `MidStreamFallbackError` (so that the Router can fall back); the provider's mapped error is
        its `original_exception`."""
        caught = self.caught
        if isinstance(caught, MidStreamFallbackError) and caught.original_exception is not None:
            return caught.original_exception
        return caught


class Driver:
    """One front end in one mode, against one endpoint; `await driver.call()` -> `Reply`."""

    def __init__(
        self,
        case: Case,
        endpoint: str,
        *,
        monkeypatch: pytest.MonkeyPatch,
        key: str | None = KEY,
        clock: FakeClock | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
        **settings: Any,
    ) -> None:
        self.front, self.mode = case
        self.endpoint = endpoint
        self.key = key
        self.max_retries = max_retries
        self.timeout = timeout
        self.headers = {**TOKENS_HEADER, **(headers or {})}
        self.settings = settings
        self.model: ChatAzureLlama | None = None
        if self.front == "langchain":
            if self.mode.endswith("-streaming"):
                # Only ever set to True: langchain-core reads an explicit `streaming=False` as
                # "never stream", even from `stream()`.
                settings["streaming"] = True
            self.model = ChatAzureLlama(
                endpoint=endpoint,
                api_key=key,
                model=MODEL,
                max_retries=max_retries,
                timeout=timeout,
                default_headers=self.headers,
                **settings,
            )
        if clock is not None:
            for client in self.clients():
                clock.install(client.retry, monkeypatch)

    def clients(self) -> tuple[t.AzureLlamaClient, t.AsyncAzureLlamaClient]:
        """The transport clients (and so the connection pools) this driver's calls use."""
        if self.model is not None:
            return self.model._client, self.model._async_client
        # The provider caches one transport client per (endpoint, key hash, api-version,
        # retries): these are the ones LiteLLM calls with these settings will use.
        cache = litellm_azure_llama.handler._clients
        cached = Settings(self.endpoint, self.key or "", t.DEFAULT_API_VERSION, self.max_retries)
        return cache.sync(cached), cache.async_(cached)

    @property
    def is_async(self) -> bool:
        return self.mode.startswith("a")

    @property
    def streams(self) -> bool:
        return self.mode in ("stream", "astream")

    async def call(self, messages: Any = "say something", **kwargs: Any) -> Reply:
        """Run the call; the error, if any, is caught into the reply with what arrived before."""
        reply = Reply()
        try:
            if self.front == "langchain":
                await self._langchain(messages, reply, kwargs)
            else:
                await self._litellm(messages, reply, kwargs)
        except Exception as exc:
            reply.caught = exc
        return reply

    async def _langchain(self, messages: Any, reply: Reply, kwargs: dict[str, Any]) -> None:
        model = self.model
        assert model is not None
        if self.mode == "stream":
            for chunk in model.stream(messages, **kwargs):
                reply.pieces.append(chunk.text)
        elif self.mode == "astream":
            async for chunk in model.astream(messages, **kwargs):
                reply.pieces.append(chunk.text)
        elif self.is_async:
            reply.pieces.append((await model.ainvoke(messages, **kwargs)).text)
        else:
            reply.pieces.append(model.invoke(messages, **kwargs).text)

    def litellm_kwargs(self, messages: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        call: dict[str, Any] = {
            "model": LITELLM_MODEL,
            "api_base": self.endpoint,
            "api_key": self.key,
            "messages": messages,
            "max_retries": self.max_retries,
            "extra_headers": self.headers,
            **self.settings,
            **kwargs,
        }
        if self.timeout is not None:
            call["timeout"] = self.timeout
        return call

    async def _litellm(self, messages: Any, reply: Reply, kwargs: dict[str, Any]) -> None:
        call = self.litellm_kwargs(messages, kwargs)
        if self.mode == "stream":
            for chunk in litellm.completion(stream=True, **call):
                reply.pieces.append(chunk.choices[0].delta.content or "")
        elif self.mode == "astream":
            async for chunk in await litellm.acompletion(stream=True, **call):
                reply.pieces.append(chunk.choices[0].delta.content or "")
        elif self.is_async:
            reply.pieces.append((await litellm.acompletion(**call)).choices[0].message.content)
        else:
            reply.pieces.append(litellm.completion(**call).choices[0].message.content)

    async def aclose(self) -> None:
        if self.model is not None:
            self.model.close()
            await self.model.aclose()


class Drivers:
    """Makes drivers for a test and closes what they opened, in the test's own event loop."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.made: list[Driver] = []

    def __call__(self, case: Case, endpoint: str, **kwargs: Any) -> Driver:
        driver = Driver(case, endpoint, monkeypatch=self.monkeypatch, **kwargs)
        self.made.append(driver)
        return driver
