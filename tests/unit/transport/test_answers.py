"""What both front ends read of an answer, made uniform once by the transport (issue 23 item 1).

Usage counts, the `index` of streamed tool calls, filtered finish reasons, and the one reading
of the environment (item 2): each a table over the rule the transport applies for everyone.
"""

from __future__ import annotations

from typing import Any

import pytest

import azure_llama_transport as t


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param({}, None, id="empty"),
        pytest.param(
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            id="full",
        ),
        pytest.param(
            {"prompt_tokens": 3, "completion_tokens": 4},
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            id="no-total",
        ),
        pytest.param(
            {"prompt_tokens": None, "completion_tokens": 4, "total_tokens": None},
            {"prompt_tokens": 0, "completion_tokens": 4, "total_tokens": 4},
            id="nulls",
        ),
        pytest.param(
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 9, "extra": 1},
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 9, "extra": 1},
            id="total-as-sent-and-other-keys-kept",
        ),
    ],
)
def test_normalize_usage(usage: Any, expected: Any) -> None:
    assert t.normalize_usage(usage) == expected


def _call(call_id: str | None = None, index: int | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"function": {"name": "f", "arguments": "{}"}}
    if call_id is not None:
        call["id"] = call_id
    if index is not None:
        call["index"] = index
    return call


@pytest.mark.parametrize(
    ("deltas", "expected"),
    [
        pytest.param([[_call("a"), _call("b")]], [[0, 1]], id="azure-whole-calls-in-one-delta"),
        pytest.param([[_call("a")], [_call("b")]], [[0], [1]], id="azure-calls-in-two-deltas"),
        pytest.param(
            [[_call("a", 0)], [_call(None, 0)], [_call("b")]],
            [[0], [0], [1]],
            id="openai-fragments-then-azure-call",
        ),
        pytest.param([[_call("a")], [_call("a")]], [[0], [0]], id="repeated-id-keeps-its-index"),
        pytest.param([[_call()], [_call()]], [[0], [1]], id="no-id-no-index-is-a-new-call"),
        pytest.param([[_call("a", 3)], [_call("b")]], [[3], [4]], id="next-after-a-sent-index"),
    ],
)
def test_tool_call_numbers(deltas: list[list[dict[str, Any]]], expected: list[list[int]]) -> None:
    numbers = t.ToolCallNumbers()
    for calls in deltas:
        numbers.number(calls)
    assert [[call["index"] for call in calls] for calls in deltas] == expected


@pytest.mark.parametrize(
    ("raw", "openai", "filtered"),
    [
        pytest.param("stop", "stop", False, id="stop"),
        pytest.param("length", "length", False, id="length"),
        pytest.param("tool_calls", "tool_calls", False, id="tool-calls"),
        pytest.param("content_filter", "content_filter", True, id="content-filter"),
        pytest.param("content_filter_error", "content_filter", True, id="content-filter-error"),
        pytest.param(None, None, False, id="none"),
    ],
)
def test_finish_reasons(raw: str | None, openai: str | None, filtered: bool) -> None:
    assert t.openai_finish_reason(raw) == openai
    assert t.content_filtered(raw) is filtered
    assert openai is None or openai in t.OPENAI_FINISH_REASONS


@pytest.mark.parametrize(
    ("passed", "env", "expected"),
    [
        pytest.param(
            {}, {"endpoint": "https://e", "key": "k"}, ("https://e", "k", None), id="from-env"
        ),
        pytest.param(
            {"endpoint": "https://mine", "api_key": "mine"},
            {"endpoint": "https://e", "key": "k"},
            ("https://mine", "mine", None),
            id="passed-wins",
        ),
        pytest.param(
            {"credential": "cred"},
            {"key": "k"},
            (None, None, "cred"),
            id="a-credential-ignores-the-environment-key",
        ),
        pytest.param({}, {"endpoint": "  "}, (None, None, None), id="blank-is-unset"),
    ],
)
def test_settings_from_env(
    passed: dict[str, Any],
    env: dict[str, str],
    expected: tuple[Any, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "endpoint" in env:
        monkeypatch.setenv(t.ENDPOINT_ENV, env["endpoint"])
    if "key" in env:
        monkeypatch.setenv(t.CREDENTIAL_ENV, env["key"])
    assert tuple(t.settings_from_env(**passed)) == expected


def test_client_settings_are_client_config_creates_keywords() -> None:
    assert t.CLIENT_SETTINGS[0] == "endpoint"
    assert {"api_key", "credential", "deployment", "endpoint_kind"} <= set(t.CLIENT_SETTINGS)
    config = t.ClientConfig.create("http://127.0.0.1:1", api_key="k")
    client = t.AzureLlamaClient(config=config)
    assert client.config is config
    client.close()
