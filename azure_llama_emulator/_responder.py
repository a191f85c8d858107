"""The deterministic responder. It is NOT a model: fixed rules turn a request into a reply.

Tokens are whitespace-separated words; token i > 0 keeps its leading whitespace, so joining the
tokens gives the reply text back exactly. prompt_tokens counts the words of every message's text.
Prompts are read as Meta documents its Llama formats (see `_llama_prompt`), never by matching
any client's instruction sentences (only Meta's own format wording). The first rule that
matches writes the reply:

1. header `x-emulator-reply-tokens: N` -> exactly "tok0 tok1 ... tok{N-1}";
2. native tools (tool_mode native), tool_choice not "none", and the last message from the user
   or a tool_choice that forces a call ("required" or a named function; obeyed after tool
   results too, as a real model's constrained decoding does) -> one tool call: the tool
   forced by tool_choice, else the first whose name the user wrote, else the first; arguments
   from its JSON schema (see `_schema`), where `name(3, "x")` in the last user message gives
   positional values and `prop=value` named ones; id `call_` + 24 hex of the body.
   The header `x-emulator-parallel-calls: N` asks for N calls instead: the forced tool N
   times, else the tools the user named then the others, in the order offered, cycled to N;
   each call has its own id;
3. a tool result has come back -- the last message has role `tool`/`ipython`, or is a user turn
   right after an assistant turn that called a function in Meta's JSON format -> a JSON instance
   of the schema in force (rule 5) if any, else "The tool <name> returned: <content>.";
4. function definitions as JSON in a system message or the first user message (Meta's JSON
   tool calling) and one of them asked for -- the request (the last user message without its
   JSON) names it (`get_weather` or `get weather`); else the system messages' words (outside
   their JSON) name exactly one; else the request shares a word of 4+ letters with its
   description; else it is the only one defined; else the first, when the system messages
   demand a call ("must call", "always use") -> the call as text, arguments as in rule 2 from
   the request. Its form: Meta's pythonic list `[name(a=1, b='x')]` when the prompt uses
   Meta's pythonic wording (`[func_name1(params_name1=params_value1, ...`), else the JSON
   `{"name": ..., "parameters": {...}}` when it uses Meta's Llama 3.1 JSON wording
   (`dictionary of argument name and its value`), else by the served model's family: the
   pythonic list for Llama 3.2 / 3.3 / 4, JSON otherwise. A pythonic answer calls every
   function the request names (parallel calls, in the order defined), else the one chosen
   above; `x-emulator-parallel-calls: N` gives N calls as in rule 2. JSON answers hold one;
5. a schema in force -- `response_format` `json_schema` accepted natively, else the last JSON
   schema (`"type": "object"` with `properties`) in a system or user message -> a JSON instance
   of it, values taken from the last user message; if a system/user message says BADJSON and
   no assistant turn exists yet -> the invalid `{"oops": ` instead (to test repair);
6. otherwise "Emulated reply from <model>: <first 12 words of the last user message>".

With `json_fence`, the JSON of rules 3-5 read from the prompt (not a native `response_format`)
comes inside a ```json fence, to exercise clients' extraction. Then, in order: `stop` strings
cut the text (finish "stop"); `max_tokens` caps the tokens (finish "length"); the output-filter
trigger in the last user message keeps 3 tokens (finish "content_filter"). Tool calls are never
cut.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _llama_prompt as llama
from ._llama_prompt import text_of
from ._schema import instance

__all__ = ["Prompt", "Reply", "ToolCall", "count_prompt_tokens", "respond", "text_of", "tokenize"]

BAD_JSON = "BADJSON"
_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True)
class Prompt:
    """What the responder needs from a validated request."""

    messages: Sequence[dict[str, Any]]
    model_name: str
    tools: Sequence[Any] = ()
    tool_choice: Any = None
    response_schema: dict[str, Any] | None = None  # an accepted native `json_schema`
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    reply_tokens: int | None = None
    output_filter: str = ""  # "" when content safety does not run on this route
    json_fence: bool = False
    seed_text: str = ""  # the raw body, so tool-call ids are deterministic per request
    family: str | None = None  # the served model's Llama family ("3.1", "3.2", "3.3", "4")
    parallel_calls: int | None = None  # x-emulator-parallel-calls


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
    tool_calls: tuple[ToolCall, ...] = ()
    completion_tokens: int = 0

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def respond(prompt: Prompt) -> Reply:
    """Apply the rules of the module docstring."""
    prompt_tokens = count_prompt_tokens(prompt.messages)
    calls = _native_calls(prompt) if prompt.reply_tokens is None else ()
    if calls:
        size = sum(len(_TOKEN.findall(c.name + " " + c.arguments)) for c in calls)
        return Reply((), "tool_calls", prompt_tokens, calls, size)
    tokens, finish = _cut(prompt, _text(prompt))
    return Reply(tokens, finish, prompt_tokens, (), len(tokens))


def count_prompt_tokens(messages: Sequence[Any]) -> int:
    return sum(len(text_of(m).split()) for m in messages if isinstance(m, dict))


def tokenize(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    tail = text[len(text.rstrip()) :]
    if tokens and tail:
        tokens[-1] += tail  # keep trailing whitespace so "".join(tokens) == text
    return tokens


def _text(prompt: Prompt) -> str:
    if prompt.reply_tokens is not None:
        return " ".join(f"tok{i}" for i in range(prompt.reply_tokens))
    for rule in (_after_tool_result, _prompted_call, _schema_answer):
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


def _last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message)
    return ""


# -- rule 2: native tool calls ---------------------------------------------------------------


def _native_calls(prompt: Prompt) -> tuple[ToolCall, ...]:
    functions = [t["function"] for t in prompt.tools if _is_function_tool(t)]
    last = prompt.messages[-1] if prompt.messages else {}
    forced = _forced_name(prompt.tool_choice)
    # A forced tool_choice is obeyed after tool results too, as a real model's constrained
    # decoding does (LangChain's ToolStrategy forces its schema tool after the agent's tools).
    must_call = forced is not None or prompt.tool_choice == "required"
    if not functions or prompt.tool_choice == "none":
        return ()
    if last.get("role") != "user" and not must_call:
        return ()
    user_text = text_of(last) if last.get("role") == "user" else _last_user_text(prompt.messages)
    chosen = [_choose_native(functions, forced, user_text)]
    if prompt.parallel_calls is not None:
        chosen = _cycled(_candidates(functions, forced, user_text), prompt.parallel_calls)
    return tuple(
        ToolCall(
            _call_id(prompt.seed_text, i), str(f.get("name")), json.dumps(_arguments(f, user_text))
        )
        for i, f in enumerate(chosen)
    )


def _call_id(seed_text: str, index: int) -> str:
    seed = seed_text if index == 0 else f"{seed_text}#{index}"
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _candidates(
    functions: Sequence[dict[str, Any]], forced: str | None, text: str
) -> list[dict[str, Any]]:
    """Parallel calls: the forced tool alone, else the named tools then the others."""
    if forced is not None:
        return [f for f in functions if f.get("name") == forced][:1] or list(functions[:1])
    named = [f for f in functions if isinstance(f.get("name"), str) and f["name"] in text]
    return named + [f for f in functions if f not in named]


def _cycled(items: Sequence[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [items[i % len(items)] for i in range(count)] if items else []


def _is_function_tool(tool: Any) -> bool:
    return isinstance(tool, dict) and isinstance(tool.get("function"), dict)


def _forced_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):
        name = tool_choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def _choose_native(
    functions: Sequence[dict[str, Any]], forced: str | None, text: str
) -> dict[str, Any]:
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


# -- rules 3 to 5: Meta's prompt format ------------------------------------------------------


def _after_tool_result(prompt: Prompt) -> str | None:
    messages = prompt.messages
    result = _tool_result(messages)
    if result is None:
        return None
    name, content = result
    schema = _schema_in_force(prompt)
    if schema is not None:
        value = instance(schema, _last_user_text(messages[:-1]))
        return _json_text(value, fence=_fence_schema(prompt))
    subject = f"The tool {name}" if name else "The tool"
    return f"{subject} returned: {content}."


def _tool_result(messages: Sequence[dict[str, Any]]) -> tuple[str | None, str] | None:
    """(tool name, output) when the last message brings a tool's output back, else None."""
    if not messages:
        return None
    last = messages[-1]
    if last.get("role") in ("tool", "ipython"):
        name = last.get("name")
        return (name if isinstance(name, str) else _call_name(messages, last)), text_of(last)
    before = messages[-2] if len(messages) > 1 else {}
    if last.get("role") == "user" and before.get("role") == "assistant":
        called = llama.called_name(text_of(before))
        if called is not None:
            return called, text_of(last)
    return None


