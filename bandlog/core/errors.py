"""One error hierarchy for bandlog.

"The device or file sent garbage" (DecodeError, LogFormatError) is kept apart from "you called it
wrong" (ConfigError), as h11 does with remote vs local protocol errors. The CLI maps these to one
sentence and an exit code; the library never prints.
"""

from __future__ import annotations


class BandlogError(Exception):
    """Root of every error bandlog raises on purpose."""


class ConfigError(BandlogError, ValueError):
    """A caller passed an invalid option or parameter."""


class DecodeError(BandlogError, ValueError):
    """Bytes from a device could not be decoded; carries the offending bytes in hex."""

    def __init__(self, message: str, data: bytes | bytearray | None = None) -> None:
        self.data = bytes(data) if data is not None else None
        suffix = f" (bytes: {self.data.hex(' ')})" if self.data is not None else ""
        super().__init__(message + suffix)


class ProtocolError(BandlogError):
    """The device answered, but not as its protocol says it should (wrong reply, timeout)."""


class BluetoothUnavailableError(BandlogError):
    """No usable Bluetooth adapter or BLE stack on this machine."""


class BluetoothOffError(BluetoothUnavailableError):
    """The adapter is there but switched off."""


class BluetoothPermissionError(BluetoothUnavailableError):
    """This user or program may not use Bluetooth (Linux groups or capabilities, macOS privacy, Windows policy)."""


class BluetoothBusyError(BluetoothUnavailableError):
    """The stack is busy with another operation (BlueZ's "Operation already in progress"); it may free up."""


class DeviceRefusedError(ProtocolError):
    """The sensor, or the OS on its behalf, refused us; retrying the same way will not change its mind."""


class DeviceBondError(DeviceRefusedError):
    """The sensor is bonded to another host, or forgot its bond with this one."""


class NotificationsRefusedError(DeviceRefusedError):
    """The sensor would not turn on the notifications its stream needs."""


class DeviceNotFoundError(BandlogError):
    """No supported sensor matched the request during the scan."""


class ConnectionLostError(BandlogError):
    """The link dropped and could not be re-established."""


class CheckFailedError(BandlogError):
    """`bandlog check` could not finish its measurement (the stream ended, the load never hung still)."""


class LogFormatError(BandlogError, ValueError):
    """A log file is not in a format bandlog reads, or has bad rows."""


class LogWriteError(BandlogError, OSError):
    """A log could not be written (disk full, no permission, missing directory)."""


class SampleTimeError(BandlogError, ValueError):
    """The samples' times give an interval no sensor produces (corrupt times, or not in seconds)."""
