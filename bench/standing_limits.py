"""What the standing exercises' timing errors are made of: the shin's sway and the knee's share.

    python bench/standing_limits.py [--sessions 60] [--quick]

With the foot planted (bandlog.sim.planted) the shin turns by an unknown share (0.4-0.7) of the knee's
bend, and the whole leg sways about the ankle (0.05-0.2 deg at 0.1-0.4 Hz), turning the shin without
bending the knee. A shin sensor alone sees neither apart from the knee's motion. The truth dates each
eccentric's onset and offset at 1 deg of knee (science.md 5.9), the detector at the share's guess of
that in shin degrees (ImuSteps.refine_deg). Each standing exercise's sessions (random_spec(seed,
exercise=...), seeds 0..N-1, IMU only, at accuracy.py's rates) are scored as bench/accuracy.py scores
them, five ways in the same run:
- "as it is": the detector and the model unchanged (accuracy.py's figures);
- "true share": the detector told the session's true share (refine_deg = 1 deg x share), the model unchanged;
- "no sway": the model without its sway, the detector unchanged;
- "both": no sway, and the true share told;
- "thigh sensor": the model and the detector unchanged, with a second IMU on the thigh (bandlog.detect.thigh:
  the knee's turn is the shank's less the thigh's), what "both" stands for, measured.
Each line: onset and offset |error| median and P95 (ms), and the P95's ratio to "as it is". The
reverse curl's IMU floor is a P95 of 150 ms (accuracy.py EXERCISE_FLOORS, held with a thigh sensor): which
of these meets it says what a shin sensor alone cannot do (accuracy.py SHIN_ONLY_EXERCISE_FLOORS), and
whether the thigh sensor gives what "both" stands for. Nothing here is a detector setting: the model and
the detector are patched in the worker only.
Seeds 0-59 (2026-12-06), onset / offset P95 in ms: runner's stretch as it is 229 / 234, both 116 / 105,
thigh sensor 113 / 96; standing "L" 228 / 222, 75 / 88 and 59 / 73.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # the same scoring as the accuracy benchmark

import bandlog.detect.analysis  # imported once here, so each forked worker starts with them
import bandlog.sim.session  # noqa: F401

VARIANTS = ("as it is", "true share", "no sway", "both", "thigh sensor")
EXERCISES = ("runners-stretch", "standing-l")


def _patch(variant: str, seed: int, exercise: str) -> None:
    """Tell the detector the true share and/or take the sway out of the model (this worker only)."""
    import dataclasses

    import bandlog.sim.session as sim_session
    from bandlog.detect import imu_steps
    from bandlog.sim.planted import planted_geometry

    if variant in ("true share", "both"):
        share = planted_geometry(seed, exercise).share

        def refine_deg(self: imu_steps.ImuSteps) -> float:
            return 1.0 * share  # 1 deg of knee, in shin degrees

        imu_steps.ImuSteps.refine_deg = refine_deg  # type: ignore[method-assign]
    if variant in ("no sway", "both"):
        sim_session.planted_geometry = lambda s, e: dataclasses.replace(planted_geometry(s, e), sway_deg=0.0)  # type: ignore[assignment]


def score(job: tuple[str, str, int]) -> tuple[str, str, list[float], list[float]]:
    """(variant, exercise, onset errors s, offset errors s) of one session."""
    variant, exercise, seed = job
    _patch(variant, seed, exercise)
    mode = accuracy.THIGH_MODE if variant == "thigh sensor" else "imu"
    tally = accuracy.score_exercise_session(seed, exercise, (mode,))[(mode, exercise)]
    return variant, exercise, list(tally.onset_err_s), list(tally.offset_err_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="12 sessions of each exercise")
    args = parser.parse_args()
    n = 12 if args.quick else args.sessions
    start = time.perf_counter()
    jobs = [(v, e, seed) for v in VARIANTS for e in EXERCISES for seed in range(n)]
    errors: dict[tuple[str, str], tuple[list[float], list[float]]] = {(v, e): ([], []) for v in VARIANTS for e in EXERCISES}
    with Pool(2, maxtasksperchild=1) as pool:  # one session per worker: each patches its own modules
        for variant, exercise, onset, offset in pool.imap_unordered(score, jobs):
            errors[(variant, exercise)][0].extend(onset)
            errors[(variant, exercise)][1].extend(offset)
    print(f"standing exercises' timing, {n} sessions each, IMU only ({time.perf_counter() - start:.0f} s)")
    print("  |error| ms: onset median / P95, offset median / P95; P95s as a ratio of 'as it is'")
    for exercise in EXERCISES:
        base = [np.percentile(np.abs(errors[("as it is", exercise)][k]), 95) for k in (0, 1)]
        print(f"  {exercise}")
        for variant in VARIANTS:
            onset, offset = (np.abs(np.asarray(x)) * 1000 for x in errors[(variant, exercise)])
            p95 = [float(np.percentile(onset, 95)), float(np.percentile(offset, 95))]
            print(f"    {variant:12s} {np.median(onset):5.0f} / {p95[0]:4.0f}   {np.median(offset):5.0f} / {p95[1]:4.0f}"
                  f"   x{p95[0] / (1000 * base[0]):.2f} x{p95[1] / (1000 * base[1]):.2f}   ({onset.size} reps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
