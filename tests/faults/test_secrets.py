"""The key never shows: one known key, every path (successes and failures, whole and streamed,
sync and async), then a scan of everything a user could see or ship for it.

Scanned: log records at DEBUG from every logger (ours, httpx, httpcore, aiohttp, LiteLLM),
stdout/stderr, every exception's str, repr, args, public attributes and formatted traceback along
its `__cause__`/`__context__` chain, LangChain's `repr`/`str`/serialisation of the model and what
its callbacks receive, LiteLLM's logging callbacks, and a VCR cassette recorded from those paths.

One thing is not ours to hide: LiteLLM hands the `api_key=` argument it was called with, verbatim,
to every custom logging callback as `kwargs["litellm_params"]["api_key"]` (for every provider,
OpenAI's included); it appears nowhere else, and nowhere at all when the key comes from
AZURE_INFERENCE_CREDENTIAL. The test pins exactly that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import litellm
import pytest
import vcr
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_tests.conftest import base_vcr_config
from litellm.integrations.custom_logger import CustomLogger

import langchain_azure_llama as lc
from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from langchain_azure_llama import ChatAzureLlama
from tests._support.faults import (
    KEY,
    MODEL,
    Driver,
    Drivers,
    Reply,
)
from tests._support.raw_server import closed_port_url

LOGGERS = ("httpx", "httpcore", "aiohttp", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
MODES = ("invoke", "ainvoke", "stream", "astream")
LITELLM_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)
# Where LiteLLM itself keeps the `api_key=` argument for its logging callbacks (see docstring).
LITELLM_OWN_COPY = "$.litellm_params.api_key"


def occurrences(value: Any, secret: str, path: str = "$", depth: int = 0) -> list[str]:
    """The paths inside a nested value whose text holds `secret`."""
    if isinstance(value, str):
        return [path] if secret in value else []
    if isinstance(value, bytes):
        return [path] if secret.encode() in value else []
    if depth < 12 and isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            found += occurrences(item, secret, f"{path}.{key}", depth + 1)
        return found
    if depth < 12 and isinstance(value, (list, tuple, set, frozenset)):
        found = []
        for index, item in enumerate(value):
            found += occurrences(item, secret, f"{path}[{index}]", depth + 1)
        return found
    try:
        text = repr(value) + str(value)
    except Exception:  # an object that cannot describe itself shows nothing either
        return []
    return [path] if secret in text else []


def exception_texts(error: BaseException) -> Iterator[tuple[str, Any]]:
    """Everything a user may print or log about an error, along its whole chain."""
    yield "traceback", "".join(traceback.format_exception(error))
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        yield f"{name}.str", str(current)
        yield f"{name}.repr", repr(current)
        yield f"{name}.args", current.args
        public = {k: v for k, v in vars(current).items() if not k.startswith("_")}
        yield f"{name}.attributes", public
        response = getattr(current, "response", None)
        if response is not None:
            yield f"{name}.response.headers", dict(getattr(response, "headers", {}))
            request = getattr(response, "_request", None)
            if request is not None:
                yield f"{name}.response.request.headers", dict(request.headers)
        current = current.__cause__ or current.__context__


class LangChainSpy(BaseCallbackHandler):
    """Keeps every argument LangChain hands to callbacks (what tracers such as LangSmith get)."""

    def __init__(self) -> None:
        self.payloads: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.payloads.append({"serialized": serialized, "messages": messages, **kwargs})

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.payloads.append({"response": response, **kwargs})

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.payloads.append({"error": error, **kwargs})


class LiteLLMSpy(CustomLogger):
    """Keeps the `kwargs` LiteLLM hands to a custom logging callback, in every hook."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[dict[str, Any]] = []

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        self.payloads.append(kwargs)

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.payloads.append({**kwargs, "response_obj": response_obj})

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.payloads.append({**kwargs, "response_obj": response_obj})

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.payloads.append({**kwargs, "response_obj": response_obj})

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.payloads.append({**kwargs, "response_obj": response_obj})


@dataclass
class Path_:
    """One path through a front end: where to send, what to set up, what to send."""

    name: str
    endpoint: Callable[[Emulator, Emulator], str]
    settings: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    text: str = "say something"
    kwargs: dict[str, Any] = field(default_factory=dict)
    streams_only: bool = False
    times: int = 1


