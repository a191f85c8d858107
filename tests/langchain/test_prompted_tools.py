"""Prompted tool calling, pure: the prompt, the history, the parser and the stream buffer."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_azure_llama._errors import RequestValidationError
from langchain_azure_llama._prompted_tools import (
    PROMPT_FORMAT,
    PROMPT_INTRO,
    PromptedStream,
    apply_to_message,
    history_to_wire,
    parse_tool_calls,
    tools_prompt,
)
from tests._support.langchain import merged


def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return "sunny"


def get_time(zone: str) -> str:
    """Get the time in a zone."""
    return "noon"


TOOLS = [convert_to_openai_tool(get_weather), convert_to_openai_tool(get_time)]
NAMES = frozenset({"get_weather", "get_time"})
META_PROMPT = (
    "Given the following functions, please respond with a JSON for a function call with its "
    "proper arguments that best answers the given prompt.\n\nRespond in the format "
    '{"name": function name, "parameters": dictionary of argument name and its value}. '
    "Do not use variables.\n\n"
)


def test_prompt_is_metas_documented_text_then_the_tools() -> None:
    prompt = tools_prompt(TOOLS, "auto")
    assert prompt is not None
    assert prompt.startswith(META_PROMPT)
    assert f"{PROMPT_INTRO}\n\n{PROMPT_FORMAT}\n\n" == META_PROMPT
    for tool in TOOLS:
        assert json.dumps(tool, ensure_ascii=False) in prompt
        assert tool["type"] == "function"


@pytest.mark.parametrize(
    ("choice", "offered", "rule"),
    [
        (None, ["get_weather", "get_time"], "Answer in plain text"),
        ("auto", ["get_weather", "get_time"], "Answer in plain text"),
        ("required", ["get_weather", "get_time"], "You must call one of these functions"),
        (
            {"type": "function", "function": {"name": "get_time"}},
            ["get_time"],
            'You must call the function "get_time"',
        ),
    ],
    ids=["none-given", "auto", "required", "named"],
)
def test_prompt_follows_tool_choice(choice: Any, offered: list[str], rule: str) -> None:
    prompt = tools_prompt(TOOLS, choice)
    assert prompt is not None
    assert rule in prompt
    shown = [t["function"]["name"] for t in TOOLS if json.dumps(t, ensure_ascii=False) in prompt]
    assert shown == offered


def test_tool_choice_none_offers_nothing() -> None:
    assert tools_prompt(TOOLS, "none") is None
    assert tools_prompt([], "auto") is None


CALL_TEXT = '{"name": "get_weather", "parameters": {"city": "Paris"}}'
PARSE_TABLE = [
    ("plain", CALL_TEXT, [("get_weather", {"city": "Paris"})]),
    ("whitespace", f"\n  {CALL_TEXT}  \n", [("get_weather", {"city": "Paris"})]),
    ("json-fence", f"```json\n{CALL_TEXT}\n```", [("get_weather", {"city": "Paris"})]),
    ("bare-fence", f"```\n{CALL_TEXT}\n```", [("get_weather", {"city": "Paris"})]),
    ("python-tag", f"<|python_tag|>{CALL_TEXT}", [("get_weather", {"city": "Paris"})]),
    ("eom-suffix", f"<|python_tag|>{CALL_TEXT}<|eom_id|>", [("get_weather", {"city": "Paris"})]),
    (
        "arguments-key",
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        [("get_weather", {"city": "Paris"})],
    ),
    (
        "arguments-as-text",
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}',
        [("get_weather", {"city": "Paris"})],
    ),
    (
        "openai-wrapped",
        '{"type": "function", "function": {"name": "get_time", "parameters": {"zone": "UTC"}}}',
        [("get_time", {"zone": "UTC"})],
    ),
    ("no-parameters", '{"name": "get_time"}', [("get_time", {})]),
    (
        "list-of-calls",
        f'[{CALL_TEXT}, {{"name": "get_time", "parameters": {{"zone": "UTC"}}}}]',
        [("get_weather", {"city": "Paris"}), ("get_time", {"zone": "UTC"})],
    ),
    (
        "one-per-line",
        f'{CALL_TEXT}\n{{"name": "get_time", "parameters": {{"zone": "UTC"}}}}',
        [("get_weather", {"city": "Paris"}), ("get_time", {"zone": "UTC"})],
    ),
    (
        "semicolons",
        f'{CALL_TEXT}; {{"name": "get_time", "parameters": {{"zone": "UTC"}}}}',
        [("get_weather", {"city": "Paris"}), ("get_time", {"zone": "UTC"})],
    ),
    ("unknown-tool", '{"name": "launch", "parameters": {}}', None),
    ("prose", "It is sunny in Paris.", None),
    ("prose-then-json", f"Sure: {CALL_TEXT}", None),
    ("json-then-prose", f"{CALL_TEXT} Hope that helps.", None),
    ("extra-keys", '{"name": "get_weather", "city": "Paris"}', None),
    ("broken-json", '{"name": "get_weather", "parameters": {', None),
    ("parameters-not-object", '{"name": "get_weather", "parameters": [1]}', None),
    ("not-an-object", '"get_weather"', None),
    ("empty", "   ", None),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in PARSE_TABLE], ids=[i for i, _, _ in PARSE_TABLE]
)
def test_parse_tool_calls(text: str, expected: list[tuple[str, dict[str, Any]]] | None) -> None:
    calls = parse_tool_calls(text, NAMES)
    if expected is None:
        assert calls is None
        return
    assert calls is not None
    assert [(c["name"], c["args"]) for c in calls] == expected
    assert all(c["id"] and c["id"].startswith("call_") for c in calls)
    assert len({c["id"] for c in calls}) == len(calls)


def test_history_is_rendered_for_llama() -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1", "type": "tool_call"}
    wire = history_to_wire(
        [
            SystemMessage("You are terse."),
            HumanMessage("Weather in Paris?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("sunny", tool_call_id="c1"),
            ToolMessage("Error: timeout", tool_call_id="c9", name="get_time", status="error"),
        ],
        TOOLS,
        "auto",
    )
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user", "user"]
    assert wire[0]["content"].startswith("You are terse.\n\n" + META_PROMPT)
    assert json.loads(wire[2]["content"]) == {
        "name": "get_weather",
        "parameters": {"city": "Paris"},
    }
    assert "tool_calls" not in wire[2]
    assert wire[3]["content"] == "Tool result (get_weather): sunny"
    assert wire[4]["content"] == "Tool result (get_time, error): Error: timeout"


def test_history_without_a_system_message_gets_one() -> None:
    wire = history_to_wire([HumanMessage("hi")], TOOLS, None)
    assert wire[0]["role"] == "system"
    assert wire[0]["content"].startswith(META_PROMPT)
    assert wire[1] == {"role": "user", "content": "hi"}


def test_history_with_tool_choice_none_has_no_tools_prompt() -> None:
    assert history_to_wire([HumanMessage("hi")], TOOLS, "none") == [
        {"role": "user", "content": "hi"}
    ]


def test_media_in_a_prompted_tool_result_is_refused() -> None:
    image = {"type": "image", "base64": "AA==", "mime_type": "image/png"}
    with pytest.raises(RequestValidationError, match="text-only"):
        history_to_wire([ToolMessage(content=[image], tool_call_id="c1")], TOOLS, None)


def test_whole_answer_becomes_tool_calls() -> None:
    answer = AIMessage(
        CALL_TEXT,
        usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        response_metadata={"finish_reason": "stop", "model_name": "m"},
    )
    message = apply_to_message(answer, NAMES)
    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.response_metadata["tool_calling"] == "prompt"
    assert message.usage_metadata == answer.usage_metadata


def test_filtered_answer_is_never_a_tool_call() -> None:
    answer = AIMessage(CALL_TEXT, response_metadata={"finish_reason": "content_filter"})
    assert apply_to_message(answer, NAMES) is answer


# -- the stream buffer ------------------------------------------------------------------------

META = {"finish_reason": "stop", "model_name": "m"}
USAGE = {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}


def _pieces(parts: list[str]) -> list[AIMessageChunk]:
    chunks = [AIMessageChunk(content=p, id="abc") for p in parts]
    chunks[-1] = AIMessageChunk(
        content=parts[-1], id="abc", usage_metadata=USAGE, response_metadata=META
    )
    return chunks


def _run(parts: list[str]) -> tuple[list[list[AIMessageChunk]], list[AIMessageChunk]]:
    stream = PromptedStream(NAMES)
    fed = [stream.feed(chunk) for chunk in _pieces(parts)]
    return fed, stream.close()


def test_text_flows_as_soon_as_it_cannot_be_a_call() -> None:
    fed, closed = _run(["It", " is", " sunny"])
    assert [[c.content for c in out] for out in fed] == [["It"], [" is"], [" sunny"]]
    assert closed == []
    full = merged([c for out in fed for c in out])
    assert full.content == "It is sunny"
    assert full.usage_metadata == USAGE
    assert full.response_metadata == META


def test_leading_whitespace_and_partial_markers_wait() -> None:
    fed, _ = _run(["  ", "`", "`", "x is code"])
    assert [len(out) for out in fed] == [0, 0, 0, 1]
    assert fed[3][0].content == "  ``x is code"


def test_a_call_is_buffered_to_the_end() -> None:
    fed, closed = _run(['{"name": "get_weather", ', '"parameters": {"city": ', '"Paris"}}'])
    assert all(out == [] for out in fed)
    [chunk] = closed
    assert chunk.content == ""
    assert chunk.usage_metadata == USAGE
    assert chunk.response_metadata["finish_reason"] == "tool_calls"
    assert chunk.tool_call_chunks[0]["index"] == 0
    assert [(c["name"], c["args"]) for c in chunk.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_json_that_is_not_a_call_is_released_as_text() -> None:
    fed, closed = _run(['{"answer": ', "42}"])
    assert all(out == [] for out in fed)
    [chunk] = closed
    assert chunk.content == '{"answer": 42}'
    assert chunk.tool_call_chunks == []
    assert chunk.response_metadata == META


def test_a_filtered_stream_is_text() -> None:
    stream = PromptedStream(NAMES)
    filtered = {"finish_reason": "content_filter", "model_name": "m"}
    stream.feed(AIMessageChunk(content=CALL_TEXT, response_metadata=filtered))
    [chunk] = stream.close()
    assert chunk.content == CALL_TEXT
    assert chunk.tool_call_chunks == []


def _splits(text: str) -> st.SearchStrategy[list[str]]:
    cuts = st.lists(st.integers(min_value=1, max_value=len(text) - 1), unique=True, max_size=8)
    return cuts.map(lambda points: _cut(text, sorted(points)))


def _cut(text: str, points: list[int]) -> list[str]:
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


FENCED = f"<|python_tag|>```json\n{CALL_TEXT}\n```"


@given(_splits(FENCED))
def test_any_split_of_a_call_gives_the_same_call(parts: list[str]) -> None:
    fed, closed = _run(parts)
    assert all(out == [] for out in fed)
    [chunk] = closed
    assert [(c["name"], c["args"]) for c in chunk.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


TEXT = "  Paris is sunny today, {no call here}."


@given(_splits(TEXT))
def test_any_split_of_text_gives_the_same_text(parts: list[str]) -> None:
    fed, closed = _run(parts)
    chunks = [c for out in fed for c in out] + closed
    assert "".join(c.text for c in chunks) == TEXT
    assert all(not c.tool_call_chunks for c in chunks)
    assert sum(c.usage_metadata is not None for c in chunks) == 1