def _call_name(messages: Sequence[dict[str, Any]], last: dict[str, Any]) -> str | None:
    wanted = last.get("tool_call_id")
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id") == wanted:
                function = call.get("function") or {}
                return str(function.get("name")) if isinstance(function, dict) else None
        if message.get("role") == "assistant" and not message.get("tool_calls"):
            called = llama.called_name(text_of(message))
            if called is not None:
                return called
    return None


def _prompted_call(prompt: Prompt) -> str | None:
    last = prompt.messages[-1] if prompt.messages else {}
    functions = llama.functions_in(prompt.messages)
    if not functions or last.get("role") != "user":
        return None
    request = llama.request_text(prompt.messages)
    chosen = llama.choose(functions, request, llama.instructions_text(prompt.messages))
    if _answer_format(prompt) == "json":
        if chosen is None:
            return None
        call = {"name": chosen["name"], "parameters": _arguments(chosen, request)}
        return _json_text(call, fence=prompt.json_fence)
    calls = llama.named(functions, request) or ([chosen] if chosen is not None else [])
    if prompt.parallel_calls is not None:
        rest = [f for f in functions if f not in calls]
        calls = _cycled(calls + rest, prompt.parallel_calls)
    if not calls:
        return None
    return "[" + ", ".join(_pythonic(f, _arguments(f, request)) for f in calls) + "]"


