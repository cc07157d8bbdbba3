"""One continuous session time line across reconnects.

A device's clock (or sample counter) restarts at zero on every new connection. The session keeps
t_s increasing by shifting each connection's samples: the first new sample lands after the last
old one by the host-measured gap, converted to device seconds with the measured device/host clock
ratio (1 for real sensors; the speed-up when an emulated sensor runs faster than real time).
Pure computation; the session feeds it sample times and host arrival times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_RATIO_SPAN_S = 1.0
"""Device seconds of one connection's stream needed before trusting the measured clock ratio."""


@dataclass(frozen=True)
class Placed:
    """Samples moved onto the session time line; gap is (start_s, end_s) after a reconnect."""

    t_s: np.ndarray
    gap: tuple[float, float] | None
    jumps: int
    """Steps longer than 1.5 sample periods: each is at least one lost notification."""


class Timeline:
    def __init__(self) -> None:
        self.offset_s = 0.0
        self.ratio = 1.0
        self.last_t_s: float | None = None
        self._last_host_s: float | None = None
        self._period_s: float | None = None
        self._gap_pending = False
        self._anchor: tuple[float, float] | None = None

    def new_connection(self, sample_rate_hz: float | None) -> None:
        """A (re)connected stream starts; its device clock restarts."""
        self._period_s = 1.0 / sample_rate_hz if sample_rate_hz else None
        self._gap_pending = self.last_t_s is not None
        self._anchor = None

    def place(self, t_device_s: np.ndarray, first_host_s: float, last_host_s: float) -> Placed:
        """Session times for samples that arrived between first_host_s and last_host_s."""
        gap = None
        if self._gap_pending and self.last_t_s is not None and self._last_host_s is not None:
            gap_host_s = max(first_host_s - self._last_host_s, 0.0)
            self.offset_s = self.last_t_s + max(gap_host_s * self.ratio, self._period_s or 0.0) - float(t_device_s[0])
            gap = (self.last_t_s, float(t_device_s[0]) + self.offset_s)
        t_s = t_device_s + self.offset_s
        jumps = 0
        if self._period_s is not None:
            previous = [] if self.last_t_s is None or self._gap_pending else [self.last_t_s]
            jumps = int(np.count_nonzero(np.diff(np.concatenate([previous, t_s])) > 1.5 * self._period_s))
        self._gap_pending = False
        if self._anchor is None:
            self._anchor = (float(t_device_s[0]), first_host_s)
        self._update_ratio(float(t_device_s[-1]), last_host_s)
        self.last_t_s, self._last_host_s = float(t_s[-1]), last_host_s
        return Placed(t_s, gap, jumps)

    def _update_ratio(self, t_device_s: float, t_host_s: float) -> None:
        assert self._anchor is not None
        span_device_s = t_device_s - self._anchor[0]
        span_host_s = t_host_s - self._anchor[1]
        if span_device_s >= MIN_RATIO_SPAN_S and span_host_s > 0:
            self.ratio = span_device_s / span_host_s
