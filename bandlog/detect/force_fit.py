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
Everything here is pure: arrays in, times out; the machine calls it once a rep is over, with only
samples it has already been fed.
"""

from __future__ import annotations

import numpy as np

RELAX_TAUS_S = (0.6, 1.5, 3.5, 8.0)
"""Band relaxation time constants tried (science.md 1.3: 1-5 s; short and long ends included)."""
POWERS = (2.0, 3.0)
"""Shapes of the knee leaving / reaching rest: 3 = minimum-jerk, 2 = a quicker start."""
FIT_STEP_S = 0.02
"""Samples are averaged into bins this long before fitting (speed, and it halves the noise)."""
MIN_BINS = 6


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


def offset_s(t_s: np.ndarray, force_n: np.ndarray, dt_s: float, level_n: float) -> tuple[float, float] | None:
    """(hinge, offset) in a window that starts while the force is still clearly falling and ends at
    the bottom rest: the offset is where the fitted approach comes within level_n of the bottom."""
    t, f = _bins(t_s, force_n, dt_s)
    if t.size < MIN_BINS:
        return None
    hinges = t[2:]
    best: tuple[float, float, float, float] | None = None
    for tau in RELAX_TAUS_S:
        after = np.maximum(0.0, t[None, :] - hinges[:, None])
        recovery = 1.0 - np.exp(-after / tau)
        for p in POWERS:
            hinge = np.maximum(0.0, hinges[:, None] - t[None, :]) ** p
            sse, coef = _fit_rows(f, recovery, hinge)
            sse = np.where(coef[:, 2] < 0, sse, np.inf)  # approach from above: +c(t1 - t)^p
            k = int(np.argmin(sse))
            if np.isfinite(sse[k]) and (best is None or sse[k] < best[0]):
                best = (float(sse[k]), float(hinges[k]), float(-coef[k, 2]), p)
    if best is None:
        return None
    _, t1, c, p = best
    return t1, t1 - (level_n / c) ** (1.0 / p)


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
