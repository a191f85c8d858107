"""The tolerant parser of prompted tool calls (`_llama/_parse.py`): every form, whole, streamed."""

from __future__ import annotations

import json
import keyword
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azure_llama_transport._llama._formats import pythonic_call
from azure_llama_transport._llama._parse import (
    CallSplitter,
    could_be_call,
    parse_calls,
    split_calls,
)

NAMES = frozenset({"get_weather", "get_time", "search_docs"})
LIMITS = {"max_chars": 200_000, "max_depth": 64, "max_calls": 32}
PARIS = [("get_weather", {"city": "Paris"})]
JSON_CALL = '{"name": "get_weather", "parameters": {"city": "Paris"}}'


def parse(text: str, **limits: int) -> list[tuple[str, dict[str, Any]]] | None:
    return parse_calls(text, NAMES, **{**LIMITS, **limits})


def stream(pieces: list[str], **limits: int) -> tuple[str, list[tuple[str, Any]] | None]:
    """(all text the user was shown, the calls) of a stream fed piece by piece."""
    splitter = CallSplitter(NAMES, **{**LIMITS, **limits})
    shown = "".join(splitter.feed(piece) for piece in pieces)
    rest, calls = splitter.close()
    return shown + rest, calls


FORMS = [
    ("[get_weather(city='Paris')]", PARIS),
    ('[get_weather(city="Paris")]', PARIS),
    ("get_weather(city='Paris')", PARIS),
    (
        "[get_weather(city='Paris'), get_time(zone=\"CET\")]",
        [*PARIS, ("get_time", {"zone": "CET"})],
    ),
    ("get_weather(city='Paris'); get_time()", [*PARIS, ("get_time", {})]),
    ("get_weather(city='Paris')\nget_time()", [*PARIS, ("get_time", {})]),
    ("[get_time()]", [("get_time", {})]),
    (JSON_CALL, PARIS),
    ('{"name": "get_weather", "arguments": {"city": "Paris"}}', PARIS),
    ('{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}', PARIS),
    ('{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}', PARIS),
    (
        '{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": '
        '\\"Paris\\"}"}}',
        PARIS,
    ),
    (f"[{JSON_CALL}]", PARIS),
    (f'{JSON_CALL}\n{{"name": "get_time", "parameters": {{}}}}', [*PARIS, ("get_time", {})]),
    (f'{JSON_CALL}; {{"name": "get_time", "parameters": {{}}}}', [*PARIS, ("get_time", {})]),
    ("{'name': 'get_weather', 'parameters': {'city': 'Paris'}}", PARIS),
    (f"<|python_tag|>{JSON_CALL}<|eom_id|>", PARIS),
    ('<|python_tag|>[get_weather(city="Paris")]<|eot_id|>', PARIS),
    ("<|python_start|>[get_weather(city='Paris')]<|python_end|><|eot|>", PARIS),
    (f"<|python_start|>{JSON_CALL}<|python_end|>", PARIS),
    ('<function=get_weather>{"city": "Paris"}</function>', PARIS),
    (
        '<function=get_weather>{"city": "Paris"}</function>\n<function=get_time>{}</function>',
        [*PARIS, ("get_time", {})],
    ),
    (f"```json\n{JSON_CALL}\n```", PARIS),
    ("```python\n[get_weather(city='Paris')]\n```", PARIS),
    (f"```\n{JSON_CALL}\n```", PARIS),
    (f"  \n{JSON_CALL}\n\n<|eot_id|>", PARIS),
    ("Let me check the weather: [get_weather(city='Paris')]", PARIS),
    (f"I'll look that up.\n\n{JSON_CALL}", PARIS),
    (f"Sure! <|python_tag|>{JSON_CALL}", PARIS),
    (f"Here it is:\n```json\n{JSON_CALL}\n```", PARIS),
]
FORM_IDS = [
    "pythonic-single-quotes",
    "pythonic-double-quotes",
    "bare-call",
    "parallel-list",
    "semicolon-bare",
    "newline-bare",
    "no-arguments",
    "json-parameters",
    "json-arguments-object",
    "json-arguments-string",
    "json-metas-type-key",
    "json-openai-wrapping",
    "json-in-list",
    "json-lines",
    "json-semicolon",
    "python-dict-single-quotes",
    "python-tag-json-eom",
    "python-tag-pythonic",
    "llama4-python-start-pythonic",
    "llama4-python-start-json",
    "function-tag",
    "function-tags-two",
    "fence-json",
    "fence-python",
    "fence-bare",
    "whitespace-and-eot",
    "prose-colon-pythonic",
    "prose-sentence-json",
    "prose-python-tag",
    "prose-fence",
]


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=FORM_IDS)
def test_every_form_yields_its_calls_whole_and_streamed(text: str, expected: Any) -> None:
    assert parse(text) == expected
    shown, calls = stream(list(text))  # one character per event: the hardest split
    assert calls == expected
    assert "get_weather(" not in shown and '"name"' not in shown and "<|" not in shown


