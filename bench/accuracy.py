"""Detector accuracy against simulated ground truth, per class of session (science.md 5.9, 6.7):

    python bench/accuracy.py [--sessions 240] [--quick] [--workers 2] [--remount-sessions N] [--first-seed 240]

For seeds 0..N-1 it simulates `random_spec(seed, **random_scenario(seed))`: the wider model, where
anchors sit below, at or above the knee, a third of the recordings start mid-rep and never hold
still, a quarter end inside the last eccentric and a fifth are square isometric pulls (sample rate
drawn per seed from RATES_HZ). Each recording runs through the streaming analyzer in each mode
(force+imu, force, imu) and is scored: eccentric precision/recall/F1 (a match is IoU >= 0.5 with a
true eccentric), onset/offset |error|, eccentric-duration error, session TUT errors, live latency,
inverted sessions (most eccentrics found on true flexions), truncated reps flagged, and for
isometric pulls the share counted and the TUT_tension error. Reps the recording cuts are left out
of F1 and timing (their rows must carry `truncated`). Every figure is printed per class, so a weak
class cannot hide in an average, with a naive force-slope baseline and its ratio. Exits 1 when a
floor is missed. `evaluate(seeds)` and `missed_floors(report)` are importable
(tests/detect/test_accuracy_regression.py).
Isometric pulls are force-gauge recordings: they are scored in force mode only.
Why 240 sessions by default: a class holds only a quarter to a third of them, and with 120 the
force-only 'anchor below' class (28 sessions) read F1 0.997 and TUT_ecc error 5.5 % on seeds 0-119
but 0.95 and 12 % on seeds 120-239, where more anchors sit deep (the band shortest at 20-40 deg of
flexion). Fewer sessions let a weak class pass by the luck of the draw.

The seed's two standing exercises (issue 17: the active runner's stretch and the standing "L", foot
planted, bandlog.sim.planted) are classes of their own, "runners-stretch" and "standing-l": a
quarter as many sessions each (seeds 0.., `--exercise-sessions`), analysed with their exercise
profile in IMU mode (no band is modelled, so force modes do not apply). Each is scored twice on the
same session: the shin sensor alone ("imu"), and with a second IMU on the thigh ("imu+thigh",
bandlog.detect.thigh: the knee's turn is the shank's less the thigh's, so the body's sway and the
unknown share of the knee the shin turns drop out). With the thigh they are held to the reverse
curl's IMU floors, but with onset/offset medians of 60 ms (the issue's Done-when); the shin alone
sees neither the sway nor the share, and is guarded by the literature's P95 of 250 ms (science.md
5.9) instead of 150 (bench/standing_limits.py says why); where it is over 150, the report says so.

Both-leg plans done with one sensor are the class "re-mounted" (seeds 0.., a quarter as many,
`--remount-sessions`): at least two sets, and in the rest before each later set the sensor is taken
off, turned in the hands for 10-25 s and strapped on the other leg at a random angle (the band moves
too, so force-only sees it slack meanwhile; bandlog.sim.remount). Scored in every mode with the
reverse curl's floors; in no other class.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool

import numpy as np

MODES = ("force+imu", "force", "imu")
THIGH_MODE = "imu+thigh"
"""The standing exercises with a second IMU on the thigh (their classes only)."""
RATES_HZ = (25.0, 50.0, 80.0, 100.0, 100.0, 200.0)
IOU_MIN = 0.5
BASELINE = "baseline"
EXERCISE_CLASSES = ("runners-stretch", "standing-l")
"""Planted-foot exercises, one class each (IMU mode, their own profile); their sessions are in no other class."""
REMOUNTED = "re-mounted"
"""Both-leg plans done with one sensor, moved to the other leg between sets (bandlog.sim.remount): a
class of its own, with sessions of its own, in no other class."""
CLASSES = ("all", "anchor below", "anchor at", "anchor above", "still start", "no still start", REMOUNTED, "isometric",
           *EXERCISE_CLASSES)
"""'all' and the classes before 'isometric' are reverse-curl eccentric sessions ('all' holds the first
five); 'isometric' are the pull sessions; then the other exercises."""

IMU_FLOORS = {"f1_min": 0.99, "onset_med_ms": 40, "onset_p95_ms": 150, "offset_med_ms": 40, "offset_p95_ms": 150,
              "tut_ecc_err_pct": 3.0, "inverted_max": 0}
FLOORS: dict[str, dict[str, float]] = {
    # metric -> bound for every class of the mode; names ending in _min are lower bounds, the rest upper
    "force+imu": {**IMU_FLOORS, "latency_p95_ms": 250},
    "imu": {**IMU_FLOORS, "latency_p95_ms": 250},
    "force": {"f1_min": 0.98, "tut_tension_err_pct": 3.0, "tut_ecc_err_pct": 8.0, "inverted_max": 0},
}
ISOMETRIC_FLOORS = {"counted_min": 1.0, "iso_tut_tension_err_pct": 5.0}
EXERCISE_FLOORS = {"f1_min": 0.98, "onset_med_ms": 60, "onset_p95_ms": 150, "offset_med_ms": 60, "offset_p95_ms": 150,
                   "tut_ecc_err_pct": 3.0, "inverted_max": 0}
"""The standing exercises' floors with a thigh sensor (imu+thigh): issue 17's Done-when (F1 >= 0.98,
onset/offset median <= 60 ms) with the reverse curl's IMU P95, TUT_ecc and inversion floors."""
SHIN_ONLY_EXERCISE_FLOORS = {**EXERCISE_FLOORS, "onset_p95_ms": 250, "offset_p95_ms": 250}
"""What guards the shin sensor alone (imu) against regressions: the literature's P95 target (science.md
5.9), as the sway and the share the shin cannot see leave its P95 at 205-250 ms (bench/standing_limits.py).
Where it is over EXERCISE_FLOORS' 150 ms, the report says so too (shin_only_shortfalls): the issue's
floor is met with a thigh sensor, not with the shin alone."""
NO_STILL_F1_MIN = 0.98


