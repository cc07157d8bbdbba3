"""What the machine remembers about one rep while it unfolds, and what it hands on when it ends.

The trace holds the regular-grid samples from the rep's start until the machine decides the rep is
over; back-dating (1-degree refinement) and the metrics read it. A finished rep leaves the detector
as a RepCandidate: times, the trace as arrays, and what the machine observed (stalls, flags).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class RepTrace:
    """Per-sample lists (fast to append one sample at a time)."""

    def __init__(self) -> None:
        self.t: list[float] = []
        self.angle: list[float] = []
        self.rate: list[float] = []
        self.force: list[float] = []

    def append(self, t: float, angle: float, rate: float, force: float) -> None:
        self.t.append(t)
        self.angle.append(angle)
        self.rate.append(rate)
        self.force.append(force)

    def __len__(self) -> int:
        return len(self.t)


def falling_crossing(t: list[float], y: list[float], level: float, start: int, stop: int) -> float | None:
    """First time in [start, stop) where y drops to `level` or below, linearly interpolated."""
    for i in range(max(start, 1), stop):
        if y[i] <= level:
            y0, y1 = y[i - 1], y[i]
            if y0 <= level or y0 == y1:
                return t[i]
            return t[i - 1] + (y0 - level) / (y0 - y1) * (t[i] - t[i - 1])
    return None


def last_above(t: list[float], y: list[float], level: float, start: int, stop: int) -> float | None:
    """Time just after the last sample in [start, stop) with y >= level (interpolated), i.e. the
    moment y finally settles below `level`."""
    for i in range(stop - 1, start - 1, -1):
        if y[i] >= level:
            if i + 1 >= stop:
                return t[i]
            y0, y1 = y[i], y[i + 1]
            if y0 == y1:
                return t[i]
            return t[i] + (y0 - level) / (y0 - y1) * (t[i + 1] - t[i])
    return None


def count_stalls(
    t: np.ndarray,
    angle_deg: np.ndarray,
    rate_dps: np.ndarray,
    onset_s: float,
    end_s: float,
    rate_delay_s: float,
    *,
    min_s: float,
    rate_fraction: float,
    floor_dps: float,
    edge_fraction: float,
) -> int:
    """Pauses inside an eccentric: runs of at least min_s where the knee all but stops.

    Judged over the finished rep, so it needs no live state: "stopped" means slower than
    max(floor_dps, rate_fraction x the rep's mean eccentric rate). The first and last edge_fraction
    of the range are left out, because a smooth eccentric starts and ends slowly by nature.
    """
    rate_t = t - rate_delay_s
    inside = (t >= onset_s) & (t <= end_s)
    if end_s <= onset_s or np.count_nonzero(inside) < 3:
        return 0
    top_deg = float(np.max(angle_deg[inside]))
    bottom_deg = float(np.min(angle_deg[inside]))
    rom_deg = top_deg - bottom_deg
    mean_rate_dps = rom_deg / (end_s - onset_s)
    threshold_dps = max(floor_dps, rate_fraction * mean_rate_dps)
    angle_at_rate_t = np.interp(rate_t, t, angle_deg)
    middle = (
        (rate_t >= onset_s)
        & (rate_t <= end_s)
        & (angle_at_rate_t < top_deg - edge_fraction * rom_deg)
        & (angle_at_rate_t > bottom_deg + edge_fraction * rom_deg)
    )
    stopped = middle & (-rate_dps < threshold_dps)
    stalls = 0
    run_start: float | None = None
    for time_s, is_stopped in zip(rate_t, stopped):
        if is_stopped and run_start is None:
            run_start = time_s
        elif not is_stopped and run_start is not None:
            stalls += int(time_s - run_start >= min_s)
            run_start = None
    if run_start is not None:
        stalls += int(rate_t[-1] - run_start >= min_s)
    return stalls


@dataclass(frozen=True)
class RepCandidate:
    """A loading cycle that passed the detector's validity gates; the metrics module turns it into a row."""

    start_s: float
    end_s: float
    """Where the cycle ended: the eccentric's end, or the load back at rest."""
    ecc_start_s: float | None
    ecc_end_s: float | None
    """None when the cycle had no eccentric to time (flags say why)."""
    detected_at_s: float
    t_s: np.ndarray
    angle_deg: np.ndarray | None
    rate_dps: np.ndarray | None
    force_n: np.ndarray | None
    rom_deg: float | None
    rest_force_n: float | None
    """Band force at the bottom rest before this rep (the zero of its TUT_tension threshold)."""
    tension_threshold_n: float | None
    """The TUT_tension threshold as learned when the rep ended (None before force levels exist)."""
    stalls: int
    flags: tuple[str, ...]
    estimated: bool
    rate_delay_s: float
    """How late rate_dps runs behind the true knee rate (causal filter)."""
    force_delay_s: float
