"""Prompted tools by Llama family (`_llama/_formats.py`): Meta's format for each, history replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from azure_llama_transport import RequestValidationError
from azure_llama_transport._llama import _formats, _tools
from azure_llama_transport._llama._formats import (
    LLAMA4_PROMPT,
    PYTHONIC_PROMPT,
    RESULT_ROLE,
    Family,
    family_of,
    prompted_history,
    pythonic_call,
    tools_prompt,
)
from azure_llama_transport._llama._parse import parse_calls

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
NAMES = frozenset({"get_weather", "get_time"})
FAMILIES: list[Family] = ["llama3.1", "llama3.2", "llama3.3", "llama4", "unknown"]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("Meta-Llama-3.1-8B-Instruct", "llama3.1"),
        ("Meta-Llama-3.1-405B-Instruct", "llama3.1"),
        ("llama-v3p1-70b-instruct", "llama3.1"),
        ("Llama-3.2-90B-Vision-Instruct", "llama3.2"),
        ("Llama-3.3-70B-Instruct", "llama3.3"),
        ("llama-3-3-70b", "llama3.3"),
        ("Llama-4-Maverick-17B-128E-Instruct-FP8", "llama4"),
        ("Llama-4-Scout-17B-16E-Instruct", "llama4"),
        ("llama-4-scout", "llama4"),
        ("llama4", "llama4"),
        ("Meta-Llama-3-70B-Instruct", "unknown"),
        ("Llama-Guard-3-8B", "unknown"),
        ("llama40-custom", "unknown"),
        ("my-chat-deployment", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
    ids=lambda value: str(value),
)
def test_family_of_a_model_or_deployment_name(model: str | None, family: str) -> None:
    assert family_of(model) == family


@pytest.mark.parametrize(
    "choice",
    ["auto", "required", None, {"type": "function", "function": {"name": "get_time"}}, "none"],
    ids=["auto", "required", "default", "named", "none"],
)
def test_llama31_prompt_is_todays_json_text(choice: Any) -> None:
    assert tools_prompt([WEATHER, TIME], choice, "llama3.1") == _tools.tools_prompt(
        [WEATHER, TIME], choice
    )


@pytest.mark.parametrize(
    ("family", "intro"),
    [
        ("llama3.2", PYTHONIC_PROMPT),
        ("llama3.3", PYTHONIC_PROMPT),
        ("llama4", LLAMA4_PROMPT),
        ("unknown", PYTHONIC_PROMPT),
    ],
    ids=["llama3.2", "llama3.3", "llama4", "unknown"],
)
def test_pythonic_prompt_is_metas_text_then_the_functions_as_json(
    family: Family, intro: str
) -> None:
    prompt = tools_prompt([WEATHER, TIME], "auto", family)
    assert prompt is not None and prompt.startswith(intro)
    listed = json.loads(prompt[len(intro) : prompt.rindex("]") + 1])
    assert listed == [WEATHER["function"], TIME["function"]]
    assert "[func_name1(" in prompt
    assert "plain text" in prompt  # auto: answering without a call is allowed


def test_pythonic_prompt_quotes_metas_pages() -> None:
    """Meta's wording (llama3_2 text_prompt_format.md, llama4 prompt_format.md), verbatim."""
    assert PYTHONIC_PROMPT.startswith(
        "You are an expert in composing functions. You are given a question and a set of "
        "possible functions.\nBased on the question, you will need to make one or more "
        "function/tool calls to achieve the purpose."
    )
    assert "You SHOULD NOT include any other text in the response." in PYTHONIC_PROMPT
    assert "NEVER combine text and function calls in the same response" in LLAMA4_PROMPT
    assert "output ONLY the function call(s)" in LLAMA4_PROMPT


@pytest.mark.parametrize("family", ["llama3.3", "llama4"], ids=["llama3.3", "llama4"])
def test_pythonic_choice_rules(family: Family) -> None:
    named = tools_prompt(
        [WEATHER, TIME], {"type": "function", "function": {"name": "get_time"}}, family
    )
    assert named is not None and "get_weather" not in named
    assert 'You must call the function "get_time"' in named and "[get_time(...)]" in named
    required = tools_prompt([WEATHER, TIME], "required", family)
    assert required is not None and "You must call one or more" in required
    assert "plain text" not in required
    assert tools_prompt([WEATHER], "none", family) is None
    assert tools_prompt([], "auto", family) is None


CALLS = [
    {
        "id": "call_1",
        "type": "function",
        "function": {
            "name": "get_weather",
            "arguments": json.dumps({"city": 'it\'s "Paris"', "days": [1, 2], "metric": True}),
        },
    },
    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
]
HISTORY = [
    {"role": "user", "content": "Weather and time?"},
    {"role": "assistant", "content": "Checking.", "tool_calls": CALLS},
    {"role": "tool", "tool_call_id": "call_1", "content": "25 C"},
    {"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
]
EXPECTED = [
    ("get_weather", {"city": 'it\'s "Paris"', "days": [1, 2], "metric": True}),
    ("get_time", {}),
]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILIES)
def test_history_replays_calls_as_the_familys_text_and_reads_back(family: Family) -> None:
    out = prompted_history(HISTORY, family)
    assert [m["role"] for m in out] == ["user", "assistant", RESULT_ROLE[family], "tool"]
    assert out[2] == HISTORY[2] and out[3] == HISTORY[3]  # results keep tool_call_id
    text = out[1]["content"]
    assert "tool_calls" not in out[1] and text.startswith("Checking.\n")
    call_text = text[len("Checking.\n") :]
    if family == "llama3.1":
        assert call_text.startswith('{"name": "get_weather", "parameters": ')
    else:
        assert call_text.startswith(
            '[get_weather(city="it\'s \\"Paris\\"", days=[1, 2], metric=True)'
        )
    assert parse_calls(text, NAMES, max_chars=10_000, max_depth=16, max_calls=8) == EXPECTED