@pytest.mark.parametrize(
    "text",
    [
        "It is sunny in Paris.",
        "I could use get_weather(city='Paris') but I know it already.",
        "You can call get_weather(city='Paris') yourself.",
        "Try [get_weather(city='Paris')] later.",
        "[launch(target='moon')]",
        "[get_weather(city='Paris'), launch()]",
        '{"name": "launch", "parameters": {}}',
        "<function=launch>{}</function>",
        "[get_weather(city=open('/etc/passwd').read())]",
        "[get_weather(city=__import__('os'))]",
        "[get_weather('Paris')]",
        "[get_weather(**{'city': 'Paris'})]",
        "[get_weather(city={1: 'a'})]",
        "[get_weather(city=f'{x}')]",
        "[get_weather(city=Paris)]",
        "[]",
        "Here are options: [a, b] and {c}.",
        '{"answer": 42}',
        '{"name": "get_weather", "parameters": {"x": NaN}}',
        "```python\nprint('hello')\n```",
        f"{JSON_CALL} and then I stopped",
    ],
    ids=[
        "prose",
        "name-in-prose",
        "name-in-prose-end",
        "bracketed-call-then-prose",
        "unbound-pythonic",
        "one-unbound-of-two",
        "unbound-json",
        "unbound-function-tag",
        "call-as-value",
        "import-as-value",
        "positional-argument",
        "double-star",
        "int-dict-key",
        "f-string",
        "bare-name-value",
        "empty-list",
        "brackets-in-prose",
        "json-answer-not-a-call",
        "nan",
        "code-fence",
        "call-then-prose",
    ],
)
def test_text_stays_text_whole_and_streamed(text: str) -> None:
    assert parse(text) is None
    assert stream(list(text)) == (text, None)
    assert stream([text]) == (text, None)


def test_values_survive_typed() -> None:
    text = (
        '[get_weather(city="it\'s \\"quoted\\"", n=-3, x=2.5e-3, ok=True, no=false, '
        "none=None, nil=null, nested={'a': [1, {'b': (2, 3)}], \"c\": {}}, path='C:\\\\tmp')]"
    )
    assert parse(text) == [
        (
            "get_weather",
            {
                "city": 'it\'s "quoted"',
                "n": -3,
                "x": 2.5e-3,
                "ok": True,
                "no": False,
                "none": None,
                "nil": None,
                "nested": {"a": [1, {"b": [2, 3]}], "c": {}},
                "path": "C:\\tmp",
            },
        )
    ]


def test_prose_before_a_call_is_kept_and_released_early() -> None:
    prose = "Let me check the weather in Paris for you:"
    assert split_calls(f"{prose} [get_weather(city='Paris')]", NAMES, **LIMITS) == (prose, PARIS)
    splitter = CallSplitter(NAMES, **LIMITS)
    assert splitter.feed(prose + " ") == prose + " "  # shown before the call arrives
    assert splitter.feed("[get_weather(city=") == ""
    assert splitter.feed("'Paris')]") == ""
    assert splitter.close() == ("", PARIS)


