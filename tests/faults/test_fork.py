"""Forked workers (gunicorn --preload, Celery prefork, multiprocessing "fork") never share a
connection pool with their parent: each process gets the answer to its own prompt.

A keep-alive loopback server echoes the prompt. Each client is used once in the parent (so its
pool holds an open connection), then 3 forked children and the parent make 20 calls each at the
same time. Before the fix the children and the parent wrote requests into the same inherited
socket and read each other's answers. Children report over a pipe and leave with `os._exit`;
the parent kills any child still running after the deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import litellm
import pytest

import azure_llama_transport as t
from langchain_azure_llama import ChatAzureLlama
from tests._support.faults import KEY, LITELLM_MODEL, MODEL
from tests._support.raw_server import RawServer, Request, responder

CHILDREN = 3
CALLS = 20
DEADLINE = 60.0  # seconds for the whole run, children included
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _echo(request: Request) -> tuple[int, dict[str, str], bytes]:
    """POST: a chat completion echoing the last prompt; GET: the model's info."""
    if request.method == "GET":
        data: dict[str, Any] = {
            "model_name": MODEL,
            "model_type": "chat-completion",
            "model_provider_name": "Meta",
        }
    else:
        time.sleep(0.002)  # long enough for the other processes' requests to interleave
        prompt = request.json()["messages"][-1]["content"]
        data = {
            "id": "echo",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"echo:{prompt}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    # Keep-alive (the connection stays in the client's pool); 4 processes x 20 connections.
    with RawServer(responder(_echo), max_connections=256, lifetime=600) as server:
        yield server.url


@dataclass
class Tally:
    own: int = 0  # answers that echo this process's own prompt
    crossed: int = 0  # answers to another process's prompt
    errors: int = 0
    first_error: str = ""

    def add(self, other: Tally) -> None:
        self.own += other.own
        self.crossed += other.crossed
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error


def _prompts() -> list[str]:
    return [f"pid{os.getpid()}-call{i}" for i in range(CALLS)]


def _score(prompts: list[str], answers: list[Any]) -> Tally:
    tally = Tally()
    for prompt, answer in zip(prompts, answers, strict=True):
        if isinstance(answer, BaseException):
            tally.errors += 1
            tally.first_error = tally.first_error or f"{type(answer).__name__}: {answer}"[:300]
        elif answer == f"echo:{prompt}":
            tally.own += 1
        else:
            tally.crossed += 1
    return tally


def _sync_calls(ask: Callable[[str], str]) -> Tally:
    prompts = _prompts()
    answers: list[Any] = []
    for prompt in prompts:
        try:
            answers.append(ask(prompt))
        except Exception as exc:
            answers.append(exc)
    return _score(prompts, answers)


def _async_calls(ask: Callable[[str], Any]) -> Callable[[], Any]:
    async def run() -> Tally:
        prompts = _prompts()
        answers = await asyncio.gather(*(ask(p) for p in prompts), return_exceptions=True)
        return _score(prompts, answers)

    return run


def _in_processes(work: Callable[[], Tally]) -> Tally:
    """Run `work` in CHILDREN forked children and in the parent at once; add up the tallies."""
    children: list[tuple[int, int]] = []
    for _ in range(CHILDREN):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage does not follow it
            code = 1
            try:
                os.close(read)
                os.write(write, json.dumps(work().__dict__).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        children.append((pid, read))
    total = work()
    deadline = time.monotonic() + DEADLINE
    for pid, read in children:
        total.add(_collect(pid, read, deadline))
    return total


def _collect(pid: int, read: int, deadline: float) -> Tally:
    data = b""
    try:
        while True:
            ready, _, _ = select.select([read], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return Tally(errors=CALLS, first_error=f"child {pid} ran past the deadline")
            chunk = os.read(read, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    if not data:
        return Tally(errors=CALLS, first_error=f"child {pid} died without a report")
    return Tally(**json.loads(data))


def _check(tally: Tally) -> None:
    print(f"fork: {tally}")  # shown with -s: the before/after numbers in the issue note
    assert (tally.crossed, tally.errors) == (0, 0), tally
    assert tally.own == (CHILDREN + 1) * CALLS


def test_chat_model_sync(echo: str) -> None:
    model = ChatAzureLlama(endpoint=echo, api_key=KEY, model=MODEL, max_retries=0, timeout=3)
    assert model.invoke("warm up").text == "echo:warm up"  # the pool now holds a connection
    _check(_in_processes(lambda: _sync_calls(lambda p: model.invoke(p).text)))
    model.close()


def test_chat_model_sync_first_used_after_the_fork(echo: str) -> None:
    """Built before the fork, first called after it (gunicorn --preload): the pool is built on
    the first call, so each process builds its own."""
    model = ChatAzureLlama(endpoint=echo, api_key=KEY, model=MODEL, max_retries=0, timeout=3)
    _check(_in_processes(lambda: _sync_calls(lambda p: model.invoke(p).text)))
    model.close()


def test_transport_client_sync(echo: str) -> None:
    with t.AzureLlamaClient(echo, api_key=KEY, max_retries=0, timeout=3) as client:

        def ask(prompt: str) -> str:
            answer = client.chat([{"role": "user", "content": prompt}])
            return str(answer["choices"][0]["message"]["content"])

        assert ask("warm up") == "echo:warm up"
        _check(_in_processes(lambda: _sync_calls(ask)))


def test_litellm_sync(echo: str) -> None:
    def ask(prompt: str) -> str:
        response = litellm.completion(
            model=LITELLM_MODEL,
            api_base=echo,
            api_key=KEY,
            messages=[{"role": "user", "content": prompt}],
            max_retries=0,
            timeout=3,
        )
        return str(response.choices[0].message.content)

    assert ask("warm up") == "echo:warm up"  # the provider's client cache now holds a pool
    _check(_in_processes(lambda: _sync_calls(ask)))


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"], ids=["aiohttp", "httpx"])
def test_chat_model_async(echo: str, backend: str) -> None:
    """The parent's loop stays open across the fork (its pool is live); each child runs its own
    loop with `asyncio.run`. The parent's pool must still answer correctly afterwards: a child
    must not have closed it (closing an aiohttp session unregisters its sockets from the
    parent's epoll instance, which the child shares)."""
    model = ChatAzureLlama(endpoint=echo, api_key=KEY, model=MODEL, max_retries=0, timeout=3)
    if backend == "httpx":
        model = ChatAzureLlama(
            endpoint=echo,
            api_key=KEY,
            model=MODEL,
            max_retries=0,
            timeout=3,
            http_async_client_factory=httpx.AsyncClient,
        )

    async def ask(prompt: str) -> str:
        return (await model.ainvoke(prompt)).text

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(ask("warm up")) == "echo:warm up"
        run = _async_calls(ask)
        is_parent = os.getpid()

        def work() -> Tally:
            if os.getpid() == is_parent:
                return loop.run_until_complete(run())  # type: ignore[no-any-return]
            return asyncio.run(run())  # type: ignore[no-any-return]

        _check(_in_processes(work))
        assert loop.run_until_complete(ask("after")) == "echo:after"
        loop.run_until_complete(model.aclose())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _in_child(work: Callable[[], Any]) -> Any:
    """Run `work` in one forked child; return what it returned, or its error as (type, str)."""

    def report() -> Tally:
        try:
            result: Any = ["ok", work()]
        except Exception as exc:
            result = [type(exc).__name__, str(exc)]
        return Tally(first_error=json.dumps(result))

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read)
            os.write(write, json.dumps(report().__dict__).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return json.loads(_collect(pid, read, time.monotonic() + DEADLINE).first_error)


def test_callers_http_client_used_before_fork_is_refused_in_the_child(echo: str) -> None:
    """The caller's client cannot be rebuilt: sharing it would cross answers, so a child gets a
    typed invalid-request error naming the fix. The parent keeps using it."""
    with httpx.Client() as http:
        model = ChatAzureLlama(
            endpoint=echo, api_key=KEY, model=MODEL, max_retries=0, timeout=3, http_client=http
        )
        assert model.invoke("warm up").text == "echo:warm up"
        kind, message = _in_child(lambda: model.invoke("child").text)
        assert kind == "RequestValidationError"
        assert "http_client" in message and "after" in message
        assert model.invoke("parent").text == "echo:parent"


def test_callers_http_client_unused_before_fork_works_in_the_child(echo: str) -> None:
    """Build at import, call in the workers (gunicorn --preload): nothing was shared."""
    with httpx.Client() as http:
        model = ChatAzureLlama(
            endpoint=echo, api_key=KEY, model=MODEL, max_retries=0, timeout=3, http_client=http
        )
        assert _in_child(lambda: model.invoke("child").text) == ["ok", "echo:child"]


def test_litellm_cache_lock_held_at_fork_is_free_in_the_child(echo: str) -> None:
    """A parent's thread inside the client cache at the moment of the fork must not leave the
    child waiting for a lock nobody will release."""
    import litellm_azure_llama

    def ask() -> str:
        response = litellm.completion(
            model=LITELLM_MODEL,
            api_base=echo,
            api_key=KEY,
            messages=[{"role": "user", "content": "child"}],
            max_retries=0,
            timeout=3,
        )
        return str(response.choices[0].message.content)

    lock = litellm_azure_llama.handler._clients._lock
    with lock:
        assert _in_child(ask) == ["ok", "echo:child"]
