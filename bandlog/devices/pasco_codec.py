"""PASCO Wireless Force Acceleration (PS-3202) byte codecs: UUIDs, the one-shot read, replies, raw samples.

Pure and strict: every decoder either returns a value that encodes back to the very same bytes or
raises DecodeError. Facts from /work/shared/protocols.md section 3 (PASCO's own Python library and
datasheet XML); nothing here was checked against a real unit. In particular the FORCE SIGN is
inferred: PASCO documents "push positive, pull negative" for its force sensors and the library's
two-point line maps raw 5000 to +50 N, so a pull raises the raw count. bandlog records band
tension, so force_n = (raw - 32768) x 50/27768 is positive for a pull [UNVERIFIED on a PS-3202].
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from bandlog.core.errors import ConfigError, DecodeError

DEVICE_SERVICE = 0
"""Device-level service; the sensor on interface channel N is service N + 1."""
SEND_COMMAND_CHAR = 2
RECEIVE_REPLY_CHAR = 3
SEND_ACK_CHAR = 5
"""Acknowledges periodic (streamed) packets; bandlog never starts streaming, so never writes it."""

_UUID = re.compile(r"^4a5c000([0-9a-f])-000([0-9a-f])-0000-0000-5c1e741f1c00$")

READ_ONE_SAMPLE = 0x05
GENERIC_RESPONSE = 0xC0
SENSOR_ID_EVENT = 0x82
MAX_SEQUENCE = 0x1F
"""Notifications whose first byte is at most this are periodic data (byte 0 = sequence number)."""
STATUS_OK = 0x00

FORCE_ZERO_RAW = 32768
FORCE_N_PER_COUNT = 50.0 / 27768.0
"""Datasheet FactoryCal "32768,0,5000,50": 27768 counts per 50 N (sign: see the module docstring)."""
FORCE_RANGE_N = 50.0
ACC_MS2_PER_COUNT = 0.004787
GYRO_DPS_PER_COUNT = 0.07


def char_uuid(service: int, char: int) -> str:
    """The 128-bit UUID of characteristic `char` in PASCO service `service` (char 0 = the service)."""
    if not (0 <= service <= 0xF and 0 <= char <= 0xF):
        raise ConfigError(f"PASCO service and characteristic ids are one hex digit, got {service}, {char}")
    return f"4a5c000{service:x}-000{char:x}-0000-0000-5c1e741f1c00"


def service_uuid(service: int) -> str:
    return char_uuid(service, 0)


def parse_uuid(uuid: str) -> tuple[int, int] | None:
    """(service, characteristic) of a UUID in PASCO's scheme, or None for any other UUID."""
    match = _UUID.match(uuid.lower())
    return None if match is None else (int(match.group(1), 16), int(match.group(2), 16))


class Channel(IntEnum):
    """The PS-3202's interface channels (interface 1028), in the order bandlog polls them."""

    FORCE = 0
    ACCEL = 1
    GYRO = 2

    @property
    def service(self) -> int:
        return int(self) + 1

    @property
    def packet_size(self) -> int:
        """Bytes of one sample: force uint16; accel and gyro three int16."""
        return 2 if self is Channel.FORCE else 6

    @property
    def label(self) -> str:
        return self.name.lower()


def _byte(value: int, name: str) -> None:
    if not 0 <= value <= 0xFF:
        raise ConfigError(f"{name} must fit one byte, got {value!r}")


@dataclass(frozen=True)
class ReadOneSample:
    """GCMD_READ_ONE_SAMPLE: [0x05, N], written to a channel's command characteristic."""

    packet_size: int

    def __post_init__(self) -> None:
        if not 1 <= self.packet_size <= 0xFF:
            raise ConfigError(f"packet size must be 1..255 bytes, got {self.packet_size!r}")

    def __bytes__(self) -> bytes:
        return bytes((READ_ONE_SAMPLE, self.packet_size))

    @classmethod
    def from_bytes(cls, data: bytes) -> ReadOneSample:
        if len(data) != 2 or data[0] != READ_ONE_SAMPLE or data[1] == 0:
            raise DecodeError("not a PASCO read-one-sample command", data)
        return cls(data[1])


@dataclass(frozen=True)
class GenericResponse:
    """0xC0 reply: status (0 = OK), the command it answers, then that command's payload."""

    status: int
    command: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        _byte(self.status, "status")
        _byte(self.command, "command")

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    def __bytes__(self) -> bytes:
        return bytes((GENERIC_RESPONSE, self.status, self.command)) + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> GenericResponse:
        if len(data) < 3 or data[0] != GENERIC_RESPONSE:
            raise DecodeError("a PASCO generic response is 0xC0, status, command, payload", data)
        return cls(data[1], data[2], bytes(data[3:]))


@dataclass(frozen=True)
class PeriodicData:
    """A streamed-data packet (sequence number <= 0x1F, then data); bandlog never asks for these."""

    sequence: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= MAX_SEQUENCE:
            raise ConfigError(f"periodic sequence numbers are 0..{MAX_SEQUENCE}, got {self.sequence!r}")

    def __bytes__(self) -> bytes:
        return bytes((self.sequence,)) + self.payload


