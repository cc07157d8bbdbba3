"""What the OS Bluetooth stacks raise, as one sentence that says what to do (BlueZ, macOS, Windows).

bleak passes each platform's failure on in that platform's words: a BlueZ D-Bus error name, a
CoreBluetooth NSError printed into a message, a WinRT status in a message, or a GATT error code.
The user needs one sentence with the fix, so `platform_error` reads those words (through the chain
of causes: bandlog's link errors keep the bleak error as their cause) and `scan_errors` applies it
to a scan. The rules are one table, first match wins; each says where bleak 3.1 raises what it matches.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from bandlog.core.errors import (
    BandlogError,
    BluetoothBusyError,
    BluetoothOffError,
    BluetoothPermissionError,
    BluetoothUnavailableError,
    DeviceBondError,
    NotificationsRefusedError,
)

NO_ADAPTER_HINT = "is Bluetooth switched on and is the Bluetooth service running? `bandlog scan --emulate` works without one"

Platform = str
"""sys.platform's words: 'linux', 'darwin', 'win32'."""


def _fix(platform: Platform, *, linux: str, darwin: str, win32: str) -> str:
    """The fix for this platform (Linux's words on any other Unix: BlueZ is what they run)."""
    return {"darwin": darwin, "win32": win32}.get(platform, linux)


def _off(device: str, platform: Platform) -> str:
    fix = _fix(
        platform,
        linux="switch it on (`bluetoothctl power on`, and `rfkill unblock bluetooth` if rfkill blocks it)",
        darwin="switch it on in Control Centre or System Settings > Bluetooth",
        win32="switch it on in Settings > Bluetooth & devices",
    )
    return f"Bluetooth is switched off on this computer: {fix}, then try again"


def _no_adapter(device: str, platform: Platform) -> str:
    return f"no Bluetooth adapter is available ({NO_ADAPTER_HINT})"


def _permission(device: str, platform: Platform) -> str:
    fix = _fix(
        platform,
        linux="add your user to the `bluetooth` group (`sudo usermod -aG bluetooth $USER`, then log out and in), as"
        " BlueZ's D-Bus policy may admit only that group; an HCI adapter used directly also needs"
        " `sudo setcap cap_net_raw,cap_net_admin+eip` on the Python binary",
        darwin="allow your terminal under System Settings > Privacy & Security > Bluetooth, then restart it",
        win32="allow apps to use Bluetooth under Settings > Privacy & security > Radios, or ask whoever manages this PC",
    )
    return f"this program is not allowed to use Bluetooth: {fix}"


def _busy(device: str, platform: Platform) -> str:
    fix = _fix(
        platform,
        linux="close other Bluetooth programs, run `bluetoothctl scan off`, and if it persists switch the adapter off and"
        " on (`bluetoothctl power off`, `bluetoothctl power on`) or restart BlueZ (`sudo systemctl restart bluetooth`)",
        darwin="close other Bluetooth programs and try again; if it persists switch Bluetooth off and on",
        win32="close other Bluetooth programs and try again; if it persists switch Bluetooth off and on",
    )
    return f'the Bluetooth adapter is busy with another operation ("Operation already in progress"): {fix}'


def _bond(device: str, platform: Platform) -> str:
    forget = _fix(
        platform,
        linux=f"remove the pairing here (`bluetoothctl remove {device}`)",
        darwin="forget the sensor in System Settings > Bluetooth",
        win32="remove the sensor in Settings > Bluetooth & devices",
    )
    return (
        f"{device} is bonded (paired) to another computer or phone, or has forgotten its bond with this one: {forget},"
        " unpair it on the other host or reset the sensor's pairing (its manual says how), then connect again"
    )


def _notify(device: str, platform: Platform) -> str:
    return (
        f"{device} refused to send notifications: close any other app connected to it (the vendor's phone app counts),"
        " switch the sensor off and on and try again; if it persists its firmware differs from what bandlog expects,"
        " so please report it with the output of `bandlog -vv`"
    )


