"""Prompted tools by model family: which of Meta's formats to ask for, and how to replay history.

Sources (meta-llama/llama-models):

* `models/llama3_1/prompt_format.md` — Llama 3.1: JSON calls ``{"name", "parameters"}``; the
  text lives in `_tools` and is used unchanged here.
* `models/llama3_2/text_prompt_format.md` — Llama 3.2: the "zero shot function calling" system
  prompt ("You are an expert in composing functions. ..."), functions as a JSON list, calls as a
  pythonic list ``[func_name1(params_name1=params_value1, ...), func_name2(params)]``; its E2E
  example replays the call as ``[get_weather(city="San Francisco", metric="celsius")]`` and
  the result in the `ipython` turn.
* `models/llama3_3/prompt_format.md` — Llama 3.3 continues the 3.2 format word for word; tool
  output goes back in the `tool` role ("a new role introduced in Llama 3.3").
* `models/llama4/prompt_format.md` — Llama 4's own system prompt for the same pythonic format,
  with parallel calls and "NEVER combine text and function calls in the same response"; Meta's
  `models/llama4/chat_format.py` renders `Role.tool` as the `ipython` header.

Roles: Azure's chat routes take system/user/assistant/tool (docs/wire-protocol.md §6). Meta's
result turn is `ipython` (3.1, 3.2, Llama 4's chat format) or `tool` (3.3); the chat templates
served behind Azure render a `tool` message as that turn, so every family sends results as
`tool` messages with their `tool_call_id` (`RESULT_ROLE`), as the Llama 3.1 code does today.

**Unknown family → pythonic** (the text for docs/wire-protocol.md): every Llama Azure sells
today (Llama-3.3-70B-Instruct, Llama-4-Maverick, Llama-4-Scout) was trained on the pythonic
format, and the Llama 3.1 and 3.2 deployments are retired from Azure's catalogue (13 Jun 2026),
so a deployment with a custom name is most likely one of those. The pythonic prompt is also the
one Meta gives for every family since 3.2 and asks for parallel calls natively. A Llama 3.1
behind a custom name that answers in its own JSON still yields its calls: the parser
(`_parse`) reads every form whatever was asked. Name the deployment after the model (or pass
the model name) to get the family's own format.
"""

from __future__ import annotations

import functools
import json
import keyword
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._family import parse_model_name
from .._request import check_tool_calls
from ._tools import prompted_history as _json_history
from ._tools import tools_prompt as _json_prompt

__all__ = [
    "LLAMA4_PROMPT",
    "PYTHONIC_PROMPT",
    "RESULT_ROLE",
    "Family",
    "Style",
    "family_of",
    "prompted_history",
    "pythonic_call",
    "style_of",
    "tools_prompt",
]

Family = Literal["llama3.1", "llama3.2", "llama3.3", "llama4", "unknown"]
Style = Literal["json", "pythonic"]

