"""The deterministic responder. It is NOT a model: fixed rules turn a request into a reply.

Tokens are whitespace-separated words; token i > 0 keeps its leading whitespace, so joining the
tokens gives the reply text back exactly. prompt_tokens counts the words of every message's text.
The first rule that matches writes the reply:

1. header `x-emulator-reply-tokens: N` -> exactly "tok0 tok1 ... tok{N-1}";
2. last message from role `tool` (or `ipython`) -> "The tool <name> returned: <content>.";
3. native tools (tool_mode native), tool_choice not "none", last message from the user -> one
   tool call: the tool forced by tool_choice, else the first whose name the user wrote, else
   the first; arguments from its JSON schema (see `_schema`), where `name(3, "x")` in the user's
   text gives positional values and `prop=value` named ones; id `call_` + 24 hex of the body;
4. prompted tool calling (Llama 3.1 JSON format): a system/user message holding
   `Respond in the format {"name": function name, "parameters": dictionary of argument name and
   its value}` and function definitions as JSON -> the text `{"name": ..., "parameters": ...}`
   (tool picked as in 3), unless the last message is a tool result ("Tool result..." user turn);
5. prompted structured output: a system/user message holding `Respond only with a JSON object
   that matches this JSON schema` then a schema -> a JSON instance of it; if that message also
   says BADJSON and no assistant turn exists yet -> the invalid `{"oops": ` (to test repair);
6. otherwise "Emulated reply from <model>: <first 12 words of the last user message>".

Then, in order: `stop` strings cut the text (finish "stop"); `max_tokens` caps the tokens
(finish "length"); the output-filter trigger in the last user message keeps 3 tokens (finish
"content_filter"). Tool calls are never cut.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._schema import instance

PROMPTED_TOOLS = (
    'Respond in the format {"name": function name, "parameters": dictionary of argument name '
    "and its value}"
)
PROMPTED_SCHEMA = "Respond only with a JSON object that matches this JSON schema"
BAD_JSON = "BADJSON"
_TOKEN = re.compile(r"\s*\S+")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Prompt:
    """What the responder needs from a validated request."""

    messages: Sequence[dict[str, Any]]
    model_name: str
    tools: Sequence[Any] = ()
    tool_choice: Any = None
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    reply_tokens: int | None = None
    output_filter: str = ""  # "" when content safety does not run on this route
    seed_text: str = ""  # the raw body, so tool-call ids are deterministic per request


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON string, as on the wire


@dataclass(frozen=True)
class Reply:
    tokens: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    tool_call: ToolCall | None = None
    completion_tokens: int = 0

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def respond(prompt: Prompt) -> Reply:
    """Apply the rules of the module docstring."""
    prompt_tokens = count_prompt_tokens(prompt.messages)
    call = _native_call(prompt) if prompt.reply_tokens is None else None
    if call is not None:
        size = len(_TOKEN.findall(call.name + " " + call.arguments))
        return Reply((), "tool_calls", prompt_tokens, call, size)
    tokens, finish = _cut(prompt, _text(prompt))
    return Reply(tokens, finish, prompt_tokens, None, len(tokens))


def count_prompt_tokens(messages: Sequence[Any]) -> int:
    return sum(len(text_of(m).split()) for m in messages if isinstance(m, dict))


def tokenize(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    tail = text[len(text.rstrip()) :]
    if tokens and tail:
        tokens[-1] += tail  # keep trailing whitespace so "".join(tokens) == text
    return tokens


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _text(prompt: Prompt) -> str:
    if prompt.reply_tokens is not None:
        return " ".join(f"tok{i}" for i in range(prompt.reply_tokens))
    last = prompt.messages[-1] if prompt.messages else {}
    if last.get("role") in ("tool", "ipython"):
        return _tool_result(prompt.messages, last)
    for rule in (_prompted_call, _prompted_json):
        text = rule(prompt)
        if text is not None:
            return text
    words = _last_user_text(prompt.messages).split()[:12]
    return f"Emulated reply from {prompt.model_name}: {' '.join(words)}".rstrip()


def _cut(prompt: Prompt, text: str) -> tuple[tuple[str, ...], str]:
    finish = "stop"
    for stop in prompt.stop:
        if stop and stop in text:
            text = text[: text.index(stop)]
    tokens = tokenize(text)
    if prompt.max_tokens is not None and len(tokens) > prompt.max_tokens:
        tokens, finish = tokens[: max(prompt.max_tokens, 0)], "length"
    if prompt.output_filter and prompt.output_filter in _last_user_text(prompt.messages):
        tokens, finish = tokens[:3], "content_filter"
    return tuple(tokens), finish


def _tool_result(messages: Sequence[dict[str, Any]], last: dict[str, Any]) -> str:
    name = last.get("name") if isinstance(last.get("name"), str) else _call_name(messages, last)
    subject = f"The tool {name}" if name else "The tool"
    return f"{subject} returned: {text_of(last)}."


def _call_name(messages: Sequence[dict[str, Any]], last: dict[str, Any]) -> str | None:
    wanted = last.get("tool_call_id")
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id") == wanted:
                function = call.get("function") or {}
                return str(function.get("name")) if isinstance(function, dict) else None
    return None


def _last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message)
    return ""


# -- rule 3: native tool calls ---------------------------------------------------------------


def _native_call(prompt: Prompt) -> ToolCall | None:
    functions = [t["function"] for t in prompt.tools if _is_function_tool(t)]
    last = prompt.messages[-1] if prompt.messages else {}
    if not functions or prompt.tool_choice == "none" or last.get("role") != "user":
        return None
    user_text = text_of(last)
    chosen = _choose(functions, _forced_name(prompt.tool_choice), user_text)
    arguments = json.dumps(_arguments(chosen, user_text))
    digest = hashlib.sha256(prompt.seed_text.encode()).hexdigest()[:24]
    return ToolCall(f"call_{digest}", str(chosen.get("name")), arguments)


def _is_function_tool(tool: Any) -> bool:
    return isinstance(tool, dict) and isinstance(tool.get("function"), dict)


def _forced_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
        name = tool_choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def _choose(functions: Sequence[dict[str, Any]], forced: str | None, text: str) -> dict[str, Any]:
    for function in functions:
        if forced is not None and function.get("name") == forced:
            return function
    for function in functions:
        name = function.get("name")
        if isinstance(name, str) and name in text:
            return function
    return functions[0]


def _arguments(function: dict[str, Any], text: str) -> Any:
    schema = function.get("parameters") or {}
    return instance(schema, _positional_hints(function, schema, text) + text)


def _positional_hints(function: dict[str, Any], schema: Any, text: str) -> str:
    """`name(3, "Paris")` in the user's words fills the properties in declared order."""
    name = function.get("name")
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(name, str) or not isinstance(props, dict):
        return ""
    match = re.search(rf"{re.escape(name)}\(([^()]*)\)", text)
    if match is None:
        return ""
    values = [v.strip().strip("'\"") for v in match.group(1).split(",")]
    pairs = [
        f'{prop}="{value}"'
        for prop, value in zip(props, values, strict=False)
        if value and "=" not in value
    ]
    return " ".join(pairs) + " "


