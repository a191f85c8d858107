"""langchain-tests' standard integration suite, against the live endpoint.

The same settings as the emulator suite (tests/langchain/test_standard_integration.py), whose
class this subclasses, with `tool_calling="auto"` left at its default: a real Llama deployment
refuses native `tools` and the model switches to prompted tool calling on the first refusal.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.live import chat_params
from tests.langchain.test_standard_integration import _EmulatorSuite

pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings(
        "ignore:Benchmark fixture was not used:pytest_benchmark.logger.PytestBenchmarkWarning"
    ),
]


class TestLiveChatModel(_EmulatorSuite):
    """The standard suite; `test_stream_time` replays `cassettes/` (`make record` rewrites)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return chat_params(temperature=0, max_tokens=100)