# Meta's llama3_2 / llama3_3 system prompt, line breaks as on the page.
PYTHONIC_PROMPT = (
    "You are an expert in composing functions. You are given a question and a set of possible "
    "functions.\nBased on the question, you will need to make one or more function/tool calls "
    "to achieve the purpose.\nIf none of the function can be used, point it out. If the given "
    "question lacks the parameters required by the function,\nalso point it out. You should "
    "only return the function call in tools call sections.\n\nIf you decide to invoke any of "
    "the function(s), you MUST put it in the format of [func_name1(params_name1=params_value1, "
    "params_name2=params_value2...), func_name2(params)]\nYou SHOULD NOT include any other text "
    "in the response.\n\nHere is a list of functions in JSON format that you can invoke.\n\n"
)
# Meta's llama4 system prompt, abridged: its sentences kept word for word, minus the lines about
# unavailable services and the CORRECT/INCORRECT examples (they name tools the caller never
# offered: get_weather, calculate_route, get_events) and sections 3-4, which repeat 1-2.
LLAMA4_PROMPT = (
    "You are a helpful assistant and an expert in function composition. You can answer general "
    "questions using your internal knowledge OR invoke functions when necessary. Follow these "
    "strict guidelines:\n\n1. FUNCTION CALLS:\n- ONLY use functions that are EXPLICITLY listed "
    "in the function list below\n- If ALL required parameters are present AND the query EXACTLY "
    "matches a listed function's purpose: output ONLY the function call(s)\n- Use exact format: "
    "[func_name1(param1=value1, param2=value2), func_name2(...)]\n\n2. RESPONSE RULES:\n- For "
    "pure function requests matching a listed function: ONLY output the function call(s)\n- For "
    "knowledge questions: ONLY output text\n- For missing parameters: ONLY request the specific "
    "missing parameters\n- NEVER combine text and function calls in the same response\n- NEVER "
    "create or invent new functions not listed below\n- Use proper Python/JSON syntax for "
    "function calls\n\nHere is a list of functions in JSON format that you can invoke.\n\n"
)
_AUTO_RULE = (
    "Call a function only when one of them helps to answer. Answer in plain text, without any "
    "function call, when none fits or when the tool results in this conversation already "
    "answer it."
)
_REQUIRED_RULE = (
    "You must call one or more of these functions: respond with the list of calls only."
)
_NAMED_RULE = 'You must call the function "{name}": respond with [{name}(...)] only.'
_PARALLEL_RULE = "Put several calls in one list when more than one is needed."
_FORMAT_FAMILIES: Mapping[str, Family] = {
    "3.1": "llama3.1",
    "3.2": "llama3.2",
    "3.3": "llama3.3",
    "4": "llama4",
}
RESULT_ROLE: Mapping[Family, str] = {
    "llama3.1": "tool",
    "llama3.2": "tool",
    "llama3.3": "tool",
    "llama4": "tool",
    "unknown": "tool",
}


def family_of(model: str | None) -> Family:
    """The Llama family of a model or deployment name, for its prompt format.

    `parse_model_name`'s rule (`azure_llama_transport._family`): "llama3.1", "llama3.2",
    "llama3.3" or "llama4"; "unknown" for any other name, Llama 2 and Llama 3 (3.0) included,
    which have no prompted-tool format of their own.
    """
    return _FORMAT_FAMILIES.get(parse_model_name(model).family or "", "unknown")


def style_of(family: Family) -> Style:
    """Meta's call format for `family`: JSON for Llama 3.1, pythonic otherwise."""
    return "json" if family == "llama3.1" else "pythonic"


def tools_prompt(
    tools: Sequence[Mapping[str, Any]], tool_choice: Any, family: Family
) -> str | None:
    """The system-prompt text offering `tools` in `family`'s format (None: nothing offered)."""
    if style_of(family) == "json":
        return _json_prompt(tools, tool_choice)
    offered = _offered(tools, tool_choice)
    if not offered:
        return None
    functions = json.dumps([t["function"] for t in offered], indent=4, ensure_ascii=False)
    intro = LLAMA4_PROMPT if family == "llama4" else PYTHONIC_PROMPT
    return f"{intro}{functions}\n\n{_rule(tool_choice, offered)}"


def _rule(tool_choice: Any, offered: list[Mapping[str, Any]]) -> str:
    name = _chosen_name(tool_choice)
    if name is not None and len(offered) == 1:
        return _NAMED_RULE.format(name=name)
    if tool_choice == "required":
        return f"{_REQUIRED_RULE} {_PARALLEL_RULE}"
    return f"{_AUTO_RULE} {_PARALLEL_RULE}"


def _chosen_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, Mapping) and isinstance(tool_choice.get("function"), Mapping):
        name = tool_choice["function"].get("name")
        return name if isinstance(name, str) else None
    return None


