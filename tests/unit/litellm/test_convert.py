"""Pure conversions: LiteLLM params/messages → transport; wire answers → LiteLLM objects."""

from __future__ import annotations

from typing import Any

import pytest
from litellm.types.utils import (
    ChatCompletionMessageToolCall,
    Choices,
    Function,
    Message,
    ModelResponse,
    Usage,
)

import azure_llama_transport as t
from litellm_azure_llama._convert import (
    StreamConverter,
    fill_response,
    fill_text_response,
    plan_request,
    to_wire_messages,
)
from tests._support.transported import transported


@pytest.mark.parametrize(
    ("optional", "params", "extras"),
    [
        pytest.param(
            {"temperature": 0.2, "top_p": 0.9, "max_tokens": 5, "stop": ["x"], "seed": 1},
            {"temperature": 0.2, "top_p": 0.9, "max_tokens": 5, "stop": ["x"], "seed": 1},
            {},
            id="typed",
        ),
        pytest.param(
            {"presence_penalty": 0.1, "frequency_penalty": 0.2, "tool_choice": "auto"},
            {"presence_penalty": 0.1, "frequency_penalty": 0.2, "tool_choice": "auto"},
            {},
            id="penalties-and-tool-choice",
        ),
        pytest.param({"top_k": 3}, {}, {"top_k": 3}, id="unknown-kwarg-passes-through"),
        pytest.param({"n": 2, "logprobs": True}, {}, {"n": 2, "logprobs": True}, id="n-is-extra"),
        pytest.param({"model_extras": {"ignore_eos": True}}, {}, {"ignore_eos": True}, id="extras"),
        pytest.param({"extra_body": {"top_k": 2}}, {}, {"top_k": 2}, id="extra-body"),
        pytest.param({"extra_body": {"top_p": 0.5}}, {"top_p": 0.5}, {}, id="typed-in-extra-body"),
        pytest.param(
            {"max_retries": 0, "stream_options": {"include_usage": True}, "user": "u"},
            {},
            {},
            id="litellm-keys-dropped",
        ),
        pytest.param(
            {"metadata": {"a": 1}, "litellm_trace_id": "t", "proxy_server_request": {}},
            {},
            {},
            id="litellm-owned-dropped",
        ),
        pytest.param({"deployment": "blue", "temperature": None}, {}, {}, id="provider-keys"),
    ],
)
def test_plan_request_sorts_params(
    optional: dict[str, Any], params: dict[str, Any], extras: dict[str, Any]
) -> None:
    plan = plan_request(optional)
    assert plan.api == "inference"
    assert plan.params == params
    assert plan.model_extras == extras


def test_plan_request_llama_api_types_llama_params() -> None:
    plan = plan_request({"azure_llama_api": "llama", "n": 2, "best_of": 3, "top_k": 5})
    assert plan.api == "llama"
    assert plan.params == {"n": 2, "best_of": 3}
    assert plan.model_extras == {"top_k": 5}


def test_plan_request_records_why_keys_were_dropped() -> None:
    plan = plan_request({"user": "u1", "stream_options": {"include_usage": True}})
    assert set(plan.dropped) == {"user", "stream_options"}
    assert "Model Inference API" in plan.dropped["user"]


def test_plan_request_text_mode_keeps_only_completion_keys_typed() -> None:
    plan = plan_request({"max_tokens": 4, "echo": True}, text=True)
    assert plan.params == {"max_tokens": 4}
    assert plan.model_extras == {"echo": True}


def test_plan_request_refuses_an_unknown_api() -> None:
    with pytest.raises(ValueError, match="azure_llama_api"):
        plan_request({"azure_llama_api": "v2"})