# -- rules 4 and 5: prompted tools and prompted JSON -----------------------------------------


def _prompted_call(prompt: Prompt) -> str | None:
    holder = _message_with(prompt.messages, PROMPTED_TOOLS)
    last = prompt.messages[-1] if prompt.messages else {}
    if holder is None or last.get("role") != "user":
        return None
    if text_of(last).lstrip().startswith("Tool result"):
        return None
    functions, _ = _json_objects(text_of(holder))
    functions = [f for f in map(_as_function, functions) if f is not None]
    if not functions:
        return None
    _, plain = _json_objects(text_of(last))  # the user's words, without the definitions
    plain = plain.replace(PROMPTED_TOOLS, "")
    chosen = _choose(functions, _forced_name(prompt.tool_choice), plain)
    arguments = _arguments(chosen, plain)
    return json.dumps({"name": chosen.get("name"), "parameters": arguments})


def _prompted_json(prompt: Prompt) -> str | None:
    holder = _message_with(prompt.messages, PROMPTED_SCHEMA)
    if holder is None:
        return None
    text = text_of(holder)
    schemas, _ = _json_objects(text[text.index(PROMPTED_SCHEMA) :])
    if not schemas:
        return None
    if BAD_JSON in text and not any(m.get("role") == "assistant" for m in prompt.messages):
        return '{"oops": '
    return json.dumps(instance(schemas[0], _last_user_text(prompt.messages)))


def _message_with(messages: Sequence[dict[str, Any]], phrase: str) -> dict[str, Any] | None:
    for message in messages:
        if message.get("role") in ("system", "user") and phrase in text_of(message):
            return message
    return None


def _json_objects(text: str) -> tuple[list[Any], str]:
    """Every JSON object found scanning from each `{`, and the text with them removed."""
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
    return found, "".join(rest)


def _as_function(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    inner = value.get("function")
    function: dict[str, Any] = (
        inner if value.get("type") == "function" and isinstance(inner, dict) else value
    )
    if isinstance(function.get("name"), str) and "parameters" in function:
        return function
    return None