def _offered(tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> list[Mapping[str, Any]]:
    """The offered tools (as `_tools` chooses them: none for "none", the named one if any)."""
    usable = [t for t in tools if isinstance(t.get("function"), Mapping)]
    if not usable or tool_choice == "none":
        return []
    name = _chosen_name(tool_choice)
    return [t for t in usable if t["function"].get("name") == name] or usable


# -- history --------------------------------------------------------------------------------------


def prompted_history(messages: Sequence[Mapping[str, Any]], family: Family) -> list[dict[str, Any]]:
    """Native-shaped history → prompted: earlier calls become the family's own text.

    Llama 3.1: ``{"name": ..., "parameters": ...}`` per call (`_tools`). Others: one pythonic
    list ``[f(a=1), g()]`` per assistant turn, after its text if any; a turn whose arguments a
    pythonic call cannot carry (a key that is not a Python identifier, arguments that are not
    a JSON object) is replayed in JSON, which the parser reads too. Results stay `tool`
    messages with their `tool_call_id` (`RESULT_ROLE`).
    """
    if style_of(family) == "json":
        return _json_history(messages)
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if not calls:
            out.append(dict(message))
            continue
        text, content = _calls_text(i, calls), message.get("content")
        if isinstance(content, str) and (content := content.strip()):
            text = f"{content}\n{text}"
        out.append({"role": "assistant", "content": text})
    return out


# An agent loop resends its whole history every turn, so the same calls are replayed again and
# again: each assistant turn's text is remembered by its calls' (name, arguments) strings, which
# are all the text depends on (not the ids). Bounded twice: entries, and the characters of a
# turn's names and arguments (a longer turn is rendered every time): keys and texts together
# stay under about 20 MB however the cache is filled (escapes at most sextuple a character),
# and take a few hundred KB for a 200-turn agent.
_REPLAY_ENTRIES = 1024
_REPLAY_CHARACTERS = 2048  # of one turn's names and arguments


def _calls_text(i: int, calls: Sequence[Mapping[str, Any]]) -> str:
    """The text of message `i`'s calls. A key is only built from well-formed calls; any other
    calls are checked (the request build never sees them: they become text) and rendered."""
    key = _replay_key(calls)
    if key is not None:
        return _remembered_calls_text(key)
    check_tool_calls(i, calls)
    return _render_calls(calls)


def _replay_key(calls: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...] | None:
    if type(calls) is not list:
        return None
    key = []
    size = 0
    for call in calls:
        function = call.get("function") if type(call) is dict else None
        if type(function) is not dict:
            return None
        name, arguments = function.get("name"), function.get("arguments")
        # Exact `str` only: a subclass could compare equal and render differently.
        if type(name) is not str or type(arguments) is not str:
            return None
        size += len(name) + len(arguments)
        if size > _REPLAY_CHARACTERS:
            return None
        key.append((name, arguments))
    return tuple(key)


@functools.lru_cache(maxsize=_REPLAY_ENTRIES)
def _remembered_calls_text(key: tuple[tuple[str, str], ...]) -> str:
    return _render_calls([{"function": {"name": n, "arguments": a}} for n, a in key])


def _render_calls(calls: Sequence[Mapping[str, Any]]) -> str:
    decoded = [_decoded(call) for call in calls]
    if all(args is not None and all(map(_is_keyword, args)) for _, args in decoded):
        return "[" + ", ".join(pythonic_call(name, args or {}) for name, args in decoded) + "]"
    replayed = _json_history([{"role": "assistant", "tool_calls": list(calls)}])
    return str(replayed[0]["content"])


def _decoded(call: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    try:
        args = json.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except (ValueError, RecursionError):
        args = None
    return str(function.get("name") or ""), args if isinstance(args, dict) else None


def _is_keyword(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def pythonic_call(name: str, args: Mapping[str, Any]) -> str:
    """``name(key=value, ...)`` with Python literals (strings in double quotes, as Meta's
    E2E example replays them); every key must be an identifier."""
    return f"{name}(" + ", ".join(f"{k}={_literal(v)}" for k, v in args.items()) + ")"


# `json.dumps(value, ensure_ascii=False)` builds an encoder per call; a history of N tool calls
# replays every argument value every turn, so one encoder serves them all (same output).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _literal(value: Any) -> str:
    kind = type(value)
    if kind is str:  # most values: the encoder's own shortcut for a string, no iterencode
        return _ENCODER.encode(value)
    if kind is int:  # JSON writes an int as its repr
        return repr(value)
    if value is True or value is False or value is None:
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    # JSON's escapes (\" \\ \n \uXXXX ...) are Python's too; numbers are JSON numbers.
    return _ENCODER.encode(value)
