"""Where the recipes send requests: a real Azure deployment if configured, else the emulator.

Every recipe runs unchanged against a real endpoint: set AZURE_INFERENCE_ENDPOINT and
AZURE_INFERENCE_CREDENTIAL (and AZURE_LLAMA_MODEL for the model name). Without them, the
recipe starts the built-in emulator on loopback and points at it.

Recipes that use several deployments (a LiteLLM Router) name each one, e.g. EASTUS2, and read
AZURE_LLAMA_<NAME>_ENDPOINT / AZURE_LLAMA_<NAME>_KEY, as `litellm_proxy_config.yaml` does (and
AZURE_LLAMA_<NAME>_MODEL, else AZURE_LLAMA_MODEL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure_llama_emulator import Emulator

DEFAULT_MODEL = "Llama-3.3-70B-Instruct"


@dataclass(frozen=True)
class Target:
    endpoint: str
    api_key: str
    model: str
    emulated: bool
    emulator: Emulator | None = None  # set when emulated: recipes inject faults through it

    def describe(self) -> str:
        where = "the built-in emulator (offline)" if self.emulated else "Azure"
        return f"{self.model} at {self.endpoint} via {where}"


def _model() -> str:
    return os.environ.get("AZURE_LLAMA_MODEL", DEFAULT_MODEL)


@contextmanager
def _emulated(**emulator_options: Any) -> Iterator[Target]:
    from azure_llama_emulator import Emulator, EmulatorConfig

    options = {"model_name": _model(), **emulator_options}
    config = EmulatorConfig(**options)
    with Emulator(config) as emulator:
        # A Foundry resource's OpenAI v1 route lives under /openai/v1, as on Azure.
        url = f"{emulator.url}/openai/v1" if config.kind == "openai-v1" else emulator.url
        yield Target(url, config.api_key, config.model_name, True, emulator)


@contextmanager
def target(**emulator_options: Any) -> Iterator[Target]:
    """Yield the endpoint to use; starts (and stops) the emulator when Azure is not configured."""
    endpoint = os.environ.get("AZURE_INFERENCE_ENDPOINT")
    if endpoint:
        yield Target(endpoint, os.environ.get("AZURE_INFERENCE_CREDENTIAL", ""), _model(), False)
        return
    with _emulated(**emulator_options) as emulated:
        yield emulated


@contextmanager
def deployments(wanted: Mapping[str, Mapping[str, Any]]) -> Iterator[dict[str, Target]]:
    """One target per deployment name: `AZURE_LLAMA_<NAME>_ENDPOINT` / `_KEY` (/ `_MODEL`).

    `wanted` maps a name to the emulator options used when that deployment is not configured.
    For an emulated one, the two variables are set in this process, so a config file that
    refers to them (``api_base: os.environ/AZURE_LLAMA_EASTUS2_ENDPOINT``) finds it.
    """
    with ExitStack() as stack:
        found: dict[str, Target] = {}
        for name, options in wanted.items():
            endpoint_var, key_var = f"AZURE_LLAMA_{name}_ENDPOINT", f"AZURE_LLAMA_{name}_KEY"
            endpoint = os.environ.get(endpoint_var)
            if endpoint:
                model = os.environ.get(f"AZURE_LLAMA_{name}_MODEL", _model())
                found[name] = Target(endpoint, os.environ.get(key_var, ""), model, False)
                continue
            found[name] = stack.enter_context(_emulated(**options))
            os.environ[endpoint_var], os.environ[key_var] = (
                found[name].endpoint,
                found[name].api_key,
            )
            stack.callback(os.environ.pop, endpoint_var, None)
            stack.callback(os.environ.pop, key_var, None)
        yield found
