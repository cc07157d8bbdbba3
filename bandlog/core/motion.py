"""What drives an emulated sensor: a source of measured values at any device time.

The labelled reverse-curl model (bandlog.sim) implements MotionSource; PeriodicMotion is a plain
stand-in for quick tests that don't care about the movement.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from bandlog.core.samples import SampleBlock

STANDARD_GRAVITY_MS2 = 9.80665


class MotionSource(Protocol):
    """Sensor readings (force, accel, gyro) as a device would measure them at the given times."""

    @property
    def duration_s(self) -> float: ...

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        """Readings at device times t_s (seconds since stream start), deterministic for given t_s."""


class PeriodicMotion:
    """A smooth periodic pull with a matching knee rotation; no labels, no noise."""

    def __init__(self, period_s: float = 6.0, peak_force_n: float = 40.0, duration_s: float = 3600.0) -> None:
        self.period_s = period_s
        self.peak_force_n = peak_force_n
        self._duration_s = duration_s

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        t = np.asarray(t_s, dtype=np.float64)
        phase = 2 * np.pi * t / self.period_s
        force = 0.5 * self.peak_force_n * (1 - np.cos(phase))
        angle_rad = np.deg2rad(50.0 * (1 - np.cos(phase)))
        rate_dps = 50.0 * np.sin(phase) * 2 * np.pi / self.period_s  # d/dt of the 50(1 - cos) deg angle
        acc = np.stack(
            [STANDARD_GRAVITY_MS2 * np.sin(angle_rad), np.zeros_like(t), STANDARD_GRAVITY_MS2 * np.cos(angle_rad)],
            axis=1,
        )
        gyro = np.stack([np.zeros_like(t), rate_dps, np.zeros_like(t)], axis=1)
        return SampleBlock(t_s=t, force_n=force, acc_ms2=acc, gyro_dps=gyro)
