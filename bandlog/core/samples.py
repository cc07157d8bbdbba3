"""Decoded samples: the one shape data takes between the device decoders and everything downstream.

A SampleBlock holds n consecutive samples from one device stream. Times are in seconds: `t_s` on the
device's clock since the stream started (reconstructed from the device counter or sample index where
the device has no clock), `t_host_s` the host arrival time on the session's monotonic clock. Channels
a device does not measure are None, never zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

FORCE_CHANNEL = "force_n"
ACC_CHANNELS = ("acc_x_ms2", "acc_y_ms2", "acc_z_ms2")
GYRO_CHANNELS = ("gyro_x_dps", "gyro_y_dps", "gyro_z_dps")
THIGH_ACC_CHANNELS = ("thigh_acc_x_ms2", "thigh_acc_y_ms2", "thigh_acc_z_ms2")
THIGH_GYRO_CHANNELS = ("thigh_gyro_x_dps", "thigh_gyro_y_dps", "thigh_gyro_z_dps")
THIGH_CHANNELS = (*THIGH_ACC_CHANNELS, *THIGH_GYRO_CHANNELS)
"""A second IMU on the thigh (optional): with the foot planted, the knee angle is the shank's turn
less the thigh's, and the body's sway, which turns both, cancels (bandlog.detect.thigh)."""
SAMPLE_CHANNELS = (FORCE_CHANNEL, *ACC_CHANNELS, *GYRO_CHANNELS)
"""Every channel one sensor measures, named with its unit, in log column order (a thigh IMU's
THIGH_CHANNELS follow them in a log that has one)."""


def _as_1d(values: np.ndarray | Sequence[float], n: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {array.shape}")
    return array


def _as_xyz(values: np.ndarray | Sequence[Sequence[float]], n: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n, 3):
        raise ValueError(f"{name} must have shape ({n}, 3), got {array.shape}")
    return array


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """n samples of one stream; arrays are float64 and must not be mutated after construction."""

    t_s: np.ndarray
    force_n: np.ndarray | None = None
    acc_ms2: np.ndarray | None = None
    gyro_dps: np.ndarray | None = None
    t_host_s: np.ndarray | None = None
    thigh_acc_ms2: np.ndarray | None = None
    thigh_gyro_dps: np.ndarray | None = None
    """The thigh IMU's readings on the same sample times (its own sensor frame), when there is one."""

    def __post_init__(self) -> None:
        t_s = np.asarray(self.t_s, dtype=np.float64).reshape(-1)
        n = t_s.shape[0]
        object.__setattr__(self, "t_s", t_s)
        if self.force_n is not None:
            object.__setattr__(self, "force_n", _as_1d(self.force_n, n, "force_n"))
        if self.acc_ms2 is not None:
            object.__setattr__(self, "acc_ms2", _as_xyz(self.acc_ms2, n, "acc_ms2"))
        if self.gyro_dps is not None:
            object.__setattr__(self, "gyro_dps", _as_xyz(self.gyro_dps, n, "gyro_dps"))
        if self.t_host_s is not None:
            object.__setattr__(self, "t_host_s", _as_1d(self.t_host_s, n, "t_host_s"))
        if self.thigh_acc_ms2 is not None:
            object.__setattr__(self, "thigh_acc_ms2", _as_xyz(self.thigh_acc_ms2, n, "thigh_acc_ms2"))
        if self.thigh_gyro_dps is not None:
            object.__setattr__(self, "thigh_gyro_dps", _as_xyz(self.thigh_gyro_dps, n, "thigh_gyro_dps"))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def has_force(self) -> bool:
        return self.force_n is not None

    @property
    def has_imu(self) -> bool:
        return self.gyro_dps is not None

    @property
    def has_thigh(self) -> bool:
        return self.thigh_gyro_dps is not None

    def thigh_block(self) -> SampleBlock:
        """The thigh IMU's samples as a block of their own (acc and gyro in its frame), for the
        front end that filters them like the shank's."""
        return SampleBlock(t_s=self.t_s, acc_ms2=self.thigh_acc_ms2, gyro_dps=self.thigh_gyro_dps, t_host_s=self.t_host_s)

    def channel_names(self) -> tuple[str, ...]:
        """The SAMPLE_CHANNELS and THIGH_CHANNELS this block carries, in log column order."""
        names: list[str] = []
        if self.force_n is not None:
            names.append(FORCE_CHANNEL)
        if self.acc_ms2 is not None:
            names.extend(ACC_CHANNELS)
        if self.gyro_dps is not None:
            names.extend(GYRO_CHANNELS)
        if self.thigh_acc_ms2 is not None:
            names.extend(THIGH_ACC_CHANNELS)
        if self.thigh_gyro_dps is not None:
            names.extend(THIGH_GYRO_CHANNELS)
        return tuple(names)

    def slice(self, start: int, stop: int) -> SampleBlock:
        """Samples start..stop-1 as a new block (views, not copies)."""

        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[start:stop]

        return SampleBlock(
            t_s=self.t_s[start:stop],
            force_n=cut(self.force_n),
            acc_ms2=cut(self.acc_ms2),
            gyro_dps=cut(self.gyro_dps),
            t_host_s=cut(self.t_host_s),
            thigh_acc_ms2=cut(self.thigh_acc_ms2),
            thigh_gyro_dps=cut(self.thigh_gyro_dps),
        )

    def take(self, index: np.ndarray) -> SampleBlock:
        """The samples a boolean mask or an index array selects, in one vectorised copy."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return SampleBlock(
            t_s=self.t_s[index],
            force_n=pick(self.force_n),
            acc_ms2=pick(self.acc_ms2),
            gyro_dps=pick(self.gyro_dps),
            t_host_s=pick(self.t_host_s),
            thigh_acc_ms2=pick(self.thigh_acc_ms2),
            thigh_gyro_dps=pick(self.thigh_gyro_dps),
        )

    @staticmethod
    def concat(blocks: Sequence[SampleBlock]) -> SampleBlock:
        """Join blocks that carry the same channels, in order."""
        if not blocks:
            return SampleBlock(t_s=np.empty(0))

        def join(get: str) -> np.ndarray | None:
            parts = [getattr(b, get) for b in blocks]
            if all(p is None for p in parts):
                return None
            if any(p is None for p in parts):
                raise ValueError(f"cannot concatenate blocks with and without {get}")
            return np.concatenate(parts)

        return SampleBlock(
            t_s=np.concatenate([b.t_s for b in blocks]),
            force_n=join("force_n"),
            acc_ms2=join("acc_ms2"),
            gyro_dps=join("gyro_dps"),
            t_host_s=join("t_host_s"),
            thigh_acc_ms2=join("thigh_acc_ms2"),
            thigh_gyro_dps=join("thigh_gyro_dps"),
        )


@dataclass(frozen=True)
class StreamInfo:
    """What a device told us about itself when its stream started; it goes into the log header."""

    profile: str
    model: str
    name: str = ""
    address: str = ""
    firmware: str = ""
    sample_rate_hz: float | None = None
    channels: tuple[str, ...] = ()
    battery_percent: float | None = None
    battery_mv: float | None = None
    hardware_tare: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def force_range_n(self) -> tuple[float, float] | None:
        """(lowest, highest) force the sensor can read, in N, from extra[FORCE_RANGE_KEY]; None when
        the device did not say (or the entry is not two ordered numbers)."""
        parts = self.extra.get(FORCE_RANGE_KEY, "").split()
        try:
            low_n, high_n = (float(p) for p in parts)
        except ValueError:
            return None
        return (low_n, high_n) if low_n < high_n else None


FORCE_RANGE_KEY = "force_range_n"
"""StreamInfo.extra key for the force sensor's range, 'low high' in N (the header line
`# stream.force_range_n: -50 50`): a replay knows where readings clip, as the live analysis did."""


def force_range_extra(low_n: float, high_n: float) -> dict[str, str]:
    """The StreamInfo.extra entry that records a force range (read back by StreamInfo.force_range_n)."""
    return {FORCE_RANGE_KEY: f"{low_n:.17g} {high_n:.17g}"}
