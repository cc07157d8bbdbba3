"""The fine step of clock sync: at which lag does the band force follow the knee? Pure numpy.

Used by ClockAligner (clock_sync.py) on windows of a force signal and a knee angular velocity that
are already resampled onto one grid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

GRID_HZ = 100.0
"""Rate of the common grid both signals are resampled onto."""
STIFFNESS_KNOTS = 6
"""Hat functions over the force range for the band's stiffness (dF/dθ as a function of F)."""
DAHL_SWITCH_DEG = (3.0, 10.0)
"""Knee travel over which the band's hysteresis loop switches (science.md 6.2: 3-8 % elongation)."""
RELAX_TAU_S = (1.0, 3.0)
"""Time constants of the band's viscous relaxation (science.md 6.2: 1-5 s)."""
MOVING_DPS = 5.0
"""Knee rate above which a grid point counts as movement for the fit."""
MOVING_MARGIN_S = 0.5
"""Grid points this close to movement count too (the ends of each movement, where the band's
hysteresis switches)."""
RIDGE = 1e-6
"""Relative ridge on the normal equations: keeps a hat with no samples under it from being singular."""


def lag_fit(knee_dps: np.ndarray, force_n: np.ndarray, lag_n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(lags in s, share of dF/dt explained) for each lag of the force against the knee rate.

    knee_dps holds n grid points; force_n covers them with lag_n more on either side, force_n[offset]
    being the force at knee_dps[0] at zero lag. A positive best lag means the force is late.

    The band's force changes at dF/dt = dF/dθ · ω_knee, and its stiffness dF/dθ is a function of the
    force itself (a power law and slack: large in mid-range, nothing when slack), so at each lag
    dF/dt is fitted by ω_knee times a piecewise-linear function of F (hat basis over its range), plus
    the band's hysteresis switching (F times the rate of change of Dahl states of the knee path) and
    its viscous relaxation (F high-passed at the relaxation time constants). Plain correlation of
    dF/dt with ω would weigh the stiff part of each movement most and move the peak by 40-60 ms;
    this fit is within ~10 ms on most simulated bands (bench/clock_sync.py). Only the stretches
    around knee movement count: long rests hold nothing but load-cell noise, and a band re-anchored
    by hand while the leg rests (force with no knee motion) would otherwise pull the lag towards
    some movement it happens to line up with. The knee axis sign is free: flipping ω flips every
    knee regressor, so the fit is the same.
    """
    d_force = np.gradient(force_n, 1.0 / GRID_HZ)
    lo, hi = np.percentile(force_n, [1.0, 99.0])
    level = np.clip((force_n - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    switching = [np.gradient(dahl_state(knee_dps, angle), 1.0 / GRID_HZ) for angle in DAHL_SWITCH_DEG]
    relaxing = [level - _lowpass(level, tau) for tau in RELAX_TAU_S]
    reach = int(MOVING_MARGIN_S * GRID_HZ)
    moving = np.convolve((np.abs(knee_dps) > MOVING_DPS).astype(float), np.ones(2 * reach + 1), "same") > 0
    rows = np.flatnonzero(moving)
    knee, switching = knee_dps[rows], [s[rows] for s in switching]
    knots = np.linspace(0.0, 1.0, STIFFNESS_KNOTS)
    lags = np.arange(-lag_n, lag_n + 1)
    fit = np.empty(len(lags))
    for i, lag in enumerate(lags):
        at = rows + offset + lag
        y, f = d_force[at], level[at]
        hats = np.clip(1.0 - np.abs(f[:, None] - knots[None, :]) * (STIFFNESS_KNOTS - 1), 0.0, None)
        x = np.concatenate([knee[:, None] * hats, np.stack([f * s for s in switching] + [r[at] for r in relaxing], axis=1)], axis=1)
        gram, moment = x.T @ x, x.T @ y
        beta = np.linalg.solve(gram + RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram)), moment)
        fit[i] = float(beta @ moment) / (float(y @ y) + 1e-12)
    return lags / GRID_HZ, fit


def _lowpass(x: np.ndarray, tau_s: float) -> np.ndarray:
    a = math.exp(-1.0 / (tau_s * GRID_HZ))
    return lfilter([1.0 - a], [1.0, -a], x, zi=[x[0] * a])[0]


def dahl_state(rate_dps: np.ndarray, switch_deg: float) -> np.ndarray:
    """Dahl hysteresis state (-1..1) along a knee path: relaxes towards the direction of travel
    exponentially in degrees travelled (closed form per run of one direction)."""
    step = rate_dps / GRID_HZ
    direction = np.sign(step)
    z = np.empty_like(step)
    z_now = 0.0
    starts = np.flatnonzero(np.concatenate(([True], direction[1:] != direction[:-1])))
    for start, stop in zip(starts, [*starts[1:], len(step)]):
        s = direction[start]
        travelled = np.cumsum(np.abs(step[start:stop]))
        z[start:stop] = s + (z_now - s) * np.exp(-travelled / switch_deg)
        z_now = float(z[stop - 1])
    return z
