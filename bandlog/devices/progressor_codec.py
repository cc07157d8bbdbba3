"""Tindeq Progressor TLV packets as pure byte codecs (protocols.md section 1).

Host->device: opcode, optional length byte, payload. Device->host: response code, length, payload.
Some clones pad device->host frames to a fixed size (a length byte smaller than the frame, protocols.md
section 10): the bytes past the payload are ignored, as Tindeq's client and Grip Connect do, and each
response keeps them (`padding`) so that it still re-encodes to the same bytes. Anything else is
strict: a length byte larger than the frame cannot be, and raises. Weight samples are kept as
float32/uint32 arrays so their exact bits survive.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Self

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError

MAX_PAYLOAD = 255
WEIGHT_SAMPLE_BYTES = 8


class Opcode(enum.IntEnum):
    TARE = 0x64
    START_WEIGHT = 0x65
    STOP_WEIGHT = 0x66
    START_PEAK_RFD = 0x67
    START_PEAK_RFD_SERIES = 0x68
    ADD_CALIBRATION_POINT = 0x69
    SAVE_CALIBRATION = 0x6A
    GET_VERSION = 0x6B
    GET_ERROR_INFO = 0x6C
    CLEAR_ERROR_INFO = 0x6D
    SLEEP = 0x6E
    GET_BATTERY_VOLTAGE = 0x6F
    GET_ID = 0x70
    SET_CALIBRATION = 0x71
    GET_CALIBRATION = 0x72


class ResponseCode(enum.IntEnum):
    COMMAND = 0
    WEIGHT = 1
    RFD_PEAK = 2
    RFD_PEAK_SERIES = 3
    LOW_POWER = 4
    CALIBRATION_FACTOR = 5
    CALIBRATION_POINT = 6
    """5 and 6 are clone (crimpdeq) extensions; decoded only so they are not mistaken for garbage."""


@dataclass(frozen=True)
class ControlCommand:
    """A control-point write. Argument-less commands are one opcode byte, as Tindeq's client sends."""

    opcode: Opcode
    payload: bytes = b""
    length_byte: bool = False
    """Send `opcode, len, payload` even when the payload is empty (PyTindeq style)."""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "opcode", Opcode(self.opcode))
        except ValueError:
            raise ConfigError(f"unknown Progressor opcode {self.opcode!r}") from None
        if len(self.payload) > MAX_PAYLOAD:
            raise ConfigError("Progressor command payload longer than 255 bytes")
        if self.payload:
            object.__setattr__(self, "length_byte", True)  # a payload always travels with its length

    def __bytes__(self) -> bytes:
        if self.length_byte:
            return bytes([self.opcode, len(self.payload)]) + self.payload
        return bytes([self.opcode])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        if not data:
            raise DecodeError("empty Progressor command", data)
        if data[0] not in Opcode._value2member_map_:
            raise DecodeError(f"unknown Progressor opcode 0x{data[0]:02x}", data)
        if len(data) == 1:
            return cls(Opcode(data[0]))
        if data[1] != len(data) - 2:
            raise DecodeError(f"Progressor command length byte says {data[1]}, got {len(data) - 2}", data)
        return cls(Opcode(data[0]), data[2:], True)


def _unframe(data: bytes, code: ResponseCode | None = None) -> tuple[bytes, bytes]:
    """(payload, padding) of a response frame, after checking its code and length byte."""
    if len(data) < 2:
        raise DecodeError("Progressor response shorter than its 2-byte header", data)
    if code is not None and data[0] != code:
        raise DecodeError(f"expected Progressor response code {int(code)}, got {data[0]}", data)
    if data[1] > len(data) - 2:
        raise DecodeError(f"Progressor length byte says {data[1]}, got {len(data) - 2} payload bytes", data)
    return data[2 : 2 + data[1]], data[2 + data[1] :]


@dataclass(frozen=True)
class CommandResponse:
    """Code 0: the answer to the last query. Replies do not echo the opcode (match by order)."""

    payload: bytes = b""
    padding: bytes = b""
    """Bytes after the payload in a padded frame; kept only to re-encode exactly."""

    def __post_init__(self) -> None:
        if len(self.payload) > MAX_PAYLOAD:
            raise ConfigError("Progressor response payload longer than 255 bytes")

    def __bytes__(self) -> bytes:
        return bytes([ResponseCode.COMMAND, len(self.payload)]) + self.payload + self.padding

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        return cls(*_unframe(bytes(data), ResponseCode.COMMAND))


