"""Knee torque from the band's force and the setup's geometry (bandlog.progress.band_geometry).

Torque about the knee is F (r_cuff x u_band) (science.md 1.4). The accelerometer measures the shank's
own pitch in the world (alpha, below the forward horizontal), so the cuff sits at
L (cos alpha, -sin alpha) from the knee and the band runs from there to the anchor, given forward and
height relative to the knee in the world. Working from alpha, not from the knee angle (alpha plus an
assumed thigh pitch), keeps an error in that assumption out of the torque. Positive torque extends
the knee, i.e. it is what the hamstrings resist. The equivalent load is the mass whose weight, hung at
the cuff, gives the same peak torque at its largest (shank horizontal): peak / (g L).
"""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.progress.band_geometry import Geometry


def torque_n_m(shank_pitch_deg: np.ndarray, force_n: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Knee torque (N m, extension positive) per sample from the shank's world pitch and the band force."""
    force = np.asarray(force_n, dtype=np.float64)
    if geometry.anchor_m is None:
        return force * geometry.shank_m
    a = np.deg2rad(np.asarray(shank_pitch_deg, dtype=np.float64))
    px, py = geometry.shank_m * np.cos(a), -geometry.shank_m * np.sin(a)
    ax, ay = geometry.anchor_m
    arm_m = (px * ay - py * ax) / np.hypot(ax - px, ay - py)  # |P x u| with u = (A - P) / |A - P|
    return force * arm_m


def equivalent_load_kg(peak_torque_n_m: float, shank_m: float) -> float:
    """The mass at the cuff whose weight gives this torque with the shank horizontal."""
    return peak_torque_n_m / (STANDARD_GRAVITY_MS2 * shank_m)


def rep_torques(
    t_s: np.ndarray, shank_pitch_deg: np.ndarray, force_n: np.ndarray, windows_s: list[tuple[float | None, float | None]],
    geometry: Geometry,
) -> list[tuple[float | None, float | None]]:
    """(peak, mean) eccentric torque (N m) per (start, end) window; None where there is no eccentric or
    no sample with both a force and a knee estimate inside it."""
    torque = torque_n_m(shank_pitch_deg, force_n, geometry)
    out: list[tuple[float | None, float | None]] = []
    for start, end in windows_s:
        if start is None or end is None:
            out.append((None, None))
            continue
        inside = (t_s >= start) & (t_s <= end) & np.isfinite(torque)
        out.append((float(torque[inside].max()), float(torque[inside].mean())) if inside.any() else (None, None))
    return out
