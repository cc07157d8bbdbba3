"""Per-rep and per-set numbers from what the detector found (science.md 5.3-5.4).

Everything here reads a RepCandidate's trace; nothing re-detects. A field the available signals
cannot give is None: no IMU -> no ROM or velocities; no force -> no force, impulse or TUT_tension.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bandlog.core.results import RepMetrics, SetSummary, tempo_class, tension_threshold_n
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate

DROP_FACTOR = 3.0
"""A burst of extension faster than 3x the eccentric's typical speed is a drop (loss of control)."""
_STALL = DetectorParams()


def _moving_median_dps(extension_dps: np.ndarray) -> float:
    """The eccentric's typical speed: the median over the samples where the knee moves, so that
    stalls (slower than max(stall_floor_dps, stall_rate_fraction x the mean)) do not pull it down and
    make an ordinary peak look like a drop (13 of 13 false drops on the motion model were reps with
    two stalls: bench/coach_accuracy.py, drop precision 0.893 -> 0.991)."""
    floor_dps = max(_STALL.stall_floor_dps, _STALL.stall_rate_fraction * float(extension_dps.mean()))
    moving = extension_dps[extension_dps > floor_dps]
    return float(np.median(moving if moving.size else extension_dps))

FAST_RELEASE_S = 1.0
"""An eccentric shorter than this is the band let go, not lowered (science.md 0.4: fast is <= 2 s)."""


def _in_ecc(c: RepCandidate, delay_s: float) -> np.ndarray:
    """Mask of trace samples inside the eccentric, shifted by the channel's filter delay (none without one)."""
    if c.ecc_start_s is None or c.ecc_end_s is None:
        return np.zeros(c.t_s.shape, dtype=bool)
    return (c.t_s >= c.ecc_start_s + delay_s) & (c.t_s <= c.ecc_end_s + delay_s)


def tension_time_s(t_s: np.ndarray, force_n: np.ndarray, threshold_n: float) -> float:
    """Time the force spends above threshold, counting each regular-grid sample as one interval."""
    return float(np.count_nonzero(force_n > threshold_n)) * _interval_s(t_s)


def _interval_s(t_s: np.ndarray) -> float:
    """The regular grid's sample interval (0 for fewer than two samples: no time to count)."""
    return float(np.median(np.diff(t_s))) if t_s.size >= 2 else 0.0


@dataclass(frozen=True)
class TensionRecord:
    """What the set's TUT_tension needs of one finished rep, so its trace can be released: the force
    samples sorted (a count above any threshold is a binary search) and the sample interval."""

    rest_force_n: float
    sorted_force_n: np.ndarray
    dt_s: float

    @staticmethod
    def of(candidate: RepCandidate) -> TensionRecord | None:
        """None for a rep without force (or without a rest force to measure from)."""
        c = candidate
        if c.force_n is None or c.rest_force_n is None:
            return None
        return TensionRecord(c.rest_force_n, np.sort(c.force_n), _interval_s(c.t_s))

    def time_above_s(self, threshold_n: float) -> float:
        """tension_time_s of the rep's trace at this threshold."""
        above = self.sorted_force_n.size - int(np.searchsorted(self.sorted_force_n, threshold_n, side="right"))
        return float(above) * self.dt_s


def rep_metrics(
    candidate: RepCandidate, rep: int, target_ecc_s: float, threshold_n: float | None, *, saturated: bool = False
) -> RepMetrics:
    """One row of the analyze table; `threshold_n` is the current TUT_tension threshold, if known.
    A cycle without an eccentric keeps its force and tension fields; its eccentric fields are None.
    `saturated`: a force sample inside the cycle sat at the sensor's range limit (flagged, since its
    forces then read low)."""
    c = candidate
    duration_s = c.ecc_end_s - c.ecc_start_s if c.ecc_start_s is not None and c.ecc_end_s is not None else None
    flags = list(c.flags)
    tut_tension = peak_force = mean_force = impulse = None
    if c.force_n is not None:
        peak_force = float(c.force_n.max())
        if duration_s is not None:
            in_ecc = _in_ecc(c, c.force_delay_s)
            if in_ecc.any():
                mean_force = float(c.force_n[in_ecc].mean())
                impulse = mean_force * duration_s
        if threshold_n is not None:
            tut_tension = tension_time_s(c.t_s, c.force_n, threshold_n)
    if duration_s is not None and duration_s < FAST_RELEASE_S:
        flags.append("fast_release")
    mean_velocity = peak_velocity = None
    if c.rate_dps is not None and c.rom_deg is not None and duration_s is not None:
        mean_velocity = c.rom_deg / duration_s if duration_s > 0 else None
        in_ecc = _in_ecc(c, c.rate_delay_s)
        if in_ecc.any():
            extension = -c.rate_dps[in_ecc]
            peak_velocity = float(extension.max())
            if peak_velocity > DROP_FACTOR * max(_moving_median_dps(extension), 1e-9):
                flags.append("drop")
    if saturated:
        flags.append("saturated")
    return RepMetrics(
        rep=rep,
        start_s=c.start_s,
        end_s=c.end_s,
        ecc_start_s=c.ecc_start_s,
        ecc_end_s=c.ecc_end_s,
        ecc_duration_s=duration_s,
        tut_tension_s=tut_tension,
        peak_force_n=peak_force,
        mean_ecc_force_n=mean_force,
        ecc_impulse_ns=impulse,
        rom_deg=c.rom_deg,
        mean_ecc_velocity_dps=mean_velocity,
        peak_ecc_velocity_dps=peak_velocity,
        tempo=tempo_class(duration_s, target_ecc_s),
        stalls=c.stalls,
        flags=";".join(flags),
        estimated=c.estimated,
    )


def set_summary(
    reps: Sequence[RepMetrics],
    tension: Sequence[TensionRecord],
    mode: str,
    range_n: float | None,
    rejected: int = 0,
    notes: Sequence[str] = (),
) -> SetSummary:
    """Totals over the accepted reps. TUT_tension is recomputed with the final working range R,
    so early reps (counted before R had settled) are treated like late ones; each rep's threshold
    stays relative to its own rest force, which keeps load-cell drift out of it. None without force,
    or when no rep had any (done without a band)."""
    tut_tension = None
    if mode != "imu" and (tension or not reps):  # reps without force (no band on) give no tension time
        tut_tension = 0.0
        if range_n is not None:
            for record in tension:
                threshold = tension_threshold_n(record.rest_force_n, record.rest_force_n + range_n)
                tut_tension += record.time_above_s(threshold)
    peaks = [r.peak_force_n for r in reps if r.peak_force_n is not None]
    durations = [r.ecc_duration_s for r in reps if r.ecc_duration_s is not None]
    return SetSummary(
        reps=len(reps),
        tut_ecc_s=float(sum(durations)),
        tut_tension_s=tut_tension,
        mean_ecc_duration_s=statistics.fmean(durations) if durations else None,
        peak_force_n=max(peaks) if peaks else None,
        mode=mode,
        eccentrics=len(durations),
        rejected=rejected,
        notes="; ".join(dict.fromkeys(notes)),
    )
