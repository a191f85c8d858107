"""Where the recipes send requests: a real Azure deployment if configured, else the emulator.

Every recipe runs unchanged against a real endpoint: set AZURE_INFERENCE_ENDPOINT and
AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL for the model name). Without them, the
recipe starts the built-in emulator on loopback and points at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    endpoint: str
    api_key: str
    model: str
    emulated: bool

    def describe(self) -> str:
        where = "the built-in emulator (offline)" if self.emulated else "Azure"
        return f"{self.model} at {self.endpoint} via {where}"


@contextmanager
def target(**emulator_options: object) -> Iterator[Target]:
    """Yield the endpoint to use; starts (and stops) the emulator when Azure is not configured."""
    endpoint = os.environ.get("AZURE_INFERENCE_ENDPOINT")
    model = os.environ.get("AZURE_LLAMA_MODEL", "Meta-Llama-3.1-8B-Instruct")
    if endpoint:
        yield Target(endpoint, os.environ.get("AZURE_INFERENCE_CREDENTIAL", ""), model, False)
        return
    from langchain_azure_llama.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(model_name=model, **emulator_options)  # type: ignore[arg-type]
    with Emulator(config) as emulator:
        yield Target(emulator.url, config.api_key, model, True)
