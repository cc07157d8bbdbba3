"""Stalls are pauses inside an eccentric; a smooth eccentric's slow start and end are not stalls."""

from __future__ import annotations

import numpy as np

from bandlog.detect.analysis import analyze_block
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import count_stalls
from bandlog.sim import random_spec, simulate_session

PARAMS = DetectorParams()


def _count(t: np.ndarray, angle: np.ndarray) -> int:
    rate = np.gradient(angle, t)
    return count_stalls(
        t, angle, rate, float(t[0]), float(t[-1]), 0.0,
        min_s=PARAMS.debounce_stall_s, rate_fraction=PARAMS.stall_rate_fraction,
        floor_dps=PARAMS.stall_floor_dps, edge_fraction=PARAMS.stall_edge_fraction,
    )


def _min_jerk(t: np.ndarray, duration_s: float, rom_deg: float) -> np.ndarray:
    x = np.clip(t / duration_s, 0.0, 1.0)
    return rom_deg * (1 - (10 * x**3 - 15 * x**4 + 6 * x**5))


def test_smooth_minimum_jerk_eccentric_has_no_stall() -> None:
    t = np.arange(0.0, 4.0, 0.01)
    assert _count(t, _min_jerk(t, 4.0, 100.0)) == 0


def test_a_half_second_pause_mid_range_is_one_stall_and_two_pauses_are_two() -> None:
    t = np.arange(0.0, 5.0, 0.01)
    moving = _min_jerk(t, 5.0, 100.0)
    one = moving.copy()
    one[(t > 2.0) & (t < 2.5)] = moving[np.searchsorted(t, 2.0)]
    assert _count(t, one) == 1
    two = one.copy()
    two[(t > 3.2) & (t < 3.6)] = one[np.searchsorted(t, 3.2)]
    assert _count(t, two) == 2


def test_stall_counts_match_the_motion_model() -> None:
    pairs = []
    for seed in (20, 21, 26):
        session = simulate_session(random_spec(seed))
        reps, _ = analyze_block(session.record(100.0, "force+imu"), session.spec.target_ecc_s)
        for rep in reps:
            truth = min(session.truth_reps, key=lambda r: abs(r.onset_s - rep.ecc_start_s))
            pairs.append((truth.stalls, rep.stalls))
    assert len(pairs) >= 25
    assert all(detected == 0 for truth, detected in pairs if truth == 0), "a smooth rep was reported as stalled"
    exact = sum(truth == detected for truth, detected in pairs) / len(pairs)
    assert exact >= 0.85, pairs