def test_history_falls_back_to_json_when_pythonic_cannot_carry_the_arguments() -> None:
    odd = {
        "id": "c",
        "type": "function",
        "function": {"name": "get_time", "arguments": '{"from": 1}'},
    }
    out = prompted_history([{"role": "assistant", "content": None, "tool_calls": [odd]}], "llama4")
    assert out[0]["content"] == '{"name": "get_time", "parameters": {"from": 1}}'


ARGUMENT_VALUES = [
    pytest.param('Zürich 😀 "q" \\ \n\t\u0007', id="string-escapes-unicode"),
    pytest.param(12345678901234567890, id="big-int"),
    pytest.param(-0, id="zero"),
    pytest.param(2.5e-300, id="float"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="null"),
    pytest.param({"a": [1, "x", {"b": None}], "": 0.5}, id="nested"),
]


@pytest.mark.parametrize("value", ARGUMENT_VALUES)
def test_a_replayed_argument_is_written_as_json_writes_it_and_reads_back(value: Any) -> None:
    text = f"[{pythonic_call('get_weather', {'city': value})}]"
    if not isinstance(value, (dict, bool)) and value is not None:
        assert text == f"[get_weather(city={json.dumps(value, ensure_ascii=False)})]"
    calls = parse_calls(text, NAMES, max_chars=10_000, max_depth=16, max_calls=8)
    assert calls == [("get_weather", {"city": value})]


def _call(name: str, arguments: Any, id: str = "c") -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _replayed(*calls: dict[str, Any]) -> str:
    out = prompted_history(
        [{"role": "assistant", "content": "", "tool_calls": list(calls)}], "llama4"
    )
    return str(out[0]["content"])


def test_a_replayed_turn_is_remembered_by_its_calls_text_not_their_ids() -> None:
    # An agent resends its history every turn: the same calls render the same text, whatever
    # their ids, and calls whose arguments differ only in a value's type render differently.
    first = _replayed(_call("get_weather", '{"days": 1}', id="a"))
    again = _replayed(_call("get_weather", '{"days": 1}', id="b"))
    other = _replayed(_call("get_weather", '{"days": true}', id="a"))
    assert first == again == "[get_weather(days=1)]"
    assert other == "[get_weather(days=True)]"
    both = _replayed(_call("get_weather", '{"days": 1}'), _call("get_time", "{}"))
    assert both == "[get_weather(days=1), get_time()]"


def test_the_replay_memory_is_bounded() -> None:
    _formats._remembered_calls_text.cache_clear()
    for i in range(_formats._REPLAY_ENTRIES + 500):
        _replayed(_call("get_weather", json.dumps({"page": i})))
    assert _formats._remembered_calls_text.cache_info().currsize == _formats._REPLAY_ENTRIES
    _formats._remembered_calls_text.cache_clear()
    long_text = "x" * _formats._REPLAY_CHARACTERS
    text = _replayed(_call("get_weather", json.dumps({"city": long_text})))
    assert text == f'[get_weather(city="{long_text}")]'  # rendered, not remembered
    # Many short calls in one turn count together.
    half = "y" * (_formats._REPLAY_CHARACTERS // 8)
    many = [_call("get_weather", json.dumps({"city": half}), id=str(i)) for i in range(8)]
    assert _replayed(*many) == "[" + ", ".join([f'get_weather(city="{half}")'] * 8) + "]"
    assert _formats._remembered_calls_text.cache_info().currsize == 0


class _Loud(str):
    """A string subclass: never a key (it may compare equal yet render otherwise)."""


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        pytest.param(_Loud('{"city": "Paris"}'), '[get_weather(city="Paris")]', id="str-subclass"),
        pytest.param(
            "not json", '{"name": "get_weather", "parameters": "not json"}', id="bad-json"
        ),
    ],
)
def test_calls_the_memory_cannot_key_are_still_replayed(arguments: Any, text: str) -> None:
    _formats._remembered_calls_text.cache_clear()
    assert _replayed(_call("get_weather", arguments)) == text
    assert _formats._remembered_calls_text.cache_info().currsize == (
        1 if type(arguments) is str else 0
    )


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILIES)
def test_calls_that_cannot_be_replayed_are_refused_not_dropped(family: Family) -> None:
    # Dict arguments were replayed as `get_weather()`: the call's arguments silently lost.
    history = [{"role": "assistant", "content": "", "tool_calls": [_call("get_weather", {})]}]
    with pytest.raises(RequestValidationError, match=r"messages\[0\].*arguments must be a JSON"):
        prompted_history(history, family)
