"""Fixtures for transport tests: a MockTransport-backed client pair and a fake clock."""

from __future__ import annotations

import pytest

from tests._support.transport import (
    FakeClock,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
