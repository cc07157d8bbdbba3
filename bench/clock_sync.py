"""Two-device clock alignment accuracy: ClockAligner against host arrival times alone.

    python bench/clock_sync.py [--sessions 50] [--workers 2]

Each simulated session (one set of 8 reps, bandlog.sim) is recorded twice, as two BLE devices would:
force at 80 Hz with its clock offset by a random 0-200 ms and drifting by a random 20-500 ppm (either
sign), gyro/accel at 100 Hz; each device adds its own fixed 0-100 ms latency before its
notifications reach the host (firmware buffering, connection-event scheduling), on top of the
simulation's BLE batching and jitter. Blocks are fed in host arrival order. The alignment error is
the estimated minus the true force-clock time of the newest IMU sample, taken at every IMU arrival
after the third rep ended. Baseline: the same aligner's host-arrival-only (lower-envelope) mapping,
measured in the same run. Exits non-zero if the median error exceeds 20 ms.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from bandlog.core.samples import SampleBlock
from bandlog.sim import random_spec, simulate_session
from bandlog.sources.clock_sync import ClockAligner

TARGET_MEDIAN_MS = 20.0


@dataclass(frozen=True)
class TwoDevices:
    """One session as two devices deliver it; the force clock reads offset_s + (1 + drift) * t."""

    force: SampleBlock
    imu: SampleBlock
    offset_s: float
    drift: float
    settled_s: float
    """End of the third rep (true time): from here on the estimate must hold."""

    def true_force_time(self, t_imu_s: np.ndarray | float) -> np.ndarray:
        return self.offset_s + (1.0 + self.drift) * np.asarray(t_imu_s)


def two_devices(seed: int, offset_s: float, drift: float, force_latency_s: float, imu_latency_s: float) -> TwoDevices:
    """A one-set session recorded by a force device and a separate IMU (see module docstring)."""
    session = simulate_session(random_spec(seed, n_sets=1, reps_per_set=8))
    f = session.record(80.0, "force")
    i = session.record(100.0, "imu")
    assert f.t_host_s is not None and i.t_host_s is not None
    force = SampleBlock(t_s=offset_s + (1.0 + drift) * f.t_s, force_n=f.force_n, t_host_s=f.t_host_s + force_latency_s)
    imu = SampleBlock(t_s=i.t_s, acc_ms2=i.acc_ms2, gyro_dps=i.gyro_dps, t_host_s=i.t_host_s + imu_latency_s)
    return TwoDevices(force, imu, offset_s, drift, session.truth_reps[2].end_s)


def notifications(block: SampleBlock) -> list[tuple[int, int]]:
    """(start, stop) of each run of samples that arrived together."""
    assert block.t_host_s is not None
    edges = np.flatnonzero(np.diff(block.t_host_s) > 0) + 1
    return list(zip([0, *edges.tolist()], [*edges.tolist(), len(block)]))


def replay(devices: TwoDevices, aligner: ClockAligner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed both devices in arrival order; (IMU time, aligned error s, host-only error s) per IMU arrival."""
    assert devices.force.t_host_s is not None and devices.imu.t_host_s is not None
    arrivals = [(devices.force.t_host_s[a], 0, a, b) for a, b in notifications(devices.force)]
    arrivals += [(devices.imu.t_host_s[a], 1, a, b) for a, b in notifications(devices.imu)]
    arrivals.sort()
    t, err, base = [], [], []
    for _, which, a, b in arrivals:
        if which == 0:
            aligner.feed_force(devices.force.slice(a, b))
            continue
        aligner.feed_imu(devices.imu.slice(a, b))
        if aligner.ready:
            now = float(devices.imu.t_s[b - 1])
            truth = float(devices.true_force_time(now))
            t.append(now)
            err.append(float(aligner.force_time(now)) - truth)
            base.append(float(aligner.host_arrival_force_time(now)) - truth)
    return np.array(t), np.array(err), np.array(base)


def score(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(aligned errors, host-only errors) after the third rep, and the time to confidence, for one seed."""
    rng = np.random.default_rng([seed, 77])
    drift = rng.uniform(20e-6, 500e-6) * rng.choice([-1.0, 1.0])
    devices = two_devices(seed, rng.uniform(0.0, 0.2), drift, rng.uniform(0.0, 0.1), rng.uniform(0.0, 0.1))
    aligner = ClockAligner()
    t, err, base = replay(devices, aligner)
    confident_at = aligner.history[0].t_s if aligner.history else float("nan")
    after = t >= devices.settled_s
    return err[after], base[after], confident_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    seeds = list(range(args.first_seed, args.first_seed + args.sessions))
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(score, seeds))
    aligned = np.concatenate([r[0] for r in results]) * 1e3
    host = np.concatenate([r[1] for r in results]) * 1e3
    worst = np.array([np.max(np.abs(r[0])) for r in results]) * 1e3
    print(f"{len(seeds)} sessions, {len(aligned)} estimates after the third rep, {time.perf_counter() - started:.0f} s")
    for name, e in (("aligned (lag fit)", aligned), ("host arrival only", host)):
        print(f"  {name:20s} |error| median {np.median(np.abs(e)):5.1f} ms, P95 {np.percentile(np.abs(e), 95):5.1f} ms,"
              f" signed median {np.median(e):+5.1f} ms")
    print(f"  per-session worst |error|: median {np.median(worst):.1f} ms, max {np.max(worst):.1f} ms;"
          f" sessions within 20 ms throughout: {np.mean(worst <= 20.0):.0%}")
    print(f"  time to the first fine measurement: median {np.nanmedian([r[2] for r in results]):.1f} s of IMU time")
    ratio = np.median(np.abs(aligned)) / max(np.median(np.abs(host)), 1e-9)
    print(f"  median error ratio aligned / host-only: {ratio:.2f}")
    return 0 if np.median(np.abs(aligned)) <= TARGET_MEDIAN_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
