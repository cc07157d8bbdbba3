"""Square isometric pulls, as force-gauge exports show them (science.md 6.7).

Each pull: the force goes up in 0.1-0.3 s, is held 3-10 s while it sags 5-20 %, and is let go in
0.1-0.3 s; 2-10 s of rest between pulls; 10-24 pulls in a set, the later ones weaker (the peak falls
by up to 40 % across the set). The knee does not move. There is no eccentric to time: each pull is a
loading cycle whose truth is its time under tension.
"""

from __future__ import annotations

import math

import numpy as np

from bandlog.core.results import NO_TEMPO
from bandlog.sim.kinematics import GRID_HZ, Trajectory
from bandlog.sim.spec import SessionSpec
from bandlog.sim.truth import TruthRep

RISE_S = (0.1, 0.3)
HOLD_S = (3.0, 10.0)
SAG = (0.05, 0.20)
REST_S = (2.0, 10.0)
PULLS = (10, 25)
FADE = (0.0, 0.4)
PEAK_N = (20.0, 80.0)
REST_N = (0.0, 5.0)


def build_pulls(spec: SessionSpec) -> tuple[Trajectory, np.ndarray, tuple[TruthRep, ...]]:
    """(knee trajectory, noise-free force on the grid, one truth per pull) of an isometric session."""
    rng = np.random.default_rng([spec.seed, 7])
    peak0_n = float(rng.uniform(*PEAK_N))
    rest_n = float(rng.uniform(*REST_N))
    fade = float(rng.uniform(*FADE))
    pulls: list[tuple[int, float, float, float, float, float, float]] = []
    set_bounds: list[tuple[float, float]] = []
    t_now = spec.lead_in_s
    for set_index in range(spec.n_sets):
        count = int(rng.integers(*PULLS))
        start = t_now
        for i in range(count):
            progress = i / max(1, count - 1)
            rise, hold, fall = float(rng.uniform(*RISE_S)), float(rng.uniform(*HOLD_S)), float(rng.uniform(*RISE_S))
            peak = peak0_n * (1.0 - fade * progress) * float(rng.uniform(0.92, 1.08))
            pulls.append((set_index, t_now, rise, hold, fall, peak, float(rng.uniform(*SAG))))
            t_now += rise + hold + fall + float(rng.uniform(*REST_S))
        set_bounds.append((start, t_now))
        if set_index < spec.n_sets - 1:
            t_now += spec.rest_between_sets_s
    duration = t_now + spec.tail_s
    n = int(math.ceil(duration * GRID_HZ)) + 1
    t = np.arange(n) / GRID_HZ
    force = np.full(n, rest_n)
    truths = []
    for k, (set_index, start, rise, hold, fall, peak, sag) in enumerate(pulls):
        up = np.clip((t - start) / rise, 0.0, 1.0)
        down = np.clip((start + rise + hold + fall - t) / fall, 0.0, 1.0)
        sagging = 1.0 - sag * np.clip((t - start - rise) / hold, 0.0, 1.0)
        force += peak * np.minimum(up, down) * sagging
        release_s = start + rise + hold
        following = [p[1] for p in pulls[k + 1 :] if p[0] == set_index]
        rest_end_s = following[0] if following else set_bounds[set_index][1]
        truths.append(
            TruthRep(
                rep=1 + sum(1 for p in pulls[:k] if p[0] == set_index), set_index=set_index, start_s=start,
                top_s=start + rise, onset_s=release_s, offset_s=release_s, ecc_duration_s=0.0, rom_deg=0.0,
                mean_ecc_velocity_dps=0.0, peak_ecc_velocity_dps=0.0, tempo=NO_TEMPO, stalls=0, drop=False,
                kind="isometric", top_deg=spec.ext_deg, bottom_deg=spec.ext_deg, ecc_move_start_s=release_s,
                ecc_move_end_s=release_s + fall, end_s=rest_end_s, peak_force_n=peak,
            )
        )
    theta = np.full(n, spec.ext_deg)
    trajectory = Trajectory(theta, theta.copy(), np.zeros(n), (), tuple(set_bounds), duration)
    return trajectory, force, tuple(truths)
