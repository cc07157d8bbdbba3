"""Per-rep metric error against simulated truth at each sample rate: where detect/rate_limits.py's
table of minimum rates comes from.

    python bench/rate_limits.py [--sessions 16] [--rates 5,8,10,15,20,25,50,100] [--workers 1]

Seeds 0..N-1 of the tidy model (`random_spec(seed)`: every session still-started, none cut) are
recorded at each rate, in the mode a metric needs (force+imu for the knee metrics, force for the
force metrics), run through the streaming Analyzer with no rate limit applied, and matched to the
true eccentrics (IoU >= 0.5, bench/accuracy.py's match). Per metric and rate it prints the error
(median and P95 |error| in %, or the share of reps that agree for counts and flags). The accuracy
bench scores timing at 25-200 Hz and none of these per-rep values, so a rate is taken to support a
metric when its error stays near what the highest rate gives in the same run (the reference): P95
|error| at most P95_MARGIN_PCT points above it, agreement at most AGREE_MARGIN below it, and the
reps found at all (rep F1 >= F1_MIN). The last lines give, per metric, the lowest rate from which
every higher rate tested passes: detect/rate_limits.py's table is read from them.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package: accuracy.py's rep matching
from accuracy import match

RATES_HZ = (5.0, 8.0, 10.0, 15.0, 20.0, 25.0, 50.0, 100.0)
PCT_METRICS = {
    # metric -> the mode it is measured in
    "ecc_duration_s": "force+imu",
    "peak_force_n": "force",
    "mean_ecc_velocity_dps": "force+imu",
    "peak_ecc_velocity_dps": "force+imu",
    "rom_deg": "force+imu",
}
AGREE_METRICS = {"stalls": "force+imu", "drop": "force+imu"}
"""Counts and flags: the share of reps whose value equals the truth's."""
P95_MARGIN_PCT = 2.0
AGREE_MARGIN = 0.03
F1_MIN = 0.98
"""Rep F1 (science.md 8) below which no per-rep metric stands: the reps themselves are not found."""


def score(args: tuple[int, float]) -> dict[str, list[float]]:
    """Errors of one session at one rate: metric -> list of per-rep errors (or 0/1 agreements)."""
    from bandlog.core.events import RepCompleted
    from bandlog.detect.analysis import Analyzer
    from bandlog.sim import random_spec, simulate_session

    seed, rate_hz = args
    spec = random_spec(seed)
    session = simulate_session(spec)
    truth = [r for r in session.truth_reps if not r.truncated]
    out: dict[str, list[float]] = {}
    for mode in ("force+imu", "force"):
        analyzer = Analyzer(target_ecc_s=spec.target_ecc_s, kinematics=False, rate_limits=())  # every metric, at every rate
        events = analyzer.feed(session.record(rate_hz=rate_hz, channels=mode)) + analyzer.finish()
        if analyzer.measured_rate_hz is not None:
            out.setdefault(f"measured {mode}", []).append(analyzer.measured_rate_hz)
        reps = [e.metrics for e in events if isinstance(e, RepCompleted) and e.metrics.ecc_start_s is not None]
        pairs = match([(r.ecc_start_s, r.ecc_end_s) for r in reps], [(t.onset_s, t.offset_s) for t in truth])
        out.setdefault(f"tp {mode}", []).append(len(pairs))
        out.setdefault(f"fp {mode}", []).append(len(reps) - len(pairs))
        out.setdefault(f"fn {mode}", []).append(len(truth) - len(pairs))
        for i, j in pairs:
            rep, true = reps[i], truth[j]
            for metric, want in PCT_METRICS.items():
                got, expected = getattr(rep, metric), getattr(true, metric)
                if want == mode and got is not None and expected:
                    out.setdefault(metric, []).append(100 * (got - expected) / expected)
            if mode == "force+imu":
                out.setdefault("stalls", []).append(float(rep.stalls == true.stalls))
                out.setdefault("drop", []).append(float(("drop" in rep.flags.split(";")) == true.drop))
    return out


def evaluate(sessions: int, rates: tuple[float, ...], workers: int) -> dict[float, dict[str, list[float]]]:
    jobs = [(seed, rate) for rate in rates for seed in range(sessions)]
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(score, jobs, chunksize=1)
    else:
        results = [score(job) for job in jobs]
    totals: dict[float, dict[str, list[float]]] = {rate: {} for rate in rates}
    for (_, rate), result in zip(jobs, results):
        for key, values in result.items():
            totals[rate].setdefault(key, []).extend(values)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in RATES_HZ))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    rates = tuple(sorted(float(r) for r in args.rates.split(",")))
    started = time.perf_counter()
    totals = evaluate(args.sessions, rates, args.workers)
    print(f"per-rep metric error against simulated truth, {args.sessions} sessions per rate, {time.perf_counter() - started:.0f} s")
    print(f"{'metric':24s} {'bound':>12s} " + " ".join(f"{r:>9g}Hz" for r in rates))
    ok: dict[str, list[bool]] = {}
    measured = [float(np.mean(totals[rate]["measured force+imu"])) for rate in rates]
    print(f"{'measured rate (Hz)':24s} {'':>12s} " + " ".join(f"{m:>11.2f}" for m in measured))
    for mode in ("force+imu", "force"):
        cells, passes = [], []
        for rate in rates:
            t = totals[rate]
            tp, fp, fn = (sum(t.get(f"{k} {mode}", [])) for k in ("tp", "fp", "fn"))
            f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
            cells.append(f"{f1:.3f}")
            passes.append(f1 >= F1_MIN)
        ok[f"rep F1 ({mode})"] = passes
        print(f"{'rep F1 (' + mode + ')':24s} {'>=' + format(F1_MIN, 'g'):>12s} " + " ".join(f"{c:>11s}" for c in cells))
    found = {mode: ok[f"rep F1 ({mode})"] for mode in ("force+imu", "force")}
    for metric, mode in PCT_METRICS.items():
        errors = [np.abs(totals[rate].get(metric, [])) for rate in rates]
        p95 = [float(np.percentile(e, 95)) if e.size else float("nan") for e in errors]
        bound = p95[-1] + P95_MARGIN_PCT
        cells = [f"{float(np.median(e)) if e.size else float('nan'):.1f}/{p:.1f}" for e, p in zip(errors, p95)]
        ok[metric] = [bool(p <= bound) and f for p, f in zip(p95, found[mode])]
        print(f"{metric:24s} {'P95<=' + format(bound, '.1f') + '%':>12s} " + " ".join(f"{c:>11s}" for c in cells))
    for metric, mode in AGREE_METRICS.items():
        shares = [float(np.mean(totals[rate][metric])) if totals[rate].get(metric) else float("nan") for rate in rates]
        least = shares[-1] - AGREE_MARGIN
        ok[metric] = [bool(v >= least) and f for v, f in zip(shares, found[mode])]
        print(f"{metric + ' agree':24s} {'>=' + format(least, '.3f'):>12s} " + " ".join(f"{v:>11.3f}" for v in shares))
    print(f"\n(med/P95 |error| %; the {rates[-1]:g} Hz column is the same-run reference the bounds are set from)")
    print("lowest rate from which every higher rate tested is within its bound:")
    for metric, passes in ok.items():
        lowest = None
        for rate, good in zip(reversed(rates), reversed(passes)):
            if not good:
                break
            lowest = rate
        at = "" if lowest is None else f" nominal ({measured[rates.index(lowest)]:.2f} Hz measured)"
        print(f"  {metric:24s} {'none' if lowest is None else format(lowest, 'g') + ' Hz'}{at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