def _emu(emu: Emulator, other: Emulator) -> str:
    return emu.url


PATHS = [
    Path_("success", _emu),
    Path_("rate-limited", _emu, {"max_retries": 1}, Fault.status(429, retry_after_ms=1), times=2),
    Path_("server-error", _emu, {"max_retries": 0}, Fault.status(500)),
    Path_("bad-key-401", lambda emu, other: other.url),  # our key, an endpoint that refuses it
    Path_("content-filter", _emu, text="please BLOCKME"),
    Path_("validation", _emu, kwargs={"response_format": {"type": "json_object"}}),
    Path_("timeout", _emu, {"max_retries": 0, "timeout": 0.2}, Fault.slow_first_byte(1.0)),
    Path_("refused", lambda emu, other: closed_port_url(), {"max_retries": 0}),
    Path_("dns", lambda emu, other: "https://llama-secrets.models.invalid", {"max_retries": 0}),
    Path_("tls", lambda emu, other: emu.url.replace("http:", "https:"), {"max_retries": 0}),
    Path_("cut", _emu, fault=Fault.cut_after(3), streams_only=True),
    Path_("malformed", _emu, fault=Fault.malformed_after(2), streams_only=True),
    Path_("error-event", _emu, fault=Fault.error_event_after(2), streams_only=True),
]


@pytest.fixture(scope="module")
def other_endpoint() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key="somebody-elses-key", model_name=MODEL)) as emu:
        yield emu


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


Run = Callable[[Driver, Path_], Awaitable[Reply]]


async def run_every_path(
    front: str, key: str | None, emu: Emulator, other: Emulator, drive: Drivers, **settings: Any
) -> tuple[list[Reply], list[Driver]]:
    replies: list[Reply] = []
    drivers: list[Driver] = []
    for mode in MODES:
        for path in PATHS:
            if path.streams_only and "stream" not in mode:
                continue
            emu.clear()
            if path.fault is not None:
                emu.inject(path.fault, times=path.times)
            endpoint = path.endpoint(emu, other)
            driver = drive((front, mode), endpoint, key=key, **{**path.settings, **settings})
            drivers.append(driver)
            reply = await driver.call(path.text, **path.kwargs)
            if path.name != "success":
                assert reply.caught is not None, f"{front} {mode} {path.name} did not fail"
            replies.append(reply)
    return replies, drivers


