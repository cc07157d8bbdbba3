"""Ground-truth labels of a simulated session: reps, sets and distractor intervals.

Eccentric onset/offset follow science.md 5.9: 1 degree of knee displacement from the top / from the
bottom of that rep's movement, because minimum-jerk starts are asymptotic and a velocity-zero time
is not observable. Velocities are magnitudes (deg/s, positive) of knee extension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DISPLACEMENT_DEG = 1.0
REP_KINDS = ("compliant", "fast", "very_slow", "isometric")
"""'isometric': a square pull with the knee still; it has no eccentric (onset_s = offset_s = the
release, ecc_duration_s = 0) and counts only for TUT_tension."""
DISTRACTOR_KINDS = ("fidget", "reanchor", "slack")


@dataclass(frozen=True)
class TruthRep:
    rep: int
    """1-based within its set."""
    set_index: int
    """0-based."""
    start_s: float
    """Passive flexion onset (start of the minimum-jerk push-in)."""
    top_s: float
    """End of the passive flexion (the hold at the top starts)."""
    onset_s: float
    offset_s: float
    ecc_duration_s: float
    rom_deg: float
    mean_ecc_velocity_dps: float
    peak_ecc_velocity_dps: float
    tempo: str
    stalls: int
    drop: bool
    kind: str
    top_deg: float
    bottom_deg: float
    ecc_move_start_s: float
    """Velocity-zero start of the eccentric movement (before onset_s)."""
    ecc_move_end_s: float
    end_s: float
    """End of the bottom rest that follows (the next rep's start_s, or the set's end)."""
    peak_force_n: float
    """Largest noise-free band force during the rep."""
    truncated: bool = False
    """The recording began or ended inside this rep (SimulatedSession.record_window_s)."""
    flexion_s: tuple[float, float] | None = None
    """(start, end) of the loading flexion when it is not (start_s, top_s): an eccentric-first
    exercise's flexion back to its bent rest (bandlog.sim.standing)."""

    @property
    def flexion_span_s(self) -> tuple[float, float]:
        """Where the knee flexes in this rep (an inverted detector times that as an eccentric)."""
        return self.flexion_s if self.flexion_s is not None else (self.start_s, self.top_s)


@dataclass(frozen=True)
class TruthSet:
    set_index: int
    start_s: float
    end_s: float
    reps: int
    tut_ecc_s: float
    tut_tension_s: float
    rest_force_n: float
    peak_force_n: float
    tension_threshold_n: float


@dataclass(frozen=True)
class Distractor:
    """Non-exercise activity that must never be counted as a rep."""

    kind: str
    start_s: float
    end_s: float
    magnitude: float
    """fidget: peak rate (deg/s); reanchor: peak added force (N); slack: fraction of force lost (1 = fully slack)."""
    shape: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """fidget: rotation axis (sensor frame); reanchor/slack: (rise, hold, fall) seconds."""


def crossing_time(t_s: np.ndarray, y: np.ndarray, level: float, first: bool) -> float:
    """Time where y crosses `level`, linearly interpolated: the first sample with y <= level (first=True,
    y falling from above) or the last sample with y >= level (first=False)."""
    if first:
        idx = np.flatnonzero(y <= level)
        if idx.size == 0:
            raise ValueError("level never reached")
        i = int(idx[0])
        if i == 0:
            return float(t_s[0])
    else:
        idx = np.flatnonzero(y >= level)
        if idx.size == 0:
            raise ValueError("level never reached")
        i = int(idx[-1]) + 1
        if i >= y.size:
            return float(t_s[-1])
    y0, y1 = y[i - 1], y[i]
    frac = 0.0 if y1 == y0 else (level - y0) / (y1 - y0)
    return float(t_s[i - 1] + frac * (t_s[i] - t_s[i - 1]))


def eccentric_labels(t_s: np.ndarray, theta_deg: np.ndarray, top_deg: float, bottom_deg: float) -> tuple[float, float]:
    """(onset_s, offset_s) of one eccentric given the angle over its movement window."""
    onset = crossing_time(t_s, theta_deg, top_deg - DISPLACEMENT_DEG, first=True)
    offset = crossing_time(t_s, theta_deg, bottom_deg + DISPLACEMENT_DEG, first=False)
    return onset, offset
