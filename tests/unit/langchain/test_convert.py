"""Conversion tables: LangChain messages ↔ wire dicts, wire answers and chunks → AI messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from azure_llama_transport import normalize_usage
from langchain_azure_llama._convert import (
    ChunkConverter,
    content_to_wire,
    message_to_wire,
    messages_to_wire,
    response_to_messages,
    tool_call_to_wire,
    usage_to_metadata,
    wire_tool_calls,
)
from langchain_azure_llama._errors import RequestValidationError
from tests._support.langchain import merged
from tests._support.transported import transported

CALL = {"name": "get_weather", "args": {"city": "Zürich"}, "id": "call_1", "type": "tool_call"}
WIRE_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'},
}

MESSAGE_TABLE: list[tuple[str, BaseMessage, dict[str, Any]]] = [
    ("system", SystemMessage("be brief"), {"role": "system", "content": "be brief"}),
    ("human", HumanMessage("hi", name="ann"), {"role": "user", "content": "hi"}),
    (
        "human-text-blocks",
        HumanMessage([{"type": "text", "text": "a", "cache_control": {"type": "x"}}, "b"]),
        {"role": "user", "content": "a\nb"},
    ),
    ("ai-text", AIMessage("hello"), {"role": "assistant", "content": "hello"}),
    (
        "ai-tool-call",
        AIMessage("", tool_calls=[CALL]),
        {"role": "assistant", "tool_calls": [WIRE_CALL]},
    ),
    (
        "ai-text-and-tool-call",
        AIMessage("let me look", tool_calls=[CALL]),
        {"role": "assistant", "content": "let me look", "tool_calls": [WIRE_CALL]},
    ),
    (
        "ai-anthropic-blocks",
        AIMessage(
            [
                {"type": "thinking", "thinking": "hmm", "signature": "x"},
                {"type": "text", "text": "some text"},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}},
            ],
            tool_calls=[CALL],
        ),
        {"role": "assistant", "content": "some text", "tool_calls": [WIRE_CALL]},
    ),
    (
        "ai-invalid-tool-call",
        AIMessage(
            "",
            invalid_tool_calls=[
                {
                    "name": "f",
                    "args": "{oops",
                    "id": "c2",
                    "error": None,
                    "type": "invalid_tool_call",
                }
            ],
        ),
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
            ],
        },
    ),
    (
        "tool",
        ToolMessage("sunny", tool_call_id="call_1", name="get_weather"),
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ),
    ("chat-human", ChatMessage(role="human", content="x"), {"role": "user", "content": "x"}),
    ("chat-ai", ChatMessage(role="ai", content="x"), {"role": "assistant", "content": "x"}),
    ("chat-system", ChatMessage(role="system", content="x"), {"role": "system", "content": "x"}),
]


@pytest.mark.parametrize(
    ("message", "wire"), [(m, w) for _, m, w in MESSAGE_TABLE], ids=[i for i, _, _ in MESSAGE_TABLE]
)
def test_message_to_wire(message: BaseMessage, wire: dict[str, Any]) -> None:
    assert message_to_wire(message) == wire


class _MyHuman(HumanMessage):
    pass


class _MyAI(AIMessage):
    pass


class _MyTool(ToolMessage):
    pass


def test_a_conversation_converts_as_its_messages_do_subclasses_included() -> None:
    """`messages_to_wire` (one type lookup per exact class) sends what `message_to_wire` does,
    and a subclass of a message class, or a chunk, converts as its base class."""
    table = [m for _, m, _ in MESSAGE_TABLE]
    assert messages_to_wire(table) == [w for _, _, w in MESSAGE_TABLE]
    subclassed = [
        _MyHuman("hi"),
        _MyAI("", tool_calls=[CALL]),
        AIMessageChunk(content="", tool_calls=[CALL]),
        _MyTool("sunny", tool_call_id="call_1"),
    ]
    assert messages_to_wire(subclassed) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [WIRE_CALL]},
        {"role": "assistant", "tool_calls": [WIRE_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]


def test_a_conversation_with_an_unsendable_message_is_refused() -> None:
    from langchain_core.messages import FunctionMessage

    with pytest.raises(RequestValidationError, match="FunctionMessage"):
        messages_to_wire([HumanMessage("hi"), FunctionMessage(name="f", content="x")])


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"city": "Zürich", "emoji": "😀", "q": 'a "b" \\ c\n'}, id="unicode-escapes"),
        pytest.param(
            {"x": float("nan"), "y": float("inf"), "n": [1, 2.5, None, True]}, id="floats"
        ),
        pytest.param({"nested": {"a": [{"b": {}}]}, "": ""}, id="nested"),
    ],
)
def test_tool_call_arguments_are_what_json_dumps_writes(args: dict[str, Any]) -> None:
    call = {**CALL, "args": args}
    wire = messages_to_wire([AIMessage("", tool_calls=[call])])[0]
    assert wire["tool_calls"][0]["function"]["arguments"] == json.dumps(args, ensure_ascii=False)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(args=st.dictionaries(st.text(), _JSON, max_size=5))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_tool_call_arguments_are_what_json_dumps_writes(args: dict[Any, Any]) -> None:
    wire = tool_call_to_wire({**CALL, "args": args})
    assert wire["function"]["arguments"] == json.dumps(args, ensure_ascii=False)


def _circular() -> dict[str, Any]:
    args: dict[str, Any] = {"city": "Paris"}
    args["self"] = [args]
    return args


def _deep() -> dict[str, Any]:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    return {"deep": value}


class _Opaque:
    pass


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(_circular(), id="circular"),
        pytest.param(_deep(), id="deep"),
        pytest.param({"what": _Opaque()}, id="not-json"),
    ],
)
def test_arguments_json_cannot_write_fail_as_json_dumps_fails(args: dict[str, Any]) -> None:
    with pytest.raises(Exception) as expected:
        json.dumps(args, ensure_ascii=False)
    with pytest.raises(type(expected.value)) as raised:
        tool_call_to_wire({**CALL, "args": args})
    assert str(raised.value) == str(expected.value)


def test_tool_call_arguments_are_a_json_string() -> None:
    wire = message_to_wire(AIMessage("", tool_calls=[CALL]))
    arguments = wire["tool_calls"][0]["function"]["arguments"]
    assert isinstance(arguments, str)
    assert json.loads(arguments) == {"city": "Zürich"}


@pytest.mark.parametrize(
    ("block", "kind"),
    [
        ({"type": "audio", "base64": "AA==", "mime_type": "audio/wav"}, "audio"),
        ({"type": "file", "base64": "AA==", "mime_type": "application/pdf"}, "file"),
    ],
    ids=["audio", "file"],
)
def test_media_is_passed_on_for_the_transport_to_refuse(block: dict[str, Any], kind: str) -> None:
    wire = content_to_wire([{"type": "text", "text": "look"}, block])
    assert isinstance(wire, list)
    assert [part["type"] for part in wire] == ["text", kind]


PNG_URL = "data:image/png;base64,iVBORw0KGgo="


@pytest.mark.parametrize(
    ("block", "image_url"),
    [
        pytest.param(
            {"type": "image_url", "image_url": {"url": PNG_URL}}, {"url": PNG_URL}, id="openai-data"
        ),
        pytest.param(
            {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg", "detail": "low"}},
            {"url": "https://x.test/a.jpg", "detail": "low"},
            id="openai-https-detail",
        ),
        pytest.param(
            {"type": "image_url", "image_url": "https://x.test/a.jpg"},
            {"url": "https://x.test/a.jpg"},
            id="openai-bare-string",
        ),
        pytest.param(
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            {"url": PNG_URL},
            id="v1-base64",
        ),
        pytest.param(
            {"type": "image", "url": "https://x.test/a.jpg", "id": "lc_1"},
            {"url": "https://x.test/a.jpg"},
            id="v1-url",
        ),
        pytest.param(
            {
                "type": "image",
                "source_type": "base64",
                "data": "iVBORw0KGgo=",
                "mime_type": "image/png",
            },
            {"url": PNG_URL},
            id="v0-base64",
        ),
        pytest.param(
            {"type": "image", "source_type": "url", "url": "https://x.test/a.jpg"},
            {"url": "https://x.test/a.jpg"},
            id="v0-url",
        ),
        pytest.param(
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
            },
            {"url": PNG_URL},
            id="anthropic-base64",
        ),
        pytest.param(
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
            {"url": "https://x.test/a.jpg"},
            id="anthropic-url",
        ),
    ],
)
def test_images_become_image_url_parts_in_place(
    block: dict[str, Any], image_url: dict[str, Any]
) -> None:
    wire = content_to_wire(["before", block, {"type": "text", "text": "after"}])
    assert wire == [
        {"type": "text", "text": "before"},
        {"type": "image_url", "image_url": image_url},
        {"type": "text", "text": "after"},
    ]


@pytest.mark.parametrize(
    ("block", "says"),
    [
        pytest.param({"type": "image", "base64": "AA=="}, "mime_type", id="base64-without-mime"),
        pytest.param({"type": "image", "file_id": "file-1"}, "by id", id="file-id"),
        pytest.param({"type": "image", "source_type": "id", "id": "f"}, "by id", id="v0-id"),
    ],
)
def test_images_that_cannot_be_sent_are_refused(block: dict[str, Any], says: str) -> None:
    with pytest.raises(RequestValidationError, match=says):
        content_to_wire([block])


def test_an_assistant_message_sends_no_image() -> None:
    block = {"type": "image", "url": "https://x.test/a.jpg"}
    assert content_to_wire(["seen", block], assistant=True) == "seen"


def test_unknown_message_type_is_refused() -> None:
    from langchain_core.messages import FunctionMessage

    with pytest.raises(RequestValidationError, match="FunctionMessage"):
        message_to_wire(FunctionMessage(name="f", content="x"))


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, None),
        ({}, None),
        (
            {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        ),
        (
            {"prompt_tokens": 3, "completion_tokens": 4},
            {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        ),
    ],
    ids=["none", "empty", "full", "no-total"],
)
def test_usage_to_metadata(usage: Any, expected: Any) -> None:
    assert usage_to_metadata(normalize_usage(usage)) == expected


def test_wire_tool_calls_keeps_bad_arguments_as_invalid() -> None:
    calls, invalid = wire_tool_calls(
        [
            {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"id": "b", "function": {"name": "g", "arguments": "{not json"}},
            {"id": "c", "function": {"name": "h", "arguments": "[1]"}},
            {"id": "d", "function": {"name": "k", "arguments": ""}},
        ]
    )
    assert [(c["name"], c["args"]) for c in calls] == [("f", {"x": 1}), ("k", {})]
    assert [c["name"] for c in invalid] == ["g", "h"]


# The recorded MaaS shape (docs/wire-protocol.md §7): content "" with tool calls, "call_id": null.
WHOLE_TOOL_ANSWER = {
    "id": "0123456789abcdef0123456789abcdef",
    "object": "chat.completion",
    "created": 1,
    "model": "Meta-Llama-3.1-8B-Instruct",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city": "Seattle"}',
                            "call_id": None,
                        },
                    }
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}


def test_whole_answer_with_tool_call() -> None:
    [message] = response_to_messages(WHOLE_TOOL_ANSWER, fallback_model="configured")
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "Seattle"}, "id": "call_1", "type": "tool_call"}
    ]
    assert message.usage_metadata == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    assert message.response_metadata["model_name"] == "Meta-Llama-3.1-8B-Instruct"
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.response_metadata["id"] == WHOLE_TOOL_ANSWER["id"]
    assert message.id == WHOLE_TOOL_ANSWER["id"]


@pytest.mark.parametrize(
    ("model", "expected"), [("", "configured"), (None, "configured")], ids=["empty", "missing"]
)
def test_model_name_falls_back_to_the_configured_one(model: Any, expected: str) -> None:
    answer = {**WHOLE_TOOL_ANSWER, "model": model}
    [message] = response_to_messages(answer, fallback_model="configured")
    assert message.response_metadata["model_name"] == expected


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"delta": delta, "finish_reason": finish, "index": 0, "logprobs": None}
    return {"id": "abc", "model": "Meta-Llama-3.1-8B-Instruct", "choices": [choice], **extra}


USAGE = {"prompt_tokens": 6, "completion_tokens": 2, "total_tokens": 8}


def _convert(chunks: list[dict[str, Any]]) -> list[AIMessageChunk]:
    converter = ChunkConverter("configured")
    out = [converter.convert(chunk) for chunk in transported(chunks)]
    out.append(converter.close())
    return [chunk for chunk in out if chunk is not None]


def test_text_stream_has_metadata_and_usage_once() -> None:
    chunks = _convert(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Hello"}),
            _chunk({"content": " there"}, "stop", usage=USAGE),
        ]
    )
    assert [c.content for c in chunks] == ["Hello", " there"]
    assert [c.usage_metadata is not None for c in chunks] == [False, True]
    assert [bool(c.response_metadata) for c in chunks] == [False, True]
    full = merged(chunks)
    assert full.content == "Hello there"
    assert full.response_metadata["model_name"] == "Meta-Llama-3.1-8B-Instruct"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.usage_metadata == {"input_tokens": 6, "output_tokens": 2, "total_tokens": 8}


def test_real_azure_streamed_tool_call_without_index_or_type() -> None:
    # REC: one delta holds the whole call, no `index`, no `type`; finish and usage alongside.
    call = {"function": {"arguments": '{"city": "Seattle"}', "name": "get_weather"}, "id": "c1"}
    chunks = _convert(
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"tool_calls": [call]}, "tool_calls", usage=USAGE),
        ]
    )
    assert [tc["index"] for tc in chunks[0].tool_call_chunks] == [0]
    full = merged(chunks)
    assert full.tool_calls == [
        {"name": "get_weather", "args": {"city": "Seattle"}, "id": "c1", "type": "tool_call"}
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_calls_in_one_delta_take_their_positions() -> None:
    calls = [
        {"function": {"arguments": '{"a": 1}', "name": "f"}, "id": "c1"},
        {"function": {"arguments": '{"b": 2}', "name": "g"}, "id": "c2"},
    ]
    full = merged(_convert([_chunk({"tool_calls": calls}, "tool_calls")]))
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [
        ("f", {"a": 1}, "c1"),
        ("g", {"b": 2}, "c2"),
    ]


def test_calls_in_separate_deltas_never_merge() -> None:
    first = {"function": {"arguments": '{"a": 1}', "name": "f"}, "id": "c1"}
    second = {"function": {"arguments": '{"b": 2}', "name": "g"}, "id": "c2"}
    full = merged(_convert([_chunk({"tool_calls": [first]}), _chunk({"tool_calls": [second]})]))
    assert [c["id"] for c in full.tool_calls] == ["c1", "c2"]


def test_openai_style_fragments_with_index_still_merge() -> None:
    head = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
    parts = [{"index": 0, "function": {"arguments": p}} for p in ('{"a"', ": 1", "}")]
    chunks = [_chunk({"tool_calls": [head]})] + [_chunk({"tool_calls": [p]}) for p in parts]
    full = merged(_convert(chunks))
    assert full.tool_calls == [{"name": "f", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]


def test_a_stream_names_the_latest_id_and_model_it_sent() -> None:
    """Chunks share their `id`/`model` objects while a stream's events do (the transport's
    template; here the list's): a chunk with new ones, or with none, is read as before."""
    converter = ChunkConverter("fallback")
    ids, models = ["a", "a", None, "", 5, "b", "b"], ["m1", "m1", None, "", "m2", "m2", None]
    messages = [
        converter.convert({"id": i, "model": m, "choices": [{"delta": {"content": "x"}}]})
        for i, m in zip(ids, models, strict=True)
    ]
    assert [m.id for m in messages if m is not None] == ["a", "a", "a", "a", "a", "b", "b"]
    last = converter.close()
    assert last is not None
    assert last.response_metadata["model_name"] == "m2"
    assert last.response_metadata["id"] == "b"


def test_stream_without_finish_reason_still_names_the_model_once() -> None:
    chunks = _convert([_chunk({"content": "Hi"})])
    assert [bool(c.response_metadata) for c in chunks] == [False, True]
    assert merged(chunks).response_metadata["model_name"] == "Meta-Llama-3.1-8B-Instruct"


def test_usage_on_a_later_chunk_is_taken_once() -> None:
    chunks = _convert(
        [
            _chunk({"content": "Hi"}, "stop"),
            {"id": "abc", "choices": [], "usage": USAGE},
            {"id": "abc", "choices": [], "usage": USAGE},
        ]
    )
    assert sum(c.usage_metadata is not None for c in chunks) == 1
    assert sum(bool(c.response_metadata) for c in chunks) == 1


def test_content_filtered_finish_is_reported() -> None:
    converter = ChunkConverter(None)
    converter.convert(_chunk({"content": "The"}, "content_filter", usage=USAGE))
    assert converter.finish_reason == "content_filter"
