"""Detector accuracy against simulated ground truth (science.md 5.9), one command:

    python bench/accuracy.py [--sessions 200] [--quick] [--workers 2]

For seeds 0..N-1 it simulates a session with `random_spec(seed)` (sample rate drawn per seed from
RATES_HZ), records it in each mode (force+imu, force, imu), runs the streaming analyzer and scores
it: rep precision/recall/F1 (match = IoU >= 0.5 with a true eccentric), onset/offset |error|,
eccentric-duration error, session TUT errors and live latency (EccentricEnded decided vs true
offset). A naive baseline (threshold on zero-phase-smoothed force slope, no hysteresis, no IMU)
runs on the same recordings; its ratio to each mode is printed. Exits 1 when a floor is missed.
`evaluate(seeds)` and `missed_floors(report)` are importable (tests/detect/test_accuracy_regression.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool

import numpy as np

MODES = ("force+imu", "force", "imu")
RATES_HZ = (25.0, 50.0, 80.0, 100.0, 100.0, 200.0)
IOU_MIN = 0.5
BASELINE = "baseline"

FLOORS: dict[str, dict[str, float]] = {
    # metric -> bound; names ending in _min are lower bounds, the rest upper bounds
    "force+imu": {"f1_min": 0.99, "onset_med_ms": 60, "onset_p95_ms": 150, "offset_med_ms": 60,
                  "offset_p95_ms": 150, "tut_ecc_err_pct": 3.0, "latency_p95_ms": 250},
    "force": {"f1_min": 0.99, "onset_med_ms": 120, "offset_med_ms": 150, "tut_tension_err_pct": 2.0,
              "tut_ecc_err_pct": 5.0},
    "imu": {"f1_min": 0.98, "onset_med_ms": 80, "offset_med_ms": 80, "latency_p95_ms": 250},
}


@dataclass
class Tally:
    """Raw scores of one detector over some sessions (mergeable)."""

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

    def merge(self, other: "Tally") -> None:
        for name, value in vars(other).items():
            if isinstance(value, list):
                getattr(self, name).extend(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def match(detected: list[tuple[float, float]], truth: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Greedy one-to-one pairs (detected index, truth index) with IoU >= IOU_MIN, best first."""
    pairs = []
    for i, (a0, a1) in enumerate(detected):
        for j, (b0, b1) in enumerate(truth):
            inter = min(a1, b1) - max(a0, b0)
            if inter <= 0:
                continue
            iou = inter / (max(a1, b1) - min(a0, b0))
            if iou >= IOU_MIN:
                pairs.append((iou, i, j))
    pairs.sort(reverse=True)
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
    segments = []
    for a, b in zip(edges[::2], edges[1::2]):
        if t_s[b - 1] - t_s[a] >= 0.3:
            segments.append((float(t_s[a]), float(t_s[b - 1])))
    return segments


def score_session(seed: int) -> dict[str, Tally]:
    from bandlog.analysis import Analyzer
    from bandlog.detect.events import EccentricEnded, RepCompleted
    from bandlog.sim import random_spec, simulate_session

    spec = random_spec(seed)
    session = simulate_session(spec)
    rate_hz = RATES_HZ[seed % len(RATES_HZ)]
    truth = [(r.onset_s, r.offset_s) for r in session.truth_reps]
    true_tut_ecc = sum(s.tut_ecc_s for s in session.truth_sets)
    true_tut_tension = sum(s.tut_tension_s for s in session.truth_sets)
    out: dict[str, Tally] = {}
    for mode in MODES:
        block = session.record(rate_hz=rate_hz, channels=mode)
        analyzer = Analyzer(target_ecc_s=spec.target_ecc_s)
        events = analyzer.feed(block) + analyzer.finish()
        summary = analyzer.summary()
        reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
        cue_at = {e.ecc_start_s: e.detected_at_s for e in events if isinstance(e, EccentricEnded)}
        tally = Tally()
        pairs = match([(r.ecc_start_s, r.ecc_end_s) for r in reps], truth)
        tally.tp, tally.fp, tally.fn = len(pairs), len(reps) - len(pairs), len(truth) - len(pairs)
        for i, j in pairs:
            rep, true = reps[i], session.truth_reps[j]
            tally.onset_err_s.append(rep.ecc_start_s - true.onset_s)
            tally.offset_err_s.append(rep.ecc_end_s - true.offset_s)
            tally.duration_err_s.append(rep.ecc_duration_s - true.ecc_duration_s)
            tally.duration_err_pct.append(100 * (rep.ecc_duration_s - true.ecc_duration_s) / true.ecc_duration_s)
            if rep.ecc_start_s in cue_at:
                tally.latency_s.append(cue_at[rep.ecc_start_s] - true.offset_s)
            if true.ecc_duration_s < 2.0:
                tally.fast_truth += 1
                tally.fast_called_fast += rep.tempo == "fast"
        tally.tut_ecc_err_pct.append(100 * (summary.tut_ecc_s - true_tut_ecc) / true_tut_ecc)
        if summary.tut_tension_s is not None and true_tut_tension > 0:
            tally.tut_tension_err_pct.append(100 * (summary.tut_tension_s - true_tut_tension) / true_tut_tension)
        out[mode] = tally
        if mode == "force":
            assert block.force_n is not None
            naive = naive_eccentrics(block.t_s, block.force_n)
            base = Tally()
            base_pairs = match(naive, truth)
            base.tp, base.fp, base.fn = len(base_pairs), len(naive) - len(base_pairs), len(truth) - len(base_pairs)
            for i, j in base_pairs:
                base.onset_err_s.append(naive[i][0] - truth[j][0])
                base.offset_err_s.append(naive[i][1] - truth[j][1])
                dur = truth[j][1] - truth[j][0]
                base.duration_err_s.append(naive[i][1] - naive[i][0] - dur)
                base.duration_err_pct.append(100 * (naive[i][1] - naive[i][0] - dur) / dur)
            base.tut_ecc_err_pct.append(100 * (sum(b - a for a, b in naive) - true_tut_ecc) / true_tut_ecc)
            out[BASELINE] = base
    return out


