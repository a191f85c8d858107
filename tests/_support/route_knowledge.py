"""Scan a front end's source for knowledge of Azure's routes (issue 20 item 7).

A route's kind, URL rules, auth scopes and query live in the transport; a front end names none
of them in code. Docstrings and comments may (they explain); string constants in code may not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# Any code string containing one of these is route knowledge.
CONTAINS = ("openai-v1", ".azure.com", "/openai/v1", "/models", "/.default")
# Any code string equal to one of these is: the kinds compared against, the Llama-native suffix,
# the query parameter.
EQUALS = frozenset({"foundry", "serverless", "managed", "other", "/v1", "api-version"})


def route_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every code string constant naming a route fact."""
    tree = ast.parse(source)
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docs:
            continue
        text = node.value
        if text in EQUALS or any(part in text for part in CONTAINS):
            found.append((node.lineno, text))
    return found


def scan(path: Path) -> list[tuple[int, str]]:
    return route_strings(path.read_text(encoding="utf-8"))


# -- Azure and Llama facts (issue 23 item 1) ----------------------------------------------------

# Code strings equal to one of these are Azure's: its filtered finish reasons, its deployment and
# key headers. A front end asks the transport (`content_filtered`, `openai_finish_reason`,
# `DEPLOYMENT_HEADER`, `ROUTING_HEADERS`) instead.
AZURE_EQUALS = frozenset(
    {"content_filter", "content_filter_error", "azureml-model-deployment", "api-key"}
)
# Code strings containing one of these name Azure's environment (`transport.settings_from_env`).
AZURE_CONTAINS = ("AZURE_INFERENCE_", "AZURE_LLAMA_")
# HTTP statuses Azure answers with: what a status means is the transport's (its errors, its 404
# explanation, its retries).
STATUS_CODES = frozenset({400, 401, 403, 404, 408, 409, 413, 422, 424, 429, 500, 502, 503, 504})
# Names that do the transport's work: the filtered set, the max_tokens check, the 404 explanation.
TRANSPORT_STEPS = frozenset(
    {
        "FILTERED",
        "FILTERED_FINISH_REASONS",
        "aexplain_not_found",
        "check_max_tokens",
        "explain_not_found",
    }
)
# A caught 404 (`NotFoundError`, `t.NotFoundError`) is the 404 explanation again.
_NOT_FOUND = re.compile(r"(?<![A-Za-z])NotFoundError")
# Usage counts read with a default are usage normalised again: the transport's answers carry all
# three counts as ints.
USAGE_COUNTS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})
# A regex over "llama" is a reading of model names: the transport's `parse_model_name` is the one.
RE_CALLS = frozenset({"compile", "search", "match", "fullmatch", "findall", "finditer", "sub"})


def azure_knowledge(source: str, *, allowed: frozenset[object] = frozenset()) -> list[str]:
    """What in `source` (outside docstrings) is Azure or Llama knowledge a front end must not hold.

    `allowed`: literals a module may use all the same (a front end's error module gives its
    framework's exceptions the HTTP status they carry).
    """
    tree = ast.parse(source)
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and id(node) not in docs and node.value not in allowed:
            value = node.value
            if isinstance(value, str) and (
                value in AZURE_EQUALS or any(part in value for part in AZURE_CONTAINS)
            ):
                found.append(f"{where}: Azure string {value!r}")
            elif type(value) is int and value in STATUS_CODES:
                found.append(f"{where}: HTTP status {value}")
        elif isinstance(node, ast.Name | ast.Attribute | ast.alias):
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            name = name or getattr(node, "name", None)
            if name in TRANSPORT_STEPS:
                found.append(f"{where}: does the transport's {name}")
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            if _NOT_FOUND.search(ast.unparse(node.type)):
                found.append(f"{where}: catches NotFoundError (the 404 explanation)")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in USAGE_COUNTS
        ):
            found.append(f"{where}: normalises usage ({node.args[0].value})")
        elif _is_name_regex(node):
            found.append(f"{where}: reads model names (the transport's parse_model_name)")
    return found


def _is_name_regex(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RE_CALLS
        and ast.unparse(node.func.value) == "re"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and "llama" in str(node.args[0].value).lower()
    )


def azure_scan(path: Path, *, allowed: frozenset[object] = frozenset()) -> list[str]:
    return azure_knowledge(path.read_text(encoding="utf-8"), allowed=allowed)
