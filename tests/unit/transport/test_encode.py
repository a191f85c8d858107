"""Request bodies' bytes: json.dumps's JSON whichever encoder writes it (orjson when installed,
json without), and what neither can carry refused before sending, naming where it is."""

from __future__ import annotations

import collections
import datetime
import enum
import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from azure_llama_transport import RequestValidationError, _encode, build_chat_request

USER = [{"role": "user", "content": "Hello"}]


@pytest.fixture(params=["orjson", "json"])
def encoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both paths: orjson (installed with langchain-core on CPython) and json (without it)."""
    if request.param == "orjson":
        assert _encode.orjson is not None  # CPython: a missing orjson is a broken install
    else:
        monkeypatch.setattr(_encode, "orjson", None)
    yield request.param


def _json_dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


SCALARS = (
    st.text() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.booleans() | st.none()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
)
TEXT = st.text(st.characters(blacklist_categories=["Cs"]))  # no lone surrogates: UTF-8 has none


@given(
    st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": TEXT}), min_size=1),
    st.dictionaries(st.text().filter(lambda k: k not in {"messages"}), VALUES, max_size=4),
)
@example([{"role": "user", "content": 'é "quoted" \\ \n \x00 \u2028 😀'}], {"k": [1, {"x": None}]})
def test_a_body_without_floats_is_byte_for_byte_json_dumps(
    messages: list[dict[str, Any]], extras: dict[str, Any]
) -> None:
    body = {"messages": messages, **extras}
    want = _json_dumps(body)
    assert _encode.encode_body(body) == want
    saved = _encode.orjson
    _encode.orjson = None  # type: ignore[assignment]
    try:
        assert _encode.encode_body(body) == want
    finally:
        _encode.orjson = saved


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1))
@example([1e-05, 1e16, -0.0, 5e-324, 1.7976931348623157e308, 0.1])
def test_floats_may_be_spelt_otherwise_but_are_the_same_numbers(values: list[float]) -> None:
    body = {"messages": USER, "x": values}
    got = json.loads(_encode.encode_body(body))["x"]
    assert got == values
    assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in values]


def _circular() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_enums_and_uuids_are_written_alike_on_both_paths(encoder: str) -> None:
    class Tier(enum.Enum):
        FAST = "fast"

    request_id = uuid.UUID(int=7)
    body = {"messages": USER, "tier": Tier.FAST, "trace": request_id}
    assert json.loads(_encode.encode_body(body)) == {
        "messages": USER,
        "tier": "fast",
        "trace": "00000000-0000-0000-0000-000000000007",
    }


def test_what_orjson_cannot_write_json_writes(encoder: str) -> None:
    point = collections.namedtuple("point", "x y")
    body = {
        "messages": USER,
        "big": 2**70,
        "keys": {1: "a", None: "b"},
        "point": point(1, 2),
        "nested": _deep(300),
    }
    assert _encode.encode_body(body) == _json_dumps(body)


@pytest.mark.parametrize(
    ("extras", "param", "says"),
    [
        ({"x": object()}, "x", "x cannot be sent as JSON: Object of type object"),
        ({"when": datetime.date(2026, 1, 1)}, "when", "when cannot be sent as JSON"),
        ({"opts": {"a": [1, {"b": object()}]}}, "opts", "opts.a[1].b cannot be sent"),
        ({"loop": _circular()}, "loop", "loop[0] cannot be sent as JSON: it holds itself"),
        ({"keys": {(1, 2): 3}}, "keys", "the key (1, 2) is not a string"),
        ({"a.b": [object()]}, "a.b", "a.b[0] cannot be sent as JSON"),
        ({"deep": _deep(100_000)}, None, "value cannot be sent as JSON"),
        ({"top_k": float("nan")}, "top_k", "top_k is nan, which JSON cannot carry"),
        ({"opts": {"scale": [1.0, float("-inf")]}}, "opts", "opts.scale[1] is -inf"),
    ],
)
def test_extras_json_cannot_carry_are_refused_naming_where(
    encoder: str, extras: dict[str, Any], param: str | None, says: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        build_chat_request(USER, model_extras=extras)
    assert caught.value.param == param
    assert says in str(caught.value)


@pytest.mark.parametrize(("key", "api"), [("seed", "inference"), ("best_of", "llama")])
def test_a_nan_parameter_is_refused_not_sent_as_unset(encoder: str, key: str, api: Any) -> None:
    """orjson writes NaN as null, which Azure reads as the parameter not set."""
    with pytest.raises(RequestValidationError, match=f"{key} is nan") as caught:
        build_chat_request(USER, {key: float("nan")}, api=api)
    assert caught.value.param == key


def test_a_lone_surrogate_in_a_message_is_refused_naming_the_message(encoder: str) -> None:
    messages = [*USER, {"role": "user", "content": "caf\ud800"}]
    with pytest.raises(RequestValidationError) as caught:
        build_chat_request(messages)
    assert caught.value.param == "messages"
    assert "messages[1].content" in str(caught.value)
    assert "lone surrogate '\\ud800'" in str(caught.value)
