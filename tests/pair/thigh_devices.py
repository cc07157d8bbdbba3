"""A simulated session as a shank IMU and a separate thigh IMU deliver it (for the sans-I/O tests).

The shank's samples come as SimulatedSession.record gives them (BLE batching, losses and host arrival
times). The thigh sensor has a clock of its own, t_thigh = offset_s + (1 + drift) * t_shank, samples
at 100 Hz on it, and its notifications (1-4 samples) reach the host latency_s after their last sample
plus a little jitter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bandlog.core.samples import SampleBlock
from bandlog.sim import SimulatedSession, random_spec, simulate_session


@dataclass(frozen=True)
class ShankAndThigh:
    session: SimulatedSession
    shank: SampleBlock
    thigh: SampleBlock
    offset_s: float
    drift: float

    def true_thigh_time(self, t_shank_s: np.ndarray | float) -> np.ndarray:
        return self.offset_s + (1.0 + self.drift) * np.asarray(t_shank_s)


@lru_cache(maxsize=4)
def _session(seed: int, exercise: str, reps: int) -> SimulatedSession:
    return simulate_session(random_spec(seed, n_sets=1, reps_per_set=reps, exercise=exercise))


def shank_and_thigh(seed: int, offset_s: float, drift: float, shank_latency_s: float, thigh_latency_s: float,
                    exercise: str = "standing-l", reps: int = 6) -> ShankAndThigh:
    session = _session(seed, exercise, reps)
    recorded = session.record(100.0, "imu")
    assert recorded.t_host_s is not None
    shank = SampleBlock(t_s=recorded.t_s, acc_ms2=recorded.acc_ms2, gyro_dps=recorded.gyro_dps,
                        t_host_s=recorded.t_host_s + shank_latency_s)
    thigh_t = offset_s + np.arange(0.0, (1.0 + drift) * session.duration_s, 0.01)
    true_t = (thigh_t - offset_s) / (1.0 + drift)
    read = session.sample(true_t, thigh=True)
    rng = np.random.default_rng([seed, 31])
    host = np.empty_like(true_t)
    start = 0
    while start < len(true_t):
        stop = min(start + int(rng.integers(1, 5)), len(true_t))
        host[start:stop] = true_t[stop - 1] + thigh_latency_s + rng.exponential(0.004)
        start = stop
    thigh = SampleBlock(t_s=thigh_t, acc_ms2=read.thigh_acc_ms2, gyro_dps=read.thigh_gyro_dps, t_host_s=host)
    return ShankAndThigh(session, shank, thigh, offset_s, drift)


def notifications(block: SampleBlock) -> list[tuple[int, int]]:
    """(start, stop) of each run of samples that arrived together."""
    assert block.t_host_s is not None
    edges = np.flatnonzero(np.diff(block.t_host_s) > 0) + 1
    return list(zip([0, *edges.tolist()], [*edges.tolist(), len(block)]))


def arrivals(devices: ShankAndThigh, thigh_kept: np.ndarray | None = None) -> list[tuple[str, SampleBlock]]:
    """('shank' | 'thigh', block) per notification, in host arrival order; thigh_kept masks thigh samples lost."""
    kept = np.ones(len(devices.thigh), dtype=bool) if thigh_kept is None else thigh_kept
    out: list[tuple[float, int, str, SampleBlock]] = []
    for a, b in notifications(devices.shank):
        out.append((float(devices.shank.t_host_s[a]), 0, "shank", devices.shank.slice(a, b)))
    for a, b in notifications(devices.thigh):
        if kept[a:b].any():
            block = devices.thigh.slice(a, b).take(kept[a:b])
            out.append((float(block.t_host_s[0]), 1, "thigh", block))
    out.sort(key=lambda item: item[:2])
    return [(role, block) for _, _, role, block in out]
