"""One movement seen by several emulated sensors at the same instants.

A twin samples its MotionSource at its own stream time (zero when that device started streaming),
which is right for one sensor. Two sensors on one leg - a force sensor on the band and an IMU on the
shank - connected one after the other would then each replay the movement from its start, seconds
apart. SharedClockMotion gives each twin a view that anchors its stream time to one shared clock
the moment its stream (re)starts, so every sensor observes the movement at the same world time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bandlog.core.motion import MotionSource
from bandlog.core.samples import SampleBlock

RESTART_STEP_S = 0.5
"""Stream time going back by more than this is a new stream (the twin restarted after a reconnect)."""


class SharedClockMotion:
    """Hands out per-sensor views of `motion` on the clock `now_s()` (device seconds, any zero)."""

    def __init__(self, motion: MotionSource, now_s: Callable[[], float]) -> None:
        self.motion = motion
        self._now_s = now_s
        self._zero_s: float | None = None

    def world_s(self) -> float:
        """Seconds since the first view started streaming."""
        now = self._now_s()
        if self._zero_s is None:
            self._zero_s = now
        return now - self._zero_s

    def view(self, motion: MotionSource | None = None) -> SensorView:
        """A view for one sensor; `motion` lets it see its own version of the movement on the same
        clock (e.g. a sensor whose readings lag behind the others)."""
        return SensorView(self, motion or self.motion)


class SensorView:
    """A MotionSource for one twin: its stream time plus the anchor taken when its stream began."""

    def __init__(self, shared: SharedClockMotion, motion: MotionSource) -> None:
        self.shared = shared
        self.motion = motion
        self.anchors_s: list[float] = []
        """World time of stream time zero, one per stream (reconnects start new ones); for tests."""
        self._last_t_s: float | None = None

    @property
    def duration_s(self) -> float:
        return self.motion.duration_s

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        t = np.asarray(t_s, dtype=np.float64)
        if len(t) and (self._last_t_s is None or t[0] < self._last_t_s - RESTART_STEP_S):
            self.anchors_s.append(self.shared.world_s() - float(t[-1]))
        if len(t):
            self._last_t_s = float(t[-1])
        anchor = self.anchors_s[-1] if self.anchors_s else 0.0
        block = self.motion.sample(t + anchor)
        return SampleBlock(t_s=t, force_n=block.force_n, acc_ms2=block.acc_ms2, gyro_dps=block.gyro_dps)