@dataclass
class Tally:
    """Raw scores of one detector over some sessions (mergeable)."""

    sessions: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    onset_err_s: list[float] = field(default_factory=list)
    offset_err_s: list[float] = field(default_factory=list)
    duration_err_s: list[float] = field(default_factory=list)
    duration_err_pct: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    tut_ecc_err_pct: list[float] = field(default_factory=list)
    tut_tension_err_pct: list[float] = field(default_factory=list)
    fast_truth: int = 0
    fast_called_fast: int = 0
    inverted: int = 0
    truncated_truth: int = 0
    truncated_flagged: int = 0
    pulls: int = 0
    pulls_counted: int = 0
    iso_tut_tension_err_pct: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter / (max(a[1], b[1]) - min(a[0], b[0])) if inter > 0 else 0.0


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and a[1] > b[0]


def match(detected: list[tuple[float, float]], truth: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (detected index, truth index) with IoU >= IOU_MIN, best first."""
    pairs = sorted(((iou(a, b), i, j) for i, a in enumerate(detected) for j, b in enumerate(truth) if iou(a, b) >= IOU_MIN), reverse=True)
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j))
    return out


def naive_eccentrics(t_s: np.ndarray, force_n: np.ndarray) -> list[tuple[float, float]]:
    """The baseline: zero-phase 4 Hz force, eccentric wherever dF/dt < -10 % of the range per s."""
    from scipy.signal import butter, sosfiltfilt

    dt = float(np.median(np.diff(t_s)))
    sos = butter(2, min(4.0, 0.4 / dt) * 2 * dt, output="sos")
    smooth = sosfiltfilt(sos, force_n)
    slope = np.gradient(smooth, t_s)
    working = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    falling = slope < -0.1 * working
    edges = np.flatnonzero(np.diff(np.concatenate([[0], falling.astype(np.int8), [0]])))
    return [(float(t_s[a]), float(t_s[b - 1])) for a, b in zip(edges[::2], edges[1::2]) if t_s[b - 1] - t_s[a] >= 0.3]


def session_classes(spec) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The classes one session counts in (besides 'all')."""
    if spec.session_kind == "isometric":  # pulls on a force gauge: neither anchor nor knee matter
        return ("isometric",)
    start = "still start" if spec.still_start else "no still start"
    return ("all", f"anchor {spec.anchor_class}", start)


def _cue_of(rep, cues):  # type: ignore[no-untyped-def]
    """The live end-of-eccentric cue of a finished rep: the one whose eccentric began inside the rep,
    nearest its final onset. By time, not by equal onsets: a row whose onset was re-dated once the
    rep was over kept no cue, and its latency fell out of the figures unseen."""
    inside = [c for c in cues if rep.start_s <= c.ecc_start_s <= rep.end_s]
    return min(inside, key=lambda c: abs(c.ecc_start_s - rep.ecc_start_s), default=None)


def _score_eccentrics(tally: Tally, session, reps, events, summary) -> None:  # type: ignore[no-untyped-def]
    from bandlog.core.events import EccentricEnded

    truth_reps = session.truth_reps
    whole = [r for r in truth_reps if not r.truncated]
    cut = [r for r in truth_reps if r.truncated]
    cut_spans = [(r.start_s, r.end_s) for r in cut]
    timed = [r for r in reps if r.ecc_start_s is not None]
    # rows over a rep the recording cut are judged by their flag, not by F1
    scored = [r for r in timed if not any(overlaps((r.start_s, r.end_s), span) for span in cut_spans)]
    tally.truncated_truth += len(cut)
    tally.truncated_flagged += sum(any(overlaps((r.start_s, r.end_s), span) and "truncated" in r.flags for r in reps) for span in cut_spans)
    truth = [(r.onset_s, r.offset_s) for r in whole]
    detected = [(r.ecc_start_s, r.ecc_end_s) for r in scored]
    pairs = match(detected, truth)
    tally.tp, tally.fp, tally.fn = len(pairs), len(detected) - len(pairs), len(truth) - len(pairs)
    cues = [e for e in events if isinstance(e, EccentricEnded)]
    for i, j in pairs:
        rep, true = scored[i], whole[j]
        tally.onset_err_s.append(rep.ecc_start_s - true.onset_s)
        tally.offset_err_s.append(rep.ecc_end_s - true.offset_s)
        tally.duration_err_s.append(rep.ecc_duration_s - true.ecc_duration_s)
        tally.duration_err_pct.append(100 * (rep.ecc_duration_s - true.ecc_duration_s) / true.ecc_duration_s)
        cue = _cue_of(rep, cues)
        if cue is not None and not rep.estimated:
            tally.latency_s.append(cue.detected_at_s - true.offset_s)
        if true.ecc_duration_s < 2.0:
            tally.fast_truth += 1
            tally.fast_called_fast += rep.tempo == "fast"
    flexions = [r.flexion_span_s for r in truth_reps]
    on_flexion = sum(max((iou(d, f) for f in flexions), default=0.0) > max((iou(d, t) for t in truth), default=0.0) for d in detected)
    tally.inverted += int(detected != [] and on_flexion > len(detected) / 2)
    true_tut_ecc = sum(r.ecc_duration_s for r in whole)
    if true_tut_ecc > 0:
        tally.tut_ecc_err_pct.append(100 * (sum(r.ecc_duration_s for r in scored) - true_tut_ecc) / true_tut_ecc)
    true_tension = sum(s.tut_tension_s for s in session.truth_sets)
    if summary.tut_tension_s is not None and true_tension > 0:
        tally.tut_tension_err_pct.append(100 * (summary.tut_tension_s - true_tension) / true_tension)


def _score_pulls(tally: Tally, session, reps, summary) -> None:  # type: ignore[no-untyped-def]
    pulls = [(r.start_s, r.ecc_move_end_s) for r in session.truth_reps if not r.truncated]  # up, held, let go
    rows = [(r.start_s, r.end_s) for r in reps if "truncated" not in r.flags]
    pairs = match(rows, pulls)
    tally.pulls += len(pulls)
    tally.pulls_counted += len(pairs)
    tally.tp, tally.fp, tally.fn = len(pairs), len(rows) - len(pairs), len(pulls) - len(pairs)
    true_tension = sum(s.tut_tension_s for s in session.truth_sets)
    if summary.tut_tension_s is not None and true_tension > 0:
        tally.iso_tut_tension_err_pct.append(100 * (summary.tut_tension_s - true_tension) / true_tension)


def score_session(seed: int) -> dict[tuple[str, str], Tally]:
    """Tallies of one session keyed by (detector, class)."""
    from bandlog.core.events import RepCompleted
    from bandlog.detect.analysis import Analyzer
    from bandlog.sim import random_scenario, random_spec, simulate_session

    spec = random_spec(seed, **random_scenario(seed))
    session = simulate_session(spec)
    rate_hz = RATES_HZ[seed % len(RATES_HZ)]
    isometric = spec.session_kind == "isometric"
    out: dict[tuple[str, str], Tally] = {}
    for mode in ("force",) if isometric else MODES:
        block = session.record(rate_hz=rate_hz, channels=mode)
        analyzer = Analyzer(target_ecc_s=spec.target_ecc_s)
        events = analyzer.feed(block) + analyzer.finish()
        summary = analyzer.summary()
        reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
        tally = Tally(sessions=1)
        if isometric:
            _score_pulls(tally, session, reps, summary)
        else:
            _score_eccentrics(tally, session, reps, events, summary)
        for name in session_classes(spec):
            out[(mode, name)] = tally
        if mode == "force" and not isometric:
            assert block.force_n is not None
            naive = naive_eccentrics(block.t_s, block.force_n)
            truth = [(r.onset_s, r.offset_s) for r in session.truth_reps if not r.truncated]
            base = Tally(sessions=1)
            pairs = match(naive, truth)
            base.tp, base.fp, base.fn = len(pairs), len(naive) - len(pairs), len(truth) - len(pairs)
            base.onset_err_s = [naive[i][0] - truth[j][0] for i, j in pairs]
            base.offset_err_s = [naive[i][1] - truth[j][1] for i, j in pairs]
            true_tut = sum(b - a for a, b in truth)
            base.tut_ecc_err_pct = [100 * (sum(b - a for a, b in naive) - true_tut) / true_tut] if true_tut else []
            for name in session_classes(spec):
                out[(BASELINE, name)] = base
    return out


def score_exercise_session(seed: int, exercise: str, modes: tuple[str, ...] = ("imu", THIGH_MODE)) -> dict[tuple[str, str], Tally]:
    """Tallies of one planted-foot session, analysed with its exercise profile in IMU mode, with the
    shin sensor alone ("imu") and with a thigh sensor too (THIGH_MODE)."""
    from bandlog.core.events import RepCompleted
    from bandlog.detect.analysis import Analyzer
    from bandlog.sim import random_spec, simulate_session

    spec = random_spec(seed, exercise=exercise)
    session = simulate_session(spec)
    out: dict[tuple[str, str], Tally] = {}
    for mode in modes:
        block = session.record(rate_hz=RATES_HZ[seed % len(RATES_HZ)], channels="imu", thigh=mode == THIGH_MODE)
        analyzer = Analyzer(target_ecc_s=spec.target_ecc_s, exercise=exercise, kinematics=False)
        events = analyzer.feed(block) + analyzer.finish()
        tally = Tally(sessions=1)
        _score_eccentrics(tally, session, [e.metrics for e in events if isinstance(e, RepCompleted)], events, analyzer.summary())
        out[(mode, exercise)] = tally
    return out


def score_remount_session(seed: int) -> dict[tuple[str, str], Tally]:
    """Tallies of one both-leg session whose sensor moves to the other leg between sets, in each mode
    (the band moves too, so force-only sees it slack meanwhile)."""
    from bandlog.core.events import RepCompleted
    from bandlog.detect.analysis import Analyzer
    from bandlog.sim import simulate_session
    from bandlog.sim.remount import both_legs_spec

    spec = both_legs_spec(seed)
    session = simulate_session(spec)
    out: dict[tuple[str, str], Tally] = {}
    for mode in MODES:
        block = session.record(rate_hz=RATES_HZ[seed % len(RATES_HZ)], channels=mode)
        analyzer = Analyzer(target_ecc_s=spec.target_ecc_s, kinematics=False)
        events = analyzer.feed(block) + analyzer.finish()
        tally = Tally(sessions=1)
        _score_eccentrics(tally, session, [e.metrics for e in events if isinstance(e, RepCompleted)], events, analyzer.summary())
        out[(mode, REMOUNTED)] = tally
    return out


def _score_job(job: tuple[int, str | None]) -> dict[tuple[str, str], Tally]:
    seed, kind = job
    if kind is None:
        return score_session(seed)
    return score_remount_session(seed) if kind == REMOUNTED else score_exercise_session(seed, kind)


def _pct(values: list[float], q: float, scale: float = 1.0) -> float:
    return float(np.percentile(np.abs(values), q)) * scale if values else float("nan")


def figures(t: Tally) -> dict[str, float]:
    precision = t.tp / (t.tp + t.fp) if t.tp + t.fp else float("nan")
    recall = t.tp / (t.tp + t.fn) if t.tp + t.fn else float("nan")
    f1 = 2 * t.tp / (2 * t.tp + t.fp + t.fn) if t.tp + t.fp + t.fn else float("nan")
    dur = np.asarray(t.duration_err_s)
    return {
        "sessions": float(t.sessions), "precision": precision, "recall": recall, "f1": f1,
        "onset_med_ms": _pct(t.onset_err_s, 50, 1000), "onset_p95_ms": _pct(t.onset_err_s, 95, 1000),
        "offset_med_ms": _pct(t.offset_err_s, 50, 1000), "offset_p95_ms": _pct(t.offset_err_s, 95, 1000),
        "dur_med_pct": _pct(t.duration_err_pct, 50),
        "dur_bias_s": float(dur.mean()) if dur.size else float("nan"),
        "dur_loa_s": float(1.96 * dur.std()) if dur.size else float("nan"),
        "tut_ecc_err_pct": _pct(t.tut_ecc_err_pct, 50), "tut_ecc_err_p95_pct": _pct(t.tut_ecc_err_pct, 95),
        "tut_tension_err_pct": _pct(t.tut_tension_err_pct, 50),
        "latency_p95_ms": float(np.percentile(t.latency_s, 95)) * 1000 if t.latency_s else float("nan"),
        "fast_recall": t.fast_called_fast / t.fast_truth if t.fast_truth else float("nan"),
        "inverted": float(t.inverted),
        "truncated_flagged": t.truncated_flagged / t.truncated_truth if t.truncated_truth else float("nan"),
        "counted": t.pulls_counted / t.pulls if t.pulls else float("nan"),
        "iso_tut_tension_err_pct": _pct(t.iso_tut_tension_err_pct, 50),
    }


def evaluate(
    seeds: list[int], workers: int = 2, exercise_seeds: list[int] | None = None, remount_seeds: list[int] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Figures per detector and class: report[detector][class][metric]. Reverse-curl sessions for
    `seeds`, for `exercise_seeds` (default: none) a session of each planted-foot exercise, and for
    `remount_seeds` (default: none) a both-leg session with the sensor moved between sets."""
    totals: dict[tuple[str, str], Tally] = {}
    jobs: list[tuple[int, str | None]] = [(s, REMOUNTED) for s in remount_seeds or []]  # the longest first
    jobs += [(s, None) for s in seeds]
    jobs += [(s, name) for name in EXERCISE_CLASSES for s in exercise_seeds or []]
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(_score_job, jobs, chunksize=1)
    else:
        results = [_score_job(job) for job in jobs]
    for result in results:
        for key, tally in result.items():
            totals.setdefault(key, Tally()).merge(tally)
    report: dict[str, dict[str, dict[str, float]]] = {}
    for (detector, name), tally in totals.items():
        report.setdefault(detector, {})[name] = figures(tally)
    return report


def missed_floors(report: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Every floor missed, with its detector and class. A class with no sessions is not judged."""
    missed = []

    def check(detector: str, name: str, metric: str, bound: float, lower: bool) -> None:
        value = report.get(detector, {}).get(name, {}).get(metric, float("nan"))
        if np.isnan(value):
            return
        if (lower and value < bound) or (not lower and value > bound):
            missed.append(f"{detector} [{name}]: {metric} {value:.4g} {'<' if lower else '>'} {bound}")

    for detector, floors in FLOORS.items():
        for name in report.get(detector, {}):
            if name == "isometric" or name in EXERCISE_CLASSES:
                continue
            for metric, bound in floors.items():
                if metric.endswith("_min"):
                    check(detector, name, metric[:-4], bound, True)
                elif metric.endswith("_max"):
                    check(detector, name, metric[:-4], bound, False)
                else:
                    check(detector, name, metric, bound, False)
        check(detector, "no still start", "f1", NO_STILL_F1_MIN, True)
    for metric, bound in ISOMETRIC_FLOORS.items():
        check("force", "isometric", metric.removesuffix("_min"), bound, metric.endswith("_min"))
    for mode, exercise_floors in (("imu", SHIN_ONLY_EXERCISE_FLOORS), (THIGH_MODE, EXERCISE_FLOORS)):
        for name in EXERCISE_CLASSES:
            for metric, bound in exercise_floors.items():
                check(mode, name, metric.removesuffix("_min").removesuffix("_max"), bound, metric.endswith("_min"))
    return missed


def shin_only_shortfalls(report: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """The standing exercises' shin-only P95s over the reverse curl's floor (EXERCISE_FLOORS) though
    within SHIN_ONLY_EXERCISE_FLOORS: said in every report, not hidden by the looser guard."""
    out = []
    for name in EXERCISE_CLASSES:
        for metric in ("onset_p95_ms", "offset_p95_ms"):
            value = report.get("imu", {}).get(name, {}).get(metric, float("nan"))
            if EXERCISE_FLOORS[metric] < value <= SHIN_ONLY_EXERCISE_FLOORS[metric]:
                out.append(f"imu [{name}]: {metric} {value:.4g} > {EXERCISE_FLOORS[metric]} (met with a thigh sensor, imu+thigh)")
    return out


COLUMNS = [("sessions", "n", "{:.0f}"), ("f1", "F1", "{:.4f}"), ("precision", "P", "{:.3f}"), ("recall", "R", "{:.3f}"),
           ("onset_med_ms", "on med", "{:.0f}"), ("onset_p95_ms", "on P95", "{:.0f}"),
           ("offset_med_ms", "off med", "{:.0f}"), ("offset_p95_ms", "off P95", "{:.0f}"),
           ("dur_bias_s", "dur bias", "{:+.3f}"), ("dur_loa_s", "LoA s", "{:.2f}"),
           ("tut_ecc_err_pct", "TUTecc%", "{:.2f}"), ("tut_ecc_err_p95_pct", "P95", "{:.1f}"),
           ("tut_tension_err_pct", "TUTten%", "{:.2f}"), ("latency_p95_ms", "lat P95", "{:.0f}"),
           ("inverted", "invert", "{:.0f}"), ("truncated_flagged", "cut flag", "{:.2f}"),
           ("counted", "pulls", "{:.3f}"), ("iso_tut_tension_err_pct", "pullTUT%", "{:.2f}")]


def print_report(
    report: dict[str, dict[str, dict[str, float]]], n: int, elapsed_s: float, n_exercise: int = 0, n_remount: int = 0,
    first_seed: int = 0,
) -> None:
    standing = f" + {n_exercise} of each standing exercise" if n_exercise else ""
    moved = f" + {n_remount} with the sensor moved between legs" if n_remount else ""
    seeds = f" (seeds from {first_seed}: held out from tuning)" if first_seed else ""
    print(f"bandlog detector accuracy: {n} simulated sessions of the wider model{standing}{moved}{seeds}, {elapsed_s:.0f} s")
    print("(|error| median/P95 in ms; TUT errors: per-session median |%| and P95; 'pulls' = isometric pulls counted;")
    print(" 'cut flag' = reps cut by the recording whose row says truncated; blank = not applicable)")
    print(f"{'detector':10s} {'class':15s} " + " ".join(f"{h:>8s}" for _, h, _ in COLUMNS))
    for detector in (*MODES, THIGH_MODE, BASELINE):
        for name in CLASSES:
            fig = report.get(detector, {}).get(name)
            if fig is None:
                continue
            cells = ["" if np.isnan(fig[key]) else fmt.format(fig[key]) for key, _, fmt in COLUMNS]
            print(f"{detector:10s} {name:15s} " + " ".join(f"{c:>8s}" for c in cells))
    base = report.get(BASELINE, {}).get("all")
    if base is None:  # no reverse-curl sessions (--sessions 0): no baseline to compare with
        return
    print("\nratio to the naive baseline (force-slope threshold), same recordings, all eccentric sessions:")
    for mode in MODES:
        fig = report[mode]["all"]
        print(f"  {mode:10s} F1 x{fig['f1'] / max(base['f1'], 1e-9):.2f}; onset error x{fig['onset_med_ms'] / base['onset_med_ms']:.2f};"
              f" offset error x{fig['offset_med_ms'] / base['offset_med_ms']:.2f}; TUT_ecc error x{fig['tut_ecc_err_pct'] / base['tut_ecc_err_pct']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=240)
    parser.add_argument("--quick", action="store_true", help="40 sessions (a quick look; floors still checked)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--exercise-sessions", type=int, default=None,
                        help="sessions of each standing exercise (default: a quarter of the reverse-curl sessions)")
    parser.add_argument("--remount-sessions", type=int, default=None,
                        help="both-leg sessions with the sensor moved between sets (default: a quarter of the reverse-curl sessions)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="each class's seeds start here: the detector's constants were chosen on seeds from 0, so e.g. "
                             "--first-seed 240 scores it on sessions nothing was tuned on")
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.sessions
    n_exercise = max(1, n // 4) if args.exercise_sessions is None else args.exercise_sessions
    n_remount = max(1, n // 4) if args.remount_sessions is None else args.remount_sessions
    started = time.perf_counter()
    first = args.first_seed
    report = evaluate(list(range(first, first + n)), workers=args.workers, exercise_seeds=list(range(first, first + n_exercise)),
                      remount_seeds=list(range(first, first + n_remount)))
    print_report(report, n, time.perf_counter() - started, n_exercise, n_remount, first)
    missed = missed_floors(report)
    for line in missed:
        print(f"FLOOR MISSED  {line}")
    for line in shin_only_shortfalls(report):
        print(f"SHIN ALONE    {line}")
    if not missed:
        print("all floors met" + (" (the shin alone within the literature's 250 ms P95 only, as said above)" if shin_only_shortfalls(report) else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