def _dbus(*names: str, details: str | None = None) -> Callable[[BaseException], bool]:
    """A BlueZ (or D-Bus) error by name, optionally with these words in its details."""

    def matches(error: BaseException) -> bool:
        if not isinstance(error, BleakDBusError) or error.dbus_error not in names:
            return False
        return details is None or details.lower() in (error.dbus_error_details or "").lower()

    return matches


def _not_available(*reasons: BleakBluetoothNotAvailableReason) -> Callable[[BaseException], bool]:
    return lambda error: isinstance(error, BleakBluetoothNotAvailableError) and error.reason in reasons


def _gatt(*codes: BleakGATTProtocolErrorCode) -> Callable[[BaseException], bool]:
    return lambda error: isinstance(error, BleakGATTProtocolError) and error.code in codes


def _text(pattern: str) -> Callable[[BaseException], bool]:
    """A BleakError whose message (a platform's words put in text by bleak) matches pattern."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda error: isinstance(error, BleakError) and compiled.search(str(error)) is not None


def _any(*tests: Callable[[BaseException], bool]) -> Callable[[BaseException], bool]:
    return lambda error: any(test(error) for test in tests)


@dataclass(frozen=True)
class _Rule:
    matches: Callable[[BaseException], bool]
    error: type[BandlogError]
    sentence: Callable[[str, Platform], str]
    scan_only: bool = False
    """Only while scanning, which always comes first: later, the same type (a refused D-Bus call,
    a missing file) is an ordinary link failure, retried."""


_RULES: tuple[_Rule, ...] = (
    _Rule(
        _any(
            # BlueZ: manager.get_default_adapter, "No powered Bluetooth adapters found. Turn on Bluetooth and try again."
            # macOS: CentralManagerDelegate (CBManagerStatePoweredOff), "Bluetooth device is turned off"
            # Windows: scanner.start (RadioState.OFF), "Bluetooth radio is not powered on. Turn on Bluetooth and try again."
            _not_available(BleakBluetoothNotAvailableReason.POWERED_OFF),
            # BlueZ answers StartDiscovery / Device1.Connect on a powered-off adapter with NotReady ("Resource Not Ready")
            _dbus("org.bluez.Error.NotReady"),
        ),
        BluetoothOffError, _off,
    ),
    _Rule(
        _any(
            # BlueZ: manager.async_init, the system bus refused us (dbus AuthError) -> DENIED_BY_SYSTEM;
            # macOS: CentralManagerDelegate, CBManagerAuthorization denied / restricted -> DENIED_BY_USER / _SYSTEM / _UNKNOWN
            _not_available(
                BleakBluetoothNotAvailableReason.DENIED_BY_USER,
                BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
                BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN,
            ),
            # BlueZ's D-Bus policy (/etc/dbus-1/system.d/bluetooth.conf) refusing this user: dbus-daemon answers any call
            # with AccessDenied "Rejected send message, ...", which assert_reply raises as a BleakDBusError
            _dbus("org.freedesktop.DBus.Error.AccessDenied"),
            # a raw HCI socket without CAP_NET_RAW / CAP_NET_ADMIN: EPERM / EACCES as PermissionError
            lambda error: isinstance(error, PermissionError),
        ),
        BluetoothPermissionError, _permission,
    ),
    _Rule(
        _any(
            # BlueZ: StartDiscovery while another client scans or its discovery state is stuck (bleak#1689, #859),
            # and Connect while one is pending: assert_reply raises "[org.bluez.Error.InProgress] Operation already in progress"
            _dbus("org.bluez.Error.InProgress"),
            # BlueZ passing on EALREADY: "[org.bluez.Error.Failed] Operation already in progress" (bleak#1825)
            _dbus("org.bluez.Error.Failed", details="Operation already in progress"),
            # any backend: the ATT error 0xFE (a GATT procedure already running); macOS and Windows have no other form
            _gatt(BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS),
        ),
        BluetoothBusyError, _busy,
    ),
    _Rule(
        _any(
            # every backend: the sensor wants an encrypted link we hold no keys for (ATT 0x05, 0x0C, 0x0F):
            # BlueZ "Operation failed with ATT error: 0x05" (bluezdbus/utils.assert_gatt_reply), macOS CBATTErrorDomain
            # (PeripheralDelegate), Windows GattCommunicationStatus.PROTOCOL_ERROR (winrt/client._ensure_success)
            _gatt(
                BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
                BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
                BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION_KEY_SIZE,
            ),
            # BlueZ says the same as NotPermitted "Not paired" (bluezdbus/utils.assert_gatt_reply leaves it as a D-Bus error),
            # and a failed (re)pairing as AuthenticationFailed / Rejected / Canceled
            _dbus("org.bluez.Error.NotPermitted", details="Not paired"),
            _dbus(
                "org.bluez.Error.AuthenticationFailed", "org.bluez.Error.AuthenticationRejected",
                "org.bluez.Error.AuthenticationCanceled",
            ),
            # macOS: CentralManagerDelegate.did_fail_to_connect_peripheral, "failed to connect: Error Domain=CBErrorDomain
            # Code=14 "Peer removed pairing information"", and the same ATT codes put in text by PeripheralDelegate
            _text(r"Peer removed pairing information|CBErrorDomain Code=14\b|CBATTErrorDomain Code=(5|12|15)\b"),
        ),
        DeviceBondError, _bond,
    ),
    _Rule(
        _any(
            # BlueZ StartNotify: NotSupported (not turned into a GATT error for StartNotify, see assert_gatt_reply), and
            # NotPermitted "Notify acquired" when another program holds the characteristic's notifications
            _dbus("org.bluez.Error.NotSupported"),
            _dbus("org.bluez.Error.NotPermitted", details="Notify acquired"),
            # any backend: the CCCD write refused (ATT 0xFD)
            _gatt(BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED),
            # macOS: PeripheralDelegate.did_update_notification_for_characteristic, "Failed to update the notification status"
            # Windows: client.start_notify, "Could not start notify on 000E: Access Denied | Unreachable | ..." and
            # "characteristic does not support notifications or indications"
            _text(r"Failed to update the notification status|Could not start notify on|does not support notifications"),
        ),
        NotificationsRefusedError, _notify,
    ),
    _Rule(
        _any(
            # BlueZ: manager.get_default_adapter, NO_BLUETOOTH / NO_BLE_CENTRAL_ROLE; macOS: unsupported / unknown state;
            # Windows: scanner.start, "No Bluetooth adapter found"
            lambda error: isinstance(error, BleakBluetoothNotAvailableError),
            # BlueZ without a system D-Bus: FileNotFoundError (its socket) or ConnectionRefusedError; any other D-Bus
            # refusal at scan time; BlueZ manager "adapter 'hci1' not found"
            lambda error: isinstance(error, (FileNotFoundError, ConnectionRefusedError, BleakDBusError)),
            _text(r"adapter"),
        ),
        BluetoothUnavailableError, _no_adapter, scan_only=True,
    ),
)


def platform_error(
    error: BaseException, *, device: str = "the sensor", scanning: bool = False, platform: Platform = sys.platform
) -> BandlogError | None:
    """The one-sentence error for a failure of the OS Bluetooth stack, or None when it is none we know.

    Looks at error and its causes (bandlog's link errors keep bleak's as their cause); the result
    keeps the platform's own words at the end, so a report can be searched for them.
    """
    if isinstance(error, BandlogError) and isinstance(error, tuple(rule.error for rule in _RULES)):
        return error  # already said once, in these words
    seen: BaseException | None = error
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        for rule in _RULES:
            if (scanning or not rule.scan_only) and rule.matches(seen):
                return rule.error(f"{rule.sentence(device, platform)} (the system said: {_words(seen)})")
        seen = seen.__cause__
    return None


def retry_may_help(error: BandlogError) -> bool:
    """A busy stack frees up; an adapter switched off, a refused permission or a bond do not by themselves."""
    return isinstance(error, BluetoothBusyError)


@contextlib.contextmanager
def scan_errors() -> Iterator[None]:
    """A scan's failures as one sentence each (no adapter, switched off, not permitted, busy)."""
    try:
        yield
    except Exception as error:
        known = platform_error(error, scanning=True)
        if known is None or known is error:
            raise
        raise known from error


def _words(error: BaseException) -> str:
    return str(error) or type(error).__name__
