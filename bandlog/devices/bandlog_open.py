"""The open bandlog sensor profile: a DIY ESP32 + HX711 load cell + 6-axis IMU, force and IMU in one packet.

Designed here (byte-for-byte spec: firmware_notes/bandlog_open_profile.md). Why this shape:
- force and IMU are co-sampled on ONE device clock, so no cross-device alignment is needed;
- every sample carries its own device microsecond timestamp, so lost notifications or BLE batching
  never shift time (the decoder unwraps the 32-bit counter, and skips a sample whose timestamp its
  neighbours contradict, see device_clock.py), and a 7-bit per-sample sequence
  number counts short losses without knowing the rate;
- one sample is exactly 20 bytes, so it fits the default ATT MTU (23) on every central with no MTU
  negotiation (bleak cannot always request one); at the 10-200 Hz rates allowed, one notification
  per sample is well within what an ESP32 can send per connection event;
- replies to commands come back on the same notify characteristic, marked by bit 7 of byte 0.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import SAMPLE_CHANNELS, SampleBlock, StreamInfo
from bandlog.devices.base import DROPPED_PACKETS, DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder
from bandlog.devices.device_clock import DeviceClock

log = logging.getLogger(__name__)


def open_uuid(short: int) -> str:
    return f"5a02{short:04x}-6afd-4aac-98b0-0bc84e5a630b"


SERVICE_UUID = open_uuid(0x0001)
DATA_UUID = open_uuid(0x0002)
"""Notify: samples (byte 0 bit 7 clear) and command replies (byte 0 = 0x80)."""
COMMAND_UUID = open_uuid(0x0003)
"""Write with response: one command per write."""

PROTOCOL_VERSION = 1
REPLY_MARK = 0x80
SEQ_MODULO = 128
FORCE_N_PER_LSB = 1e-4  # 0.1 mN in an int24: +-838.8607 N
FORCE_LIMIT_RAW = (1 << 23) - 1
"""The firmware sends +-FORCE_LIMIT_RAW when the load cell amplifier is at its rail (overload)."""
ACC_G_PER_LSB = 1e-3  # 1 mg, +-32.767 g
GYRO_DPS_PER_LSB = 1.0 / 32.0  # +-1024 deg/s
SAMPLE_LEN = 20
RATE_RANGE_HZ = (10, 200)
PREFERRED_RATE_HZ = 80
"""The HX711 converts at 80 SPS (RATE pin high): at 80 Hz every sample carries a fresh force value."""
REPLY_TIMEOUT_S = 2.0
MAX_REPLY_PAYLOAD = SAMPLE_LEN - 3
LOW_BATTERY_PERCENT = 10
"""At or below this the firmware also sends an unsolicited BATTERY reply (about every minute)."""

_SAMPLE = struct.Struct("<BI3s3h3h")


class Opcode(IntEnum):
    START = 0x01
    STOP = 0x02
    TARE = 0x03
    SET_RATE = 0x04
    BATTERY = 0x05
    INFO = 0x06
    CALIBRATE = 0x07


_OPCODES = frozenset(int(o) for o in Opcode)


class Status(IntEnum):
    OK = 0
    UNKNOWN_COMMAND = 1
    BAD_ARGUMENT = 2
    FAILED = 3


def _check_range(name: str, values: tuple[int, ...], low: int, high: int) -> None:
    if any(not (isinstance(v, int) and low <= v <= high) for v in values):
        raise ConfigError(f"{name} must be integers in {low}..{high}, got {values!r}")


@dataclass(frozen=True)
class Sample:
    """One sample notification (20 bytes): seq, device time, force and IMU as transmitted."""

    seq: int
    t_us: int
    force_raw: int
    acc_raw: tuple[int, int, int]
    gyro_raw: tuple[int, int, int]

    def __post_init__(self) -> None:
        _check_range("seq", (self.seq,), 0, SEQ_MODULO - 1)
        _check_range("t_us", (self.t_us,), 0, 2**32 - 1)
        _check_range("force_raw", (self.force_raw,), -(2**23), 2**23 - 1)
        if len(self.acc_raw) != 3 or len(self.gyro_raw) != 3:
            raise ConfigError("acc_raw and gyro_raw need 3 values each")
        _check_range("acc_raw/gyro_raw", (*self.acc_raw, *self.gyro_raw), -32768, 32767)

    @classmethod
    def from_bytes(cls, data: bytes) -> Sample:
        if len(data) != SAMPLE_LEN or data[0] & REPLY_MARK:
            raise DecodeError("not a 20-byte bandlog-open sample", data)
        seq, t_us, force, *imu = _SAMPLE.unpack(data)
        return cls(seq, t_us, int.from_bytes(force, "little", signed=True), tuple(imu[0:3]), tuple(imu[3:6]))

    def __bytes__(self) -> bytes:
        force = self.force_raw.to_bytes(3, "little", signed=True)
        return _SAMPLE.pack(self.seq, self.t_us, force, *self.acc_raw, *self.gyro_raw)

    @property
    def overloaded(self) -> bool:
        return abs(self.force_raw) >= FORCE_LIMIT_RAW


@dataclass(frozen=True)
class Reply:
    """0x80, opcode, status, then up to 17 bytes of opcode-specific payload (one notification)."""

    opcode: int
    status: int = Status.OK
    payload: bytes = b""

    def __post_init__(self) -> None:
        _check_range("opcode/status", (self.opcode, self.status), 0, 0xFF)
        if len(self.payload) > MAX_REPLY_PAYLOAD:
            raise ConfigError(f"a reply payload holds at most {MAX_REPLY_PAYLOAD} bytes, got {len(self.payload)}")

    @classmethod
    def from_bytes(cls, data: bytes) -> Reply:
        if not 3 <= len(data) <= SAMPLE_LEN or data[0] != REPLY_MARK:
            raise DecodeError("not a bandlog-open reply", data)
        return cls(opcode=data[1], status=data[2], payload=bytes(data[3:]))

    def __bytes__(self) -> bytes:
        return bytes((REPLY_MARK, self.opcode, self.status)) + self.payload


@dataclass(frozen=True)
class Command:
    """One write to the command characteristic: opcode then its little-endian argument."""

    opcode: int
    argument: bytes = b""

    _ARG_LEN: ClassVar[dict[int, int]] = {Opcode.SET_RATE: 2, Opcode.CALIBRATE: 4}

    def __post_init__(self) -> None:
        if self.opcode not in _OPCODES:
            raise ConfigError(f"unknown bandlog-open opcode {self.opcode!r}")
        if len(self.argument) != self._ARG_LEN.get(self.opcode, 0):
            raise ConfigError(f"opcode 0x{self.opcode:02x} takes {self._ARG_LEN.get(self.opcode, 0)} argument bytes")

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        try:
            return cls(opcode=data[0], argument=bytes(data[1:]))
        except (IndexError, ConfigError) as error:
            raise DecodeError(f"not a bandlog-open command: {error}", data) from error

    def __bytes__(self) -> bytes:
        return bytes((self.opcode,)) + self.argument

    @classmethod
    def set_rate(cls, rate_hz: int) -> Command:
        _check_range("rate_hz", (rate_hz,), *RATE_RANGE_HZ)
        return cls(Opcode.SET_RATE, struct.pack("<H", rate_hz))

    @classmethod
    def calibrate(cls, known_force_n: float) -> Command:
        return cls(Opcode.CALIBRATE, struct.pack("<i", round(known_force_n / FORCE_N_PER_LSB)))


def parse_packet(data: bytes) -> Sample | Reply:
    """Any notification from the data characteristic."""
    if not data:
        raise DecodeError("empty bandlog-open notification", data)
    return Reply.from_bytes(data) if data[0] & REPLY_MARK else Sample.from_bytes(data)


@dataclass(frozen=True)
class DeviceInfo:
    """INFO reply payload: protocol version u8, rate u16 Hz, then ASCII firmware version."""

    protocol: int
    rate_hz: int
    firmware: str

    @classmethod
    def from_payload(cls, payload: bytes) -> DeviceInfo:
        if len(payload) < 3:
            raise DecodeError("bandlog-open INFO reply is too short", payload)
        try:
            firmware = payload[3:].decode("ascii")
        except UnicodeDecodeError as error:
            raise DecodeError("bandlog-open firmware version is not ASCII", payload) from error
        return cls(protocol=payload[0], rate_hz=struct.unpack_from("<H", payload, 1)[0], firmware=firmware)

    def to_payload(self) -> bytes:
        return struct.pack("<BH", self.protocol, self.rate_hz) + self.firmware.encode("ascii")


def battery_from_payload(payload: bytes) -> tuple[float, float]:
    """BATTERY reply payload (u16 mV, u8 percent) -> (mV, percent)."""
    if len(payload) != 3:
        raise DecodeError("bandlog-open BATTERY reply must carry 3 bytes", payload)
    millivolts, percent = struct.unpack("<HB", payload)
    return float(millivolts), float(percent)


def samples_to_block(samples: list[Sample], t_s: np.ndarray, t_host_s: np.ndarray | None = None) -> SampleBlock:
    """Raw samples -> SI units (N, m/s^2, deg/s)."""
    acc = np.array([s.acc_raw for s in samples], dtype=np.float64) * (ACC_G_PER_LSB * STANDARD_GRAVITY_MS2)
    return SampleBlock(
        t_s=t_s,
        force_n=np.array([s.force_raw for s in samples], dtype=np.float64) * FORCE_N_PER_LSB,
        acc_ms2=acc,
        gyro_dps=np.array([s.gyro_raw for s in samples], dtype=np.float64) * GYRO_DPS_PER_LSB,
        t_host_s=t_host_s,
    )


class OpenDecoder(StreamDecoder):
    """Samples -> blocks on the device clock; replies -> notices.

    Timestamps go through a DeviceClock: the 32-bit microsecond counter is unwrapped only where a
    wrap is real, and a stale or corrupted timestamp costs its own sample (skipped, counted), never
    a shift of the samples after it.
    """

    counts_lost = True  # by the sample sequence number

    def __init__(self, rate_hz: float | None = None) -> None:
        self.rate_hz = rate_hz
        self._clock: DeviceClock[tuple[Sample, float]] = DeviceClock(1.0 / (rate_hz or PREFERRED_RATE_HZ))
        self._first_us: int | None = None
        self._last_t_s = 0.0
        self._next_seq: int | None = None
        self._overloaded = False

    def feed(self, notification: Notification) -> DecodeOutput:
        if notification.char_uuid.lower() != DATA_UUID:
            return DecodeOutput()
        packet = parse_packet(notification.payload)
        if isinstance(packet, Reply):
            return DecodeOutput(notices=[reply_notice(packet)])
        out = DecodeOutput()
        accepted = self._clock.push(packet.t_us, (packet, notification.t_host_s))
        skipped = self._clock.take_skipped()
        out.skipped(skipped, "a bandlog-open timestamp disagreed with the samples around it")
        out.clock_restarted(self._clock.take_restarts(), "bandlog-open sensor")
        samples: list[Sample] = []
        t_s: list[float] = []
        t_host_s: list[float] = []
        for timed in accepted:
            sample, host_s = timed.item
            if self._first_us is None:
                self._first_us = timed.t_us
            t = (timed.t_us - self._first_us) / 1e6
            lost = self._count_lost(sample.seq, t) - skipped
            skipped = 0
            if lost > 0:
                out.notices.append(DeviceNotice(DROPPED_PACKETS, f"{lost} sample(s) missing before seq {sample.seq}", float(lost)))
            self._next_seq = (sample.seq + 1) % SEQ_MODULO
            self._last_t_s = t
            if sample.overloaded and not self._overloaded:
                out.notices.append(DeviceNotice("force_overload", "the load cell amplifier is at its limit"))
            self._overloaded = sample.overloaded
            samples.append(sample)
            t_s.append(t)
            t_host_s.append(host_s)
        if samples:
            out.blocks.append(samples_to_block(samples, np.array(t_s), np.array(t_host_s)))
        return out

    def flush(self) -> DecodeOutput:
        out = DecodeOutput()
        out.skipped(self._clock.flush(), "the last bandlog-open timestamp had no later sample to confirm it")
        return out

    def _count_lost(self, seq: int, t_s: float) -> int:
        """Samples lost before this one: the 7-bit sequence gap, un-aliased by the time gap when the rate is known."""
        if self._next_seq is None:
            return 0
        by_seq = (seq - self._next_seq) % SEQ_MODULO
        if not self.rate_hz:
            return by_seq
        by_time = round((t_s - self._last_t_s) * self.rate_hz) - 1
        return by_seq + SEQ_MODULO * round((by_time - by_seq) / SEQ_MODULO)


def reply_notice(reply: Reply) -> DeviceNotice:
    """What a reply that reaches the stream means to the user."""
    name = Opcode(reply.opcode).name.lower() if reply.opcode in _OPCODES else f"0x{reply.opcode:02x}"
    if reply.status != Status.OK:
        status = Status(reply.status).name if reply.status in {int(s) for s in Status} else str(reply.status)
        return DeviceNotice(f"{name}_failed", f"the sensor refused {name}: {status}")
    if reply.opcode == Opcode.BATTERY:
        millivolts, percent = battery_from_payload(reply.payload)
        kind = "low_battery" if percent <= LOW_BATTERY_PERCENT else "battery"
        return DeviceNotice(kind, f"sensor battery {percent:.0f} % ({millivolts:.0f} mV)", percent)
    return DeviceNotice(name, "done")


class BandlogOpenProfile(DeviceProfile):
    key: ClassVar[str] = "bandlog-open"
    model: ClassVar[str] = "bandlog open DIY sensor (ESP32 + HX711 load cell + 6-axis IMU)"
    service_uuid: ClassVar[str] = SERVICE_UUID
    name_prefixes: ClassVar[tuple[str, ...]] = ("bandlog-",)
    measures_force: ClassVar[bool] = True
    measures_imu: ClassVar[bool] = True

    async def start(self, link: GattLink) -> StreamInfo:
        await link.subscribe(DATA_UUID)
        info = DeviceInfo.from_payload((await _command(link, Command(Opcode.INFO))).payload)
        if info.protocol != PROTOCOL_VERSION:
            raise ProtocolError(f"the sensor speaks bandlog-open protocol {info.protocol}; this bandlog reads {PROTOCOL_VERSION}")
        low, high = RATE_RANGE_HZ
        wanted = int(min(max(round(self.options.sample_rate_hz or PREFERRED_RATE_HZ), low), high))
        reply = await _command(link, Command.set_rate(wanted))
        rate_hz = float(struct.unpack("<H", reply.payload)[0]) if len(reply.payload) == 2 else float(wanted)
        millivolts, percent = battery_from_payload((await _command(link, Command(Opcode.BATTERY))).payload)
        await _command(link, Command(Opcode.START))
        return StreamInfo(
            profile=self.key,
            model=self.model,
            firmware=info.firmware,
            sample_rate_hz=rate_hz,
            channels=SAMPLE_CHANNELS,
            battery_percent=percent,
            battery_mv=millivolts,
            hardware_tare=True,
            extra={"protocol": str(info.protocol), "time_base": "device microsecond timestamps"},
        )

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        return OpenDecoder(info.sample_rate_hz)

    async def tare(self, link: GattLink) -> bool:
        # The reply arrives in the stream (the decoder turns it into a "tare" notice).
        await link.write(COMMAND_UUID, bytes(Command(Opcode.TARE)), response=True)
        return True

    async def stop(self, link: GattLink) -> None:
        await link.write(COMMAND_UUID, bytes(Command(Opcode.STOP)), response=True)


async def _command(link: GattLink, command: Command, timeout_s: float = REPLY_TIMEOUT_S) -> Reply:
    """Send a command before streaming starts and wait for its reply; anything else is skipped."""
    await link.write(COMMAND_UUID, bytes(command), response=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        note = await link.next_notification(max(deadline - loop.time(), 0.0))
        packet = parse_packet(note.payload) if note.char_uuid.lower() == DATA_UUID else None
        if isinstance(packet, Reply) and packet.opcode == command.opcode:
            if packet.status != Status.OK:
                raise ProtocolError(reply_notice(packet).message)
            return packet
        if loop.time() > deadline:
            raise ProtocolError(f"no reply to {Opcode(command.opcode).name} within {timeout_s:g} s")


PROFILE = BandlogOpenProfile
