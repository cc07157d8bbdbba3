"""WitMotion WT901BLE-class IMU (BLE 5.0 models): 20-byte 0x55 0x61 frames on ffe4, commands on ffe9.

The device streams as soon as notifications are enabled and its frames carry no timestamp, so t_s is
rebuilt from the frame index and the configured output rate: a lost frame shifts every later sample by
one period, and the decoder warns once if frames arrive far slower than configured (the vendor
notes say some models only change rate after a power cycle). The rate is set with the vendor
Python SDK's unlock -> write -> save sequence BEFORE subscribing, so the whole stream runs at one rate.

Facts and sources: /work/shared/protocols.md section 4; firmware_notes/witmotion.md.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import GattLink, Notification
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import ACC_CHANNELS, GYRO_CHANNELS, SampleBlock, StreamInfo
from bandlog.devices.base import DAMAGED_PACKETS, DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder

log = logging.getLogger(__name__)

# Note the base ends 9a34fb, not the SIG 9b34fb: WitMotion's own UUIDs, used verbatim.
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

FRAME_LEN = 20
HEADER = 0x55
KIND_IMU = 0x61
KIND_REGISTER = 0x71

ACC_G_PER_LSB = 16.0 / 32768.0
GYRO_DPS_PER_LSB = 2000.0 / 32768.0
ANGLE_DEG_PER_LSB = 180.0 / 32768.0

REG_SAVE = 0x00
REG_RATE = 0x03
REG_READ = 0x27
REG_UNLOCK = 0x69
UNLOCK_VALUE = 0xB588  # bytes 88 B5
UNLOCK_VALID_S = 10.0

RATE_CODES_HZ: dict[int, float] = {0x03: 1.0, 0x05: 5.0, 0x06: 10.0, 0x08: 50.0, 0x09: 100.0, 0x0B: 200.0}
"""Output-rate codes confirmed by WitMotion's Android SDK; 0x0A differs between products, so never used."""
DEFAULT_RATE_CODE = 0x06
"""What the device runs at out of the box (10 Hz)."""
PREFERRED_RATE_HZ = 100.0
"""Asked for when the user gives no rate: the shank-IMU rate the detection design calls for."""
COMMAND_GAP_S = 0.1
"""Pause between configuration writes, as in the vendor Python SDK."""
RATE_CHECK_AFTER_S = 3.0
RATE_CHECK_TOLERANCE = 0.25

_INT16 = struct.Struct("<9h")
_REGISTERS = struct.Struct("<H8h")


def _check_int16(values: tuple[int, ...], count: int, name: str) -> None:
    if len(values) != count or any(not -32768 <= v <= 32767 for v in values):
        raise ConfigError(f"{name} must be {count} int16 values, got {values!r}")


def rate_code_for(rate_hz: float) -> tuple[int, float]:
    """The confirmed rate code nearest rate_hz (ties go to the faster rate) and its rate in Hz."""
    if not rate_hz > 0:
        raise ConfigError(f"sample rate must be positive, got {rate_hz!r} Hz")
    code = min(RATE_CODES_HZ, key=lambda c: (abs(RATE_CODES_HZ[c] - rate_hz), -RATE_CODES_HZ[c]))
    return code, RATE_CODES_HZ[code]


@dataclass(frozen=True)
class ImuFrame:
    """One 0x55 0x61 frame: raw int16 accel, gyro and Euler angles (roll X, pitch Y, yaw Z)."""

    acc_raw: tuple[int, int, int]
    gyro_raw: tuple[int, int, int]
    angle_raw: tuple[int, int, int]

    def __post_init__(self) -> None:
        _check_int16(self.acc_raw, 3, "acc_raw")
        _check_int16(self.gyro_raw, 3, "gyro_raw")
        _check_int16(self.angle_raw, 3, "angle_raw")

    @classmethod
    def from_bytes(cls, data: bytes) -> ImuFrame:
        if len(data) != FRAME_LEN or data[0] != HEADER or data[1] != KIND_IMU:
            raise DecodeError("not a 20-byte WitMotion 0x55 0x61 frame", data)
        v = _INT16.unpack_from(data, 2)
        return cls(acc_raw=v[0:3], gyro_raw=v[3:6], angle_raw=v[6:9])

    def __bytes__(self) -> bytes:
        return bytes((HEADER, KIND_IMU)) + _INT16.pack(*self.acc_raw, *self.gyro_raw, *self.angle_raw)

    @property
    def acc_ms2(self) -> np.ndarray:
        return np.asarray(self.acc_raw, dtype=np.float64) * (ACC_G_PER_LSB * STANDARD_GRAVITY_MS2)

    @property
    def gyro_dps(self) -> np.ndarray:
        return np.asarray(self.gyro_raw, dtype=np.float64) * GYRO_DPS_PER_LSB

    @property
    def angle_deg(self) -> np.ndarray:
        return np.asarray(self.angle_raw, dtype=np.float64) * ANGLE_DEG_PER_LSB


