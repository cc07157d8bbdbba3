"""Map one device's time line to host time from arrival times alone (the coarse half of clock sync).

A sample reaches the host some time after it was taken: the wait for its notification to fill, for
the next connection event, and the host stack. That latency is never negative and is smallest for
the last sample of a notification that caught a connection event at once, so the *lower envelope*
of (device time, host arrival) points follows the device clock; the average latency does not (it
moves with the batch size and the connection interval). HostClockFit keeps the earliest-arriving
sample of each short bin of device time and fits a line through those, over a sliding window so a
slowly changing rate (a device that counts frames and loses some, an oscillator warming up) is
followed. Pure computation; one instance per stream segment (device times jump across reconnects).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np

BIN_S = 0.5
"""Device seconds per bin: a few notifications, so one of them usually arrived without waiting."""
WINDOW_S = 60.0
"""Device seconds of bins the fit uses: long enough for a precise rate, short enough to follow it."""
MIN_SLOPE_SPAN_S = 2.0
"""Below this much device time the rate comes from the prior (the previous segment) if there is one."""
LATE_BIN_MAD = 3.0
"""Bins arriving later than the fitted line by this many median absolute deviations are left out."""


@dataclass(frozen=True)
class ClockLine:
    """host_s = host0_s + slope * (t_s - t0_s) on one segment of a device's time line."""

    t0_s: float
    host0_s: float
    slope: float
    slope_sd: float = math.inf
    """Standard error of the slope, relative to it: host jitter over a short span makes it large."""

    def host_time(self, t_s: np.ndarray | float) -> np.ndarray:
        return self.host0_s + self.slope * (np.asarray(t_s, dtype=np.float64) - self.t0_s)

    def device_time(self, host_s: np.ndarray | float) -> np.ndarray:
        return self.t0_s + (np.asarray(host_s, dtype=np.float64) - self.host0_s) / self.slope


class HostClockFit:
    """Lower-envelope line of host arrival vs device time for one stream segment (see module doc)."""

    def __init__(self, prior_slope: float | None = None) -> None:
        self.prior_slope = prior_slope
        self._bins: collections.OrderedDict[int, tuple[float, float]] = collections.OrderedDict()
        self._first: tuple[float, float] | None = None
        self._line: ClockLine | None = None
        self._fitted_bins = -1
        self.version = 0
        """Changes whenever line() may give a different answer (for callers that cache on it)."""

    @property
    def ready(self) -> bool:
        return self._first is not None

    @property
    def span_s(self) -> float:
        if not self._bins:
            return 0.0
        return next(reversed(self._bins.values()))[0] - next(iter(self._bins.values()))[0]

    def add(self, t_s: np.ndarray, t_host_s: np.ndarray) -> None:
        """Samples of this segment, in order, with their host arrival times."""
        if len(t_s) == 0:
            return
        if self._first is None:
            self._first = (float(t_s[0]), float(t_host_s[0]))
        slope = self._reference_slope(float(t_s[-1]), float(t_host_s[-1]))
        score = t_host_s - slope * t_s
        bins = np.floor(t_s / BIN_S).astype(np.int64)
        # earliest-arriving sample per bin in this block, then merged with what the bin already holds
        order = np.lexsort((score, bins))
        first_of_bin = np.ones(len(order), dtype=bool)
        first_of_bin[1:] = bins[order][1:] != bins[order][:-1]
        for i in order[first_of_bin]:
            key = int(bins[i])
            held = self._bins.get(key)
            if held is None or score[i] < held[1] - slope * held[0]:
                self._bins[key] = (float(t_s[i]), float(t_host_s[i]))
        newest = next(reversed(self._bins))
        while self._bins and next(iter(self._bins)) < newest - WINDOW_S / BIN_S:
            self._bins.popitem(last=False)
        if newest != self._fitted_bins:
            self.version += 1

    def line(self) -> ClockLine:
        """The current fit (refitted once per new bin, not per block); requires `ready`."""
        newest = next(reversed(self._bins)) if self._bins else -1
        if self._line is None or newest != self._fitted_bins:
            self._line = self._fit()
            self._fitted_bins = newest
        return self._line

    def _reference_slope(self, t_s: float, t_host_s: float) -> float:
        """Host s per device s for picking each bin's earliest sample: the fit, the prior, or the span so far."""
        if self._line is not None:
            return self._line.slope
        if self.prior_slope is not None:
            return self.prior_slope
        assert self._first is not None
        return _slope(np.array([self._first[0], t_s]), np.array([self._first[1], t_host_s]))

    def _fit(self) -> ClockLine:
        if self._first is None:
            raise ValueError("no samples yet")
        points = np.array(list(self._bins.values()))
        x, y = points[:, 0], points[:, 1]
        if len(x) < 3 or x[-1] - x[0] < MIN_SLOPE_SPAN_S:
            slope = self.prior_slope if self.prior_slope is not None else _slope(x, y)
            return ClockLine(float(x[-1]), float(np.min(y - slope * (x - x[-1]))), slope)
        keep = np.ones(len(x), dtype=bool)
        for _ in range(2):
            slope, intercept = np.polyfit(x[keep] - x[-1], y[keep], 1)
            residual = y - (intercept + slope * (x - x[-1]))
            median = float(np.median(residual[keep]))
            mad = float(np.median(np.abs(residual[keep] - median))) + 1e-6
            keep = residual <= median + LATE_BIN_MAD * mad
            if keep.sum() < 3:
                break
        slope, intercept = np.polyfit(x[keep] - x[-1], y[keep], 1)
        residual = y[keep] - (intercept + slope * (x[keep] - x[-1]))
        spread = float(np.sum((x[keep] - x[keep].mean()) ** 2))
        slope_sd = float(np.sqrt(np.sum(residual**2) / max(len(residual) - 2, 1) / spread)) / abs(slope)
        return ClockLine(float(x[-1]), float(intercept), float(slope), slope_sd)


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """Host seconds per device second from the span so far (1 until there is a span)."""
    if len(x) < 2 or x[-1] - x[0] <= 0 or y[-1] <= y[0]:
        return 1.0
    return float((y[-1] - y[0]) / (x[-1] - x[0]))
