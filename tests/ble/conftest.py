"""Fixtures for the BLE tests: the toy sensor registered as a device profile for the test's duration."""

from __future__ import annotations

import pytest
from ble_toy import ToyProfile

from bandlog.devices import registry


@pytest.fixture
def toy_profile(monkeypatch: pytest.MonkeyPatch) -> type[ToyProfile]:
    """Make bandlog.devices know the toy sensor (the registry is a cached dict; restored after)."""
    monkeypatch.setitem(registry(), ToyProfile.key, ToyProfile)
    return ToyProfile