@dataclass(frozen=True)
class RegisterReply:
    """A 0x55 0x71 frame: eight consecutive registers starting at start_register."""

    start_register: int
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.start_register <= 0xFFFF:
            raise ConfigError(f"start_register must be a u16, got {self.start_register!r}")
        _check_int16(self.values, 8, "values")

    @classmethod
    def from_bytes(cls, data: bytes) -> RegisterReply:
        if len(data) != FRAME_LEN or data[0] != HEADER or data[1] != KIND_REGISTER:
            raise DecodeError("not a 20-byte WitMotion 0x55 0x71 register reply", data)
        start, *values = _REGISTERS.unpack_from(data, 2)
        return cls(start_register=start, values=tuple(values))

    def __bytes__(self) -> bytes:
        return bytes((HEADER, KIND_REGISTER)) + _REGISTERS.pack(self.start_register, *self.values)


@dataclass(frozen=True)
class Command:
    """A 5-byte write to ffe9: FF AA <register> <value low> <value high>."""

    register: int
    value: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.register <= 0xFF and 0 <= self.value <= 0xFFFF):
            raise ConfigError(f"command register must be u8 and value u16, got {self.register!r}, {self.value!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        if len(data) != 5 or data[0] != 0xFF or data[1] != 0xAA:
            raise DecodeError("not a 5-byte WitMotion FF AA command", data)
        return cls(register=data[2], value=data[3] | data[4] << 8)

    def __bytes__(self) -> bytes:
        return bytes((0xFF, 0xAA, self.register, self.value & 0xFF, self.value >> 8))

    @classmethod
    def unlock(cls) -> Command:
        return cls(REG_UNLOCK, UNLOCK_VALUE)

    @classmethod
    def save(cls) -> Command:
        return cls(REG_SAVE, 0)

    @classmethod
    def set_rate(cls, code: int) -> Command:
        return cls(REG_RATE, code)

    @classmethod
    def read_register(cls, register: int) -> Command:
        return cls(REG_READ, register)


_FRAME_STARTS = (bytes((HEADER, KIND_IMU)), bytes((HEADER, KIND_REGISTER)))


def take_frames(buffer: bytearray) -> tuple[list[bytes], int]:
    """Cut complete frames off the front of buffer, resynchronising as the vendor SDK does.

    Bytes before the next 0x55 0x61 / 0x55 0x71 header are discarded (their count is returned); an
    incomplete frame, or a lone trailing 0x55, stays in buffer for the next notification.
    """
    frames: list[bytes] = []
    discarded = 0
    while buffer:
        start = next(
            (i for i in range(len(buffer) - 1) if buffer[i] == HEADER and buffer[i + 1] in (KIND_IMU, KIND_REGISTER)),
            -1,
        )
        if start < 0:
            keep = 1 if buffer[-1] == HEADER else 0
            discarded += len(buffer) - keep
            del buffer[: len(buffer) - keep]
            break
        discarded += start
        del buffer[:start]
        if len(buffer) < FRAME_LEN:
            break
        frames.append(bytes(buffer[:FRAME_LEN]))
        del buffer[:FRAME_LEN]
    return frames, discarded


class WitMotionDecoder(StreamDecoder):
    """Frames -> SampleBlocks timed by frame index / rate_hz; register replies -> notices."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._buffer = bytearray()
        self._index = 0
        self._first_host_s: float | None = None
        self._first_index = 0
        self._rate_checked = False

    def feed(self, notification: Notification) -> DecodeOutput:
        payload = notification.payload
        cut_short = 0
        if self._buffer and payload[:2] in _FRAME_STARTS:
            # BLE models send one frame per notification: a fresh frame start after an incomplete
            # frame means that frame arrived cut short; joined to this one it would decode as junk.
            cut_short = len(self._buffer)
            self._buffer.clear()
        self._buffer.extend(payload)
        frames, discarded = take_frames(self._buffer)
        discarded += cut_short
        out = DecodeOutput()
        if discarded:
            self._index += max(1, round(discarded / FRAME_LEN))  # one frame per notification was lost
            out.notices.append(DeviceNotice(DAMAGED_PACKETS, f"{discarded} byte(s) outside WitMotion frames thrown away", 1.0))
        imu = [ImuFrame.from_bytes(f) for f in frames if f[1] == KIND_IMU]
        for frame in (f for f in frames if f[1] == KIND_REGISTER):
            reply = RegisterReply.from_bytes(frame)
            text = " ".join(str(v) for v in reply.values)
            out.notices.append(DeviceNotice("register", f"0x{reply.start_register:02x}: {text}", float(reply.values[0])))
        if imu:
            n = len(imu)
            t_s = (self._index + np.arange(n)) / self.rate_hz
            self._index += n
            out.blocks.append(
                SampleBlock(
                    t_s=t_s,
                    acc_ms2=np.stack([f.acc_ms2 for f in imu]),
                    gyro_dps=np.stack([f.gyro_dps for f in imu]),
                    t_host_s=np.full(n, notification.t_host_s),
                )
            )
            out.notices.extend(self._check_rate(notification.t_host_s))
        return out

    def _check_rate(self, t_host_s: float) -> list[DeviceNotice]:
        """Warn once if frames arrive far slower than configured: the device kept an older, lower rate
        (e.g. its 10 Hz default) and every t_s would be stretched. Only "slower" is checked, because
        an emulated device running faster than real time must not raise a false alarm; a device
        stuck at a higher previous rate therefore goes unnoticed."""
        if self._first_host_s is None:
            self._first_host_s = t_host_s
            self._first_index = self._index
            return []
        span_s = t_host_s - self._first_host_s
        if self._rate_checked or span_s < RATE_CHECK_AFTER_S:
            return []
        self._rate_checked = True
        arrival_hz = (self._index - self._first_index) / span_s
        if arrival_hz >= self.rate_hz * (1.0 - RATE_CHECK_TOLERANCE):
            return []
        log.warning("WitMotion frames arrive at %.1f Hz but %.1f Hz was configured", arrival_hz, self.rate_hz)
        return [
            DeviceNotice(
                "rate_mismatch",
                f"frames arrive at {arrival_hz:.1f} Hz, configured {self.rate_hz:g} Hz: t_s is off; power-cycle the sensor",
                arrival_hz,
            )
        ]


class WitMotionProfile(DeviceProfile):
    key: ClassVar[str] = "witmotion"
    model: ClassVar[str] = "WitMotion WT901BLE-class IMU (BLE 5.0)"
    service_uuid: ClassVar[str] = SERVICE_UUID
    name_prefixes: ClassVar[tuple[str, ...]] = ("WT",)
    measures_force: ClassVar[bool] = False
    measures_imu: ClassVar[bool] = True
    index_timed: ClassVar[bool] = True

    async def start(self, link: GattLink) -> StreamInfo:
        code, rate_hz = rate_code_for(self.options.sample_rate_hz or PREFERRED_RATE_HZ)
        for command in (Command.unlock(), Command.set_rate(code), Command.save()):
            await link.write(WRITE_UUID, bytes(command), response=False)
            await asyncio.sleep(COMMAND_GAP_S)
        await link.subscribe(NOTIFY_UUID)
        log.info("WitMotion streaming at %g Hz (rate code 0x%02x)", rate_hz, code)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            sample_rate_hz=rate_hz,
            channels=(*ACC_CHANNELS, *GYRO_CHANNELS),
            extra={"rate_code": f"0x{code:02x}", "time_base": "frame index / configured rate (no device timestamps)"},
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return WitMotionDecoder(info.sample_rate_hz or RATE_CODES_HZ[DEFAULT_RATE_CODE])

    async def stop(self, link: GattLink) -> None:
        # The protocol has no stop command: frames flow until notifications are disabled or the link drops.
        log.debug("WitMotion has no stop command; it streams until disconnect")


PROFILE = WitMotionProfile