def test_to_wire_messages_cleans_litellm_message_objects() -> None:
    assistant = Message(
        role="assistant",
        content=None,
        tool_calls=[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    )
    wire = to_wire_messages(
        [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": "hi", "cache_control": None},
            assistant,
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ]
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
    ]


@pytest.mark.parametrize("reason", sorted(t.OPENAI_FINISH_REASONS))
def test_litellm_keeps_the_transports_finish_reasons_as_given(reason: str) -> None:
    """The in-place fill writes these into LiteLLM's blank choice: `Choices` must keep them."""
    assert Choices(finish_reason=reason).finish_reason == reason


def test_to_wire_messages_reads_plain_dicts_without_changing_them() -> None:
    import copy
    from collections import OrderedDict

    call = {"id": "c1", "function": {"name": "f", "arguments": None}, "extra": 1}
    history = [
        {"role": "assistant", "content": "", "tool_calls": [call], "function_call": None},
        {"role": "assistant", "content": None},
        OrderedDict(role="user", content=[{"type": "image_url", "image_url": "https://x.test/a"}]),
    ]
    before = copy.deepcopy(history)
    wire = to_wire_messages(history)
    assert history == before
    assert wire == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
            ],
        },
        {"role": "assistant", "content": ""},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a"}}],
        },
    ]
    assert all(out is not given for out, given in zip(wire, history, strict=True))


def test_fill_response_maps_choices_tool_calls_and_usage() -> None:
    wire = {
        "id": "abc",
        "created": 1,
        "model": "served",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "f", "arguments": "{}", "call_id": None}}
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    response = fill_response(wire, ModelResponse(), "Meta-Llama-3.1-8B-Instruct")
    assert response.id == "abc"
    assert response.model == "azure_llama/served"  # the model the response names
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        "c1",
        "function",
        "f",
        "{}",
    )
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (3, 5)


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        chunk["usage"] = usage
    return chunk


USAGE = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}


def test_stream_converter_text_and_final_usage() -> None:
    converter = StreamConverter()
    out = [
        *converter.convert(_chunk({"role": "assistant", "content": ""})),
        *converter.convert(_chunk({"content": "Hi"})),
        *converter.convert(_chunk({"content": "!"}, "stop", USAGE)),
    ]
    assert [c["text"] for c in out] == ["Hi", "!"]
    assert [c["is_finished"] for c in out] == [False, True]
    assert out[-1]["finish_reason"] == "stop"
    assert out[-1]["usage"] == USAGE
    assert all(c["usage"] is None for c in out[:-1])


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(_chunk({"role": "assistant", "content": ""}), id="role-only"),
        pytest.param(_chunk({"content": None}), id="empty-delta"),
        pytest.param({"choices": [], "prompt_filter_results": []}, id="prompt-filter-results"),
        pytest.param({"choices": [{"index": 0, "text": ""}]}, id="empty-text-completion"),
    ],
)
def test_stream_converter_gives_nothing_for_a_chunk_that_carries_nothing(
    chunk: dict[str, Any],
) -> None:
    """LiteLLM's stream wrapper would build a response for such a chunk only to drop it."""
    assert list(StreamConverter().convert(chunk)) == []


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(_chunk({"content": ""}, "stop"), id="finish-only"),
        pytest.param({"choices": [], "usage": USAGE}, id="usage-only"),
        pytest.param(_chunk({"tool_calls": [{"id": "a", "function": {"name": "f"}}]}), id="call"),
    ],
)
def test_stream_converter_keeps_a_chunk_without_text(chunk: dict[str, Any]) -> None:
    (out,) = StreamConverter().convert(chunk)
    assert out["text"] == ""


# The keys of the chunks LiteLLM's own custom-provider examples yield (and its no-I/O benchmark
# floor): the chunk its stream wrapper handles most cheaply.
_PLAIN_CHUNK_KEYS = {"text", "tool_use", "is_finished", "finish_reason", "usage", "index"}


def test_stream_chunks_are_plain_generic_chunks() -> None:
    """Plain dicts, no `provider_specific_fields`: a `ModelResponseStream` costs LiteLLM's wrapper
    more per chunk, and provider fields on every chunk add work to every chunk."""
    converter = StreamConverter()
    call = {"id": "a", "function": {"name": "f", "arguments": "{}"}}
    wire = [
        _chunk({"content": "Hi"}),
        _chunk({"tool_calls": [call]}),
        _chunk({"content": "!"}, "stop", USAGE),
        {"choices": [], "usage": USAGE},
    ]
    out = [piece for chunk in wire for piece in converter.convert(chunk)]
    assert len(out) == len(wire)
    assert all(type(piece) is dict and set(piece) == _PLAIN_CHUNK_KEYS for piece in out)


