"""The LangChain front end is a thin adapter: the transport's planner and parser are the only
implementation of the Llama protocol (issue 12).

Read from the source (AST) of every module of `langchain_azure_llama` (the transport and the
emulator are packages of their own, `azure_llama_transport` and `azure_llama_emulator`; the
deprecated aliases of them, `transport.py` and `emulator/`, are left out):

* no prompt-format module (`_prompted_tools`) exists or is imported, and nothing reaches into the
  transport's protocol internals (`transport._llama`, its planner, parser, buffer, shape check);
* no prompt text is written (Meta's tool-calling sentences, the schema instruction, fences);
* no handler catches what a body of the wrong shape raises (`AttributeError`, `KeyError`,
  `IndexError`, `TypeError`, or anything wider), so every shape problem is the transport's
  typed `ResponseDecodeError`;
* no JSON is decoded out of answer text; only the native tool-call arguments string is parsed
  (`_convert.wire_tool_calls`, LangChain's `invalid_tool_calls` for bad ones) and token counting
  reads the caller's own tool-call arguments (`_tokens._call_text`);
* the four chat entry points call `transport.chat` / `achat` / `chat_stream` / `achat_stream`,
  and nothing calls a client's `chat` / `chat_stream` directly.

The last test checks the same at run time: a prompted tool call comes back through
`transport.chat_stream` / `transport.chat`, with nothing else turning text into calls.
"""

from __future__ import annotations

import ast
import builtins
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool

import azure_llama_transport as _t
import langchain_azure_llama
from azure_llama_emulator import Emulator
from langchain_azure_llama import ChatAzureLlama
from tests._support.langchain import EMULATOR_KEY, MODEL, Api, merged
from tests._support.layout import LANGCHAIN, package_files

