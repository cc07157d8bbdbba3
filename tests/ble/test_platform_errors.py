"""The OS Bluetooth stacks' failures as one sentence with the fix and an exit code (issue 15, point 6).

Each failure is raised as bleak raises it on that platform (the same type, the same words), injected
into the emulated backend at the stage where it happens (scan, connect, subscribe), and the CLI run
as a user runs it must print one line with the sentence and exit with its status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from bandlog.cli import ExitStatus, main
from bandlog.core.errors import (
    BluetoothBusyError,
    BluetoothOffError,
    BluetoothPermissionError,
    BluetoothUnavailableError,
    DeviceBondError,
    NotificationsRefusedError,
    ProtocolError,
)
from bandlog.emulate.bleak_backend import EmulatedBleakClient, EmulatedBleakScanner
from bandlog.sources import ble_session
from bandlog.sources.ble_errors import platform_error

# What bleak 3.1 raises, per platform (the backend file that raises it in the comment).
BLUEZ_OFF = BleakBluetoothNotAvailableError(  # bluezdbus/manager.py get_default_adapter
    "No powered Bluetooth adapters found. Turn on Bluetooth and try again.", BleakBluetoothNotAvailableReason.POWERED_OFF
)
BLUEZ_NOT_READY = BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"])  # Connect on a powered-off adapter
MAC_OFF = BleakBluetoothNotAvailableError(  # corebluetooth/CentralManagerDelegate.py
    "Bluetooth device is turned off", BleakBluetoothNotAvailableReason.POWERED_OFF
)
WIN_OFF = BleakBluetoothNotAvailableError(  # winrt/scanner.py start
    "Bluetooth radio is not powered on. Turn on Bluetooth and try again.", BleakBluetoothNotAvailableReason.POWERED_OFF
)
BLUEZ_BUSY = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])  # StartDiscovery
BLUEZ_BUSY_FAILED = BleakDBusError("org.bluez.Error.Failed", ["Operation already in progress"])  # bleak#1825
BLUEZ_DBUS_DENIED = BleakDBusError(  # dbus-daemon's policy refusing this user (bluezdbus/utils.py assert_reply)
    "org.freedesktop.DBus.Error.AccessDenied",
    ['Rejected send message, 1 matched rules; type="method_call", interface="org.freedesktop.DBus.ObjectManager"'],
)
BLUEZ_AUTH_DENIED = BleakBluetoothNotAvailableError(  # bluezdbus/manager.py async_init, AuthError on the system bus
    "EXTERNAL authentication failed", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM
)
HCI_EPERM = PermissionError(1, "Operation not permitted")  # a raw HCI socket without CAP_NET_RAW
MAC_DENIED = BleakBluetoothNotAvailableError(  # corebluetooth/CentralManagerDelegate.py
    "Bluetooth access is denied by the user for the current application. Check macOS privacy settings.",
    BleakBluetoothNotAvailableReason.DENIED_BY_USER,
)
BLUEZ_NOT_PAIRED = BleakDBusError("org.bluez.Error.NotPermitted", ["Not paired"])  # bluezdbus/utils.py REVISIT note
BLUEZ_ATT_AUTH = BleakGATTProtocolError(BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION)  # any backend
MAC_PAIRING_REMOVED = BleakError(  # corebluetooth/CentralManagerDelegate.py did_fail_to_connect_peripheral
    'failed to connect: Error Domain=CBErrorDomain Code=14 "Peer removed pairing information"'
    " UserInfo={NSLocalizedDescription=Peer removed pairing information}"
)
MAC_NOTIFY_AUTH = BleakError(  # corebluetooth/PeripheralDelegate.py, an ATT error put in text
    'Failed to update the notification status for characteristic 14: Error Domain=CBATTErrorDomain Code=5'
    ' "Authentication is insufficient." UserInfo={NSLocalizedDescription=Authentication is insufficient.}'
)
BLUEZ_NOTIFY_UNSUPPORTED = BleakDBusError("org.bluez.Error.NotSupported", ["Operation is not supported"])  # StartNotify
BLUEZ_NOTIFY_ACQUIRED = BleakDBusError("org.bluez.Error.NotPermitted", ["Notify acquired"])  # another process holds it
MAC_NOTIFY = BleakError(  # corebluetooth/PeripheralDelegate.py
    'Failed to update the notification status for characteristic 14: Error Domain=CBATTErrorDomain Code=10'
    ' "The attribute could not be found."'
)
WIN_NOTIFY = BleakError("Could not start notify on 000E: Access Denied")  # winrt/client.py _ensure_success
CCCD = BleakGATTProtocolError(BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED)  # any backend


@pytest.mark.parametrize(
    ("error", "expected", "words"),
    [
        (BLUEZ_OFF, BluetoothOffError, "bluetoothctl power on"),
        (BLUEZ_NOT_READY, BluetoothOffError, "bluetoothctl power on"),
        (BLUEZ_BUSY, BluetoothBusyError, "bluetoothctl scan off"),
        (BLUEZ_BUSY_FAILED, BluetoothBusyError, "sudo systemctl restart bluetooth"),
        (BLUEZ_DBUS_DENIED, BluetoothPermissionError, "sudo usermod -aG bluetooth $USER"),
        (BLUEZ_AUTH_DENIED, BluetoothPermissionError, "`bluetooth` group"),
        (HCI_EPERM, BluetoothPermissionError, "cap_net_raw,cap_net_admin"),
        (BLUEZ_NOT_PAIRED, DeviceBondError, "bluetoothctl remove AA:BB:CC:DD:EE:FF"),
        (BLUEZ_ATT_AUTH, DeviceBondError, "bluetoothctl remove AA:BB:CC:DD:EE:FF"),
        (BLUEZ_NOTIFY_UNSUPPORTED, NotificationsRefusedError, "close any other app connected to it"),
        (BLUEZ_NOTIFY_ACQUIRED, NotificationsRefusedError, "close any other app connected to it"),
        (CCCD, NotificationsRefusedError, "switch the sensor off and on"),
    ],
)
def test_bluez_failures_get_one_sentence_with_the_linux_fix(error: BaseException, expected: type, words: str) -> None:
    found = platform_error(error, device="AA:BB:CC:DD:EE:FF", platform="linux")
    assert type(found) is expected
    text = str(found)
    assert words in text and "\n" not in text
    assert text.endswith(f"(the system said: {error})")  # the platform's own words, for a report


@pytest.mark.parametrize(
    ("error", "platform", "expected", "words"),
    [
        (MAC_OFF, "darwin", BluetoothOffError, "Control Centre"),
        (WIN_OFF, "win32", BluetoothOffError, "Settings > Bluetooth & devices"),
        (MAC_DENIED, "darwin", BluetoothPermissionError, "Privacy & Security > Bluetooth"),
        (MAC_PAIRING_REMOVED, "darwin", DeviceBondError, "forget the sensor in System Settings > Bluetooth"),
        (MAC_NOTIFY_AUTH, "darwin", DeviceBondError, "forget the sensor"),
        (BLUEZ_ATT_AUTH, "win32", DeviceBondError, "remove the sensor in Settings > Bluetooth & devices"),
        (MAC_NOTIFY, "darwin", NotificationsRefusedError, "refused to send notifications"),
        (WIN_NOTIFY, "win32", NotificationsRefusedError, "refused to send notifications"),
        (BLUEZ_BUSY, "darwin", BluetoothBusyError, "switch Bluetooth off and on"),
    ],
)
def test_macos_and_windows_failures_get_their_own_fix(error: BaseException, platform: str, expected: type, words: str) -> None:
    found = platform_error(error, device="the sensor", platform=platform)
    assert type(found) is expected and words in str(found)
    assert "bluetoothctl" not in str(found)


def test_the_cause_chain_is_read_and_unknown_failures_are_left_alone() -> None:
    wrapped = ProtocolError("subscribe to 2a37 refused by AA: GATT Protocol Error: Insufficient Authentication")
    wrapped.__cause__ = BLUEZ_ATT_AUTH  # as ble_link.BleakLink._errors raises it
    assert isinstance(platform_error(wrapped), DeviceBondError)
    assert platform_error(BleakError("Not connected")) is None
    assert platform_error(TimeoutError("no connection within 10 s")) is None
    # a missing D-Bus is "no adapter" while scanning; later it is a link failure, retried
    assert isinstance(platform_error(FileNotFoundError(2, "No such file"), scanning=True), BluetoothUnavailableError)
    assert platform_error(FileNotFoundError(2, "No such file")) is None


# -- through the CLI, injected into the emulated backend --------------------------------------------------------------

def _raising(error: BaseException, calls: list[int] | None = None, times: int | None = None) -> Callable[..., object]:
    """A stand-in for a backend method that raises error (the first `times` calls only, then does the real thing)."""

    def make(real: Callable[..., object]) -> Callable[..., object]:
        async def method(self: object, *args: object, **kwargs: object) -> object:
            if calls is not None:
                calls.append(1)
            if times is None or len(calls or ()) <= times:
                raise error
            return await real(self, *args, **kwargs)  # type: ignore[misc]  # the backend's coroutine method

        return method

    return make


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("error", "status", "start"),
    [
        (BLUEZ_OFF, ExitStatus.NO_BLUETOOTH, "bandlog: Bluetooth is switched off on this computer: switch it on"),
        (BLUEZ_BUSY, ExitStatus.NO_BLUETOOTH, 'bandlog: the Bluetooth adapter is busy with another operation ("Operation'),
        (BLUEZ_DBUS_DENIED, ExitStatus.NO_BLUETOOTH, "bandlog: this program is not allowed to use Bluetooth"),
        (HCI_EPERM, ExitStatus.NO_BLUETOOTH, "bandlog: this program is not allowed to use Bluetooth"),
    ],
)
def test_scan_failures_are_one_sentence_and_an_exit_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException, status: ExitStatus, start: str
) -> None:
    monkeypatch.setattr(EmulatedBleakScanner, "start", _raising(error)(EmulatedBleakScanner.start))
    assert main(["scan", "--emulate", "--timeout", "0.3"]) == status
    line = _one_line(capsys)
    assert line.startswith(start) and str(error) in line


def _record(tmp_path: Path, device: str = "gdx-for") -> list[str]:
    return ["--data-dir", str(tmp_path), "record", "--emulate", "--device", device, "--duration", "1", "--speed", "10",
            "--view", "none", "--out", str(tmp_path / "set.csv")]


@pytest.mark.parametrize(
    ("method", "error", "status", "words"),
    [
        ("connect", BLUEZ_NOT_READY, ExitStatus.NO_BLUETOOTH, "Bluetooth is switched off"),
        ("connect", MAC_PAIRING_REMOVED, ExitStatus.DEVICE_REFUSED, "is bonded (paired) to another computer or phone"),
        ("start_notify", BLUEZ_ATT_AUTH, ExitStatus.DEVICE_REFUSED, "is bonded (paired) to another computer or phone"),
        ("start_notify", BLUEZ_NOTIFY_UNSUPPORTED, ExitStatus.DEVICE_REFUSED, "refused to send notifications"),
        ("start_notify", WIN_NOTIFY, ExitStatus.DEVICE_REFUSED, "refused to send notifications"),
    ],
)
def test_connect_and_subscribe_failures_are_said_at_once_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    method: str, error: BaseException, status: ExitStatus, words: str,
) -> None:
    """They used to be retried for 20 s, then reported as 'could not connect' with bleak's words only (exit 1)."""
    calls: list[int] = []
    monkeypatch.setattr(EmulatedBleakClient, method, _raising(error, calls)(getattr(EmulatedBleakClient, method)))
    assert main(_record(tmp_path)) == status
    line = _one_line(capsys)
    assert words in line and f"(the system said: {error})" in line
    assert len(calls) == 1  # not retried: it would not help


def test_a_busy_adapter_at_connect_is_retried_and_the_recording_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(EmulatedBleakClient, "connect", _raising(BLUEZ_BUSY, calls, times=1)(EmulatedBleakClient.connect))
    assert main(_record(tmp_path)) == ExitStatus.OK
    assert len(calls) == 2 and (tmp_path / "set.csv").stat().st_size > 0


def test_a_busy_adapter_that_stays_busy_ends_with_its_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ble_session, "FIRST_CONNECT_WINDOW_S", 0.8)
    monkeypatch.setattr(EmulatedBleakClient, "connect", _raising(BLUEZ_BUSY_FAILED)(EmulatedBleakClient.connect))
    assert main(_record(tmp_path)) == ExitStatus.ERROR
    line = _one_line(capsys)
    assert line.startswith("bandlog: could not connect to") and "bluetoothctl scan off" in line
