"""Force-only eccentric onset and offset from a finished rep: hinge fits (science.md 5.5).

Why a fit: a slow eccentric leaves the top with a force slope no steeper than the band relaxing
during the hold, so no rate threshold can date its start. What does separate them is shape: the
hold relaxes exponentially, while the knee leaves the top smoothly (displacement ~ (t - t0)^p,
p ~ 3 for a minimum-jerk start) and the band force follows the knee, since F(theta) is monotone
(the angle proxy of science.md 1.4). So the force from the peak until it has fallen a fixed share
of the working range R is fitted, by least squares, with

    onset side:   F(t) = a + b exp(-(t - t_peak) / tau) - c max(0, t - t0)^p
    offset side:  F(t) = a + c max(0, t1 - t)^p + b (1 - exp(-max(0, t - t1) / tau))

(relaxation before the hinge / viscous recovery after it), over a grid of hinge times, tau and p,
a, b and c solved linearly. The onset is where the fitted departure reaches the force of about one
degree of knee motion (ONSET_LEVEL x R), the offset where the approach to the bottom is that close.
Both are read off the smooth fitted curve, so load-cell noise enters only through the fit.

Near extension the band need not follow the knee linearly: anchored low, it is shortest close to
the straight knee, so the force flattens out (F ~ d^m, m up to 2, for the d degrees still to go) and
the last degrees barely show. The offset fit therefore also tries the powers of a flat approach
(p = 3m for a minimum-jerk arrival, FLAT_POWERS); when one of those fits best, the one-degree level
is scaled to the flatter law, keeping the assumption the linear level already makes: the fit window
(force_fit_window x R above the bottom) spans about END_SPAN_DEG of knee. The eccentric's end is
then extrapolated from the shape of the approach, and the caller says so (EndFit.flat).
Everything here is pure: arrays in, times out; the machine calls it once a rep is over, with only
samples it has already been fed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RELAX_TAUS_S = (0.6, 1.5, 3.5, 8.0)
"""Band relaxation time constants tried (science.md 1.3: 1-5 s; short and long ends included)."""
POWERS = (2.0, 3.0)
"""Shapes of the knee leaving / reaching rest: 3 = minimum-jerk, 2 = a quicker start."""
MIN_JERK_POWER = 3.0
FLAT_POWERS = (4.0, 6.0)
"""A minimum-jerk arrival through a force law F ~ d^(4/3) or d^2 (the band near its shortest length
as the knee straightens): tried on the offset side only. Over bench/accuracy.py's 120 sessions they
took force-only TUT_ecc error with an anchor below the knee from 8.2 to 5.5 % (4.6 to 4.1 % overall)."""
END_SPAN_DEG = 20.0
"""Knee degrees the offset fit's window is taken to span: the 0.5 %-of-R offset level is 'about one
degree' for a linear law only if the 10 % window covers ~20 deg. A flatter law F = g d^m through the
same window puts one degree at level x END_SPAN_DEG^(1 - m); a rebound after the force minimum
(quadratic about a minimum ~END_SPAN_DEG before the end, science.md 1.4: shortest at 15-30 deg of
flexion) rises 2 / END_SPAN_DEG of its height in the last degree."""
FIT_STEP_S = 0.02
"""Samples are averaged into bins this long before fitting (speed, and it halves the noise)."""
MIN_BINS = 6
STALL_LEVEL = 0.06
"""A fitted hinge this share of R away from the peak (onset) or the bottom (offset) is a stall on
the way down, not where the knee left the top or reached the bottom; the fit is repeated beside it."""
STALL_FLAT = 0.015
"""A stall's extent: where the force stays within this share of R of the level at the hinge."""
STALL_REFITS = 2
REBOUND_NOISE_SD = 3.0
"""A rebound must also stand this many load-cell noise SDs above the minimum."""
SMOOTH_HZ = 2.0
"""Cut-off of the zero-phase low-pass the caller finds a finished rep's peak, bottom and fit windows
on (force_cycle.py): it leaves about sqrt(2 SMOOTH_HZ dt) of the load cell's sample noise."""
RISE_CUT = 0.05
"""The offset fit stops where the force climbs faster than this share of R per s (the next rep)."""


