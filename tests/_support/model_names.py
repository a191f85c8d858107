"""Model and deployment names, and what each choice made from a name must answer for them.

One table for the one rule (`azure_llama_transport.parse_model_name`) and its three users: the
prompted-tool format (`_llama._formats.family_of`), the LangChain token counter's chat template
(`langchain_azure_llama._tokens.family_of`) and the images a request may carry
(`image_limit`, whose name rule decides for names the catalogue does not know).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest


class Expected(NamedTuple):
    family: str | None  # parse_model_name(name).family
    vision: bool
    variant: str | None
    prompt_format: str  # _formats.family_of
    chat_template: str  # _tokens.family_of
    images: int | None  # image_limit: 0 text only, N at most, None Azure decides


def _row(
    name: str,
    family: str | None,
    vision: bool,
    variant: str | None,
    prompt_format: str,
    chat_template: str,
    images: int | None,
    why: str = "",
) -> Any:
    expected = Expected(family, vision, variant, prompt_format, chat_template, images)
    return pytest.param(name, expected, id=f"{name or '<empty>'}{why}")


NAMES = [
    # Llama 3.1: Azure's catalogue name, a deployment spelling (no dots allowed), Fireworks'.
    _row("Meta-Llama-3.1-8B-Instruct", "3.1", False, None, "llama3.1", "llama3", 0),
    _row("meta-llama-3-1-8b", "3.1", False, None, "llama3.1", "llama3", 0),
    _row("llama-v3p1-8b", "3.1", False, None, "llama3.1", "llama3", 0),
    _row("llama-31-8b-blue", "3.1", False, None, "llama3.1", "llama3", 0),
    # Llama 3.2: Vision takes one image (assumed), the text models none.
    _row("Llama-3.2-11B-Vision-Instruct", "3.2", True, None, "llama3.2", "llama3", 1),
    _row("llama3.2-90b-vision", "3.2", True, None, "llama3.2", "llama3", 1),
    _row("llama-3.2-3b", "3.2", False, None, "llama3.2", "llama3", 0),
    # Llama 3.3.
    _row("Llama-3.3-70B-Instruct", "3.3", False, None, "llama3.3", "llama3", 0),
    _row("llama-3-3-70b", "3.3", False, None, "llama3.3", "llama3", 0),
    _row("meta-llama/Llama-3.3-70B-Instruct", "3.3", False, None, "llama3.3", "llama3", 0),
    # Llama 4: Maverick one image per request on Azure, Scout and others: Azure decides.
    _row("Llama-4-Maverick-17B-128E-Instruct-FP8", "4", False, "maverick", "llama4", "llama4", 1),
    _row("LLAMA_4_MAVERICK", "4", False, "maverick", "llama4", "llama4", 1),
    _row("llama4-scout", "4", False, "scout", "llama4", "llama4", None),
    _row(
        "azure_llama/llama-4-scout-17b-16e-instruct", "4", False, "scout", "llama4", "llama4", None
    ),
    _row("llama-4.1", "4", False, None, "llama4", "llama4", None, why="-no-such-minor"),
    # Llama 2 and Code Llama (built on Llama 2): Llama 2's template, text only, no tool format.
    _row("Llama-2-7b-chat", "2", False, None, "unknown", "llama2", 0),
    _row("llama2", "2", False, None, "unknown", "llama2", 0),
    _row("codellama-34b", "2", False, "code", "unknown", "llama2", 0),
    # Llama 3 (3.0): text only, no tool format of its own.
    _row("Meta-Llama-3-8B-Instruct", "3", False, None, "unknown", "llama3", 0),
    _row("llama-3-1b", "3", False, None, "unknown", "llama3", 0, why="-a-size-not-3.1"),
    _row("llama-3.10", "3", False, None, "unknown", "llama3", 0, why="-no-such-minor"),
    # Not a Llama version: the callers' unknown-model answers.
    _row("my-deployment", None, False, None, "unknown", "llama3", None),
    _row("my-vision-deployment", None, False, None, "unknown", "llama3", None),
    _row("", None, False, None, "unknown", "llama3", None),
    _row("llama-40b", None, False, None, "unknown", "llama3", None, why="-a-size"),
    _row("llama40-custom", None, False, None, "unknown", "llama3", None),
    _row("tinyllama-1.1b", None, False, None, "unknown", "llama3", None, why="-not-meta"),
    _row("Llama-Guard-3-8B", None, False, None, "unknown", "llama3", None, why="-guard-version"),
]
