"""What a Llama prompt in Meta's documented formats asks for, read generically.

Meta's "JSON based tool calling" (meta-llama/llama-models `models/llama3_1/prompt_format.md`;
the chat template shipped with Llama-3.1-*-Instruct) puts the function definitions as JSON in
the system prompt, or in the first user message, and the model answers
`{"name": <function>, "parameters": {...}}`; a tool's output comes back in the `ipython` role
(on Azure, whose roles are system/user/assistant/tool: a `tool` message, or a user turn right
after the call). Nothing here knows any client's instruction sentences: only JSON is read.

* Function definitions: every top-level JSON object in a system message or in the first user
  message that has a string `name` and an object `parameters`, in the OpenAI shape
  `{"type": "function", "function": {...}}` or bare `{"name", "description", "parameters"}`.
  `parameters` may be a JSON schema, Meta's template variant with `properties` as a list of
  one-key objects, or Meta's `{arg: {"param_type": "int", "required": true}}` form.
* A JSON schema: the last top-level JSON object in a system or user message with
  `"type": "object"` and an object `properties` (or such an object under `schema`, the OpenAI
  `json_schema` wrapper) that is not a function definition.
* The request: the last user message; when it holds function definitions, only the text after
  the last of them (where Meta's templates put the question), else its text without JSON.
* The answer format a prompt asks for, by Meta's distinctive wording: the pythonic zero-shot
  prompt of Llama 3.2 / 3.3 / 4 (`models/llama3_2/text_prompt_format.md`,
  `models/llama4/prompt_format.md`: "...put it in the format of [func_name1(params_name1=
  params_value1, params_name2=params_value2...), func_name2(params)]", functions as a JSON list
  with `"type": "dict"` parameters) or Llama 3.1's JSON one (`{"name": function name,
  "parameters": dictionary of argument name and its value}`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

Format = Literal["json", "pythonic"]
_PYTHONIC_WORDING = ("[func_name1(", "func_name1(params_name1=")
_JSON_WORDING = ("dictionary of argument name", '"parameters": dictionary')
_MAX_CALL_TEXT = 100_000  # longer assistant turns are not parsed back as calls
_DECODER = json.JSONDecoder()
_WORD = re.compile(r"[a-z]{4,}")
_DEMAND = re.compile(r"\b(?:must|always)\s+(?:call|use)\b", re.IGNORECASE)
# Words too common to show that the user asks for one tool rather than another.
_STOPWORDS = frozenset(
    {
        "about", "after", "also", "been", "before", "does", "each", "from", "function",
        "functions", "gets", "given", "have", "into", "just", "more", "most", "only", "other",
        "please", "return", "returns", "should", "some", "such", "than", "that", "their",
        "them", "then", "there", "these", "they", "this", "tool", "tools", "used", "uses",
        "using", "what", "when", "where", "which", "will", "with", "would", "your",
    }
)  # fmt: skip
_PARAM_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "dict": "object",
    "object": "object",
}
_PYTHON_TAG = "<|python_tag|>"


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def json_objects(text: str) -> tuple[list[Any], str]:
    """Every top-level JSON object in `text`, and the text with them removed."""
    found, pieces = _scan(text)
    return found, "".join(pieces)


def _scan(text: str) -> tuple[list[Any], list[str]]:
    """The top-level JSON objects, and the pieces of text around them (one more, in order)."""
    found: list[Any] = []
    rest: list[str] = []
    cursor, pos = 0, text.find("{")
    while pos >= 0:
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        found.append(value)
        rest.append(text[cursor:pos])
        cursor, pos = end, text.find("{", end)
    rest.append(text[cursor:])
    return found, rest


def functions_in(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The function definitions of the system messages and the first user message."""
    first_user = next((m for m in messages if m.get("role") == "user"), None)
    holders = [m for m in messages if m.get("role") == "system" or m is first_user]
    found = [as_function(v) for m in holders for v in json_objects(text_of(m))[0]]
    return [f for f in found if f is not None]


def as_function(value: Any) -> dict[str, Any] | None:
    """A definition as `{"name", "description", "parameters": <JSON schema>}`, else None."""
    if not isinstance(value, dict):
        return None
    inner = value.get("function")
    function = inner if value.get("type") == "function" and isinstance(inner, dict) else value
    name, parameters = function.get("name"), function.get("parameters")
    if not isinstance(name, str) or not isinstance(parameters, dict):
        return None
    description = function.get("description")
    return {
        "name": name,
        "description": description if isinstance(description, str) else "",
        "parameters": _as_schema(parameters),
    }