def test_a_text_stream_is_released_as_it_comes() -> None:
    splitter = CallSplitter(NAMES, **LIMITS)
    assert splitter.feed("The weather ") == "The weather "
    assert splitter.feed("is fine. See [1") == "is fine. See [1"
    assert splitter.feed("] and <b>") == "] and <b>"
    assert splitter.close() == ("", None)


@pytest.mark.parametrize(
    ("prefix", "verdict"),
    [
        ("", "undecided"),
        ("   ", "undecided"),
        ("[", "undecided"),
        ("[get_wea", "undecided"),
        ("[get_weather(", "call"),
        ("[launch(", "text"),
        ("[{", "call"),
        ('{"', "call"),
        ("{x", "text"),
        ("<|pyth", "undecided"),
        ("<|python_tag|>", "undecided"),
        ("<|python_tag|>{", "undecided"),
        ('<|python_tag|>{"', "call"),
        ("<|python_start|>[get_time(", "call"),
        ("<function=", "undecided"),
        ("<function=get_time>", "call"),
        ("<function=launch>", "text"),
        ("``", "undecided"),
        ('```json\n{"', "call"),
        ("```python\nprint(", "text"),
        ("get_weather(", "call"),
        ("get_wea", "undecided"),
        ("Hello", "text"),  # no offered name starts so: released at once
        ("Hello ", "text"),
        ("<b>", "text"),
        ("x" * 300, "text"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_could_be_call_decides_from_a_bounded_head(prefix: str, verdict: str) -> None:
    assert could_be_call(prefix, NAMES) == verdict


def test_limits_refuse_before_parsing() -> None:
    call = "[get_weather(city='Paris')]"
    assert parse(call, max_chars=len(call) - 1) is None
    deep = "[get_weather(city=" + "[" * 65 + "]" * 65 + ")]"
    assert parse(deep) is None and parse(deep, max_depth=100) is not None
    assert parse("[" + ", ".join(["get_time()"] * 33) + "]") is None
    assert parse("\n".join([JSON_CALL] * 33)) is None
    assert len(parse("[" + ", ".join(["get_time()"] * 32) + "]") or []) == 32
    brackets_in_strings = "[get_weather(city='" + "(" * 500 + "')]"
    assert parse(brackets_in_strings) == [("get_weather", {"city": "(" * 500})]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "{" * 100_000,
        '{"name": "get_weather", "parameters": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001,
        "[get_weather(city=" + "[" * 50_000 + "]" * 50_000 + ")]",
        "<|python_tag|>" + "[" * 100_000,
        "```" + " " * 100_000,
        "get_weather(city='" + "\\" * 100_000,
    ],
    ids=["brackets", "braces", "deep-json", "deep-pythonic", "tag-deep", "fence-spaces", "escapes"],
)
def test_hostile_inputs_are_text_not_errors(text: str) -> None:
    assert parse(text, max_chars=1_000_000) is None
    shown, calls = stream([text[i : i + 7] for i in range(0, len(text), 7)], max_chars=1_000_000)
    assert calls is None and shown == text


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "fence-then-spaces": lambda n: "```" + " " * n,
    "open-brackets": lambda n: "[ " * n,
    "prose-with-candidates": lambda n: "see: [x " * n,
    "tags": lambda n: "<|python_tag|>" * n,
    "held-json": lambda n: '{"name": "get_weather", "parameters": {"a": "' + "x" * n,
}


