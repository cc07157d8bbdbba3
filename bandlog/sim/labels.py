"""Derive TruthRep / TruthSet labels from the finished noise-free grid signals.

Labels are read off the same grid arrays that sample() interpolates, so a test can check them
against knee_angle_deg() / true_force_n() directly.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.results import tempo_class, tension_threshold_n
from bandlog.sim.kinematics import GRID_HZ, Trajectory
from bandlog.sim.spec import SessionSpec
from bandlog.sim.truth import TruthRep, TruthSet, eccentric_labels


def _span(a_s: float, b_s: float, n: int) -> slice:
    """Grid indices covering [a_s, b_s] including the samples just outside."""
    return slice(max(0, int(np.floor(a_s * GRID_HZ))), min(n, int(np.ceil(b_s * GRID_HZ)) + 1))


def rep_truths(
    spec: SessionSpec, trajectory: Trajectory, theta_rate_dps: np.ndarray, force_n: np.ndarray
) -> tuple[TruthRep, ...]:
    theta = trajectory.theta_deg
    n = theta.size
    t = trajectory.t_s
    out = []
    for times in trajectory.reps:
        plan = times.plan
        top_deg = float(theta[_span(times.start_s, times.ecc_start_s, n)].max())
        ecc = _span(times.ecc_start_s, times.ecc_end_s, n)
        bottom_deg = float(theta[ecc].min())
        onset, offset = eccentric_labels(t[ecc], theta[ecc], top_deg, bottom_deg)
        duration = offset - onset
        phase = _span(onset, offset, n)
        out.append(
            TruthRep(
                rep=plan.rep,
                set_index=plan.set_index,
                start_s=times.start_s,
                top_s=times.top_s,
                onset_s=onset,
                offset_s=offset,
                ecc_duration_s=duration,
                rom_deg=top_deg - bottom_deg,
                mean_ecc_velocity_dps=(top_deg - bottom_deg - 2.0) / duration,
                peak_ecc_velocity_dps=float(-theta_rate_dps[phase].min()),
                tempo=tempo_class(duration, spec.target_ecc_s),
                stalls=len(plan.stalls),
                drop=plan.drop is not None,
                kind=plan.kind,
                top_deg=top_deg,
                bottom_deg=bottom_deg,
                ecc_move_start_s=times.ecc_start_s,
                ecc_move_end_s=times.ecc_end_s,
                end_s=times.end_s,
                peak_force_n=float(force_n[_span(times.start_s, times.end_s, n)].max()),
                flexion_s=times.flexion_s,
            )
        )
    return tuple(out)


def set_truths(
    trajectory: Trajectory, reps: tuple[TruthRep, ...], force_n: np.ndarray, window_s: tuple[float, float] | None = None
) -> tuple[TruthSet, ...]:
    """Per-set TUTs over what the recording holds (window_s): TUT_ecc = sum of the eccentric
    durations of the reps it holds whole; TUT_tension = time the noise-free force exceeds
    bandlog.core.results.tension_threshold_n(median bottom-rest force, median rep peak)."""
    n = force_n.size
    out = []
    first_s, last_s = window_s if window_s is not None else (0.0, trajectory.duration_s)
    for set_index, (start, end) in enumerate(trajectory.set_bounds):
        members = [r for r in reps if r.set_index == set_index]
        start, end = max(start, first_s), min(end, last_s)
        rest = np.concatenate([force_n[_span(r.ecc_move_end_s, r.end_s, n)] for r in members])
        rest_force = float(np.median(rest))
        peak_force = float(np.median([r.peak_force_n for r in members]))
        threshold = tension_threshold_n(rest_force, peak_force)
        window = slice(int(np.ceil(start * GRID_HZ)), min(n, int(np.ceil(end * GRID_HZ))))
        out.append(
            TruthSet(
                set_index=set_index,
                start_s=start,
                end_s=end,
                reps=len(members),
                tut_ecc_s=float(sum(r.ecc_duration_s for r in members if not r.truncated)),
                tut_tension_s=float(np.count_nonzero(force_n[window] > threshold)) / GRID_HZ,
                rest_force_n=rest_force,
                peak_force_n=peak_force,
                tension_threshold_n=threshold,
            )
        )
    return tuple(out)