@dataclass(frozen=True)
class SensorIdEvent:
    """0x82 event: the id of a sensor plugged into an interface (AirLink, control node)."""

    sensor_id: int

    def __post_init__(self) -> None:
        _byte(self.sensor_id, "sensor id")

    def __bytes__(self) -> bytes:
        return bytes((SENSOR_ID_EVENT, self.sensor_id))


@dataclass(frozen=True)
class OtherPacket:
    """Any other first byte; PASCO's library treats these on service 0 as battery status (layout undocumented)."""

    code: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        _byte(self.code, "code")
        if self.code in (GENERIC_RESPONSE, SENSOR_ID_EVENT) or self.code <= MAX_SEQUENCE:
            raise ConfigError(f"code 0x{self.code:02X} has its own packet type")

    def __bytes__(self) -> bytes:
        return bytes((self.code,)) + self.payload


Reply = GenericResponse | PeriodicData | SensorIdEvent | OtherPacket


def decode_reply(data: bytes) -> Reply:
    """Classify one notification from a reply characteristic by its first byte."""
    if not data:
        raise DecodeError("empty PASCO notification", data)
    code = data[0]
    if code == GENERIC_RESPONSE:
        return GenericResponse.from_bytes(data)
    if code <= MAX_SEQUENCE:
        return PeriodicData(code, bytes(data[1:]))
    if code == SENSOR_ID_EVENT:
        if len(data) != 2:
            raise DecodeError("a PASCO sensor-id event is 2 bytes", data)
        return SensorIdEvent(data[1])
    return OtherPacket(code, bytes(data[1:]))


_UINT16 = struct.Struct("<H")
_INT16X3 = struct.Struct("<3h")


@dataclass(frozen=True)
class ForceRaw:
    """RawForce: uint16 LE, no two's complement; 32768 is zero force."""

    raw: int

    def __post_init__(self) -> None:
        if not 0 <= self.raw <= 0xFFFF:
            raise ConfigError(f"raw force must be a uint16, got {self.raw!r}")

    @property
    def force_n(self) -> float:
        """Pull (band tension) positive; see the module docstring for the inferred sign."""
        return (self.raw - FORCE_ZERO_RAW) * FORCE_N_PER_COUNT

    @property
    def saturated(self) -> bool:
        """At the end of the count range, or beyond the datasheet's +-50 N."""
        return self.raw in (0, 0xFFFF) or abs(self.force_n) > FORCE_RANGE_N

    @classmethod
    def from_force_n(cls, force_n: float) -> ForceRaw:
        """The count a sensor reports for force_n, clipped to the uint16 range as its ADC would be."""
        return cls(min(max(round(FORCE_ZERO_RAW + force_n / FORCE_N_PER_COUNT), 0), 0xFFFF))

    def __bytes__(self) -> bytes:
        return _UINT16.pack(self.raw)

    @classmethod
    def from_bytes(cls, data: bytes) -> ForceRaw:
        if len(data) != _UINT16.size:
            raise DecodeError(f"a PASCO force sample is {_UINT16.size} bytes, got {len(data)}", data)
        return cls(_UINT16.unpack(data)[0])


@dataclass(frozen=True)
class TriadRaw:
    """Three int16 LE counts (x, y, z): the accelerometer or the gyro sample."""

    x: int
    y: int
    z: int

    def __post_init__(self) -> None:
        if not all(-0x8000 <= v <= 0x7FFF for v in (self.x, self.y, self.z)):
            raise ConfigError(f"triad counts must be int16, got {(self.x, self.y, self.z)!r}")

    def scaled(self, per_count: float) -> tuple[float, float, float]:
        return (self.x * per_count, self.y * per_count, self.z * per_count)

    @classmethod
    def from_values(cls, values: Sequence[float], per_count: float) -> TriadRaw:
        """The counts a sensor reports for (x, y, z) values, clipped to int16 as its ADC would be."""
        if len(values) != 3:
            raise ConfigError(f"a triad has three values, got {len(values)}")
        x, y, z = (min(max(round(v / per_count), -0x8000), 0x7FFF) for v in values)
        return cls(x, y, z)

    def __bytes__(self) -> bytes:
        return _INT16X3.pack(self.x, self.y, self.z)

    @classmethod
    def from_bytes(cls, data: bytes) -> TriadRaw:
        if len(data) != _INT16X3.size:
            raise DecodeError(f"a PASCO accel/gyro sample is {_INT16X3.size} bytes, got {len(data)}", data)
        return cls(*_INT16X3.unpack(data))


Sample = ForceRaw | TriadRaw


def decode_sample(channel: Channel, payload: bytes) -> Sample:
    """The raw sample a read-one-sample reply carries for channel."""
    return ForceRaw.from_bytes(payload) if channel is Channel.FORCE else TriadRaw.from_bytes(payload)
