"""When a free-running emulated sensor takes its samples: index / rate since the stream started.

Devices without timestamps (WitMotion, Thingy:52, a SIG Force gauge) are decoded as index / rate, so
the twin must sample at exactly those times for `sent_samples` to equal what a decoder yields. A
rate change mid-stream starts a new segment at the next sample, as the real devices do.
"""

from __future__ import annotations

import math

import numpy as np


class RateSchedule:
    """Sample k of a segment (t0, k0) is due at stream time t0 + (k - k0) / rate_hz."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.running = False
        self._start_s = 0.0
        self._next_index = 0
        self._segment = (0.0, 0)

    def start(self, now_s: float) -> None:
        """Begin a stream at device time now_s; its first sample is due at once (stream time 0)."""
        self.running = True
        self._start_s = now_s
        self._next_index = 0
        self._segment = (0.0, 0)

    def stop(self) -> None:
        self.running = False

    def follow_subscription(self, enabled: bool, now_s: float) -> None:
        """Free-running sensors stream exactly while the central is subscribed."""
        if enabled:
            self.start(now_s)
        else:
            self.stop()

    def set_rate(self, rate_hz: float) -> None:
        """Change rate from the next sample on."""
        if self.running:
            self._segment = (float(self._times(np.array([self._next_index]))[0]), self._next_index)
        self.rate_hz = rate_hz

    def _times(self, index: np.ndarray) -> np.ndarray:
        t0_s, k0 = self._segment
        return t0_s + (index - k0) / self.rate_hz

    def take_due(self, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices, stream times in s) of the samples due by device time now_s, each returned once."""
        if not self.running:
            return np.empty(0, dtype=np.int64), np.empty(0)
        t0_s, k0 = self._segment
        last = k0 + math.floor((now_s - self._start_s - t0_s) * self.rate_hz + 1e-9)
        if last < self._next_index:
            return np.empty(0, dtype=np.int64), np.empty(0)
        index = np.arange(self._next_index, last + 1)
        self._next_index = last + 1
        return index, self._times(index)