def _as_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    props = parameters.get("properties")
    if isinstance(props, list):  # Meta's JsonCustomToolGenerator template
        merged = {k: v for item in props if isinstance(item, dict) for k, v in item.items()}
        return {**parameters, "properties": merged}
    if "type" in parameters or props is not None:
        return parameters
    if parameters and all(isinstance(v, dict) for v in parameters.values()):
        return {  # Meta's ToolParamDefinition form: {arg: {"param_type", "required", ...}}
            "type": "object",
            "properties": {k: _param(v) for k, v in parameters.items()},
            "required": [k for k, v in parameters.items() if v.get("required") is True],
        }
    return {"type": "object", "properties": {}}


def _param(definition: dict[str, Any]) -> dict[str, Any]:
    kind = _PARAM_TYPES.get(str(definition.get("param_type", "str")).lower(), "string")
    return {"type": kind, "description": str(definition.get("description", ""))}


def schema_in(messages: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The last JSON schema written in a system or user message, else None."""
    found = None
    for message in messages:
        if message.get("role") not in ("system", "user"):
            continue
        for value in json_objects(text_of(message))[0]:
            schema = _as_object_schema(value)
            found = schema if schema is not None else found
    return found


def _as_object_schema(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or as_function(value) is not None:
        return None
    if value.get("type") == "object" and isinstance(value.get("properties"), dict):
        return value
    return _as_object_schema(value["schema"]) if "schema" in value else None


def request_text(messages: Sequence[dict[str, Any]]) -> str:
    """The user's words in the last user message: after its last function definition when it
    holds some (Meta's templates put the question there), else without its JSON objects."""
    for message in reversed(messages):
        if message.get("role") == "user":
            found, pieces = _scan(text_of(message))
            holds_functions = any(as_function(value) is not None for value in found)
            return pieces[-1] if holds_functions else "".join(pieces)
    return ""


def instructions_text(messages: Sequence[dict[str, Any]]) -> str:
    """The words of the system messages, without their JSON objects."""
    texts = [json_objects(text_of(m))[1] for m in messages if m.get("role") == "system"]
    return "\n".join(texts)


def choose(
    functions: Sequence[dict[str, Any]], request: str, instructions: str = ""
) -> dict[str, Any] | None:
    """The function the request names; else the only one the instructions name; else one
    sharing a description word with the request; else the only one defined; else the first when
    the instructions demand a call ("must call", "always use", ...). None otherwise."""
    named = _named(functions, request)
    if named:
        return named[0]
    named = _named(functions, instructions)
    if len(named) == 1:
        return named[0]
    words = set(_WORD.findall(request.lower())) - _STOPWORDS
    for function in functions:
        if words & set(_WORD.findall(function["description"].lower())):
            return function
    if len(functions) == 1 or _DEMAND.search(instructions):
        return functions[0]
    return None


def prompt_format(messages: Sequence[dict[str, Any]]) -> Format | None:
    """The tool-call format the system prompt (or first user message) asks for, else None."""
    first_user = next((m for m in messages if m.get("role") == "user"), None)
    texts = [text_of(m) for m in messages if m.get("role") == "system" or m is first_user]
    if any(w in t for t in texts for w in _PYTHONIC_WORDING):
        return "pythonic"
    if any(w in t for t in texts for w in _JSON_WORDING):
        return "json"
    return None


def named(functions: Sequence[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The functions `text` names (`get_weather` or `get weather`), in definition order."""
    return _named(functions, text)


def _named(functions: Sequence[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    lowered = text.lower()
    return [
        f
        for f in functions
        if f["name"].lower() in lowered or f["name"].lower().replace("_", " ") in lowered
    ]


def called_name(content: str) -> str | None:
    """The function an assistant turn called in Meta's JSON (`{"name", "parameters"}`) or
    pythonic (`[name(a=1), ...]`, the first call) format."""
    text = content.strip().removeprefix(_PYTHON_TAG).strip()
    if text.startswith("[") and len(text) <= _MAX_CALL_TEXT:
        return _pythonic_name(text)
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("parameters", value.get("arguments"))
    return str(value["name"]) if isinstance(arguments, dict) else None


def _pythonic_name(text: str) -> str | None:
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    body = tree.body
    if not isinstance(body, ast.List) or not body.elts:
        return None
    call = body.elts[0]
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return None
    return call.func.id
