"""Emulated Nordic Thingy:52: motion service raw data at the configured motion frequency.

Packing copies the firmware (m_motion.c): the driver's Q16.16 value has its integer part clamped to
the Q-format range (accel -32..31 g, gyro -1024..1023 deg/s, compass -2048..2047 uT), then is
shifted right, i.e. truncated, not rounded. Configuration writes outside firmware v2's limits
(compass interval 100-1000 ms, motion frequency 5-200 Hz: MotionConfig checks them) are refused and
leave the configuration as it was, as ble_tms.c's write authorisation does.
"""

from __future__ import annotations

import logging

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.core.samples import SampleBlock
from bandlog.devices.thingy52 import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    CONFIG_UUID,
    MOTION_FREQ_HZ,
    MOTION_SERVICE_UUID,
    RAW_UUID,
    MotionConfig,
    RawMotion,
    thingy_uuid,
)
from bandlog.emulate.faults import cut_last_byte
from bandlog.emulate.twins._rate_schedule import RateSchedule
from bandlog.emulate.twins.base import NOTIFY, READ, WRITE, CharSpec, Outgoing, PeripheralTwin, ServiceSpec

log = logging.getLogger(__name__)

ACC_INTEGER_BITS = 6
GYRO_INTEGER_BITS = 11
COMPASS_INTEGER_BITS = 12
EARTH_FIELD_UT = np.array([22.0, 0.0, -42.0])
"""A fixed magnetic field for the compass channel, which bandlog does not use."""


def firmware_pack(values: np.ndarray, integer_bits: int) -> np.ndarray:
    """int16 values exactly as m_motion.c packs a Q16.16 reading into Q(integer_bits).(16-integer_bits)."""
    upper = (1 << (integer_bits - 1)) - 1
    lower = -(1 << (integer_bits - 1))
    q16 = np.floor(np.asarray(values, dtype=np.float64) * 65536.0)
    whole = np.floor(q16 / 65536.0)
    q16 = np.where(whole >= upper, upper * 65536.0, np.where(whole < lower, lower * 65536.0, q16))
    return (q16 // (1 << integer_bits)).astype(np.int64)


class Thingy52Twin(PeripheralTwin):
    profile_key = "thingy52"
    default_name = "Thingy"

    def __init__(
        self,
        motion: MotionSource | None = None,
        *,
        name: str | None = None,
        config: MotionConfig | None = None,
        battery_percent: int = 87,
        motion_freq_hz: tuple[int, int] = MOTION_FREQ_HZ,
    ) -> None:
        """`motion_freq_hz`: the motion frequencies this unit's firmware accepts (firmware v2's by
        default; narrower stands for a unit that refuses what bandlog believes it accepts)."""
        super().__init__(motion, name=name)
        self.config = config or MotionConfig()
        self.motion_freq_hz = motion_freq_hz
        if not motion_freq_hz[0] <= self.config.motion_freq_hz <= motion_freq_hz[1]:
            raise ConfigError(f"this Thingy twin's firmware accepts {motion_freq_hz[0]}-{motion_freq_hz[1]} Hz, "
                              f"so it cannot hold a {self.config.motion_freq_hz} Hz configuration")
        self.battery_percent = battery_percent
        self._schedule = RateSchedule(self.config.motion_freq_hz)

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        motion_chars = [CharSpec(CONFIG_UUID, frozenset({READ, WRITE}), bytes(self.config))]
        motion_chars += [CharSpec(thingy_uuid(short), frozenset({NOTIFY})) for short in range(0x0402, 0x040B)]
        return (
            ServiceSpec(MOTION_SERVICE_UUID, tuple(motion_chars)),
            ServiceSpec(BATTERY_SERVICE_UUID, (CharSpec(BATTERY_LEVEL_UUID, frozenset({READ, NOTIFY})),)),
        )

    def read(self, char_uuid: str) -> bytes:
        if char_uuid == CONFIG_UUID:
            return bytes(self.config)
        if char_uuid == BATTERY_LEVEL_UUID:
            return bytes([self.battery_percent])
        return super().read(char_uuid)

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if char_uuid != CONFIG_UUID:
            return []
        try:
            config = MotionConfig.from_bytes(data)
        except DecodeError as error:
            log.warning("Thingy twin refuses configuration write: %s", error)
            return []
        low, high = self.motion_freq_hz
        if not low <= config.motion_freq_hz <= high:
            log.warning("Thingy twin refuses configuration write: motion %d Hz is outside its firmware's %d-%d Hz",
                        config.motion_freq_hz, low, high)
            return []
        self.config = config
        self._schedule.set_rate(self.config.motion_freq_hz)
        return []

    def on_subscribe(self, char_uuid: str, enabled: bool, now_s: float) -> list[Outgoing]:
        if char_uuid == RAW_UUID:
            self._schedule.follow_subscription(enabled, now_s)
        return []

    def damage(self, payload: bytes) -> bytes:
        """Fixed-size notifications: the damage a decoder can catch is a wrong size."""
        return cut_last_byte(payload)

    def on_disconnect(self, now_s: float) -> None:
        self._schedule.stop()

    def poll(self, now_s: float) -> list[Outgoing]:
        _, t_s = self._schedule.take_due(now_s)
        if len(t_s) == 0:
            return []
        acc_ms2, gyro_dps = self.sample_imu(t_s)
        acc = firmware_pack(acc_ms2 / STANDARD_GRAVITY_MS2, ACC_INTEGER_BITS)
        gyro = firmware_pack(gyro_dps, GYRO_INTEGER_BITS)
        compass = firmware_pack(np.broadcast_to(EARTH_FIELD_UT, (len(t_s), 3)), COMPASS_INTEGER_BITS)
        packets = [
            RawMotion(tuple(acc[i].tolist()), tuple(gyro[i].tolist()), tuple(compass[i].tolist())) for i in range(len(t_s))
        ]
        self.sent_samples.append(
            SampleBlock(
                t_s=t_s,
                acc_ms2=np.stack([p.acc_ms2 for p in packets]),
                gyro_dps=np.stack([p.gyro_dps for p in packets]),
            )
        )
        return [Outgoing(RAW_UUID, bytes(p)) for p in packets]


TWIN = Thingy52Twin