@dataclass(frozen=True, eq=False)
class WeightPacket:
    """Code 1: samples of float32 kg + uint32 microseconds since the start command.

    `padding`: bytes a clone sent after the samples (a fixed-size frame); kept only to re-encode exactly.
    A frame's padding is no sample, so its length need not be a multiple of 8.
    """

    weight_kg: np.ndarray
    t_us: np.ndarray
    padding: bytes = b""

    def __post_init__(self) -> None:
        weight = np.array(self.weight_kg, dtype="<f4", copy=True).reshape(-1)
        t_us = np.array(self.t_us, dtype=np.int64).reshape(-1)
        if weight.shape != t_us.shape:
            raise ConfigError("weight_kg and t_us must have the same length")
        if np.any(t_us < 0) or np.any(t_us >= 1 << 32):
            raise ConfigError("t_us must be uint32 microsecond counts")
        if weight.size * WEIGHT_SAMPLE_BYTES > MAX_PAYLOAD:
            raise ConfigError(f"{weight.size} samples do not fit one packet (max 31)")
        object.__setattr__(self, "padding", bytes(self.padding))
        t_us = t_us.astype("<u4")
        weight.setflags(write=False)
        t_us.setflags(write=False)
        object.__setattr__(self, "weight_kg", weight)
        object.__setattr__(self, "t_us", t_us)

    def __len__(self) -> int:
        return int(self.weight_kg.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WeightPacket):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None  # type: ignore[assignment]  # unhashable like any eq-only class; typeshed types __hash__ as a method

    def __bytes__(self) -> bytes:
        records = np.empty(len(self), dtype=[("kg", "<f4"), ("us", "<u4")])
        records["kg"], records["us"] = self.weight_kg, self.t_us
        return bytes([ResponseCode.WEIGHT, len(self) * WEIGHT_SAMPLE_BYTES]) + records.tobytes() + self.padding

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        payload, padding = _unframe(data, ResponseCode.WEIGHT)
        if len(payload) % WEIGHT_SAMPLE_BYTES:
            raise DecodeError(f"weight payload of {len(payload)} bytes is not a multiple of 8", data)
        records = np.frombuffer(payload, dtype=[("kg", "<f4"), ("us", "<u4")])
        return cls(records["kg"], records["us"], padding)


@dataclass(frozen=True)
class LowPowerWarning:
    """Code 4, no payload: the device is about to switch itself off."""

    padding: bytes = b""

    def __bytes__(self) -> bytes:
        return bytes([ResponseCode.LOW_POWER, 0]) + self.padding

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        payload, padding = _unframe(bytes(data), ResponseCode.LOW_POWER)
        if payload:
            raise DecodeError("low-power warning must have no payload", data)
        return cls(padding)


@dataclass(frozen=True)
class OtherResponse:
    """Codes bandlog does not use (RFD peaks, clone calibration replies); kept whole."""

    code: ResponseCode
    payload: bytes = b""
    padding: bytes = b""

    def __post_init__(self) -> None:
        if self.code in (ResponseCode.COMMAND, ResponseCode.WEIGHT, ResponseCode.LOW_POWER):
            raise ConfigError(f"response code {self.code} has its own type")
        if len(self.payload) > MAX_PAYLOAD:
            raise ConfigError("Progressor response payload longer than 255 bytes")

    def __bytes__(self) -> bytes:
        return bytes([self.code, len(self.payload)]) + self.payload + self.padding

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        payload, padding = _unframe(data)
        if data[0] not in ResponseCode._value2member_map_ or data[0] in (0, 1, 4):
            raise DecodeError(f"unexpected Progressor response code {data[0]}", data)
        return cls(ResponseCode(data[0]), payload, padding)


ProgressorResponse = CommandResponse | WeightPacket | LowPowerWarning | OtherResponse
_BY_CODE: dict[int, type[ProgressorResponse]] = {0: CommandResponse, 1: WeightPacket, 4: LowPowerWarning}


def decode_response(data: bytes) -> ProgressorResponse:
    """Any data-point notification."""
    data = bytes(data)
    if not data:
        raise DecodeError("empty Progressor notification", data)
    return _BY_CODE.get(data[0], OtherResponse).from_bytes(data)


# ------------------------------------------------------------------- command-response payloads


@dataclass(frozen=True)
class BatteryVoltage:
    """Answer to GET_BATTERY_VOLTAGE: uint32 millivolts."""

    mv: int

    def __post_init__(self) -> None:
        if not 0 <= self.mv < 1 << 32:
            raise ConfigError(f"battery voltage must be a uint32 of millivolts, got {self.mv}")

    def __bytes__(self) -> bytes:
        return struct.pack("<I", self.mv)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != 4:
            raise DecodeError(f"battery voltage must be 4 bytes, got {len(data)}", data)
        return cls(struct.unpack("<I", data)[0])


@dataclass(frozen=True)
class TextReply:
    """Answer to GET_VERSION or GET_ERROR_INFO: ASCII text (the error log may be empty)."""

    text: str

    def __post_init__(self) -> None:
        if not self.text.isascii() or len(self.text) > MAX_PAYLOAD:
            raise ConfigError("Progressor text replies are ASCII, at most 255 characters")

    def __bytes__(self) -> bytes:
        return self.text.encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            return cls(bytes(data).decode("ascii"))
        except UnicodeDecodeError:
            raise DecodeError("Progressor text reply is not ASCII", data) from None


@dataclass(frozen=True)
class ProgressorId:
    """Answer to GET_ID (unofficial): uint64 LE with the high zero bytes left off."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 64:
            raise ConfigError(f"Progressor id must be a uint64, got {self.value}")

    def __bytes__(self) -> bytes:
        return self.value.to_bytes(max(1, (self.value.bit_length() + 7) // 8), "little")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        data = bytes(data)
        if not 1 <= len(data) <= 8 or (len(data) > 1 and data[-1] == 0):
            raise DecodeError("Progressor id must be 1-8 bytes without high zero bytes", data)
        return cls(int.from_bytes(data, "little"))