def test_stream_converter_indexes_azure_tool_calls_by_position() -> None:
    """Azure: one delta holds whole calls, without `index` or `type` (docs/wire-protocol.md §8)."""
    calls = [
        {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "b", "function": {"name": "g", "arguments": "{}"}},
    ]
    (wire,) = transported([_chunk({"tool_calls": calls}, "tool_calls", USAGE)])
    out = list(StreamConverter().convert(wire))
    assert [c["tool_use"]["index"] for c in out] == [0, 1]
    assert [c["tool_use"]["type"] for c in out] == ["function", "function"]
    assert [c["tool_use"]["function"]["name"] for c in out] == ["f", "g"]
    # Finish and usage only on the last piece, so LiteLLM keeps both calls.
    assert [c["is_finished"] for c in out] == [False, True]
    assert out[-1]["usage"] == USAGE and out[0]["usage"] is None


def test_stream_converter_keeps_openai_style_indexes_and_ids() -> None:
    converter = StreamConverter()
    first = {"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}
    more = {"index": 0, "function": {"arguments": '{"x"'}}
    other = {"id": "b", "function": {"name": "g", "arguments": "{}"}}
    wire = [
        _chunk({"tool_calls": [first]}),
        _chunk({"tool_calls": [more]}),
        _chunk({"tool_calls": [other]}, "tool_calls"),
    ]
    out = [piece for chunk in transported(wire) for piece in converter.convert(chunk)]
    assert [c["tool_use"]["index"] for c in out] == [0, 0, 1]


def test_stream_converter_text_completion_chunks() -> None:
    chunk = {"choices": [{"index": 0, "text": "Math", "finish_reason": "length"}]}
    (out,) = StreamConverter().convert(chunk)
    assert (out["text"], out["is_finished"], out["finish_reason"]) == ("Math", True, "length")


def test_stream_converter_usage_only_chunk() -> None:
    (out,) = StreamConverter().convert({"choices": [], "usage": USAGE})
    assert out["usage"] == USAGE and out["text"] == "" and not out["is_finished"]


def _built(wire: dict[str, Any], *, text: bool = False) -> dict[str, Any]:
    """What LiteLLM's own constructors make of `wire`: the in-place fill must match it exactly
    (the same keys dropped or kept in `model_dump`, the same finish-reason mapping)."""
    response = ModelResponse()
    choices = []
    for i, choice in enumerate(wire["choices"]):
        reason = t.openai_finish_reason(choice.get("finish_reason")) or "stop"
        if text:
            message = Message(role="assistant", content=choice.get("text") or "")
            index = choice.get("index", i)
        else:
            raw = choice.get("message") or {}
            calls = [
                ChatCompletionMessageToolCall(
                    id=call.get("id") or f"call_{n}",
                    type="function",
                    function=Function(
                        name=call["function"]["name"], arguments=call["function"]["arguments"]
                    ),
                )
                for n, call in enumerate(raw.get("tool_calls") or [])
            ]
            message = Message(
                role="assistant", content=raw.get("content"), tool_calls=calls or None
            )
            index = choice.get("index", 0)
        choices.append(Choices(index=index, finish_reason=reason, message=message))
    response.choices = choices
    response.id, response.created, response.model = wire["id"], wire["created"], "azure_llama/m"
    if "usage" in wire:
        response.usage = Usage(**wire["usage"])  # type: ignore[attr-defined]
    return response.model_dump()


def _wire(*choices: dict[str, Any], usage: bool = True) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": "abc", "created": 7, "model": "m", "choices": list(choices)}
    if usage:
        wire["usage"] = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    return wire


def _says(text: str | None, reason: str | None = "stop", index: int = 0) -> dict[str, Any]:
    return {
        "index": index,
        "finish_reason": reason,
        "message": {"role": "assistant", "content": text},
    }


_CALL = {"id": "c1", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(_wire(_says("hi")), id="text"),
        pytest.param(_wire(_says("hi"), usage=False), id="no-usage"),
        pytest.param(_wire(_says(None, "length")), id="no-content-length"),
        pytest.param(_wire(_says("x", None)), id="no-finish-reason"),
        pytest.param(_wire(_says("x", "content_filter_error")), id="content-filter-error"),
        pytest.param(_wire(_says("x", "eos")), id="reason-litellm-rewrites"),
        pytest.param(
            _wire(
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {"role": "assistant", "content": None, "tool_calls": [_CALL]},
                }
            ),
            id="tool-calls",
        ),
        pytest.param(_wire(_says("a"), _says("b", "length", 1)), id="two-choices"),
        pytest.param(_wire(), id="no-choices"),
    ],
)
def test_fill_response_matches_litellm_built_response(wire: dict[str, Any]) -> None:
    assert fill_response(wire, ModelResponse(), "azure_llama/m").model_dump() == _built(wire)


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(_wire({"text": "hi", "finish_reason": "stop"}), id="text"),
        pytest.param(_wire({"finish_reason": "length"}, usage=False), id="no-text"),
        pytest.param(
            _wire({"text": "a", "finish_reason": "stop"}, {"text": "b", "finish_reason": "eos"}),
            id="two-choices-rewritten-reason",
        ),
    ],
)
def test_fill_text_response_matches_litellm_built_response(wire: dict[str, Any]) -> None:
    filled = fill_text_response(wire, ModelResponse(), "azure_llama/m")
    assert filled.model_dump() == _built(wire, text=True)