def _pct(values: list[float], q: float, scale: float = 1.0) -> float:
    return float(np.percentile(np.abs(values), q)) * scale if values else float("nan")


def figures(t: Tally) -> dict[str, float]:
    precision = t.tp / (t.tp + t.fp) if t.tp + t.fp else 0.0
    recall = t.tp / (t.tp + t.fn) if t.tp + t.fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    dur = np.asarray(t.duration_err_s)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "onset_med_ms": _pct(t.onset_err_s, 50, 1000),
        "onset_p95_ms": _pct(t.onset_err_s, 95, 1000),
        "offset_med_ms": _pct(t.offset_err_s, 50, 1000),
        "offset_p95_ms": _pct(t.offset_err_s, 95, 1000),
        "dur_med_pct": _pct(t.duration_err_pct, 50),
        "dur_bias_s": float(dur.mean()) if dur.size else float("nan"),
        "dur_loa_s": float(1.96 * dur.std()) if dur.size else float("nan"),
        "tut_ecc_err_pct": _pct(t.tut_ecc_err_pct, 50),
        "tut_ecc_err_p95_pct": _pct(t.tut_ecc_err_pct, 95),
        "tut_tension_err_pct": _pct(t.tut_tension_err_pct, 50),
        "tut_tension_err_p95_pct": _pct(t.tut_tension_err_pct, 95),
        "latency_med_ms": float(np.median(t.latency_s)) * 1000 if t.latency_s else float("nan"),
        "latency_p95_ms": float(np.percentile(t.latency_s, 95)) * 1000 if t.latency_s else float("nan"),
        "fast_recall": t.fast_called_fast / t.fast_truth if t.fast_truth else float("nan"),
    }


def evaluate(seeds: list[int], workers: int = 2) -> dict[str, dict[str, float]]:
    """Score every mode (and the baseline) over the given seeds; returns figures per detector."""
    totals = {name: Tally() for name in (*MODES, BASELINE)}
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(score_session, seeds, chunksize=1)
    else:
        results = [score_session(s) for s in seeds]
    for result in results:
        for name, tally in result.items():
            totals[name].merge(tally)
    return {name: figures(t) for name, t in totals.items()}


def missed_floors(report: dict[str, dict[str, float]]) -> list[str]:
    missed = []
    for mode, floors in FLOORS.items():
        for name, bound in floors.items():
            if name.endswith("_min"):
                value = report[mode][name[:-4]]
                if not value >= bound:
                    missed.append(f"{mode}: {name[:-4]} {value:.4f} < {bound}")
            else:
                value = report[mode][name]
                if not value <= bound:
                    missed.append(f"{mode}: {name} {value:.1f} > {bound}")
    return missed


def _print(report: dict[str, dict[str, float]], n: int, elapsed_s: float) -> None:
    cols = [("precision", "P", "{:.4f}"), ("recall", "R", "{:.4f}"), ("f1", "F1", "{:.4f}"),
            ("onset_med_ms", "on med", "{:.0f}"), ("onset_p95_ms", "on P95", "{:.0f}"),
            ("offset_med_ms", "off med", "{:.0f}"), ("offset_p95_ms", "off P95", "{:.0f}"),
            ("dur_med_pct", "dur |%|", "{:.1f}"), ("dur_bias_s", "dur bias s", "{:+.3f}"),
            ("dur_loa_s", "LoA +-s", "{:.3f}"), ("tut_ecc_err_pct", "TUTecc %", "{:.2f}"),
            ("tut_ecc_err_p95_pct", "P95", "{:.2f}"), ("tut_tension_err_pct", "TUTten %", "{:.2f}"),
            ("tut_tension_err_p95_pct", "P95", "{:.2f}"), ("latency_med_ms", "lat med", "{:.0f}"),
            ("latency_p95_ms", "lat P95", "{:.0f}"), ("fast_recall", "fast ok", "{:.3f}")]
    print(f"bandlog detector accuracy: {n} simulated sessions, {elapsed_s:.0f} s")
    print("(errors are |error| median/P95 in ms unless marked; TUT errors are per-session median |%| and P95)")
    print(f"{'detector':10s} " + " ".join(f"{h:>9s}" for _, h, _ in cols))
    for name, fig in report.items():
        print(f"{name:10s} " + " ".join(f"{fmt.format(fig[key]):>9s}" for key, _, fmt in cols))
    base = report[BASELINE]
    print("\nratio to the naive baseline (force-slope threshold), same recordings:")
    for mode in MODES:
        fig = report[mode]
        print(f"  {mode:10s} F1 x{fig['f1'] / max(base['f1'], 1e-9):.2f}; onset error x{fig['onset_med_ms'] / base['onset_med_ms']:.2f};"
              f" offset error x{fig['offset_med_ms'] / base['offset_med_ms']:.2f};"
              f" TUT_ecc error x{fig['tut_ecc_err_pct'] / base['tut_ecc_err_pct']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="40 sessions (a quick look; floors still checked)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    n = 40 if args.quick else args.sessions
    started = time.perf_counter()
    report = evaluate(list(range(n)), workers=args.workers)
    _print(report, n, time.perf_counter() - started)
    missed = missed_floors(report)
    for line in missed:
        print(f"FLOOR MISSED  {line}")
    if not missed:
        print("all floors met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
