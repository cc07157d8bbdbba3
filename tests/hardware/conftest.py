"""The opt-in hardware suite: a real sensor over a real adapter, through the code the CLI runs.

    BANDLOG_TEST_DEVICE=gdx-for [BANDLOG_TEST_ADDRESS=AA:BB:...] pytest -m hardware

Deselected by default (pyproject's addopts). Skipped, with the reason printed at the end of the run,
when the variable is not set or this machine has no usable Bluetooth; the adapter's failure is said
in the words `bandlog scan` uses (bandlog.sources.ble_errors). firmware_notes/hardware_checklist.md
says what to run per sensor and what to send back.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest

from bandlog.core.errors import BluetoothUnavailableError
from bandlog.devices import get_profile, registry
from bandlog.devices.base import DeviceProfile

DEVICE_VARIABLE = "BANDLOG_TEST_DEVICE"
ADDRESS_VARIABLE = "BANDLOG_TEST_ADDRESS"
FIND_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class HardwareTarget:
    """The sensor under test: its profile, and what `--device` gets (its address when given, else the profile key)."""

    profile: type[DeviceProfile]
    target: str


@pytest.fixture(scope="session")
def hardware() -> HardwareTarget:
    key = os.environ.get(DEVICE_VARIABLE, "").strip().lower()
    if not key:
        pytest.skip(f"{DEVICE_VARIABLE} is not set: set it to a profile ({', '.join(sorted(registry()))}) to test a real sensor")
    if key not in registry():
        pytest.fail(f"{DEVICE_VARIABLE}={key!r} is not a profile: use one of {', '.join(sorted(registry()))}", pytrace=False)
    target = os.environ.get(ADDRESS_VARIABLE, "").strip() or key
    from bandlog.sources.ble_scan import find_device

    try:  # the scan `bandlog record` starts with: no adapter, switched off, not permitted all say so here
        asyncio.run(find_device(target, timeout_s=FIND_TIMEOUT_S, backends=None))
    except BluetoothUnavailableError as error:
        pytest.skip(f"no usable Bluetooth here: {error}")
    return HardwareTarget(get_profile(key), target)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Why the hardware suite did not run, even under -q (which hides skip reasons)."""
    reasons = set()
    for report in terminalreporter.stats.get("skipped", []):
        if "tests/hardware/" in report.nodeid.replace("\\", "/") and isinstance(report.longrepr, tuple):
            reasons.add(str(report.longrepr[2]).removeprefix("Skipped: "))
    for reason in sorted(reasons):
        terminalreporter.write_line(f"hardware suite skipped: {reason}")
