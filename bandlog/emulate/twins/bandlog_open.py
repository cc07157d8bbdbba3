"""Emulated bandlog-open DIY sensor: what firmware_notes/diy_sensor.md's sketch does, as a pure twin.

A periodic timer takes a sample every period_us on a free-running 32-bit microsecond clock (so a
long-running device wraps it) and notifies each sample as soon as it is taken; every command is
answered with a reply on the data characteristic. Force is what the load cell reads:
gain x band tension minus the tare offset; past the cell's range it sends the int24 limit (overload).
One simplification: TARE and CALIBRATE act on the reading at that instant and reply at once, where
the firmware averages 16 conversions (0.2 s) first.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from bandlog.core.errors import DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.bandlog_open import (
    ACC_G_PER_LSB,
    COMMAND_UUID,
    DATA_UUID,
    FORCE_LIMIT_RAW,
    FORCE_N_PER_LSB,
    GYRO_DPS_PER_LSB,
    PROTOCOL_VERSION,
    RATE_RANGE_HZ,
    SEQ_MODULO,
    SERVICE_UUID,
    Command,
    DeviceInfo,
    Opcode,
    Reply,
    Sample,
    Status,
    samples_to_block,
)
from bandlog.emulate.faults import cut_last_byte
from bandlog.emulate.twins.base import NOTIFY, WRITE, CharSpec, Outgoing, PeripheralTwin, ServiceSpec


def _round(values: np.ndarray, lsb: float) -> list[int]:
    return [int(v) for v in np.rint(np.asarray(values) / lsb)]


def _clip_int16(values: np.ndarray, lsb: float) -> tuple[int, int, int]:
    """An (x, y, z) reading in counts of lsb, clipped to int16."""
    x, y, z = (int(v) for v in np.clip(np.rint(np.asarray(values) / lsb), -32768, 32767))
    return x, y, z


class BandlogOpenTwin(PeripheralTwin):
    profile_key = "bandlog-open"
    default_name = "bandlog-1A2B"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        rate_hz: int = 80,
        boot_offset_s: float = 12.5,
        cell_range_n: float = 500.0,
        battery_mv: int = 3950,
        battery_percent: int = 80,
        firmware: str = "1.0.0-twin",
    ) -> None:
        super().__init__(motion, name=name)
        self.rate_hz = rate_hz
        self.boot_offset_s = boot_offset_s
        self.cell_range_n = cell_range_n
        self.battery_mv = battery_mv
        self.battery_percent = battery_percent
        self.firmware = firmware
        self.gain = 1.0
        self.tare_offset_n = 0.0
        self.streaming = False
        self._start_s = 0.0
        self._start_us = 0
        self._next_offset_us = 0
        self._seq = 0

    @property
    def period_us(self) -> int:
        return round(1e6 / self.rate_hz)

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (
            ServiceSpec(
                SERVICE_UUID,
                (CharSpec(DATA_UUID, frozenset({NOTIFY})), CharSpec(COMMAND_UUID, frozenset({WRITE}))),
            ),
        )

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return (SERVICE_UUID,)

    def _reading_n(self, truth: SampleBlock) -> np.ndarray:
        """What the load cell reports for the true band tension: gain and tare applied."""
        force_n = truth.force_n if truth.force_n is not None else np.zeros(len(truth))
        return force_n * self.gain - self.tare_offset_n

    def _reading_now_n(self, now_s: float) -> float:
        return float(self._reading_n(self.motion.sample(np.array([self._now_stream_s(now_s)])))[0])

    def _now_stream_s(self, now_s: float) -> float:
        return now_s - self._start_s if self.streaming else 0.0

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid != COMMAND_UUID:
            return []
        try:
            command = Command.from_bytes(data)
        except DecodeError:
            known = bool(data) and data[0] in {int(o) for o in Opcode}
            status = Status.BAD_ARGUMENT if known else Status.UNKNOWN_COMMAND
            return [self._reply(data[0] if data else 0, status)]
        opcode = Opcode(command.opcode)
        payload = b""
        status = Status.OK
        if opcode is Opcode.START:
            self.streaming = True
            self._start_s = now_s
            self._start_us = math.floor((self.boot_offset_s + now_s) * 1e6)
            self._next_offset_us = 0
            self._seq = 0
        elif opcode is Opcode.STOP:
            self.streaming = False
        elif opcode is Opcode.TARE:
            self.tare_offset_n += self._reading_now_n(now_s)
        elif opcode is Opcode.SET_RATE:
            (rate_hz,) = struct.unpack("<H", command.argument)
            if RATE_RANGE_HZ[0] <= rate_hz <= RATE_RANGE_HZ[1]:
                self.rate_hz = rate_hz
                payload = struct.pack("<H", rate_hz)
            else:
                status = Status.BAD_ARGUMENT
        elif opcode is Opcode.BATTERY:
            payload = struct.pack("<HB", self.battery_mv, self.battery_percent)
        elif opcode is Opcode.INFO:
            payload = DeviceInfo(PROTOCOL_VERSION, self.rate_hz, self.firmware).to_payload()
        elif opcode is Opcode.CALIBRATE:
            status = self._calibrate(struct.unpack("<i", command.argument)[0] * FORCE_N_PER_LSB, now_s)
        return [self._reply(opcode, status, payload)]

    def _calibrate(self, known_n: float, now_s: float) -> Status:
        """Scale so the present (tared) reading equals known_n, as the firmware's CALIBRATE does."""
        reading_n = self._reading_now_n(now_s)
        if known_n <= 0 or reading_n < 1.0:
            return Status.BAD_ARGUMENT
        self.gain *= known_n / reading_n
        self.tare_offset_n *= known_n / reading_n
        return Status.OK

    def _reply(self, opcode: int, status: Status, payload: bytes = b"") -> Outgoing:
        return Outgoing(DATA_UUID, bytes(Reply(int(opcode), int(status), payload)))

    def low_battery_warning(self) -> list[Outgoing]:
        self.battery_percent = min(self.battery_percent, 9)
        self.battery_mv = min(self.battery_mv, 3450)
        return [self._reply(Opcode.BATTERY, Status.OK, struct.pack("<HB", self.battery_mv, self.battery_percent))]

    def damage(self, payload: bytes) -> bytes:
        """Fixed 20-byte samples whose byte 1 is the timestamp's low byte (damaging it moved a sample
        by 1 us unseen): the damage a decoder can catch is a wrong size."""
        return cut_last_byte(payload)

    def on_disconnect(self, now_s: float) -> None:
        self.streaming = False

    def poll(self, now_s: float) -> list[Outgoing]:
        if not self.streaming:
            return []
        due_offset_us = math.floor((now_s - self._start_s) * 1e6 + 1e-3)
        if due_offset_us < self._next_offset_us:
            return []
        count = (due_offset_us - self._next_offset_us) // self.period_us + 1
        offsets = self._next_offset_us + self.period_us * np.arange(count, dtype=np.int64)
        self._next_offset_us = int(offsets[-1]) + self.period_us
        stream_t_s = offsets / 1e6
        truth = self.motion.sample(stream_t_s)
        force_n = self._reading_n(truth)
        acc = truth.acc_ms2 if truth.acc_ms2 is not None else np.zeros((count, 3))
        gyro = truth.gyro_dps if truth.gyro_dps is not None else np.zeros((count, 3))
        cell_limit = min(round(self.cell_range_n / FORCE_N_PER_LSB), FORCE_LIMIT_RAW)
        forces = [f if abs(f) < cell_limit else int(np.sign(f)) * FORCE_LIMIT_RAW for f in _round(force_n, FORCE_N_PER_LSB)]
        samples: list[Sample] = []
        for i, offset in enumerate(offsets.tolist()):
            samples.append(
                Sample(
                    seq=self._seq,
                    t_us=(self._start_us + offset) % 2**32,
                    force_raw=forces[i],
                    acc_raw=_clip_int16(acc[i] / STANDARD_GRAVITY_MS2, ACC_G_PER_LSB),
                    gyro_raw=_clip_int16(gyro[i], GYRO_DPS_PER_LSB),
                )
            )
            self._seq = (self._seq + 1) % SEQ_MODULO
        self.sent_samples.append(samples_to_block(samples, stream_t_s))
        return [Outgoing(DATA_UUID, bytes(sample)) for sample in samples]


TWIN = BandlogOpenTwin
