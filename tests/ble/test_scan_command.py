"""`bandlog scan`: one sentence without Bluetooth, a table of emulated sensors with --emulate."""

from __future__ import annotations

import pytest
from ble_toy import ToyTwin

from bandlog.cli import ExitStatus, main


def test_scan_without_bluetooth_is_one_line_and_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--timeout", "0.5"])
    captured = capsys.readouterr()
    assert code == ExitStatus.NO_BLUETOOTH
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bandlog: no Bluetooth adapter is available")
    assert "Traceback" not in captured.err + captured.out


def test_scan_rejects_a_nonpositive_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--timeout", "0"]) == ExitStatus.USAGE
    assert "--timeout must be positive" in capsys.readouterr().err


def test_scan_emulate_lists_every_emulated_sensor(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, toy_profile: type
) -> None:
    from bandlog.emulate.twins import twin_registry

    monkeypatch.setitem(twin_registry(), "toy", ToyTwin)
    assert main(["scan", "--emulate", "--timeout", "0.3"]) == ExitStatus.OK
    out = capsys.readouterr().out
    for key, twin_class in twin_registry().items():
        assert twin_class.default_name in out and key in out
