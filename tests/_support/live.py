"""What the live suite's tests share: the endpoint they talk to, read once at collection."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `make record` rewrites these from the endpoint; the emulator run records into a temporary one.
CASSETTES = Path(
    os.environ.get("AZURE_LLAMA_LIVE_CASSETTES") or Path(__file__).parents[1] / "live" / "cassettes"
)
DEFAULT_MODEL = "Meta-Llama-3.1-8B-Instruct"
NOT_POINTED = (
    "the live suite needs AZURE_INFERENCE_ENDPOINT and AZURE_INFERENCE_CREDENTIAL (make live)"
)


@dataclass(frozen=True)
class Target:
    """The endpoint the live suite talks to."""

    endpoint: str | None
    key: str | None
    model: str | None

    @property
    def ready(self) -> bool:
        return bool(self.endpoint and self.key)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODEL


TARGET = Target(
    os.environ.get("AZURE_INFERENCE_ENDPOINT"),
    os.environ.get("AZURE_INFERENCE_CREDENTIAL"),
    os.environ.get("AZURE_INFERENCE_MODEL"),
)


def chat_params(**overrides: Any) -> dict[str, Any]:
    return {"endpoint": TARGET.endpoint, "api_key": TARGET.key, "model": TARGET.model, **overrides}