def _seconds(make: Callable[[int], str], n: int, pieces: int) -> float:
    text = make(n)
    size = max(1, len(text) // pieces)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    start = time.perf_counter()
    parse(text, max_chars=10_000_000)
    splitter = CallSplitter(NAMES, **{**LIMITS, "max_chars": 10_000_000})
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.close()
    return time.perf_counter() - start


@pytest.mark.parametrize("make", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_time_grows_linearly(make: Callable[[int], str]) -> None:
    """Issue 19's growth test: 8x the input may cost at most ~24x the time (cubic: 512x)."""
    _seconds(make, 1_000, 250)  # warm up
    small = min(_seconds(make, 5_000, 1_000) for _ in range(3))
    large = min(_seconds(make, 40_000, 8_000) for _ in range(3))
    assert large < 24 * small + 0.05


# -- property: generated calls through every form -------------------------------------------------

_KEYS = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda k: not keyword.iskeyword(k)
)
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["it's", 'say "hi"', "back\\slash", "\\'", '\\"', "ünïcødé ☃", "a\nb", "[f(x=1)]", "}{"]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_CALLS = st.lists(
    st.tuples(st.sampled_from(sorted(NAMES)), st.dictionaries(_KEYS, _VALUES, max_size=4)),
    min_size=1,
    max_size=3,
)


def _py(value: Any, quote: str, words: tuple[str, str, str]) -> str:
    """A Python literal with strings in `quote` and (True, False, None) spelt as `words`."""
    if value is True or value is False or value is None:
        return words[0] if value is True else words[1] if value is False else words[2]
    if isinstance(value, dict):
        items = (f"{_py(k, quote, words)}: {_py(v, quote, words)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v, quote, words) for v in value) + "]"
    if isinstance(value, str) and quote == "'":
        return "'" + json.dumps(value, ensure_ascii=False)[1:-1].replace("'", "\\'") + "'"
    return json.dumps(value, ensure_ascii=False)


def _pythonic(
    calls: Any, quote: str = "'", words: tuple[str, str, str] = ("True", "False", "None")
) -> str:
    rendered = (
        f"{name}(" + ", ".join(f"{k}={_py(v, quote, words)}" for k, v in args.items()) + ")"
        for name, args in calls
    )
    return "[" + ", ".join(rendered) + "]"


def _json(
    calls: Any, key: str = "parameters", as_string: bool = False, sep: str | None = None
) -> str:
    objects = [
        json.dumps({"name": n, key: json.dumps(a) if as_string else a}, ensure_ascii=False)
        for n, a in calls
    ]
    if sep is not None:
        return sep.join(objects)
    return objects[0] if len(objects) == 1 else "[" + ", ".join(objects) + "]"


RENDERINGS: dict[str, Callable[[Any], str]] = {
    "pythonic-single": _pythonic,
    "pythonic-double": lambda c: _pythonic(c, '"'),
    "pythonic-json-words": lambda c: _pythonic(c, "'", ("true", "false", "null")),
    "pythonic-formats-module": lambda c: "[" + ", ".join(pythonic_call(n, a) for n, a in c) + "]",
    "bare-semicolons": lambda c: "; ".join(_pythonic([call])[1:-1] for call in c),
    "json-parameters": _json,
    "json-arguments-string": lambda c: _json(c, "arguments", as_string=True),
    "json-lines": lambda c: _json(c, sep="\n"),
    "json-semicolons": lambda c: _json(c, sep="; "),
    "python-tag": lambda c: "<|python_tag|>" + _json(c) + "<|eom_id|>",
    "python-start": lambda c: "<|python_start|>" + _pythonic(c, '"') + "<|python_end|><|eot|>",
    "function-tags": lambda c: "\n".join(
        f"<function={n}>{json.dumps(a, ensure_ascii=False)}</function>" for n, a in c
    ),
    "fence-json": lambda c: "```json\n" + _json(c) + "\n```",
    "fence-python": lambda c: "```python\n" + _pythonic(c) + "\n```<|eot_id|>",
    "prose-pythonic": lambda c: "Let me look that up for you: " + _pythonic(c),
    "prose-json": lambda c: "I'll call the tools.\n\n" + _json(c, sep="\n"),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=_CALLS, form=st.sampled_from(sorted(RENDERINGS)), cut=st.integers(1, 9))
def test_generated_calls_survive_every_form(calls: Any, form: str, cut: int) -> None:
    text = RENDERINGS[form](calls)
    expected = [(name, json.loads(json.dumps(args))) for name, args in calls]
    assert parse(text) == expected
    shown, streamed = stream([text[i : i + cut] for i in range(0, len(text), cut)])
    assert streamed == expected
    assert not shown.strip() or shown.startswith(("Let me", "I'll"))
