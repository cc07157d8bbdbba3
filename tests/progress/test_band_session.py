"""A session's band curve from its traces (bandlog.progress.band_session): which samples count, and the
time the load cell's zero drift is measured from."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bandlog.progress.band_geometry import Geometry
from bandlog.progress.band_session import SessionTrace, band_from_traces, settled_after, tare_s, traces_curve, without_drift
from bandlog.progress.band_torque import rep_torques


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
    assert curve.drift_taken_n_per_min == pytest.approx(0.9, abs=0.05)
    assert curve.first_rep == int(np.sum(trace.t_s <= trace.settled_s))
    assert curve.extension is not None
    assert float(curve.extension.force_n(60.0)) == pytest.approx(24.0, abs=0.1)  # 0.4 N/deg x 60 deg: no drift left in it


def test_the_torque_rests_on_the_force_the_curve_took_the_drift_out_of() -> None:
    trace, law = _trace(t0_s=50.0, drift_n_per_min=0.9)
    curve = traces_curve([trace])
    assert curve.drift_taken_n_per_min == pytest.approx(0.9, abs=0.05)
    corrected = without_drift(trace, curve, tare_s([trace]))
    assert np.abs(corrected.force_n - law).max() < 1.5  # the noise, not 0.9 N/min over 2 min
    assert np.abs(trace.force_n - law).max() > 1.5
    geometry = Geometry(0.4, None)
    reps = pd.DataFrame({"set": [1], "ecc_start_s": [trace.t_s[-400]], "ecc_end_s": [trace.t_s[-100]]})
    band = band_from_traces([trace], reps, geometry)
    assert band is not None
    assert band.peak_torque_n_m == [rep_torques(corrected.t_s, corrected.pitch_deg, corrected.force_n,
                                                [(trace.t_s[-400], trace.t_s[-100])], geometry)[0][0]]
    still, _ = _trace(t0_s=50.0, drift_n_per_min=0.0)
    kept = traces_curve([still])
    assert without_drift(still, replace(kept, drift_taken_n_per_min=0.0), 50.0) is still  # nothing taken out: the trace as it is
    assert np.abs(without_drift(still, kept, 50.0).force_n - still.force_n).max() < 0.05  # no drift: next to nothing taken out
