"""The clients the benchmark compares, each doing the same work against the same server.

Every client imports its library inside `load()` (so a fresh worker process can time the
import) and then offers four operations: one whole chat call, one stream, and one async call
(used 200 at a time on one event loop). The floors (raw httpx + json, raw aiohttp) parse the
wire themselves with no validation; everything else is a real library used as its docs say.
Peers are optional (`pip install -e ".[bench]"`): a client whose import fails is reported as
missing, not as an error.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

MODEL = "Meta-Llama-3.1-8B-Instruct"
KEY = "bench-key"
PROMPT = "Hello there"
MESSAGES = [{"role": "user", "content": PROMPT}]
REPLY_HEADER = "x-emulator-reply-tokens"


def reply_headers(n: int) -> dict[str, str]:
    return {REPLY_HEADER: str(n)}


def settle() -> None:
    """Collect garbage before a timed section, as timeit and pyperf do before theirs.

    A fresh process still owes a full (generation 2) collection of what its imports left,
    tens of ms on a loaded machine; where it falls is chance, and it fell inside one client's
    200-way burst and not the next one's. Each call's own garbage is still collected inside
    the timed section (generations 0 and 1 run as usual; the collector stays on).
    """
    gc.collect()


class Client:
    """The default shape: sync call, sync stream, async call; subclasses fill them in."""

    name = ""
    group = "peer"  # "floor", "ours" or "peer"
    sends = True  # False: a no-I/O floor (nothing reaches the server)

    def __init__(self, url: str) -> None:
        self.url = url

    def load(self) -> None:
        """Import the library (timed) and build the client (not timed)."""
        raise NotImplementedError

    def setup(self) -> None:
        """Build the client objects (after the timed import)."""

    def call(self) -> None:
        raise NotImplementedError

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        """A call sending these wire messages (OpenAI-shaped dicts) to `model`, for the payload
        benchmarks; whatever the user would already hold (LangChain messages) is built here,
        untimed. None: this client cannot send them."""
        raise NotImplementedError

    def stream(self, n: int) -> Iterator[Any]:
        raise NotImplementedError

    async def acall(self) -> None:
        raise NotImplementedError

    async def aopen(self) -> None:
        """Per-loop setup, outside the timed region (most clients need none)."""

    async def aclose(self) -> None:
        """Per-loop teardown, outside the timed region."""

    # Drivers: overridden only by clients that have no sync API (raw aiohttp).

    def sequential(self, n: int) -> list[float]:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            self.call()
            times.append(time.perf_counter() - start)
        return times

    def timed_stream(self, n: int) -> tuple[float, float, int]:
        """(seconds to first chunk, seconds in all, chunks the user loop saw)."""
        start = time.perf_counter()
        first = 0.0
        count = 0
        for _ in self.stream(n):
            if count == 0:
                first = time.perf_counter() - start
            count += 1
        return first, time.perf_counter() - start, count

    def concurrent(self, n: int, warmup: int = 10) -> float:
        """Wall seconds for n concurrent async calls on one fresh event loop.

        A few calls first, on the same loop, pay one-time costs (lazy imports, client
        construction); the pool then still has to open most of the n connections.
        """

        async def run() -> float:
            await self.aopen()
            await asyncio.gather(*(self.acall() for _ in range(warmup)))
            settle()
            start = time.perf_counter()
            await asyncio.gather(*(self.acall() for _ in range(n)))
            wall = time.perf_counter() - start
            await self.aclose()
            return wall

        return asyncio.run(run())


# -- floors ---------------------------------------------------------------------------------


class RawHttpx(Client):
    name = "raw httpx + json"
    group = "floor"

    def load(self) -> None:
        import httpx

        self.httpx = httpx

    def setup(self) -> None:
        self.http = self.httpx.Client()
        self.body = json.dumps({"messages": MESSAGES, "model": MODEL}).encode()
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def call(self) -> None:
        r = self.http.post(f"{self.url}/chat/completions", content=self.body, headers=self.headers)
        json.loads(r.content)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        url = f"{self.url}/chat/completions"

        def call() -> Any:
            body = json.dumps({"messages": messages, "model": model}).encode()
            return json.loads(self.http.post(url, content=body, headers=self.headers).content)

        return call

    def stream(self, n: int) -> Iterator[Any]:
        body = json.dumps({"messages": MESSAGES, "model": MODEL, "stream": True}).encode()
        headers = {**self.headers, **reply_headers(n)}
        url = f"{self.url}/chat/completions"
        with self.http.stream("POST", url, content=body, headers=headers) as r:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        return
                    yield json.loads(data)

    async def aopen(self) -> None:
        limits = self.httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        self.ahttp = self.httpx.AsyncClient(limits=limits)

    async def acall(self) -> None:
        r = await self.ahttp.post(
            f"{self.url}/chat/completions", content=self.body, headers=self.headers
        )
        json.loads(r.content)

    async def aclose(self) -> None:
        await self.ahttp.aclose()


class RawAiohttp(Client):
    """aiohttp has no sync API: its sequential calls and stream run inside one event loop."""

    name = "raw aiohttp + json"
    group = "floor"

    def load(self) -> None:
        import aiohttp

        self.aiohttp = aiohttp

    def setup(self) -> None:
        self.body = json.dumps({"messages": MESSAGES, "model": MODEL}).encode()
        self.headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    async def aopen(self) -> None:
        self.session = self.aiohttp.ClientSession(connector=self.aiohttp.TCPConnector(limit=1000))

    async def aclose(self) -> None:
        await self.session.close()

    async def acall(self) -> None:
        url = f"{self.url}/chat/completions"
        async with self.session.post(url, data=self.body, headers=self.headers) as r:
            json.loads(await r.read())

    def sequential(self, n: int) -> list[float]:
        async def run() -> list[float]:
            await self.aopen()
            times = []
            for _ in range(n):
                start = time.perf_counter()
                await self.acall()
                times.append(time.perf_counter() - start)
            await self.aclose()
            return times

        return asyncio.run(run())

    def timed_stream(self, n: int) -> tuple[float, float, int]:
        async def run() -> tuple[float, float, int]:
            await self.aopen()
            body = json.dumps({"messages": MESSAGES, "model": MODEL, "stream": True}).encode()
            headers = {**self.headers, **reply_headers(n)}
            start = time.perf_counter()
            first, count = 0.0, 0
            url = f"{self.url}/chat/completions"
            async with self.session.post(url, data=body, headers=headers) as r:
                async for line in r.content:
                    if line.startswith(b"data: "):
                        data = line[6:].rstrip()
                        if data == b"[DONE]":
                            break
                        json.loads(data)
                        if count == 0:
                            first = time.perf_counter() - start
                        count += 1
            total = time.perf_counter() - start
            await self.aclose()
            return first, total, count

        return asyncio.run(run())


class LangChainCoreFloor(Client):
    """What langchain-core costs with no I/O: a `BaseChatModel` subclass answering a fixed
    message (and a stream of fixed one-token chunks), called through invoke/stream/ainvoke
    exactly as the LangChain clients are."""

    name = "langchain-core, no I/O (floor)"
    group = "floor"
    sends = False

    def load(self) -> None:
        from langchain_core.language_models import BaseChatModel

        self.base = BaseChatModel

    def setup(self) -> None:
        from langchain_core.messages import AIMessage, AIMessageChunk
        from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

        usage = {"input_tokens": 1, "output_tokens": 16, "total_tokens": 17}
        answer = ChatResult(
            generations=[ChatGeneration(message=AIMessage("tok0 tok1", usage_metadata=usage))]
        )

        class Fixed(self.base):  # type: ignore[misc, name-defined]
            @property
            def _llm_type(self) -> str:
                return "bench-fixed"

            def _generate(self, *args: Any, **kwargs: Any) -> Any:
                return answer

            async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
                return answer

            def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
                for i in range(int(kwargs["headers"][REPLY_HEADER])):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=f" tok{i}"))

        self.model = Fixed()

    def call(self) -> None:
        self.model.invoke(PROMPT)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        # The LangChain messages are built untimed, as for the LangChain clients: invoke then
        # does langchain-core's own per-call work on them (input conversion, callbacks, run).
        return functools.partial(self.model.invoke, langchain_messages(messages))

    def stream(self, n: int) -> Iterator[Any]:
        return self.model.stream(PROMPT, headers=reply_headers(n))

    async def acall(self) -> None:
        await self.model.ainvoke(PROMPT)


# -- ours -----------------------------------------------------------------------------------


class Transport(Client):
    name = "transport (AzureLlamaClient)"
    group = "ours"

    def load(self) -> None:
        from layout import transport

        self.t = transport()

    def setup(self) -> None:
        self.client = self.t.AzureLlamaClient(self.url, api_key=KEY)
        self.aclient = self.t.AsyncAzureLlamaClient(self.url, api_key=KEY)
        self.params = {"model": MODEL}

    def call(self) -> None:
        self.client.chat(MESSAGES, self.params)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        params = {"model": model}
        return lambda: self.client.chat(messages, params)

    def stream(self, n: int) -> Iterator[Any]:
        with self.client.chat_stream(MESSAGES, self.params, headers=reply_headers(n)) as s:
            yield from s

    async def acall(self) -> None:
        await self.aclient.chat(MESSAGES, self.params)

    async def aclose(self) -> None:
        await self.aclient.aclose()


class ChatAzureLlamaClient(Client):
    name = "ChatAzureLlama"
    group = "ours"

    def load(self) -> None:
        from langchain_azure_llama import ChatAzureLlama

        self.cls = ChatAzureLlama

    def setup(self) -> None:
        self.model = self.cls(endpoint=self.url, api_key=KEY, model=MODEL)

    def call(self) -> None:
        self.model.invoke(PROMPT)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        chat = self.cls(endpoint=self.url, api_key=KEY, model=model)
        return functools.partial(chat.invoke, langchain_messages(messages))

    def stream(self, n: int) -> Iterator[Any]:
        return self.model.stream(PROMPT, headers=reply_headers(n))

    async def acall(self) -> None:
        await self.model.ainvoke(PROMPT)


class ChatAzureLlamaPrompted(ChatAzureLlamaClient):
    """A stream with a tool bound in prompted mode: the transport watches the text for a
    prompted tool call (the protocol's parser), and the answer is plain text."""

    name = "ChatAzureLlama, prompted tools"

    def setup(self) -> None:
        model = self.cls(endpoint=self.url, api_key=KEY, model=MODEL, tool_calling="prompt")
        self.model = model.bind_tools([WEATHER_TOOL])


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def langchain_messages(messages: list[dict[str, Any]]) -> list[Any]:
    from langchain_core.messages import convert_to_messages

    return list(convert_to_messages(messages))


class _LiteLLM(Client):
    prefix = ""

    def _import(self) -> None:
        import litellm

        litellm.telemetry = False
        self.litellm = litellm

    def _kwargs(self) -> dict[str, Any]:
        return {
            "model": f"{self.prefix}/{MODEL}",
            "messages": MESSAGES,
            "api_base": self.url,
            "api_key": KEY,
        }

    def setup(self) -> None:
        self.kwargs = self._kwargs()

    def call(self) -> None:
        self.litellm.completion(**self.kwargs)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        kwargs = {**self.kwargs, "model": f"{self.prefix}/{model}", "messages": messages}
        return lambda: self.litellm.completion(**kwargs)

    def stream(self, n: int) -> Iterator[Any]:
        stream = self.litellm.completion(**self.kwargs, stream=True, extra_headers=reply_headers(n))
        return iter(stream)

    async def acall(self) -> None:
        await self.litellm.acompletion(**self.kwargs)


class LiteLLMAzureLlama(_LiteLLM):
    name = 'litellm "azure_llama/"'
    group = "ours"
    prefix = "azure_llama"

    def load(self) -> None:
        self._import()
        from layout import provider

        provider().register()


class LiteLLMAzureAI(_LiteLLM):
    name = 'litellm "azure_ai/" (built-in)'
    prefix = "azure_ai"

    def load(self) -> None:
        self._import()


class LiteLLMNoIO(_LiteLLM):
    """What LiteLLM itself costs: a custom provider that answers from memory (no I/O), called
    through `litellm.completion` like the providers above."""

    name = "litellm, no-I/O custom provider (floor)"
    group = "floor"
    sends = False
    prefix = "bench_noio"
    # `prepare` (from _LiteLLM) sends the payload's messages through `litellm.completion`, which
    # does all of LiteLLM's own per-call work on them before and after this provider answers.

    def load(self) -> None:
        self._import()

    def setup(self) -> None:
        super().setup()
        litellm = self.litellm

        class NoIO(litellm.CustomLLM):  # type: ignore[misc, name-defined]
            n = 16

            def completion(self, *args: Any, **kwargs: Any) -> Any:
                response = kwargs["model_response"]
                response.choices[0].message.content = "tok0 tok1"
                response.choices[0].finish_reason = "stop"
                return response

            async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
                return self.completion(*args, **kwargs)

            def streaming(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
                for i in range(self.n):
                    last = i == self.n - 1
                    yield {
                        "text": f" tok{i}",
                        "is_finished": last,
                        "finish_reason": "stop" if last else "",
                        "usage": None,
                        "index": 0,
                        "tool_use": None,
                    }

        self.handler = NoIO()
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": self.prefix, "custom_handler": self.handler},
        ]
        from litellm.utils import custom_llm_setup

        custom_llm_setup()

    def stream(self, n: int) -> Iterator[Any]:
        self.handler.n = n
        return iter(self.litellm.completion(**self.kwargs, stream=True))


class LiteLLMAzureLlamaTuned(LiteLLMAzureLlama):
    """`azure_llama/` with the LiteLLM knobs a user can turn for speed (see the README)."""

    name = 'litellm "azure_llama/", knobs turned'

    def load(self) -> None:
        super().load()
        tune_litellm(self.litellm)


def tune_litellm(litellm: Any) -> None:
    """The documented LiteLLM settings that cut its own per-call and per-chunk work."""
    litellm.disable_streaming_logging = True  # no success-logging hand-off per stream
    litellm.suppress_debug_info = True
    litellm.turn_off_message_logging = True
    litellm.disable_token_counter = True
    litellm.callbacks = []
    litellm.success_callback = []
    litellm.failure_callback = []


# -- peers ----------------------------------------------------------------------------------


class ChatOpenAIClient(Client):
    name = "ChatOpenAI(base_url=...)"

    def load(self) -> None:
        from langchain_openai import ChatOpenAI

        self.cls = ChatOpenAI

    def setup(self) -> None:
        self.model = self.cls(base_url=self.url, api_key=KEY, model=MODEL)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        chat = self.cls(base_url=self.url, api_key=KEY, model=model)
        return functools.partial(chat.invoke, langchain_messages(messages))

    def call(self) -> None:
        self.model.invoke(PROMPT)

    def stream(self, n: int) -> Iterator[Any]:
        return self.model.stream(PROMPT, extra_headers=reply_headers(n))

    async def acall(self) -> None:
        await self.model.ainvoke(PROMPT)


class LangChainAzureAI(Client):
    """langchain-azure-ai's Model Inference class (on the azure-ai-inference SDK): the one that
    speaks this wire. Its newer `AzureAIOpenAIApiChatModel` is ChatOpenAI underneath."""

    name = "langchain-azure-ai (AzureAIChatCompletionsModel)"

    def load(self) -> None:
        from langchain_azure_ai.chat_models.inference import AzureAIChatCompletionsModel

        self.cls = AzureAIChatCompletionsModel

    def setup(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the class is deprecated in favour of the OpenAI one
            self.model = self.cls(endpoint=self.url, credential=KEY, model=MODEL)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chat = self.cls(endpoint=self.url, credential=KEY, model=model)
        return functools.partial(chat.invoke, langchain_messages(messages))

    def call(self) -> None:
        self.model.invoke(PROMPT)

    def stream(self, n: int) -> Iterator[Any]:
        return self.model.stream(PROMPT, headers=reply_headers(n))

    async def acall(self) -> None:
        await self.model.ainvoke(PROMPT)


class AzureAIInferenceSDK(Client):
    name = "azure-ai-inference SDK"

    def load(self) -> None:
        from azure.ai.inference import ChatCompletionsClient
        from azure.ai.inference.aio import ChatCompletionsClient as AsyncChatCompletionsClient
        from azure.core.credentials import AzureKeyCredential

        self.sync_cls, self.async_cls = ChatCompletionsClient, AsyncChatCompletionsClient
        self.credential = AzureKeyCredential(KEY)

    def setup(self) -> None:
        self.client = self.sync_cls(endpoint=self.url, credential=self.credential)

    def call(self) -> None:
        self.client.complete(messages=MESSAGES, model=MODEL)

    def prepare(self, messages: list[dict[str, Any]], model: str) -> Callable[[], Any]:
        return lambda: self.client.complete(messages=messages, model=model)

    def stream(self, n: int) -> Iterator[Any]:
        return iter(
            self.client.complete(
                messages=MESSAGES, model=MODEL, stream=True, headers=reply_headers(n)
            )
        )

    async def aopen(self) -> None:
        self.aclient = self.async_cls(endpoint=self.url, credential=self.credential)

    async def acall(self) -> None:
        await self.aclient.complete(messages=MESSAGES, model=MODEL)

    async def aclose(self) -> None:
        await self.aclient.close()


CLIENTS: dict[str, type[Client]] = {
    "raw-httpx": RawHttpx,
    "raw-aiohttp": RawAiohttp,
    "langchain-core-floor": LangChainCoreFloor,
    "litellm-floor": LiteLLMNoIO,
    "transport": Transport,
    "chat-azure-llama": ChatAzureLlamaClient,
    "chat-azure-llama-prompted": ChatAzureLlamaPrompted,
    "litellm-azure-llama": LiteLLMAzureLlama,
    "litellm-azure-llama-tuned": LiteLLMAzureLlamaTuned,
    "litellm-azure-ai": LiteLLMAzureAI,
    "chat-openai": ChatOpenAIClient,
    "langchain-azure-ai": LangChainAzureAI,
    "azure-ai-inference": AzureAIInferenceSDK,
}
