"""Fixtures for tests/progress (helpers live in progress_fakes.py)."""

from __future__ import annotations

import pytest
from progress_fakes import FakeBackend


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()