def test_fill_response_replaces_a_response_that_is_not_blank() -> None:
    """Only LiteLLM's untouched choice is written into; anything else is replaced, never merged
    (a stale tool call or logprobs must not survive into the new answer)."""
    response = fill_response(
        _wire({"index": 0, "finish_reason": "tool_calls", "message": {"tool_calls": [_CALL]}}),
        ModelResponse(),
        "azure_llama/m",
    )
    response.choices[0].logprobs = {"content": []}
    again = fill_response(_wire(_says("fresh")), response, "azure_llama/m")
    assert again.model_dump() == _built(_wire(_says("fresh")))


@pytest.mark.parametrize(
    ("text", "api", "typed"),
    [
        pytest.param(False, "inference", {"tools", "top_p"}, id="chat"),
        pytest.param(False, "llama", {"tools", "top_p", "n"}, id="chat-llama"),
        pytest.param(True, "inference", {"top_p"}, id="text"),
        pytest.param(True, "llama", {"top_p", "n"}, id="text-llama"),
    ],
)
def test_which_keys_are_typed_depends_on_the_call_and_the_api(
    text: bool, api: str, typed: set[str]
) -> None:
    """Given directly or in `extra_body`, a key is typed where that API types it, else an extra."""
    given = {"tools": [WEATHER], "top_p": 0.5, "n": 2, "top_k": 3}
    for optional in (dict(given), {"extra_body": dict(given)}):
        plan = plan_request({**optional, "azure_llama_api": api}, text=text)
        assert set(plan.params) == typed
        assert set(plan.model_extras) == set(given) - typed


def test_a_key_set_typed_and_in_extra_body_is_refused() -> None:
    with pytest.raises(ValueError, match="set it once"):
        plan_request({"top_p": 0.1, "extra_body": {"top_p": 0.5}})


WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {}}}


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}, id="full"),
        pytest.param({"prompt_tokens": 3, "completion_tokens": 2}, id="no-total"),
        pytest.param({"prompt_tokens": None, "completion_tokens": 4}, id="null-prompt"),
    ],
)
def test_usage_is_what_litellms_usage_builds(wire: dict[str, Any]) -> None:
    """Usage is copied from a template, not built: it must be indistinguishable from `Usage(...)`
    (fields, which are set, hidden cache counters), and each answer's its own object."""
    prompt, completion = wire["prompt_tokens"] or 0, wire["completion_tokens"]
    expected = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=wire.get("total_tokens") or prompt + completion,
    )
    usage = t.normalize_usage(wire)  # as the transport's answer carries it
    first = fill_response(_wire(_says("a")) | {"usage": usage}, ModelResponse(), "m").usage
    second = fill_response(_wire(_says("b")), ModelResponse(), "m").usage
    assert type(first) is Usage
    assert first.model_dump() == expected.model_dump()
    assert first.model_fields_set == expected.model_fields_set
    assert first.__pydantic_private__ == expected.__pydantic_private__
    assert first is not second and second.total_tokens == 5
    first._cache_read_input_tokens = 9  # LiteLLM may set its hidden counters on one answer
    assert second._cache_read_input_tokens == 0


