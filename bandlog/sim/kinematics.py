"""Knee-angle trajectory of a whole session on a uniform internal grid (science.md 6.3).

Each rep: minimum-jerk passive flexion, a hold with slight drift, the eccentric, a bottom rest. The
eccentric is a minimum-jerk velocity profile times (1 + A sin(2 pi f t + phi)) wobble, with stalls
(velocity pulled to ~0), an optional drop (a burst 4-5x the median velocity) and 4-8 Hz action tremor
whose amplitude is capped by the local velocity so the angle stays monotonic outside stalls. The
movement time is stretched until the 1-degree-to-1-degree (labelled) duration equals the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bandlog.sim.plan import RepPlan
from bandlog.sim.spec import SessionSpec
from bandlog.sim.truth import eccentric_labels

GRID_HZ = 1000.0
TAPER_S = 0.15
STILL_TREMOR_FRAC = 0.2
"""Postural tremor at the bottom rest, as a share of the action tremor."""


@dataclass(frozen=True)
class RepTimes:
    plan: RepPlan
    start_s: float
    top_s: float
    ecc_start_s: float
    ecc_end_s: float
    end_s: float
    flexion_s: tuple[float, float] | None = None
    """(start, end) of the rep's loading flexion when it is not (start_s, top_s): the flexion back
    to the bent rest of an eccentric-first exercise (bandlog.sim.standing)."""


@dataclass(frozen=True)
class Trajectory:
    """Noise-free knee flexion on the grid t = i / GRID_HZ, i = 0..n-1."""

    theta_deg: np.ndarray
    theta_base_deg: np.ndarray
    """Without tremor: its direction of motion drives the band's hysteresis state."""
    thigh_deg: np.ndarray
    """Thigh rotation about the knee axis from the push-in wobble (shank absolute angle adds it)."""
    reps: tuple[RepTimes, ...]
    set_bounds: tuple[tuple[float, float], ...]
    duration_s: float

    @property
    def t_s(self) -> np.ndarray:
        return np.arange(self.theta_deg.size) / GRID_HZ


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """Normalised minimum-jerk position 0 -> 1 for tau in [0, 1]."""
    x = np.clip(tau, 0.0, 1.0)
    return x**3 * (10.0 - 15.0 * x + 6.0 * x * x)


def _pulse(t: np.ndarray, centre: float, width: float, edge: float) -> np.ndarray:
    """Flat-topped pulse 0 -> 1 -> 0 of total width `width` with raised-cosine edges of `edge`."""
    a, b = centre - width / 2, centre + width / 2
    rise = np.clip((t - a) / edge, 0.0, 1.0)
    fall = np.clip((b - t) / edge, 0.0, 1.0)
    return 0.5 * (1 - np.cos(np.pi * np.minimum(rise, fall)))


