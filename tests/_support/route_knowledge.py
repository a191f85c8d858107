"""Scan a front end's source for knowledge of Azure's routes (issue 20 item 7).

A route's kind, URL rules, auth scopes and query live in the transport; a front end names none
of them in code. Docstrings and comments may (they explain); string constants in code may not.
"""

from __future__ import annotations

import ast
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