# -- to_wire_messages reads each key by hand (it runs per message of an agent's history): the
# same messages, the same key order (the body's bytes), as the plain loop it replaced.


def _reference_wire_message(message: Any) -> Any:
    """The plain loop over the kept keys, as `_wire_message` was written before it was unrolled."""
    from collections.abc import Mapping

    from litellm_azure_llama._convert import _as_dict, _wire_part, _wire_tool_call

    if type(message) is dict:
        source = message
    elif isinstance(message, Mapping) or hasattr(message, "model_dump"):
        source = _as_dict(message)
    else:
        return message
    out = {}
    for key in ("role", "content", "name", "tool_calls", "tool_call_id"):
        value = source.get(key)
        if value is not None:
            out[key] = value
    role = out.get("role")
    if role == "developer":
        out["role"] = "system"
    content = out.get("content")
    if type(content) is not str and isinstance(content, list):
        out["content"] = [_wire_part(part) for part in content]
    calls = out.get("tool_calls")
    if calls is not None:
        out["tool_calls"] = [_wire_tool_call(call) for call in calls]
    elif role == "assistant" and content is None:
        out["content"] = ""
    return out


def _as_sent(messages: list[Any]) -> str:
    import json

    return json.dumps(messages)  # key order included: it is the body's byte order


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            {"role": "assistant", "tool_call_id": "c1", "content": None}, id="empty-content-last"
        ),
        pytest.param({"tool_call_id": "c1", "content": "42", "role": "tool"}, id="tool-reordered"),
        pytest.param({"content": "be brief", "role": "developer", "name": "n"}, id="developer"),
        pytest.param({"role": "user", "content": ["a", {"type": "text", "text": "b"}]}, id="parts"),
        pytest.param({"role": "user", "content": ("not", "a", "list")}, id="tuple-content"),
        pytest.param({"role": None, "content": None}, id="nothing-set"),
        pytest.param(
            {"role": "assistant", "content": None, "tool_calls": [], "function_call": None},
            id="empty-tool-calls",
        ),
        pytest.param(
            lambda: Message(
                role="assistant", content=None, tool_calls=[{"id": "c", "function": {}}]
            ),
            id="litellm-message",
        ),
        pytest.param("not a message", id="not-a-message"),
    ],
)
def test_to_wire_messages_sends_what_the_plain_loop_sent(message: Any) -> None:
    if callable(message):  # built in the test, not at collection (LiteLLM's types warn then)
        message = message()
    assert _as_sent(to_wire_messages([message])) == _as_sent([_reference_wire_message(message)])


def _message_strategy() -> Any:
    from hypothesis import strategies as st

    text = st.one_of(st.none(), st.text(max_size=5))
    function = st.fixed_dictionaries(
        {}, optional={"name": text, "arguments": st.one_of(text, st.just(""))}
    )
    call = st.fixed_dictionaries(
        {}, optional={"id": text, "type": text, "function": function, "extra": text}
    )
    part = st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=5)}),
        st.fixed_dictionaries(
            {
                "type": st.just("image_url"),
                "image_url": st.one_of(st.just("https://x.test/a"), st.just({"url": "u"})),
            }
        ),
    )
    values = {
        "role": st.one_of(st.none(), st.sampled_from(["system", "developer", "user", "assistant"])),
        "content": st.one_of(text, st.lists(part, max_size=2)),
        "name": text,
        "tool_calls": st.one_of(st.none(), st.lists(call, max_size=2)),
        "tool_call_id": text,
        "function_call": text,
        "cache_control": text,
    }
    # Any subset of the keys, in any order: the output's order must not follow the input's.
    return st.permutations(list(values)).flatmap(
        lambda keys: st.integers(0, len(keys)).flatmap(
            lambda n: st.fixed_dictionaries({k: values[k] for k in keys[:n]})
        )
    )


def test_to_wire_messages_matches_the_plain_loop_on_any_message() -> None:
    import copy

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_message_strategy(), max_size=4))
    def check(messages: list[dict[str, Any]]) -> None:
        before = copy.deepcopy(messages)
        wire = to_wire_messages(messages)
        assert _as_sent(wire) == _as_sent([_reference_wire_message(m) for m in messages])
        assert messages == before  # the caller's history is read, never changed
        assert all(out is not given for out, given in zip(wire, messages, strict=True))

    check()
