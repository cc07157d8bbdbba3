"""A sensor on the bench for `bandlog check --emulate`: still and unloaded, then a known mass hung.

The emulated user hangs the load when the check asks (`hang()`): from shortly after the latest
time sampled, the force steps up to m*g and rings down like a bag bouncing on a strap, then sits
still with the load cell's noise. Acceleration reads gravity and the gyro its bias, both with
noise, so every figure the check computes has a known answer (tests compare against it).
"""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import SampleBlock

HANG_DELAY_S = 0.3
"""From the user's 'it hangs' to the load on the hook (the emulated hand lets go)."""
BOUNCE_HZ = 3.0
BOUNCE_DECAY_S = 0.25
FORCE_NOISE_N = 0.05
ACC_NOISE_MS2 = 0.02
GYRO_NOISE_DPS = 0.1
GYRO_BIAS_DPS = (0.6, -0.4, 0.25)


def _uniform(ticks: np.ndarray, stream: int) -> np.ndarray:
    """splitmix64 of (tick, stream): uniform in (0, 1), a fixed function of its inputs."""
    z = ticks.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64((stream * 0x632BE59BD9B4E019 + 1) % (1 << 64))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def _noise(t_s: np.ndarray, channel: int) -> np.ndarray:
    """Standard normal noise that is a fixed function of time (the same t gives the same value), so
    a twin sampling any time twice sees one sensor, as MotionSource promises (Box-Muller)."""
    ticks = np.round(np.asarray(t_s) * 1e6).astype(np.int64)
    radius = np.sqrt(-2.0 * np.log(_uniform(ticks, 2 * channel)))
    return radius * np.cos(2 * np.pi * _uniform(ticks, 2 * channel + 1))


class KnownLoadBench:
    """A MotionSource: the sensor hanging still, until `hang()` adds `load_kg`."""

    def __init__(self, load_kg: float = 2.0, duration_s: float = 3600.0) -> None:
        self.load_n = load_kg * STANDARD_GRAVITY_MS2
        self._duration_s = duration_s
        self.hung_at_s: float | None = None
        self._latest_t_s = 0.0

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def hang(self) -> None:
        """The user hangs the load now (just after the latest time any sensor sampled)."""
        if self.hung_at_s is None:
            self.hung_at_s = self._latest_t_s + HANG_DELAY_S

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        t = np.asarray(t_s, dtype=np.float64)
        if len(t):
            self._latest_t_s = max(self._latest_t_s, float(np.max(t)))
        force = FORCE_NOISE_N * _noise(t, 0)
        if self.hung_at_s is not None:
            after = np.clip(t - self.hung_at_s, 0.0, None)
            ringing = np.exp(-after / BOUNCE_DECAY_S) * np.cos(2 * np.pi * BOUNCE_HZ * after)
            force = force + np.where(t >= self.hung_at_s, self.load_n * (1.0 - ringing), 0.0)
        acc = np.stack([ACC_NOISE_MS2 * _noise(t, 1), ACC_NOISE_MS2 * _noise(t, 2),
                        STANDARD_GRAVITY_MS2 + ACC_NOISE_MS2 * _noise(t, 3)], axis=1)
        gyro = np.stack([bias + GYRO_NOISE_DPS * _noise(t, 4 + axis) for axis, bias in enumerate(GYRO_BIAS_DPS)], axis=1)
        return SampleBlock(t_s=t, force_n=force, acc_ms2=acc, gyro_dps=gyro)