def _answer_format(prompt: Prompt) -> llama.Format:
    asked = llama.prompt_format(prompt.messages)
    if asked is not None:
        return asked
    return "pythonic" if prompt.family in ("3.2", "3.3", "4") else "json"


def _pythonic(function: dict[str, Any], arguments: Any) -> str:
    # Python literals, as Meta's examples write them: name='x', flag=True, none=None.
    pairs = arguments.items() if isinstance(arguments, dict) else ()
    return f"{function['name']}({', '.join(f'{k}={v!r}' for k, v in pairs)})"


def _schema_answer(prompt: Prompt) -> str | None:
    schema = _schema_in_force(prompt)
    if schema is None:
        return None
    messages = prompt.messages
    said_bad = any(m.get("role") in ("system", "user") and BAD_JSON in text_of(m) for m in messages)
    if said_bad and not any(m.get("role") == "assistant" for m in messages):
        return '{"oops": '
    value = instance(schema, _last_user_text(messages))
    return _json_text(value, fence=_fence_schema(prompt))


def _schema_in_force(prompt: Prompt) -> dict[str, Any] | None:
    return prompt.response_schema or llama.schema_in(prompt.messages)


def _fence_schema(prompt: Prompt) -> bool:
    # A native `response_format` is answered as bare JSON, as constrained decoding produces it.
    return prompt.json_fence and prompt.response_schema is None


def _json_text(value: Any, *, fence: bool) -> str:
    text = json.dumps(value)
    return f"```json\n{text}\n```" if fence else text