def eccentric_displacement(
    move_s: float, rom_deg: float, plan: RepPlan, spec: SessionSpec, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(t local, displacement 0 -> rom_deg) of one eccentric movement lasting move_s."""
    n = max(3, int(round(move_s / dt_s)) + 1)
    t = np.linspace(0.0, move_s, n)
    tau = t / move_s
    v_base = rom_deg / move_s * 30.0 * tau**2 * (1 - tau) ** 2
    v = v_base * (1.0 + spec.wobble_amp * np.sin(2 * np.pi * spec.wobble_hz * t + plan.wobble_phase))
    stall_window = np.zeros_like(t)
    for stall in plan.stalls:
        stall_window = np.maximum(stall_window, _pulse(t, stall.centre_frac * move_s, stall.duration_s + 0.2, 0.1))
    v = v * (1.0 - stall_window)
    tremor = np.sin(2 * np.pi * spec.tremor_hz * t + 1.7 * plan.wobble_phase)
    envelope = np.clip(0.9 * v / max(plan.tremor_dps, 1e-9), 0.0, 1.0)
    v = v + plan.tremor_dps * tremor * (envelope + 0.3 * stall_window)
    if plan.drop is not None:
        centre = plan.drop.centre_frac * move_s
        i = min(n - 1, int(round(centre / dt_s)))
        central = (tau > 0.1) & (tau < 0.9)
        height = max(0.0, plan.drop.ratio * float(np.median(v[central])) - v[i])
        v = v + height * _pulse(t, centre, plan.drop.duration_s / 0.7, plan.drop.duration_s * 0.25)
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))))
    return t, rom_deg * cum / cum[-1]


def fit_eccentric(
    plan: RepPlan, start_deg: float, top_deg: float, spec: SessionSpec, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Eccentric (t local, angle) whose labelled duration matches plan.ecc_s."""
    rom = start_deg - plan.bottom_deg
    move_s = plan.ecc_s / 0.8
    for _ in range(4):
        t, disp = eccentric_displacement(move_s, rom, plan, spec, dt_s)
        theta = start_deg - disp
        onset, offset = eccentric_labels(t, theta, top_deg, plan.bottom_deg)
        labelled = offset - onset
        if abs(labelled - plan.ecc_s) < 0.2 * dt_s:
            break
        move_s *= plan.ecc_s / labelled
    return t, theta


@dataclass(frozen=True)
class _Flex:
    """Passive flexion from from_deg to to_deg, with the thigh pushed in by wobble_deg."""

    a_s: float
    b_s: float
    from_deg: float
    to_deg: float
    wobble_deg: float


@dataclass(frozen=True)
class _Hold:
    a_s: float
    b_s: float
    top_deg: float
    drift_deg: float
    tremor_dps: float


@dataclass(frozen=True)
class _Ecc:
    """The fitted eccentric, local time t_s from a_s."""

    a_s: float
    b_s: float
    t_s: np.ndarray
    theta_deg: np.ndarray


def _fill(t_grid: np.ndarray, a_s: float, b_s: float) -> slice:
    i0 = int(math.ceil(a_s * GRID_HZ - 1e-9))
    i1 = int(math.ceil(b_s * GRID_HZ - 1e-9))
    return slice(max(i0, 0), min(i1, t_grid.size))


def build_trajectory(spec: SessionSpec, plans: list[list[RepPlan]]) -> Trajectory:
    """Lay out every rep in time and synthesise the angle on the grid."""
    dt = 1.0 / GRID_HZ
    pieces: list[_Flex | _Hold | _Ecc] = []
    reps: list[RepTimes] = []
    set_bounds: list[tuple[float, float]] = []
    t_now = spec.lead_in_s
    bottom = spec.ext_deg
    for set_index, set_plans in enumerate(plans):
        set_start = t_now
        for plan in set_plans:
            top_s = t_now + plan.flex_s
            ecc_start = top_s + plan.hold_s
            start_deg = plan.top_deg + plan.hold_drift_deg
            top_label = max(plan.top_deg, start_deg)
            t_ecc, theta_ecc = fit_eccentric(plan, start_deg, top_label, spec, dt)
            ecc_end = ecc_start + float(t_ecc[-1])
            end = ecc_end + plan.rest_s
            pieces.append(_Flex(t_now, top_s, bottom, plan.top_deg, plan.thigh_wobble_deg))
            pieces.append(_Hold(top_s, ecc_start, plan.top_deg, plan.hold_drift_deg, plan.tremor_dps))
            pieces.append(_Ecc(ecc_start, ecc_end, t_ecc, theta_ecc))
            reps.append(RepTimes(plan, t_now, top_s, ecc_start, ecc_end, end))
            bottom = plan.bottom_deg
            t_now = end
        set_bounds.append((set_start, t_now))
        if set_index < len(plans) - 1:
            t_now += spec.rest_between_sets_s
    return synthesise(spec, pieces, reps, set_bounds, t_now + spec.tail_s, spec.ext_deg)


Piece = _Flex | _Hold | _Ecc


def synthesise(
    spec: SessionSpec, pieces: list[Piece], reps: list[RepTimes], set_bounds: list[tuple[float, float]],
    duration: float, start_deg: float,
) -> Trajectory:
    """The angle on the grid from pieces laid out in time: between pieces the knee holds where the
    last one left it (start_deg before the first), with postural tremor while still."""
    n = int(math.ceil(duration * GRID_HZ)) + 1
    t = np.arange(n) * (1.0 / GRID_HZ)
    theta_base = np.full(n, start_deg)
    thigh = np.zeros(n)
    hold_tremor_dps = np.zeros(n)
    moving = np.zeros(n, dtype=bool)
    for piece in pieces:
        a, b = piece.a_s, piece.b_s
        sl = _fill(t, a, b)
        tt = t[sl]
        if isinstance(piece, _Flex):
            tau = (tt - a) / (b - a)
            theta_base[sl] = piece.from_deg + (piece.to_deg - piece.from_deg) * min_jerk(tau)
            thigh[sl] = piece.wobble_deg * np.sin(np.pi * tau) ** 2
            moving[sl] = True
            theta_base[sl.stop :] = piece.to_deg  # held until the next piece overwrites it
        elif isinstance(piece, _Hold):
            tau = (tt - a) / (b - a) if b > a else np.zeros_like(tt)
            theta_base[sl] = piece.top_deg + piece.drift_deg * min_jerk(tau)
            hold_tremor_dps[sl] = piece.tremor_dps
        else:
            theta_base[sl] = np.interp(tt - a, piece.t_s, piece.theta_deg)
            moving[sl] = True
            # the rest after this eccentric holds the bottom until the next piece overwrites it
            theta_base[sl.stop :] = float(piece.theta_deg[-1])
    still_tremor = np.where(hold_tremor_dps > 0, hold_tremor_dps, STILL_TREMOR_FRAC * spec.tremor_dps)
    envelope = _still_envelope(moving, int(TAPER_S * GRID_HZ))
    amplitude_deg = still_tremor / (2 * np.pi * spec.tremor_hz) * envelope
    theta = theta_base + amplitude_deg * np.sin(2 * np.pi * spec.tremor_hz * t)
    return Trajectory(theta, theta_base, thigh, tuple(reps), tuple(set_bounds), duration)


def _still_envelope(moving: np.ndarray, taper: int) -> np.ndarray:
    """1 in still stretches, 0 while moving, with raised-cosine tapers inside each still stretch so
    the tremor starts and stops smoothly (the angle and its rate stay continuous at the joins)."""
    still = (~moving).astype(np.float64)
    if taper < 1:
        return still
    # distance (samples) to the nearest moving sample, capped at taper
    idx = np.arange(moving.size)
    moving_idx = np.flatnonzero(moving)
    if moving_idx.size == 0:
        return still
    pos = np.searchsorted(moving_idx, idx)
    left = np.where(pos > 0, idx - moving_idx[np.clip(pos - 1, 0, None)], taper)
    right = np.where(pos < moving_idx.size, moving_idx[np.clip(pos, None, moving_idx.size - 1)] - idx, taper)
    dist = np.minimum(np.minimum(left, right), taper) / taper
    return still * 0.5 * (1 - np.cos(np.pi * dist))
