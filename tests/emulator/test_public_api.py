"""The public surface other modules code against, and the pure helpers behind it."""

from __future__ import annotations

import ast
import dataclasses
import pathlib
from collections.abc import Iterable

import pytest

import azure_llama_emulator as emulator_pkg
from azure_llama_emulator import Emulator, EmulatorConfig, Fault
from azure_llama_emulator._faults import FaultQueue, FaultSyntaxError, parse_fault
from azure_llama_emulator._limits import RateLimiter
from tests._support.layout import (
    EMULATOR,
    LANGCHAIN,
    LITELLM,
    MAY_IMPORT,
    TRANSPORT,
    forbidden_imports,
    package_files,
)


def test_exported_members() -> None:
    assert emulator_pkg.__all__ == ["Emulator", "EmulatorConfig", "Fault", "RecordedRequest"]
    for name in emulator_pkg.__all__:
        assert getattr(emulator_pkg, name).__module__.startswith("azure_llama_emulator")


def test_emulator_shares_no_code_with_transport_or_frameworks() -> None:
    """No import of the transport, a front end or a framework (read from every module's AST;
    tests/unit/transport/test_boundary.py checks the same at run time)."""
    assert forbidden_imports(EMULATOR) == []
    assert MAY_IMPORT[EMULATOR] == frozenset()


def _long_literals(paths: Iterable[pathlib.Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(line.strip() for line in node.value.splitlines())
    return {text for text in found if len(text) >= 24 and " " in text}


def test_emulator_does_not_know_the_library_prompts() -> None:
    # Prompted tools and structured output must be understood as Meta documents them, so no
    # sentence the library writes may be something the emulator looks for.
    library = [
        path for package in (TRANSPORT, LANGCHAIN, LITELLM) for path in package_files(package)
    ]
    assert any(path.name == "_tools.py" for path in library)  # the prompts are the transport's
    assert not _long_literals(package_files(EMULATOR)) & _long_literals(library)


def test_config_defaults_match_the_brief() -> None:
    cfg = EmulatorConfig()
    assert (cfg.api_key, cfg.kind, cfg.model_name) == (
        "emulator-key",
        "serverless",
        "Meta-Llama-3.1-8B-Instruct",
    )
    assert (cfg.model_type, cfg.info_spelling, cfg.tool_mode) == (
        "chat-completion",
        "chat-completion",
        "native",
    )
    assert (cfg.response_format_mode, cfg.json_fence) == ("accept", False)
    assert (cfg.prompt_filter_trigger, cfg.output_filter_trigger, cfg.jailbreak_trigger) == (
        "BLOCKME",
        "FILTERME",
        "JAILBREAK",
    )
    assert (cfg.host, cfg.port, cfg.deployments, cfg.accepted_tokens) == ("127.0.0.1", 0, None, ())


def test_config_is_frozen_and_replaceable() -> None:
    cfg = EmulatorConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.api_key = "other"  # type: ignore[misc]
    assert dataclasses.replace(cfg, rpm_limit=3).rpm_limit == 3


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"kind": "cloud"}, id="unknown-kind"),
        pytest.param({"deployments": {"a": "m"}}, id="deployments-need-managed"),
        pytest.param({"accepted_tokens": ("t",)}, id="tokens-need-managed"),
        pytest.param({"kind": "managed", "deployments": {}}, id="empty-deployments"),
        pytest.param({"tool_mode": "maybe"}, id="unknown-tool-mode"),
        pytest.param({"response_format_mode": "maybe"}, id="unknown-response-format-mode"),
        pytest.param({"model_type": "embeddings"}, id="unknown-model-type"),
    ],
)
def test_config_rejects_impossible_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        EmulatorConfig(**settings)  # type: ignore[arg-type]


def test_emulator_start_stop_and_url() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.url
    emu.start()
    try:
        assert emu.url.startswith("http://127.0.0.1:") and not emu.url.endswith("/")
        with pytest.raises(RuntimeError):
            emu.start()
    finally:
        emu.stop()
    emu.stop()  # idempotent


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("status=503", Fault.status(503), id="status"),
        pytest.param(
            "status=429; retry-after=2; retry-after-ms=1500",
            Fault.status(429, retry_after=2, retry_after_ms=1500),
            id="status-retry",
        ),
        pytest.param("slow-first-byte=0.5", Fault.slow_first_byte(0.5), id="slow"),
        pytest.param("cut-after=3", Fault.cut_after(3), id="cut"),
        pytest.param("cut-after=3,clean=true", Fault.cut_after(3, clean=True), id="cut-clean"),
        pytest.param("malformed-after=2", Fault.malformed_after(2), id="malformed"),
        pytest.param("error-event-after=1", Fault.error_event_after(1), id="error-event"),
        pytest.param("stall-after=2; seconds=1.5", Fault.stall_after(2, 1.5), id="stall"),
    ],
)
def test_fault_header_syntax(header: str, expected: Fault) -> None:
    assert parse_fault(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("explode=1", id="unknown"),
        pytest.param("cut-after", id="no-value"),
        pytest.param("cut-after=soon", id="not-a-number"),
        pytest.param("stall-after=2", id="stall-without-seconds"),
    ],
)
def test_fault_header_errors(header: str) -> None:
    with pytest.raises(FaultSyntaxError):
        parse_fault(header)


def test_fault_queue_is_fifo_and_stream_faults_wait_for_a_stream() -> None:
    queue = FaultQueue()
    queue.push(Fault.cut_after(1), times=1)
    queue.push(Fault.status(503), times=2)
    assert queue.take(streaming=False) == Fault.status(503)
    assert queue.take(streaming=True) == Fault.cut_after(1)
    assert queue.take(streaming=True) == Fault.status(503)
    assert queue.take(streaming=True) is None


def test_rate_limiter_rolls_over_one_minute() -> None:
    limiter = RateLimiter(rpm=2, tpm=None)
    assert limiter.admit(0, now=0.0) is None
    assert limiter.admit(0, now=10.0) is None
    assert limiter.admit(0, now=20.0) == 40  # the first request leaves the window at t=60
    assert limiter.admit(0, now=60.5) is None


def test_token_limiter_counts_cost_and_charges() -> None:
    limiter = RateLimiter(rpm=None, tpm=100)
    assert limiter.admit(60, now=0.0) is None
    limiter.charge(30, now=5.0)
    assert limiter.admit(20, now=6.0) == 54
    assert limiter.admit(200, now=6.0) == 60  # can never pass: wait a whole window
