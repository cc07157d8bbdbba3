"""Vernier Go Direct (GDX-FOR) command framing, commands and reply records, as pure byte codecs.

Layouts follow protocols.md section 2 (Vernier's own godirect libraries). Every type decodes with
`from_bytes` and encodes with `__bytes__`; decoding is strict (any disagreement between a length
byte, a checksum, a fixed parameter and the data raises DecodeError) so a packet that decodes
re-encodes to exactly the same bytes. The measurement stream lives in gdx_stream.py.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from bandlog.core.errors import ConfigError, DecodeError

SERVICE_UUID = "d91714ef-28b9-4f91-ba16-f0d9a604f112"
COMMAND_UUID = "f4bf14a6-c7d5-4b6d-8aa8-df1a7c83adcb"
"""Commands are written here, in <=20-byte chunks."""
RESPONSE_UUID = "b41e6675-a329-40e0-aa01-44d2f444babe"
"""Replies and measurements are both notified here (see gdx_stream.py)."""

COMMAND_HEADER = 0x58
MEASUREMENT_LEAD = 0x20
REPLY_LEAD = 0x58
"""Byte 0 the twin puts on replies. Real devices' value is undocumented: decoders accept any byte
but MEASUREMENT_LEAD there."""

COMMAND_HEADER_LEN = 4
REPLY_HEADER_LEN = 6

INIT_PARAMS = bytes.fromhex("a5 4a 06 49 07 48 08 47 09 46 0a 45 0b 44 0c 43 0d 42 0e 41")


def check_uint(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ConfigError(f"{name} must be an unsigned {bits}-bit integer, got {value!r}")


def checksum(packet: bytes | bytearray) -> int:
    """Sum of the packet bytes mod 256 with byte 3 (the checksum slot) counted as 0."""
    return (sum(packet) - packet[3]) & 0xFF


def next_counter(counter: int) -> int:
    """The rolling counter is decremented before every command (0x00 wraps to 0xFF)."""
    return (counter - 1) & 0xFF


# --------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Command:
    """A framed host->device command. `Command.from_bytes` decodes any known command type."""

    counter: int
    command_id: ClassVar[int]
    label: ClassVar[str]

    def __post_init__(self) -> None:
        check_uint("counter", self.counter, 8)

    def params(self) -> bytes:
        """Command parameters after the command id."""
        return b""

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if params:
            raise DecodeError(f"{cls.label} takes no parameters", data)
        return cls(counter)

    def __bytes__(self) -> bytes:
        body = bytes([self.command_id]) + self.params()
        packet = bytearray([COMMAND_HEADER, COMMAND_HEADER_LEN + len(body), self.counter, 0]) + body
        packet[3] = checksum(packet)
        return bytes(packet)

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        data = bytes(data)
        if len(data) < COMMAND_HEADER_LEN + 1:
            raise DecodeError("GDX command shorter than its header", data)
        if data[0] != COMMAND_HEADER:
            raise DecodeError(f"GDX command must start with 0x{COMMAND_HEADER:02x}", data)
        if data[1] != len(data):
            raise DecodeError(f"GDX command length byte says {data[1]}, got {len(data)} bytes", data)
        if data[3] != checksum(data):
            raise DecodeError(f"GDX command checksum 0x{data[3]:02x} != 0x{checksum(data):02x}", data)
        target = COMMANDS.get(data[4]) if cls is Command else cls
        if target is None or data[4] != target.command_id:
            raise DecodeError(f"unexpected GDX command id 0x{data[4]:02x}", data)
        return target.from_params(data[2], data[5:], data)


@dataclass(frozen=True)
class Init(Command):
    command_id: ClassVar[int] = 0x1A
    label: ClassVar[str] = "INIT"

    def params(self) -> bytes:
        return INIT_PARAMS

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if params != INIT_PARAMS:
            raise DecodeError("INIT must carry its fixed 20 bytes", data)
        return cls(counter)


@dataclass(frozen=True)
class GetStatus(Command):
    command_id: ClassVar[int] = 0x10
    label: ClassVar[str] = "GET_STATUS"


@dataclass(frozen=True)
class GetDeviceInfo(Command):
    command_id: ClassVar[int] = 0x55
    label: ClassVar[str] = "GET_DEVICE_INFO"


@dataclass(frozen=True)
class GetSensorAvailableMask(Command):
    command_id: ClassVar[int] = 0x51
    label: ClassVar[str] = "GET_SENSOR_AVAILABLE_MASK"


@dataclass(frozen=True)
class GetDefaultSensorsMask(Command):
    command_id: ClassVar[int] = 0x56
    label: ClassVar[str] = "GET_DEFAULT_SENSORS_MASK"


@dataclass(frozen=True)
class Disconnect(Command):
    command_id: ClassVar[int] = 0x54
    label: ClassVar[str] = "DISCONNECT"


@dataclass(frozen=True)
class GetSensorInfo(Command):
    sensor_number: int = 0
    command_id: ClassVar[int] = 0x50
    label: ClassVar[str] = "GET_SENSOR_INFO"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_uint("sensor_number", self.sensor_number, 8)

    def params(self) -> bytes:
        return bytes([self.sensor_number])

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if len(params) != 1:
            raise DecodeError("GET_SENSOR_INFO takes exactly one sensor-number byte", data)
        return cls(counter, params[0])


@dataclass(frozen=True)
class SetMeasurementPeriod(Command):
    period_us: int = 10_000
    command_id: ClassVar[int] = 0x1B
    label: ClassVar[str] = "SET_MEASUREMENT_PERIOD"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_uint("period_us", self.period_us, 32)

    def params(self) -> bytes:
        return b"\xff\x00" + struct.pack("<I", self.period_us) + bytes(4)

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if len(params) != 10 or params[:2] != b"\xff\x00" or params[6:] != bytes(4):
            raise DecodeError("SET_MEASUREMENT_PERIOD must be FF 00 + u32 period + 4 zero bytes", data)
        return cls(counter, struct.unpack_from("<I", params, 2)[0])


@dataclass(frozen=True)
class StartMeasurements(Command):
    channel_mask: int = 0
    command_id: ClassVar[int] = 0x18
    label: ClassVar[str] = "START_MEASUREMENTS"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_uint("channel_mask", self.channel_mask, 32)

    def params(self) -> bytes:
        return b"\xff\x01" + struct.pack("<I", self.channel_mask) + bytes(8)

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if len(params) != 14 or params[:2] != b"\xff\x01" or params[6:] != bytes(8):
            raise DecodeError("START_MEASUREMENTS must be FF 01 + u32 mask + 8 zero bytes", data)
        return cls(counter, struct.unpack_from("<I", params, 2)[0])


STOP_PARAMS = b"\xff\x00\xff\xff\xff\xff"


@dataclass(frozen=True)
class StopMeasurements(Command):
    command_id: ClassVar[int] = 0x19
    label: ClassVar[str] = "STOP_MEASUREMENTS"

    def params(self) -> bytes:
        return STOP_PARAMS

    @classmethod
    def from_params(cls, counter: int, params: bytes, data: bytes) -> Self:
        if params != STOP_PARAMS:
            raise DecodeError("STOP_MEASUREMENTS must carry FF 00 FF FF FF FF", data)
        return cls(counter)


COMMANDS: dict[int, type[Command]] = {
    c.command_id: c
    for c in (
        Init,
        GetStatus,
        GetDeviceInfo,
        GetSensorAvailableMask,
        GetDefaultSensorsMask,
        GetSensorInfo,
        SetMeasurementPeriod,
        StartMeasurements,
        StopMeasurements,
        Disconnect,
    )
}


# ------------------------------------------------------------------------------------------ replies


@dataclass(frozen=True)
class Reply:
    """A device->host command reply: byte 4 echoes the command id, byte 5 the rolling counter.

    Bytes 0 and 2-3 are undocumented; they are kept as read so re-encoding is exact.
    """

    command_id: int
    counter: int
    payload: bytes = b""
    lead: int = REPLY_LEAD
    reserved: bytes = b"\x00\x00"

    def __post_init__(self) -> None:
        check_uint("command_id", self.command_id, 8)
        check_uint("counter", self.counter, 8)
        check_uint("lead", self.lead, 8)
        if self.lead == MEASUREMENT_LEAD:
            raise ConfigError("a reply cannot start with the measurement lead byte 0x20")
        if len(self.reserved) != 2:
            raise ConfigError("reserved must be 2 bytes")
        if REPLY_HEADER_LEN + len(self.payload) > 255:
            raise ConfigError(f"reply payload of {len(self.payload)} bytes does not fit a packet")

    @property
    def ok(self) -> bool:
        """START/STOP/ack replies put status 0 in their first payload byte on success."""
        return self.payload[:1] == b"\x00"

    def __bytes__(self) -> bytes:
        head = bytes([self.lead, REPLY_HEADER_LEN + len(self.payload)]) + self.reserved
        return head + bytes([self.command_id, self.counter]) + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        if len(data) < REPLY_HEADER_LEN:
            raise DecodeError("GDX reply shorter than its 6-byte header", data)
        if data[0] == MEASUREMENT_LEAD:
            raise DecodeError("a 0x20 packet is a measurement, not a reply", data)
        if data[1] != len(data):
            raise DecodeError(f"GDX reply length byte says {data[1]}, got {len(data)} bytes", data)
        return cls(data[4], data[5], data[6:], data[0], data[2:4])
