"""Resistance-band mechanics: shank geometry -> elongation -> tension (science.md 1.1, 1.3, 1.4).

Static force is a power law F = strands * gain * k * e^n with k refitted for the drawn exponent n so
the curve still passes (in the least-squares log sense) through the manufacturer's 100 % and 200 %
points for the colour. On top: a Dahl-style hysteresis loop (loading above, unloading below) whose
direction comes from the tremor-free movement, and a viscous relaxation branch
dF_v/dt = k_v de/dt - F_v/tau, which makes force sag during the hold at the top.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from scipy.signal import lfilter

LBF_N = 4.448

MANUFACTURER_LB: dict[str, tuple[float, float]] = {
    "tan": (2.4, 3.4),
    "yellow": (3.0, 4.3),
    "red": (3.7, 5.5),
    "green": (4.6, 6.7),
    "blue": (5.8, 8.6),
    "black": (7.3, 10.2),
    "silver": (10.2, 15.3),
    "gold": (14.2, 21.3),
}
"""Thera-Band chart, lbf at 100 % and 200 % elongation, one strand (science.md 1.1)."""

BAND_COLOURS: tuple[str, ...] = tuple(MANUFACTURER_LB)

REFERENCE_GEOMETRY: dict[str, float] = {"shank_m": 0.40, "anchor_x_m": 0.90, "anchor_y_m": 0.0, "rest_length_m": 0.45}
"""The worked example of science.md 1.4 (used with green x2)."""


def manufacturer_force_n(colour: str, elongation_pct: float) -> float:
    """Chart force for one strand at 100 or 200 % elongation, in newtons."""
    f100, f200 = MANUFACTURER_LB[colour]
    if elongation_pct == 100.0:
        return f100 * LBF_N
    if elongation_pct == 200.0:
        return f200 * LBF_N
    raise ValueError("the chart only gives 100 % and 200 % elongation")


def power_law_k(colour: str, exponent: float) -> float:
    """k (N per %^n) of F = k e^n, least-squares in log space through the colour's two chart points."""
    f100, f200 = (v * LBF_N for v in MANUFACTURER_LB[colour])
    log_k = 0.5 * ((math.log(f100) - exponent * math.log(100.0)) + (math.log(f200) - exponent * math.log(200.0)))
    return math.exp(log_k)


def band_length_m(
    theta_deg: np.ndarray | float, shank_m: float, anchor_x_m: float, anchor_y_m: float
) -> np.ndarray:
    """Distance anchor -> ankle cuff; the cuff sits at (L cos th, -L sin th) with the knee at the origin."""
    th = np.deg2rad(np.asarray(theta_deg, dtype=np.float64))
    return np.hypot(anchor_x_m - shank_m * np.cos(th), anchor_y_m + shank_m * np.sin(th))


def elongation_pct(
    theta_deg: np.ndarray | float, shank_m: float, anchor_x_m: float, anchor_y_m: float, rest_length_m: float
) -> np.ndarray:
    """Band elongation (%) at knee flexion theta; negative means slack."""
    return (band_length_m(theta_deg, shank_m, anchor_x_m, anchor_y_m) / rest_length_m - 1.0) * 100.0


def static_force_n(
    e_pct: np.ndarray | float, colour: str, strands: int, exponent: float, gain: float
) -> np.ndarray:
    """Quasi-static tension (N); zero when the band is slack (e <= 0)."""
    e = np.clip(np.asarray(e_pct, dtype=np.float64), 0.0, None)
    return strands * gain * power_law_k(colour, exponent) * e**exponent


def hysteresis_state(e_base_pct: np.ndarray, switch_pct: float) -> np.ndarray:
    """Dahl state z in [-1, 1]: +1 after loading, -1 after unloading, switching over ~switch_pct.

    Within each monotone stretch of the (tremor-free) elongation, z relaxes exponentially in
    elongation travelled towards the direction sign; flat stretches keep z. Solved in closed form per
    stretch, so the loop is over direction changes (a few per rep), not samples.
    """
    de = np.diff(e_base_pct, prepend=e_base_pct[:1])
    direction = np.sign(np.where(np.abs(de) < 1e-9, 0.0, de))
    travelled = np.cumsum(np.abs(de))
    z = np.zeros_like(e_base_pct)
    moving = np.flatnonzero(direction != 0)
    if moving.size == 0:
        return z
    # starts of runs of equal non-zero direction (flat samples in between don't break a run)
    dirs = direction[moving]
    run_starts = moving[np.concatenate(([True], dirs[1:] != dirs[:-1]))]
    boundaries = np.append(run_starts, e_base_pct.size)
    z_now = 0.0
    z[: boundaries[0]] = z_now
    for start, stop in pairwise(boundaries):
        s = direction[start]
        ref = travelled[start - 1] if start > 0 else 0.0
        seg = s + (z_now - s) * np.exp(-(travelled[start:stop] - ref) / switch_pct)
        z[start:stop] = seg
        z_now = float(seg[-1])
    return z


def viscous_force_n(e_pct: np.ndarray, dt_s: float, tau_s: float, k_v_n_per_pct: float) -> np.ndarray:
    """Exact discretisation of dF_v/dt = k_v de/dt - F_v/tau on a uniform grid."""
    de = np.diff(np.clip(e_pct, 0.0, None), prepend=max(float(e_pct[0]), 0.0))
    a = math.exp(-dt_s / tau_s)
    return lfilter([k_v_n_per_pct], [1.0, -a], de)


def band_tension_n(
    e_pct: np.ndarray,
    e_base_pct: np.ndarray,
    dt_s: float,
    *,
    colour: str,
    strands: int,
    exponent: float,
    gain: float,
    hysteresis_frac: float,
    hysteresis_switch_pct: float,
    relax_tau_s: float,
    relax_overshoot_frac: float,
) -> np.ndarray:
    """Noise-free tension along a grid path: static law x hysteresis loop + viscous branch, slack = 0.

    k_v is sized so stretching at 40 %/s for long settles relax_overshoot_frac above the static force
    at 100 % elongation (science.md 6.2).
    """
    f_static = static_force_n(e_pct, colour, strands, exponent, gain)
    z = hysteresis_state(e_base_pct, hysteresis_switch_pct)
    f_ref = float(static_force_n(100.0, colour, strands, exponent, gain))
    k_v = relax_overshoot_frac * f_ref / (40.0 * relax_tau_s)
    force = f_static * (1.0 + 0.5 * hysteresis_frac * z) + viscous_force_n(e_pct, dt_s, relax_tau_s, k_v)
    return np.where(e_pct > 0.0, np.clip(force, 0.0, None), 0.0)
