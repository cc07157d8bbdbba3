"""A session's band curve from its traces (bandlog.progress.band_session): which samples count, and the
time the load cell's zero drift is measured from."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.progress.band_session import SessionTrace, settled_after, traces_curve


def test_a_sets_samples_count_from_its_second_reps_start() -> None:
    """The detector's absolute angle is still settling until the second flexion has begun."""
    assert settled_after([(5.0, 12.0), (14.5, 21.0), (23.0, 30.0)]) == 14.5
    assert settled_after([(5.0, 12.0)]) == 12.0  # one rep: after it
    assert settled_after([(5.0, 12.0), (None, 21.0)]) == 12.0
    assert settled_after([]) == -np.inf


def _trace(t0_s: float, drift_n_per_min: float) -> tuple[SessionTrace, np.ndarray]:
    """Knee sweeping 10-100 deg at 30 deg/s with 1 s holds, 8 times; force = 0.4 N/deg + drift since t0_s."""
    hz = 100.0
    up = 10.0 + 30.0 * np.arange(0.0, 3.0, 1 / hz)
    cycle = np.concatenate([up, np.full(100, 100.0), up[::-1], np.full(100, 10.0)])
    angle = np.tile(cycle, 8)
    t = t0_s + np.arange(angle.size) / hz
    law = 0.4 * angle
    noise = np.random.default_rng(2).normal(0.0, 0.2, angle.size)
    trace = SessionTrace(1, t, angle, np.gradient(angle, 1 / hz), law + noise + drift_n_per_min / 60.0 * (t - t0_s), settled_s=t0_s + 8.0)
    return trace, law


@pytest.mark.parametrize("t0_s", [0.0, 5000.0])
def test_the_curve_is_the_one_at_the_sessions_first_sample_whatever_the_device_clock(t0_s: float) -> None:
    trace, _ = _trace(t0_s, 0.9)
    curve = traces_curve([trace])
    assert curve.drift_removed and curve.drift_n_per_min == pytest.approx(0.9, abs=0.05)
    assert curve.first_rep == int(np.sum(trace.t_s <= trace.settled_s))
    assert curve.extension is not None
    assert float(curve.extension.force_n(60.0)) == pytest.approx(24.0, abs=0.1)  # 0.4 N/deg x 60 deg: no drift left in it
