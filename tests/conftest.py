"""Project-wide test settings: no network but loopback, no stray Azure settings, litellm offline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# litellm fetches its price map at import and a tokenizer on the first Llama call: keep both local.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _clear_azure_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's real AZURE_* settings must never leak into a test."""
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def _fresh_retirement_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees `RetiredModelWarning` as a new process would (the transport warns once per
    model per process): a test calling a retired model warns, and fails unless it filters the
    warning, whatever ran before it; a current model that starts warning fails every test."""
    from azure_llama_transport import _catalogue, _lifecycle

    monkeypatch.setattr(_lifecycle, "_warned", set())
    # The deployment names learned from answers are process-wide too ("m" answered as 3.1).
    monkeypatch.setattr(_catalogue, "_SERVED", {})
