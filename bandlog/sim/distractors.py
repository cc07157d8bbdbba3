"""Non-exercise activity between sets (science.md 6.3): what a detector must not count as reps.

- fidget: a 0.3 s out-and-back shank rotation (+-12-25 deg/s) about a random axis; the knee angle
  and band do not change, so only the IMU sees it.
- reanchor: the band is re-tied or grabbed: force spikes by 10-30 N with no knee motion.
- slack: the band slips at the anchor: force falls to 0 for 2-5 s and comes back.
They are placed only in still stretches (lead-in, rests between sets, tail), never inside a set.
"""

from __future__ import annotations

import numpy as np

from bandlog.sim.spec import SessionSpec
from bandlog.sim.truth import Distractor

FIDGET_S = 0.3
MARGIN_S = 1.0


def trapezoid(t_s: np.ndarray, start_s: float, rise_s: float, hold_s: float, fall_s: float) -> np.ndarray:
    """0 -> 1 -> 0 with raised-cosine ramps; zero outside [start, start + rise + hold + fall]."""
    up = np.clip((t_s - start_s) / rise_s, 0.0, 1.0)
    down = np.clip((start_s + rise_s + hold_s + fall_s - t_s) / fall_s, 0.0, 1.0)
    return 0.5 * (1 - np.cos(np.pi * np.minimum(up, down)))


def _candidates(spec: SessionSpec, length_s: float, rng: np.random.Generator) -> list[Distractor]:
    found: list[Distractor] = []
    if spec.fidget:
        for _ in range(int(rng.poisson(spec.fidgets_per_min * length_s / 60.0))):
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            rate = float(rng.uniform(12.0, 25.0) * rng.choice([-1.0, 1.0]))
            found.append(Distractor("fidget", 0.0, FIDGET_S, rate, (float(axis[0]), float(axis[1]), float(axis[2]))))
    if spec.reanchor and rng.random() < 0.5:
        ramps = (float(rng.uniform(0.2, 0.6)), float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.2, 0.6)))
        found.append(Distractor("reanchor", 0.0, sum(ramps), float(rng.uniform(10.0, 30.0)), ramps))
    if spec.slack and rng.random() < 0.5:
        ramps = (0.3, float(rng.uniform(2.0, 5.0)), 0.3)
        found.append(Distractor("slack", 0.0, sum(ramps), 1.0, ramps))
    return found


def place_distractors(
    spec: SessionSpec, windows: list[tuple[float, float]], rng: np.random.Generator
) -> tuple[Distractor, ...]:
    """Scatter distractors without overlap inside the given still windows (MARGIN_S apart)."""
    placed: list[Distractor] = []
    for a, b in windows:
        length = b - a
        if length <= FIDGET_S + MARGIN_S:
            continue
        items = _candidates(spec, length, rng)
        rng.shuffle(items)
        while items and sum(d.end_s for d in items) + MARGIN_S * (len(items) - 1) > length:
            items.pop()
        if not items:
            continue
        free = length - sum(d.end_s for d in items) - MARGIN_S * (len(items) - 1)
        gaps = rng.dirichlet(np.ones(len(items) + 1)) * free
        t = a
        for gap, item in zip(gaps, items):
            t += float(gap)
            placed.append(Distractor(item.kind, t, t + item.end_s, item.magnitude, item.shape))
            t += item.end_s + MARGIN_S
    return tuple(sorted(placed, key=lambda d: d.start_s))


def fidget_rotation(t_s: np.ndarray, distractors: tuple[Distractor, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(extra rate deg/s, small rotation angle rad) as (n, 3) sensor-frame vectors."""
    rate = np.zeros((t_s.size, 3))
    angle = np.zeros((t_s.size, 3))
    for d in distractors:
        if d.kind != "fidget" or d.end_s < t_s.min(initial=np.inf) or d.start_s > t_s.max(initial=-np.inf):
            continue
        inside = (t_s >= d.start_s) & (t_s <= d.end_s)
        phase = 2 * np.pi * (t_s[inside] - d.start_s) / FIDGET_S
        axis = np.asarray(d.shape)
        rate[inside] += np.outer(d.magnitude * np.sin(phase), axis)
        angle[inside] += np.outer(np.deg2rad(d.magnitude * FIDGET_S / (2 * np.pi)) * (1 - np.cos(phase)), axis)
    return rate, angle


def apply_force_distractors(
    t_s: np.ndarray, force_n: np.ndarray, distractors: tuple[Distractor, ...]
) -> np.ndarray:
    """Band force with re-anchoring spikes added and slack stretches zeroed."""
    out = force_n.copy()
    for d in distractors:
        if d.kind == "fidget":
            continue
        rise, hold, fall = d.shape
        i0, i1 = np.searchsorted(t_s, [d.start_s, d.end_s])
        window = trapezoid(t_s[i0 : i1 + 1], d.start_s, rise, hold, fall)
        if d.kind == "reanchor":
            out[i0 : i1 + 1] += d.magnitude * window
        else:
            out[i0 : i1 + 1] *= 1.0 - d.magnitude * window
    return out
