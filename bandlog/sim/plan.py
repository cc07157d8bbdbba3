"""Per-rep draws: what each rep of each set is meant to look like (science.md 6.3).

Drawn from the spec's seed on their own random stream, so changing, say, the IMU noise of a spec does
not move the reps. Durations here are the LABELLED eccentric durations (1 degree to 1 degree); the
kinematics stretches the movement so the labels come out at these values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bandlog.sim.spec import SessionSpec

FAST_RANGE_S = (1.0, 1.9)
VERY_SLOW_RANGE_S = (8.0, 12.0)
MIN_COMPLIANT_S = 2.1
"""Compliant reps never fall under the 2 s 'fast' line, so `kind` and the fast class agree."""
STALL_RANGE_S = (0.2, 1.0)
STALL_MAX_FRAC = 0.12
DROP_RANGE_S = (0.2, 0.5)
NEVER_STILL_REST_S = (0.2, 0.4)
NEVER_STILL_HOLD_S = 0.4


@dataclass(frozen=True)
class Stall:
    centre_frac: float
    duration_s: float


@dataclass(frozen=True)
class Drop:
    centre_frac: float
    duration_s: float
    ratio: float
    """Peak velocity over the eccentric's median velocity."""


@dataclass(frozen=True)
class RepPlan:
    set_index: int
    rep: int
    kind: str
    flex_s: float
    hold_s: float
    ecc_s: float
    rest_s: float
    top_deg: float
    bottom_deg: float
    hold_drift_deg: float
    thigh_wobble_deg: float
    stalls: tuple[Stall, ...]
    drop: Drop | None
    wobble_phase: float
    tremor_dps: float


def _kind(spec: SessionSpec, rng: np.random.Generator) -> str:
    r = rng.random()
    if r < spec.p_fast:
        return "fast"
    if r < spec.p_fast + spec.p_very_slow:
        return "very_slow"
    return "compliant"


def _ecc_s(spec: SessionSpec, kind: str, progress: float, rng: np.random.Generator) -> float:
    if kind == "fast":
        return float(rng.uniform(*FAST_RANGE_S))
    if kind == "very_slow":
        return float(rng.uniform(*VERY_SLOW_RANGE_S))
    nominal = rng.normal(spec.target_ecc_s, spec.ecc_sd_frac * spec.target_ecc_s)
    nominal = np.clip(nominal, 0.55 * spec.target_ecc_s, 1.45 * spec.target_ecc_s)
    return float(max(MIN_COMPLIANT_S, nominal * (1.0 - spec.fatigue_ecc_frac * progress)))


def _stalls(spec: SessionSpec, kind: str, ecc_s: float, has_drop: bool, rng: np.random.Generator) -> tuple[Stall, ...]:
    """Stalls last 0.2-1.0 s but at most STALL_MAX_FRAC of the eccentric, so the moving part of a
    stalled rep is not squeezed into a burst. With a drop (late in the rep) only one early stall."""
    if kind == "fast":
        return ()
    count = int(rng.binomial(1 if has_drop else spec.max_stalls, spec.p_stall))
    if count == 0:
        return ()
    if has_drop:
        centres = rng.uniform(0.2, 0.35, size=1)
    else:
        centres = np.sort(rng.uniform(0.25, 0.75, size=count))
        if count == 2 and centres[1] - centres[0] < 0.25:
            centres = np.array([0.3, 0.7])
    longest = max(STALL_RANGE_S[0], min(STALL_RANGE_S[1], STALL_MAX_FRAC * ecc_s))
    return tuple(Stall(float(c), float(rng.uniform(STALL_RANGE_S[0], longest))) for c in centres)


def plan_session(spec: SessionSpec) -> list[list[RepPlan]]:
    """Plans for every rep, grouped by set."""
    rng = np.random.default_rng([spec.seed, 1])
    sets: list[list[RepPlan]] = []
    for set_index in range(spec.n_sets):
        reps: list[RepPlan] = []
        for i in range(spec.reps_per_set):
            progress = i / max(1, spec.reps_per_set - 1)
            kind = _kind(spec, rng)
            rom = spec.rom_deg * (1.0 - spec.fatigue_rom_frac * progress) + rng.normal(0.0, 2.0)
            bottom = float(np.clip(spec.ext_deg + rng.normal(0.0, 1.0), 3.0, None))
            top = float(min(bottom + rom, 133.0))
            ecc_s = _ecc_s(spec, kind, progress, rng)
            drop = None
            if kind != "fast" and rng.random() < spec.p_drop:
                drop = Drop(float(rng.uniform(0.6, 0.8)), float(rng.uniform(*DROP_RANGE_S)), float(rng.uniform(4.0, 5.0)))
            stalls = _stalls(spec, kind, ecc_s, drop is not None, rng)
            reps.append(
                RepPlan(
                    set_index=set_index,
                    rep=i + 1,
                    kind=kind,
                    flex_s=float(np.clip(spec.flex_s * rng.uniform(0.85, 1.15), 0.8, 2.0)),
                    hold_s=float(np.clip(spec.hold_s * rng.uniform(0.7, 1.3), 0.0, 2.0)),
                    ecc_s=ecc_s,
                    rest_s=float(np.clip(spec.bottom_rest_s * rng.uniform(0.7, 1.3), 0.5, 3.0)),
                    top_deg=top,
                    bottom_deg=bottom,
                    hold_drift_deg=float(np.clip(spec.hold_drift_deg + rng.normal(0.0, 0.3), -0.5, 2.0)),
                    thigh_wobble_deg=float(spec.thigh_wobble_deg * rng.uniform(-1.0, 1.0)),
                    stalls=stalls,
                    drop=drop,
                    wobble_phase=float(rng.uniform(0.0, 2 * np.pi)),
                    tremor_dps=float(spec.tremor_dps * (1.0 + spec.tremor_growth * progress)),
                )
            )
        sets.append(reps)
    if not spec.still_start:
        sets = _never_still(sets, np.random.default_rng([spec.seed, 5]))
    return sets


def _never_still(sets: list[list[RepPlan]], rng: np.random.Generator) -> list[list[RepPlan]]:
    """A set that never holds still (science.md 6.7): bottom rests of 0.2-0.4 s, top holds under
    0.4 s and no stalls, drawn on their own stream so the rest of the plan stays as it was."""
    return [
        [
            replace(plan, rest_s=float(rng.uniform(*NEVER_STILL_REST_S)), hold_s=min(plan.hold_s, NEVER_STILL_HOLD_S), stalls=())
            for plan in reps
        ]
        for reps in sets
    ]