def _bins(t_s: np.ndarray, force_n: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive samples into ~FIT_STEP_S bins (a regular grid stays regular)."""
    m = max(1, int(round(FIT_STEP_S / dt_s)))
    n = (len(t_s) // m) * m
    if n == 0:
        return t_s[:0], force_n[:0]
    return t_s[:n].reshape(-1, m).mean(axis=1), force_n[:n].reshape(-1, m).mean(axis=1)


def onset_s(t_s: np.ndarray, force_n: np.ndarray, dt_s: float, level_n: float) -> tuple[float, float] | None:
    """(hinge, onset) in a window that starts at the force peak and ends once the force has clearly
    fallen: the onset is where the fitted departure from the relaxing hold reaches level_n."""
    t, f = _bins(t_s, force_n, dt_s)
    if t.size < MIN_BINS:
        return None
    t_peak = float(t[0])
    hinges = t[:-2]
    best: tuple[float, float, float, float] | None = None  # sse, t0, c, p
    for tau in RELAX_TAUS_S:
        base = np.exp(-(t - t_peak) / tau)
        for p in POWERS:
            hinge = np.maximum(0.0, t[None, :] - hinges[:, None]) ** p
            sse, coef = _fit_rows(f, np.broadcast_to(base, hinge.shape), hinge)
            sse = np.where(coef[:, 2] > 0, sse, np.inf)
            k = int(np.argmin(sse))
            if np.isfinite(sse[k]) and (best is None or sse[k] < best[0]):
                best = (float(sse[k]), float(hinges[k]), float(coef[k, 2]), p)
    if best is None:
        return None
    _, t0, c, p = best
    return t0, t0 + (level_n / c) ** (1.0 / p)


@dataclass(frozen=True)
class EndFit:
    """Where a fitted approach to the bottom puts the eccentric's end."""

    hinge_s: float
    """Where the fitted approach meets the bottom (the knee at rest)."""
    end_s: float
    """Where it came within one degree's worth of force of the bottom."""
    flat: bool
    """The force flattened out before the knee stopped (a FLAT_POWERS fit): the end is extrapolated."""


def offset_s(t_s: np.ndarray, force_n: np.ndarray, dt_s: float, level_n: float, flat_ok: bool = True) -> EndFit | None:
    """The end in a window that starts while the force is still clearly falling and ends at the
    bottom rest: where the fitted approach comes within level_n (one degree, linear law) of the bottom.
    `flat_ok`: whether the force may approach its end flattening out (FLAT_POWERS)."""
    t, f = _bins(t_s, force_n, dt_s)
    if t.size < MIN_BINS:
        return None
    hinges = t[2:]
    best: tuple[float, float, float, float] | None = None
    for tau in RELAX_TAUS_S:
        after = np.maximum(0.0, t[None, :] - hinges[:, None])
        recovery = 1.0 - np.exp(-after / tau)
        for p in POWERS + (FLAT_POWERS if flat_ok else ()):
            hinge = np.maximum(0.0, hinges[:, None] - t[None, :]) ** p
            sse, coef = _fit_rows(f, recovery, hinge)
            sse = np.where(coef[:, 2] < 0, sse, np.inf)  # approach from above: +c(t1 - t)^p
            k = int(np.argmin(sse))
            if np.isfinite(sse[k]) and (best is None or sse[k] < best[0]):
                best = (float(sse[k]), float(hinges[k]), float(-coef[k, 2]), p)
    if best is None:
        return None
    _, t1, c, p = best
    flat = p > MIN_JERK_POWER
    if flat:
        level_n *= END_SPAN_DEG ** (1.0 - p / MIN_JERK_POWER)
    return EndFit(t1, t1 - (level_n / c) ** (1.0 / p), flat)


def _fit_rows(f: np.ndarray, base: np.ndarray, hinge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of f ~ a + b base_k - c hinge_k for every row k: (sse (K,), coefficients (K, 3))."""
    n = f.shape[0]
    k = hinge.shape[0]
    sg, sh = base.sum(axis=1), hinge.sum(axis=1)
    sgg = np.einsum("kn,kn->k", base, base)
    shh = np.einsum("kn,kn->k", hinge, hinge)
    sgh = np.einsum("kn,kn->k", base, hinge)
    sf, sgf, shf = f.sum(), base @ f, hinge @ f
    a = np.empty((k, 3, 3))
    a[:, 0, 0], a[:, 0, 1], a[:, 0, 2] = n, sg, -sh
    a[:, 1, 0], a[:, 1, 1], a[:, 1, 2] = sg, sgg, -sgh
    a[:, 2, 0], a[:, 2, 1], a[:, 2, 2] = -sh, -sgh, shh
    a += np.eye(3) * 1e-9 * max(1.0, float(n))
    rhs = np.stack([np.full(k, sf), sgf, -shf], axis=1)
    coef = np.linalg.solve(a, rhs[..., None])[..., 0]
    sse = float(f @ f) - np.einsum("kj,kj->k", coef, rhs)
    return sse, coef


def refine_onset(
    t: np.ndarray, raw: np.ndarray, smooth: np.ndarray, peak: int, bottom: int, dt_s: float,
    working_n: float, window: float, level: float,
) -> float | None:
    """Onset of a finished rep: fit from the peak until the force has fallen `window` x R; a hinge
    found well below the peak ends a stall on the way down, so the fit is repeated up to its start."""
    fallen = np.flatnonzero(smooth[peak:bottom] < smooth[peak] - window * working_n)
    if not fallen.size:
        return None
    stop = peak + int(fallen[0]) + 1
    onset = None
    for _ in range(STALL_REFITS + 1):
        fit = onset_s(t[peak:stop], raw[peak:stop], dt_s, level * working_n)
        if fit is None or not t[peak] <= fit[1] <= t[stop - 1]:
            break
        onset = fit[1]
        hinge_n = float(smooth[peak + int(np.searchsorted(t[peak:stop], fit[0]))])
        if smooth[peak] - hinge_n < STALL_LEVEL * working_n:
            break
        stop = peak + int(np.argmax(smooth[peak:stop] <= hinge_n + STALL_FLAT * working_n)) + 1
    return onset


def refine_offset(
    t: np.ndarray, raw: np.ndarray, smooth: np.ndarray, peak: int, bottom: int, dt_s: float,
    working_n: float, window: float, level: float, flat_ok: bool = True,
) -> EndFit | None:
    """Offset of a finished rep: fit from where the force was last `window` x R above the bottom to
    the bottom rest (cut where the next rep's rise begins); a hinge found well above the bottom starts
    a stall, so the fit is repeated after its end."""
    high = np.flatnonzero(smooth[peak:bottom] > smooth[bottom] + window * working_n)
    if not high.size:
        return None
    start = peak + int(high[-1])
    slope = np.diff(smooth[bottom:], append=smooth[-1]) / dt_s
    climbing = np.flatnonzero(slope > RISE_CUT * working_n)
    stop = bottom + (int(climbing[0]) if climbing.size else slope.size)
    end: EndFit | None = None
    for _ in range(STALL_REFITS + 1):
        fit = offset_s(t[start:stop], raw[start:stop], dt_s, level * working_n, flat_ok)
        if fit is None or not t[start] <= fit.end_s <= t[stop - 1]:
            break
        end = fit
        hinge_n = float(smooth[min(start + int(np.searchsorted(t[start:stop], fit.hinge_s)), stop - 1)])
        if hinge_n - smooth[bottom] < STALL_LEVEL * working_n:
            break
        start = int(np.flatnonzero(smooth[: bottom + 1] >= hinge_n - STALL_FLAT * working_n)[-1])
    return end


def refine_rebound(
    t: np.ndarray, raw: np.ndarray, smooth: np.ndarray, bottom: int, dt_s: float,
    working_n: float, rebound: float, window: float, level: float, ceiling_n: float,
) -> float | None:
    """Offset when the force rises again after its minimum and settles higher (science.md 1.4: an
    anchor below the knee makes the band shortest at 15-30 deg of flexion, so the last part of the
    eccentric stretches it again). The eccentric ends where that rebound settles: refine_offset on
    the mirrored force, so the approach to the rest level from below is fitted like the ordinary
    approach from above. Samples after the force first climbs over `ceiling_n` (the rest level plus
    a margin) belong to the next rep and are left out. None when the force after the minimum stays
    within `rebound` x R of it (no rebound: viscous recovery is smaller) or within the noise."""
    over = np.flatnonzero(smooth[bottom:] > ceiling_n)
    stop = bottom + (int(over[0]) if over.size else smooth.size - bottom)
    if stop - bottom < 2 * MIN_BINS:
        return None
    # the load cell's noise as it is left in the smoothed force the heights are read from
    noise_n = float(np.std(raw[bottom:stop] - smooth[bottom:stop])) * min(1.0, math.sqrt(2.0 * SMOOTH_HZ * dt_s))
    # the next rep's flexion starts with a dip of its own (the band passing its shortest length
    # again): the rebound ends at its top before the force falls back that far
    top_so_far_n = np.maximum.accumulate(smooth[bottom:stop])
    falling = np.flatnonzero(top_so_far_n - smooth[bottom:stop] > max(rebound * working_n, REBOUND_NOISE_SD * noise_n))
    if falling.size:
        stop = bottom + int(np.argmax(smooth[bottom : bottom + int(falling[0])])) + 1
        if stop - bottom < 2 * MIN_BINS:
            return None
    top = bottom + int(np.argmax(smooth[bottom:stop]))
    height_n = float(smooth[top] - smooth[bottom])
    if height_n < max(rebound * working_n, REBOUND_NOISE_SD * noise_n) or top - bottom < 2:
        return None
    # the rebound is steepest at its end: one degree there is ~2 / END_SPAN_DEG of its height
    level = max(level, 2.0 / END_SPAN_DEG * height_n / working_n)
    # past its minimum the band's length grows steadily with the knee's angle, so the rebound meets
    # its end at the knee's own pace: no flattening law (FLAT_POWERS would extrapolate it long)
    fitted = refine_offset(
        t[:stop], -raw[:stop], -smooth[:stop], bottom, top, dt_s, working_n, min(window, 0.5 * height_n / working_n), level,
        flat_ok=False,
    )
    if fitted is not None:
        return fitted.end_s
    # a creep too slow for the hinge model: where the smoothed force first comes that close to its top
    close_n = smooth[top] - max(level * working_n, 2.0 * noise_n)
    return float(t[bottom + int(np.argmax(smooth[bottom : top + 1] >= close_n))])