PACKAGE = Path(langchain_azure_llama.__file__).parent
FRONT_END = package_files(LANGCHAIN)
SHAPE_ERRORS = (AttributeError, LookupError, TypeError)
PROTOCOL_INTERNALS = frozenset(
    {
        "ToolCallBuffer",
        "Schema",
        "capability_key",
        "check_chunk",
        "check_completion",
        "extract_json",
        "parse_tool_calls",
        "plan_chat",
        "refused_feature",
        "schema_of",
        "shape_problem",
        "tools_prompt",
    }
)
PROMPT_TEXT = (
    "Given the following functions",
    "Respond in the format",
    "Respond only with",
    "corrected JSON",
    "Tool result (",
    "<|python_tag|>",
    "<|eom_id|>",
    "```",
)
JSON_DECODING_ALLOWED = {("_convert", "wire_tool_calls"), ("_tokens", "_call_text")}
ENTRY_POINTS = {
    "_generate": "chat",
    "_agenerate": "achat",
    "_stream": "chat_stream",
    "_astream": "achat_stream",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [
        tree,
        *(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
    ]
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """(name of the innermost enclosing function or "<module>", node) for every node."""

    def walk(node: ast.AST, owner: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            name = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            )
            yield name, child
            yield from walk(child, name)

    yield from walk(tree, "<module>")


def test_the_scan_sees_the_front_end() -> None:
    names = {p.stem for p in FRONT_END}
    assert {"chat_models", "llms", "_convert", "_calls", "_structured", "_errors"} <= names
    assert not names & {"_client", "_plan", "_responder"}  # transport and emulator stay out
    assert "transport" not in names  # the deprecated alias: it imports, it does not adapt


def test_no_prompt_format_module() -> None:
    assert not (PACKAGE / "_prompted_tools.py").exists()
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("langchain_azure_llama._prompted_tools")


@pytest.mark.parametrize("path", FRONT_END, ids=_ids(FRONT_END))
def test_imports_no_protocol_internals(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            assert "_prompted_tools" not in module and "_llama" not in module.split("."), module
            imported = {alias.name for alias in node.names}
            assert not imported & PROTOCOL_INTERNALS, (module, imported & PROTOCOL_INTERNALS)
            assert "_prompted_tools" not in imported
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "_t"
        ):
            assert node.attr not in PROTOCOL_INTERNALS, f"_t.{node.attr} at {node.lineno}"


@pytest.mark.parametrize("path", FRONT_END, ids=_ids(FRONT_END))
def test_writes_no_prompt_text(path: Path) -> None:
    tree = _tree(path)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            found = [marker for marker in PROMPT_TEXT if marker in node.value]
            assert not found, f"{path.name}:{node.lineno} writes prompt text {found}"


def _caught(handler: ast.ExceptHandler, namespace: dict[str, Any]) -> list[type]:
    if handler.type is None:
        return [BaseException]
    value = eval(compile(ast.Expression(handler.type), "<except>", "eval"), namespace)
    return list(value) if isinstance(value, tuple) else [value]


@pytest.mark.parametrize("path", FRONT_END, ids=_ids(FRONT_END))
def test_catches_no_shape_errors(path: Path) -> None:
    module = importlib.import_module(f"langchain_azure_llama.{path.stem}")
    namespace = {**vars(builtins), **vars(module)}
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.ExceptHandler):
            continue
        for cls in _caught(node, namespace):
            too_wide = cls in (Exception, BaseException) or issubclass(cls, SHAPE_ERRORS)
            assert not too_wide, f"{path.name}:{node.lineno} catches {cls.__name__}"


@pytest.mark.parametrize("path", FRONT_END, ids=_ids(FRONT_END))
def test_decodes_no_json_out_of_answers(path: Path) -> None:
    for owner, node in _functions(_tree(path)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in ("loads", "raw_decode", "JSONDecoder"):
            site = (path.stem, owner)
            assert site in JSON_DECODING_ALLOWED, f"{path.name}:{node.lineno} decodes JSON"


@pytest.mark.parametrize("path", FRONT_END, ids=_ids(FRONT_END))
def test_no_client_chat_calls_around_the_protocol(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Attribute) and node.attr in ("chat", "chat_stream"):
            target = ast.unparse(node.value)
            assert "client" not in target, f"{path.name}:{node.lineno} uses {target}.{node.attr}"


def test_chat_entry_points_call_the_transport_protocol() -> None:
    tree = _tree(PACKAGE / "chat_models.py")
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ChatAzureLlama"]
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for method, protocol_call in ENTRY_POINTS.items():
        called = {
            node.func.attr
            for node in ast.walk(methods[method])
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "_t"
        }
        assert protocol_call in called, (method, called)
    # The chat route's 404 explanation is the transport's too.
    source = (PACKAGE / "chat_models.py").read_text(encoding="utf-8")
    assert "explain_not_found" not in source


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny in {city}"


async def test_prompted_calls_come_back_through_the_transport(
    api: Api, reject_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    for name in ENTRY_POINTS.values():
        original = getattr(_t, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_t, name, spy)
    model = ChatAzureLlama(endpoint=reject_emu.url, api_key=EMULATOR_KEY, model=MODEL)
    bound = model.bind_tools([get_weather])
    whole = await api.invoke(bound, "get_weather for city: Paris")
    streamed = merged(await api.stream(bound, "get_weather for city: Rome"))
    model.close()
    await model.aclose()
    prefix = "a" if api.is_async else ""
    assert seen == [f"{prefix}chat", f"{prefix}chat_stream"]
    assert [(c["name"], c["args"]) for c in whole.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [
        ("get_weather", {"city": "Rome"})
    ]


# -- no route knowledge (issue 20 item 7) -----------------------------------------------------


@pytest.mark.parametrize("path", FRONT_END, ids=[p.stem for p in FRONT_END])
def test_knows_no_azure_route(path: Path) -> None:
    from tests._support.route_knowledge import scan

    assert scan(path) == [], "endpoint kinds, hosts, paths and scopes belong in the transport"


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param('if kind == "openai-v1": pass', id="kind"),
        pytest.param('SUFFIX = ".openai.azure.com"', id="host"),
        pytest.param('x = url.endswith("/v1")', id="llama-suffix"),
        pytest.param('SCOPE = "https://ai.azure.com/.default"', id="scope"),
        pytest.param('if kind == "foundry": pass', id="foundry"),
    ],
)
def test_the_route_scan_rejects_route_knowledge(snippet: str) -> None:
    from tests._support.route_knowledge import route_strings

    assert route_strings(snippet) != []
    assert route_strings(f"'''{snippet} '''") == []  # a docstring may explain


# -- no Azure or Llama facts: the transport's calls apply them (issue 23 item 1) --------------


@pytest.mark.parametrize("path", FRONT_END, ids=[p.stem for p in FRONT_END])
def test_knows_no_azure_constant(path: Path) -> None:
    from tests._support.route_knowledge import azure_scan

    assert azure_scan(path) == [], "filtering, statuses, headers, usage: the transport's"


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param('if reason in ("content_filter", "content_filter_error"): pass', id="filter"),
        pytest.param("FILTERED_FINISH_REASONS = frozenset()", id="filter-set"),
        pytest.param("if exc.status_code == 404: pass", id="404"),
        pytest.param("retry = status == 429", id="429"),
        pytest.param('headers["azureml-model-deployment"] = name', id="deployment-header"),
        pytest.param('url = os.environ.get("AZURE_INFERENCE_ENDPOINT")', id="environment"),
        pytest.param("_t.check_max_tokens(model, 10)", id="max-tokens"),
        pytest.param(
            "try:\n    x()\nexcept _t.NotFoundError as exc:\n    raise better(exc)",
            id="404-explanation",
        ),
        pytest.param('total = usage.get("total_tokens") or 0', id="usage"),
        pytest.param('llama4 = re.search(r"llama-?4", name, re.I)', id="model-name-regex"),
    ],
)
def test_the_azure_scan_rejects_azure_knowledge(snippet: str) -> None:
    from tests._support.route_knowledge import azure_knowledge

    assert azure_knowledge(snippet) != []
    assert azure_knowledge(f"'''{snippet} '''") == []  # a docstring may explain


def test_the_azure_scan_lets_a_missing_distribution_be_caught() -> None:
    """`except PackageNotFoundError` (the version's fallback) is not a caught 404."""
    from tests._support.route_knowledge import azure_knowledge

    snippet = "try:\n    v = version('x')\nexcept {}:\n    v = '0'"
    assert azure_knowledge(snippet.format("PackageNotFoundError")) == []
    assert azure_knowledge(snippet.format("NotFoundError")) != []


def test_the_settings_are_the_transports() -> None:
    """Issue 23 item 2: the fields a client is built from are `ClientConfig.create`'s keywords
    (`transport.CLIENT_SETTINGS`), under the same names: all of them but `extra_parameters` (the
    `extra-parameters` header's mode, which the LangChain models leave at the transport's
    default)."""
    fields = set(ChatAzureLlama.model_fields)
    assert set(_t.CLIENT_SETTINGS) - fields == {"extra_parameters"}
    from langchain_azure_llama import AzureLlama

    assert set(AzureLlama.model_fields) >= set(_t.CLIENT_SETTINGS) - {"extra_parameters"}
