"""The forms Llama writes its tool calls in (issue 21), each with the calls it means.

Sources: Meta's prompt-format pages (meta-llama/llama-models `models/llama3_1/prompt_format.md`,
`models/llama3_2/text_prompt_format.md`, `models/llama4/prompt_format.md`) and what the models
emit in practice (vLLM's `pythonic`, `llama3_json`, `llama4_pythonic` tool parsers;
ai-dynamo/dynamo PR #9536 for `;`). Written here, independently of the transport's parser.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city, some days ahead",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Clock time in a timezone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}
TOOLS = [WEATHER, TIME]
PARIS = {"city": "Paris", "days": 3}
NESTED = {
    "city": 'L\'Aquila "centro"',
    "days": 2,
    "opts": {"units": "metric", "hours": [6, 12], "alerts": True, "note": None},
}
_J = json.dumps(PARIS)

# id -> (what the model writes, the calls it means, the prose before them)
FORMS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]], str]] = {
    "pythonic-double": ('[get_weather(city="Paris", days=3)]', [("get_weather", PARIS)], ""),
    "pythonic-single": ("[get_weather(city='Paris', days=3)]", [("get_weather", PARIS)], ""),
    "pythonic-nested": (
        "[get_weather(city='L\\'Aquila \"centro\"', days=2, opts={'units': 'metric', "
        "'hours': [6, 12], 'alerts': True, 'note': None})]",
        [("get_weather", NESTED)],
        "",
    ),
    "pythonic-parallel": (
        '[get_weather(city="Paris", days=3), get_time(tz="Europe/Paris")]',
        [("get_weather", PARIS), ("get_time", {"tz": "Europe/Paris"})],
        "",
    ),
    "json-parameters": (
        f'{{"name": "get_weather", "parameters": {_J}}}',
        [("get_weather", PARIS)],
        "",
    ),
    "json-arguments": (
        f'{{"name": "get_weather", "arguments": {_J}}}',
        [("get_weather", PARIS)],
        "",
    ),
    "json-list": (
        f'[{{"name": "get_weather", "parameters": {_J}}}, '
        '{"name": "get_time", "parameters": {"tz": "UTC"}}]',
        [("get_weather", PARIS), ("get_time", {"tz": "UTC"})],
        "",
    ),
    "python-tag": (
        f'<|python_tag|>{{"name": "get_weather", "parameters": {_J}}}<|eom_id|>',
        [("get_weather", PARIS)],
        "",
    ),
    "python-start-end": (
        '<|python_start|>[get_weather(city="Paris", days=3)]<|python_end|>',
        [("get_weather", PARIS)],
        "",
    ),
    "function-tag": (
        f"<function=get_weather>{_J}</function>",
        [("get_weather", PARIS)],
        "",
    ),
    "fence": (
        f'```json\n{{"name": "get_weather", "parameters": {_J}}}\n```',
        [("get_weather", PARIS)],
        "",
    ),
    "prose-before": (
        'Let me look that up.\n[get_weather(city="Paris", days=3)]',
        [("get_weather", PARIS)],
        "Let me look that up.",
    ),
    "semicolon": (
        'get_weather(city="Paris", days=3); get_time(tz="UTC")',
        [("get_weather", PARIS), ("get_time", {"tz": "UTC"})],
        "",
    ),
}
FORM_PARAMS = [pytest.param(name, id=name) for name in FORMS]
# Text that names a tool without calling it, and a call to a tool nobody offered.
NOT_CALLS = {
    "name-in-prose": "I could use get_weather(city='Paris') but it is sunny anyway.",
    "unbound-tool": "[delete_everything(really=True)]",
}
