"""The transport's planner and parser are the only Llama-protocol implementation LiteLLM uses.

An AST scan of every `litellm_azure_llama` module: no prompt-format code (imported, or written as
prompt text), no shape-error catching, no private transport module, and no chat call that goes
around the protocol (a client's `.chat` / `.chat_stream` instead of `t.chat` / `t.chat_stream`).
The scanner itself is pinned on small snippets, each of which it must reject.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import litellm_azure_llama

PACKAGE = Path(litellm_azure_llama.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
TRANSPORT = "azure_llama_transport"
# The transport's prompt-format and shape-check code: used by the transport's own `chat*` only.
PROTOCOL_INTERNALS = frozenset(
    {
        "Plan",
        "Schema",
        "ToolCallBuffer",
        "capability_key",
        "check_chunk",
        "check_completion",
        "extract_json",
        "is_context_overflow",
        "parse_tool_calls",
        "plan_chat",
        "refused_feature",
        "repair_messages",
        "shape_problem",
        "tools_prompt",
    }
)
# What converting a body of the wrong shape raises; catching them is a shape check.
SHAPE_EXCEPTIONS = frozenset(
    {"AttributeError", "IndexError", "KeyError", "TypeError", "ValueError"}
)
CHAT_ROUTES = frozenset({"chat", "chat_stream", "achat", "achat_stream"})
PROMPT_TEXT = re.compile(r"\brespond\b|\bfunction call\b|\"parameters\"", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *ast.walk(tree)]
    found = set()
    for node in nodes:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _caught(handler: ast.ExceptHandler) -> list[str]:
    kinds = handler.type
    items = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds] if kinds else []
    return [ast.unparse(item) for item in items]


def _on_t(node: ast.Attribute) -> bool:
    """`t.<name>`: an attribute of the transport package (imported as `t`)."""
    return isinstance(node.value, ast.Name) and node.value.id == "t"


def problems(source: str) -> list[str]:
    """What makes `source` more than a thin adapter over the transport (empty: nothing)."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{TRANSPORT}."):
            found.append(f"imports the private {node.module}")
        if isinstance(node, (ast.ImportFrom, ast.Import)):
            names = {alias.name for alias in node.names}
            found += [f"imports {name}" for name in sorted(names & PROTOCOL_INTERNALS)]
        if isinstance(node, ast.Attribute) and node.attr in PROTOCOL_INTERNALS:
            found.append(f"uses {ast.unparse(node)}")
        if isinstance(node, ast.Attribute) and node.attr in CHAT_ROUTES and not _on_t(node):
            found.append(f"chats around the protocol: {ast.unparse(node)}")
        if isinstance(node, ast.Name) and node.id in {"SHAPE_ERRORS", "unreadable"}:
            found.append(f"shape-error helper {node.id}")
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("ResponseDecodeError"):
            found.append("makes its own ResponseDecodeError")  # mapping one is fine
        if isinstance(node, ast.ExceptHandler):
            caught = _caught(node)
            shape = [name for name in caught if name.split(".")[-1] in SHAPE_EXCEPTIONS]
            found += [f"catches {name}" for name in shape]
            if any("SHAPE" in name for name in caught):
                found.append(f"catches {caught}")
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings and PROMPT_TEXT.search(node.value):
            found.append(f"prompt text {node.value[:40]!r}")
    return found


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_litellm_provider_is_a_thin_adapter(module: Path) -> None:
    assert problems(module.read_text()) == []


def test_every_module_of_the_package_is_scanned() -> None:
    names = {m.name for m in MODULES}
    assert {"_handler.py", "_convert.py", "_errors.py", "__init__.py"} <= names


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param(
            "try:\n    fill(data)\nexcept SHAPE_ERRORS as exc:\n    raise unreadable(data, exc)",
            id="shape-errors-caught",
        ),
        pytest.param(
            "try:\n    x = data['choices'][0]\nexcept (KeyError, IndexError):\n    pass",
            id="index-error-caught",
        ),
        pytest.param("raise t.ResponseDecodeError('bad shape', body=data)", id="decode-error"),
        pytest.param("send = http.chat_stream if stream else http.chat", id="client-chat"),
        pytest.param("from azure_llama_transport import tools_prompt", id="import"),
        pytest.param("from azure_llama_transport._llama._tools import x", id="private"),
        pytest.param("calls = t.parse_tool_calls(text, names)", id="parser"),
        pytest.param("plan = t.plan_chat(request)", id="planner"),
        pytest.param(
            "PROMPT = 'Respond with a JSON for a function call with its proper arguments'",
            id="prompt-text",
        ),
    ],
)
def test_the_scan_rejects_what_a_front_end_must_not_do(snippet: str) -> None:
    assert problems(snippet)


def test_the_scan_accepts_the_protocol_calls() -> None:
    source = (
        '"""Module docstring: respond, function call."""\n'
        "chat = t.chat_stream if stream else t.chat\n"
        "data = await t.achat(http, request, info_client=info)\n"
        "raise t.explain_not_found(info, exc, expected='text-generation', use=use)\n"
    )
    assert problems(source) == []


@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_knows_no_azure_route(module: Path) -> None:
    # Issue 20 item 7: kinds, hosts, paths and scopes live in the transport (the URL is read by
    # `transport.endpoint_facts`, the body's `model` decided by `transport.routes_by_model`).
    from tests._support.route_knowledge import scan

    assert scan(module) == []


# -- no Azure or Llama facts: the transport's calls apply them (issue 23 item 1) --------------

# LiteLLM's exceptions carry an HTTP status (and its content-policy error OpenAI's code): the
# error module gives its framework's classes what they need, and nothing else may.
_ERROR_MODULE_ALLOWED = frozenset({400, 401, 403, 404, 408, 429, 500, 503, "content_filter"})


@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_knows_no_azure_constant(module: Path) -> None:
    from tests._support.route_knowledge import azure_scan

    allowed = _ERROR_MODULE_ALLOWED if module.name == "_errors.py" else frozenset()
    assert azure_scan(module, allowed=allowed) == []


def test_the_provider_settings_are_client_settings() -> None:
    """Issue 23 item 2: what the provider builds a client from is named as `ClientConfig.create`
    names it (`transport.CLIENT_SETTINGS`)."""
    from dataclasses import fields

    import azure_llama_transport as t
    from litellm_azure_llama._clients import Settings

    assert {f.name for f in fields(Settings)} <= set(t.CLIENT_SETTINGS)
