"""The sensor taken off and strapped on again between sets (science.md 6.7).

A plan with both legs done with one sensor ("3x8 each leg", alternating) moves the sensor to the
other shank in every rest: it is unstrapped, turned about in the hands for 10-25 s and strapped on
at a new angle. The knee then turns about another axis of the sensor, maybe the other way round,
and gravity sits elsewhere in its frame. The band moves with it, so its force drops to nothing
while it is off. SessionSpec.mountings holds the new sensor-from-shank rotation of each set after
the first; `handling_windows` places the handling in the rests; `handled_imu` gives what the sensor
reads in the hands (the orientation keyframed through random poses, its rate from that path).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation, RotationSpline

from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim.spec import SessionSpec, random_spec

HANDLING_S = (10.0, 25.0)
"""How long the sensor is in the hands (unstrapped, turned, strapped on again)."""
HANDLING_POSES = 3
"""Random orientations the sensor passes through while handled."""
STRAP_JITTER_DEG = 8.0
"""A leg's mounting is not quite the same each time the strap is done up again (SD, about a random axis)."""
HAND_ACC_MS2 = 1.5
"""RMS of the hand's own acceleration while the sensor is handled (smooth)."""


Matrix = tuple[tuple[float, float, float], ...]


def _matrix(rotation: Rotation) -> Matrix:
    m = rotation.as_matrix()
    return tuple((float(r[0]), float(r[1]), float(r[2])) for r in m)


def leg_mountings(seed: int, first: Matrix, legs: Sequence[str]) -> tuple[Matrix, ...]:
    """The rotations of sets 2.. of a plan whose sets are done on `legs` (one code per set, e.g. 'L',
    'R', 'L'), with one sensor: the other leg at a uniform random angle; each time the sensor comes back
    to a leg, its strap is done up a few degrees off. Sets on the same leg as the one before keep it."""
    rng = np.random.default_rng([seed, 9])
    base = {legs[0]: Rotation.from_matrix(np.asarray(first))}
    current = first
    out = []
    for before, leg in pairwise(legs):
        if leg != before:
            if leg not in base:
                base[leg] = Rotation.random(random_state=rng)
                current = _matrix(base[leg])
            else:
                jitter = Rotation.from_rotvec(rng.normal(size=3) / np.sqrt(3) * np.deg2rad(STRAP_JITTER_DEG))
                current = _matrix(jitter * base[leg])
        out.append(current)
    return tuple(out)


def alternating_legs(n_sets: int) -> list[str]:
    """The leg of each set when legs alternate set by set ('3x8 each leg' done L, R, L, ...)."""
    return ["L" if k % 2 == 0 else "R" for k in range(n_sets)]


def mounting_changes(first: Matrix, mountings: Sequence[Matrix]) -> list[bool]:
    """For each rest between sets: whether the sensor was moved in it (the next set's mounting differs)."""
    rotations = [first, *mountings]
    return [after != before for before, after in pairwise(rotations)]


def handling_windows(seed: int, set_bounds: tuple[tuple[float, float], ...], moved: Sequence[bool]) -> list[tuple[float, float]]:
    """(start, end) of the handling in each rest whose `moved` is True: it begins a few seconds after
    the set before ends and well before the next one starts."""
    rng = np.random.default_rng([seed, 10])
    out = []
    for ((_, ended), (starts, _)), handled in zip(pairwise(set_bounds), moved):
        gap = starts - ended
        length = min(rng.uniform(*HANDLING_S), 0.5 * gap)
        begin = ended + rng.uniform(0.1, 0.3) * (gap - length)
        if handled:
            out.append((float(begin), float(begin + length)))
    return out


def handled_imu(
    seed: int, t_s: np.ndarray, window: tuple[float, float], sensor_from_world: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(acc_ms2 (n,3), omega_dps (n,3)), noise-free and in the sensor frame, at times inside `window`,
    for a sensor turned from the pose `sensor_from_world[0]` (3x3, at the window's start) through
    random poses to `sensor_from_world[1]` (at its end)."""
    begin, end = window
    rng = np.random.default_rng([seed, 11, int(round(begin * 1000))])
    keys_t = np.linspace(begin, end, HANDLING_POSES + 2)
    world_from_sensor = [Rotation.from_matrix(np.asarray(sensor_from_world[0]).T)]
    world_from_sensor += [Rotation.random(random_state=rng) for _ in range(HANDLING_POSES)]
    world_from_sensor.append(Rotation.from_matrix(np.asarray(sensor_from_world[1]).T))
    spline = RotationSpline(keys_t, Rotation.concatenate(world_from_sensor))
    t = np.clip(t_s, begin, end)
    h = 1e-3
    before, after = spline(np.clip(t - h, begin, end)), spline(np.clip(t + h, begin, end))
    span = np.maximum(np.clip(t + h, begin, end) - np.clip(t - h, begin, end), 1e-9)
    omega_dps = np.degrees((before.inv() * after).as_rotvec() / span[:, None])  # body frame
    hand = np.stack([np.sin(2 * np.pi * f * (t - begin) + p) for f, p in rng.uniform([0.3, 0], [1.5, 6.3], size=(3, 2))], axis=1)
    world_acc = hand * HAND_ACC_MS2 + np.array([0.0, STANDARD_GRAVITY_MS2, 0.0])
    acc_ms2 = spline(t).inv().apply(world_acc)
    return acc_ms2, omega_dps


def one_sensor_spec(seed: int, legs: Sequence[str], **overrides: Any) -> SessionSpec:
    """random_spec(seed, **overrides) for sets done on `legs` (a code per set) with one sensor, moved
    whenever the leg changes (leg_mountings): how `demo` and `record --emulate` play a both-leg plan."""
    base = random_spec(seed, **overrides)
    if len(set(legs)) < 2:
        return base
    return random_spec(seed, **overrides, mountings=leg_mountings(seed, base.imu_rotation, legs))


def both_legs_spec(seed: int) -> SessionSpec:
    """Seed's session done as a both-leg plan with one sensor: at least two sets, legs alternating, the
    sensor moved to the other leg before each set after the first (bench/accuracy.py's 're-mounted' class)."""
    n_sets = max(2, random_spec(seed).n_sets)
    return one_sensor_spec(seed, alternating_legs(n_sets), n_sets=n_sets)
