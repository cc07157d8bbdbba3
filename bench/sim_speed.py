"""How fast and how big simulated sessions are to build, record and sample.

    python bench/sim_speed.py [--n 20] [--minutes 10]

Builds N random sessions stretched to about --minutes each (3 sets x 12 reps, rests filling the
rest), then prints per-session build time, record(100 Hz) time, small sample() call cost, and peak
traced memory of one build. The baseline, measured in the same run, is one pass of np.gradient over
a 1 kHz grid as long as the session: the ratio says how many such array passes a build costs, which
stays comparable across machines and load.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from bandlog.sim import SessionSpec, random_spec, simulate_session


def _spec(seed: int, minutes: float) -> SessionSpec:
    probe = random_spec(seed, n_sets=3, reps_per_set=12, rest_between_sets_s=60.0)
    active = simulate_session(probe).duration_s - 2 * 60.0
    rest = max(60.0, (minutes * 60.0 - active) / 2)
    return random_spec(seed, n_sets=3, reps_per_set=12, rest_between_sets_s=rest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="sessions to build")
    parser.add_argument("--minutes", type=float, default=10.0, help="target session length")
    args = parser.parse_args()

    specs = [_spec(seed, args.minutes) for seed in range(args.n)]
    build_s, record_s, baseline_s, durations = [], [], [], []
    for spec in specs:
        t0 = time.perf_counter()
        session = simulate_session(spec)
        build_s.append(time.perf_counter() - t0)
        durations.append(session.duration_s)
        t0 = time.perf_counter()
        session.record(100.0)
        record_s.append(time.perf_counter() - t0)
        grid = np.random.default_rng(0).normal(size=int(session.duration_s * 1000))
        t0 = time.perf_counter()
        np.gradient(grid, 1e-3)
        baseline_s.append(time.perf_counter() - t0)

    t_small = np.array([10.0, 10.01, 10.02])
    calls = 2000
    t0 = time.perf_counter()
    for i in range(calls):
        session.sample(t_small + 0.03 * i)
    sample_us = (time.perf_counter() - t0) / calls * 1e6

    tracemalloc.start()
    simulate_session(specs[0])
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    build_med = statistics.median(build_s)
    base_med = statistics.median(baseline_s)
    print(f"sessions               {args.n}, median length {statistics.median(durations) / 60:.1f} min")
    print(f"build per session      median {build_med * 1e3:.0f} ms, max {max(build_s) * 1e3:.0f} ms (target < 1000 ms)")
    print(f"record(100 Hz)         median {statistics.median(record_s) * 1e3:.0f} ms")
    print(f"sample(3 samples)      {sample_us:.0f} us per call")
    print(f"peak memory, one build {peak_mb:.0f} MB (target < 100 MB)")
    print(f"baseline gradient pass median {base_med * 1e3:.1f} ms -> build/baseline ratio {build_med / base_med:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
