"""Emulated WitMotion WT901BLE-class IMU: streams 0x55 0x61 frames at its configured output rate.

It behaves as the vendor documents: streaming starts when notifications are enabled (no start
command), a rate write only counts within 10 s of an unlock, `FF AA 27 <reg>` answers with a 0x55
0x71 register block, and readings saturate at the int16 range (+-16 g, +-2000 deg/s) like the chip.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from bandlog.core.errors import DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.witmotion import (
    ACC_G_PER_LSB,
    ANGLE_DEG_PER_LSB,
    DEFAULT_RATE_CODE,
    GYRO_DPS_PER_LSB,
    NOTIFY_UUID,
    RATE_CODES_HZ,
    REG_RATE,
    REG_READ,
    REG_SAVE,
    REG_UNLOCK,
    SERVICE_UUID,
    UNLOCK_VALID_S,
    UNLOCK_VALUE,
    WRITE_UUID,
    Command,
    ImuFrame,
    RegisterReply,
)
from bandlog.emulate.faults import cut_last_byte
from bandlog.emulate.twins._rate_schedule import RateSchedule
from bandlog.emulate.twins.base import (
    NOTIFY,
    WRITE,
    WRITE_WITHOUT_RESPONSE,
    CharSpec,
    Outgoing,
    PeripheralTwin,
    ServiceSpec,
)

log = logging.getLogger(__name__)


def _to_int16(values: np.ndarray, lsb: float) -> np.ndarray:
    return np.clip(np.rint(values / lsb), -32768, 32767).astype(np.int64)


class WitMotionTwin(PeripheralTwin):
    profile_key = "witmotion"
    default_name = "WT901BLE68"

    def __init__(self, motion: MotionSource | None = None, *, name: str | None = None, rate_code: int = DEFAULT_RATE_CODE) -> None:
        super().__init__(motion, name=name)
        self.rate_code = rate_code
        self.saved_rate_code = rate_code
        self._unlocked_until_s = -math.inf
        self._schedule = RateSchedule(RATE_CODES_HZ[rate_code])

    @property
    def rate_hz(self) -> float:
        return RATE_CODES_HZ[self.rate_code]

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        return (
            ServiceSpec(
                SERVICE_UUID,
                (
                    CharSpec(NOTIFY_UUID, frozenset({NOTIFY})),
                    CharSpec(WRITE_UUID, frozenset({WRITE, WRITE_WITHOUT_RESPONSE})),
                ),
            ),
        )

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid != WRITE_UUID:
            return []
        try:
            command = Command.from_bytes(data)
        except DecodeError:
            log.warning("WitMotion twin ignores %s", data.hex(" "))
            return []
        if command.register == REG_UNLOCK and command.value == UNLOCK_VALUE:
            self._unlocked_until_s = now_s + UNLOCK_VALID_S
        elif command.register == REG_RATE:
            if now_s > self._unlocked_until_s:
                log.warning("WitMotion twin ignores a rate write without unlock")
            elif command.value not in RATE_CODES_HZ:
                log.warning("WitMotion twin ignores unconfirmed rate code 0x%02x", command.value)
            else:
                self.rate_code = command.value
                self._schedule.set_rate(self.rate_hz)
        elif command.register == REG_SAVE and command.value == 0:
            self.saved_rate_code = self.rate_code
        elif command.register == REG_READ:
            return [Outgoing(NOTIFY_UUID, bytes(self._register_block(command.value)))] if self._schedule.running else []
        return []

    def _register_block(self, start: int) -> RegisterReply:
        values = [self.rate_code if start + i == REG_RATE else 0 for i in range(8)]
        return RegisterReply(start_register=start, values=tuple(values))

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if char_uuid == NOTIFY_UUID:
            self._schedule.follow_subscription(enabled, now_s)
        return []

    def damage(self, payload: bytes) -> bytes:
        """Fixed-size notifications: the damage a decoder can catch is a wrong size."""
        return cut_last_byte(payload)

    def on_disconnect(self, now_s: float) -> None:
        self._schedule.stop()
        self._unlocked_until_s = -math.inf

    def power_cycle(self) -> None:
        """Switch off and on: only the saved configuration survives."""
        self.on_disconnect(0.0)
        self.rate_code = self.saved_rate_code
        self._schedule.set_rate(self.rate_hz)

    def poll(self, now_s: float) -> list[Outgoing]:
        _, t_s = self._schedule.take_due(now_s)
        count = len(t_s)
        if count == 0:
            return []
        acc_ms2, gyro_dps = self.sample_imu(t_s)
        acc_raw = _to_int16(acc_ms2 / STANDARD_GRAVITY_MS2, ACC_G_PER_LSB)
        gyro_raw = _to_int16(gyro_dps, GYRO_DPS_PER_LSB)
        angle_raw = _to_int16(_tilt_angles_deg(acc_ms2), ANGLE_DEG_PER_LSB)
        frames = [
            ImuFrame(tuple(acc_raw[i].tolist()), tuple(gyro_raw[i].tolist()), tuple(angle_raw[i].tolist()))
            for i in range(count)
        ]
        self.sent_samples.append(
            SampleBlock(
                t_s=t_s,
                acc_ms2=np.stack([f.acc_ms2 for f in frames]),
                gyro_dps=np.stack([f.gyro_dps for f in frames]),
            )
        )
        return [Outgoing(NOTIFY_UUID, bytes(f)) for f in frames]


def _tilt_angles_deg(acc_ms2: np.ndarray) -> np.ndarray:
    """Roll and pitch from gravity, yaw held at 0: what the on-chip filter reports when still."""
    roll = np.degrees(np.arctan2(acc_ms2[:, 1], acc_ms2[:, 2]))
    pitch = np.degrees(np.arctan2(-acc_ms2[:, 0], np.hypot(acc_ms2[:, 1], acc_ms2[:, 2])))
    return np.stack([roll, pitch, np.zeros_like(roll)], axis=1)


TWIN = WitMotionTwin