def scan_common(
    replies: list[Reply], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for n, reply in enumerate(replies):
        if reply.caught is not None:
            for where, text in exception_texts(reply.caught):
                hits = occurrences(text, KEY)
                if hits:
                    found[f"reply {n} {where}"] = hits
    for record in caplog.records:
        extras = {k: v for k, v in vars(record).items() if k not in ("msg", "args")}
        for where, value in (("message", record.getMessage()), ("args", record.args)):
            if occurrences(value, KEY):
                found[f"log {record.name}:{record.lineno} {where}"] = [record.getMessage()[:200]]
        if occurrences(extras, KEY):
            found[f"log {record.name}:{record.lineno} extra"] = occurrences(extras, KEY)
    if KEY in caplog.text:
        found["caplog.text"] = ["..."]
    out, err = capsys.readouterr()
    if KEY in out or KEY in err:
        found["stdout/stderr"] = ["..."]
    return found


@pytest.mark.parametrize("source", ["argument", "environment"])
async def test_langchain_never_shows_the_key(
    source: str,
    emu: Emulator,
    other_endpoint: Emulator,
    drive: Drivers,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if source == "environment":
        monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", KEY)
    spy = LangChainSpy()
    key = KEY if source == "argument" else None
    replies, drivers = await run_every_path(
        "langchain", key, emu, other_endpoint, drive, callbacks=[spy]
    )
    assert any(r.caught is None for r in replies)
    found = scan_common(replies, debug_logs, capsys)
    model = drivers[0].model
    assert model is not None
    shown = {
        "repr": repr(model),
        "str": str(model),
        "dumps": dumps(model),
        "dumpd": json.dumps(dumpd(model), default=repr),
        "model_dump": repr(model.model_dump()),
        "model_dump_json": model.model_dump_json(),
        "identifying_params": repr(model._identifying_params),
        "ls_params": repr(model._get_ls_params()),
        "clients": repr((model._client, model._async_client)),
        "callbacks": spy.payloads,
    }
    for where, value in shown.items():
        if occurrences(value, KEY):
            found[where] = occurrences(value, KEY)
    assert found == {}
    assert spy.payloads  # the callbacks did see the runs


@pytest.mark.parametrize("source", ["argument", "environment"])
async def test_litellm_never_shows_the_key(
    source: str,
    emu: Emulator,
    other_endpoint: Emulator,
    drive: Drivers,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if source == "environment":
        monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", KEY)
    spy = LiteLLMSpy()
    # LiteLLM copies `litellm.callbacks` into these lists on first use and never forgets them:
    # give each its own list, restored afterwards, so no spy outlives its test.
    for name in LITELLM_CALLBACK_LISTS:
        monkeypatch.setattr(litellm, name, [spy])
    key = KEY if source == "argument" else None
    replies, _ = await run_every_path("litellm", key, emu, other_endpoint, drive)
    await _drain_litellm_logging()
    found = scan_common(replies, debug_logs, capsys)
    assert any("exception" in p for p in spy.payloads)  # failure hooks ran, not only success
    own_copy = {LITELLM_OWN_COPY} if source == "argument" else set()
    hits = [set(occurrences(payload, KEY)) for payload in spy.payloads]
    for n, found_in_payload in enumerate(hits):
        assert found_in_payload <= own_copy, f"callback payload {n}: {found_in_payload - own_copy}"
        assert not occurrences(spy.payloads[n].get("standard_logging_object"), KEY)
    # Pinned so that the day LiteLLM masks its copy, this test says so.
    assert any(hits) == (source == "argument")
    assert found == {}


async def _drain_litellm_logging() -> None:
    """LiteLLM runs sync callbacks on its logging thread pool and async ones from a queue worker
    on this loop: wait (bounded) until both are idle."""
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER as worker
    from litellm.litellm_core_utils.thread_pool_executor import executor

    for _ in range(300):  # hang guard: about 15 seconds
        await asyncio.wait_for(worker.flush(), timeout=15)
        threads_idle = executor._pending_slots._value == executor._max_pending_tasks
        if threads_idle and worker.pending_count == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("LiteLLM's logging callbacks did not finish")


def test_vcr_cassette_recorded_from_every_path_holds_no_key(
    tmp_path: Path, emu: Emulator, other_endpoint: Emulator
) -> None:
    """Record with the filters every LangChain integration test uses (langchain-tests'
    `base_vcr_config`, which tests/langchain extends), through both front ends, then read the
    cassette. (The committed cassettes are scanned by tests/unit/test_cassettes.py.)"""
    base = base_vcr_config()
    recorder = vcr.VCR(
        cassette_library_dir=str(tmp_path),
        record_mode="all",
        filter_headers=base["filter_headers"],
        decode_compressed_response=True,
    )
    model = ChatAzureLlama(endpoint=emu.url, api_key=KEY, model=MODEL, max_retries=0)
    refused = ChatAzureLlama(endpoint=other_endpoint.url, api_key=KEY, model=MODEL)
    litellm_call = {
        "model": f"azure_llama/{MODEL}",
        "api_base": emu.url,
        "api_key": KEY,
        "messages": [{"role": "user", "content": "hi"}],
        "max_retries": 0,
    }
    with recorder.use_cassette("paths.yaml"):
        model.invoke("hi")
        list(model.stream("hi"))
        litellm.completion(**litellm_call)
        list(litellm.completion(stream=True, **litellm_call))
        failures: list[tuple[int, type[Exception], type[Exception]]] = [
            (500, lc.InternalServerError, litellm.InternalServerError),
            (429, lc.RateLimitError, litellm.RateLimitError),
        ]
        for status, langchain_error, litellm_error in failures:
            emu.inject(Fault.status(status))
            with pytest.raises(langchain_error):
                model.invoke("hi")
            emu.inject(Fault.status(status))
            with pytest.raises(litellm_error):
                litellm.completion(**litellm_call)
        with pytest.raises(lc.ContentFilterError):
            model.invoke("BLOCKME")
        with pytest.raises(lc.AuthenticationError):
            refused.invoke("hi")
    model.close()
    refused.close()
    text = (tmp_path / "paths.yaml").read_text(encoding="utf-8")
    assert text.count("uri:") >= 10
    assert KEY not in text
    assert "Bearer" not in text
