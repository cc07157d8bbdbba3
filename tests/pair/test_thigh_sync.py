"""The sans-I/O thigh-to-shank clock aligner on simulated two-IMU recordings with a known offset and drift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from thigh_devices import ShankAndThigh, arrivals, shank_and_thigh

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.sources.thigh_sync import ThighAligner, correlation_at_lags


def _replay(devices: ShankAndThigh, aligner: ThighAligner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed both in arrival order; (shank time, aligned error s, host-only error s) at each shank arrival once aligned."""
    t, err, host_only = [], [], []
    for role, block in arrivals(devices):
        if role == "thigh":
            aligner.feed_partner(block)
            continue
        aligner.feed_line(block)
        if aligner.confident:
            now = float(block.t_s[-1])
            truth = float(devices.true_thigh_time(now))
            t.append(now)
            err.append(float(aligner.thigh_time(now)) - truth)
            host_only.append(float(aligner.host_arrival_partner_time(now)) - truth)
    return np.array(t), np.array(err), np.array(host_only)


@pytest.mark.parametrize(("seed", "offset_s", "drift"), [(0, 0.120, 300e-6), (3, -0.250, -450e-6)])
def test_standing_reps_align_the_thigh_within_a_few_ms(seed: int, offset_s: float, drift: float) -> None:
    # the thigh's notifications reach the host 50 ms later than the shank's: host times alone are 50 ms off
    devices = shank_and_thigh(seed, offset_s, drift, 0.010, 0.060, reps=8)
    aligner = ThighAligner()
    t, err, host_only = _replay(devices, aligner)
    second_rep_s = devices.session.truth_reps[1].onset_s
    assert aligner.history and aligner.history[0].t_s < second_rep_s  # one rep is enough to align on
    assert len(t) > 1000 and t[-1] > devices.session.truth_reps[-1].end_s
    assert np.max(np.abs(err)) <= 0.006, f"worst {1e3 * np.max(np.abs(err)):.1f} ms"
    assert np.median(np.abs(err)) <= 0.002
    assert np.median(np.abs(host_only)) >= 0.040  # the fine step is what gets it there
    estimate = aligner.estimate()
    assert estimate.confident and estimate.method == "gyro-correlation" and estimate.confidence > 0.95
    assert estimate.drift_ppm == pytest.approx(drift * 1e6, abs=60.0)
    assert estimate.offset_s == pytest.approx(offset_s + drift * estimate.t_imu_s, abs=0.004)
    assert float(aligner.line_time(aligner.thigh_time(42.0))) == pytest.approx(42.0, abs=1e-9)


def test_the_direction_of_either_axis_does_not_matter() -> None:
    devices = shank_and_thigh(0, 0.120, 300e-6, 0.010, 0.060)
    flipped = replace(devices, thigh=replace(devices.thigh, gyro_dps=-devices.thigh.gyro_dps))
    errors = []
    for case in (devices, flipped):
        _t, err, _ = _replay(case, ThighAligner())
        errors.append(err)
    np.testing.assert_allclose(errors[0], errors[1], atol=1e-6)
    assert np.max(np.abs(errors[0])) <= 0.006


def test_a_seated_thigh_that_hardly_turns_is_never_finely_aligned() -> None:
    devices = shank_and_thigh(1, 0.120, 300e-6, 0.010, 0.060, exercise="reverse-curl")
    aligner = ThighAligner()
    _replay(devices, aligner)
    estimate = aligner.estimate()
    assert not aligner.history and not estimate.confident and estimate.method == "host-arrival"
    # the host-arrival estimate stands: the thigh's extra latency (50 ms) puts it that much early
    truth = float(devices.true_thigh_time(estimate.t_imu_s))
    assert abs(estimate.t_imu_s + estimate.offset_s - truth + 0.050) < 0.015


def test_blocks_without_a_gyro_or_host_times_are_refused() -> None:
    aligner = ThighAligner()
    with pytest.raises(ConfigError, match="thigh sensor's samples carry no gyro"):
        aligner.feed_partner(SampleBlock(t_s=np.arange(3.0), acc_ms2=np.zeros((3, 3)), t_host_s=np.arange(3.0)))
    with pytest.raises(ConfigError, match="host arrival"):
        aligner.feed_line(SampleBlock(t_s=np.arange(3.0), gyro_dps=np.zeros((3, 3))))


def test_correlation_at_lags_finds_a_known_shift_and_its_sign() -> None:
    t = np.arange(0.0, 20.0, 0.01)
    x = np.sin(2 * np.pi * t / 6.0) * (1 + 0.3 * np.sin(2 * np.pi * t / 13.0))
    lag_n, shift_n = 20, 7  # y's samples are 70 ms late, and it turns the other way at 0.4 of the rate
    y = -0.4 * np.concatenate([np.zeros(shift_n + lag_n), x, np.zeros(lag_n - shift_n)])
    r = correlation_at_lags(x, y, lag_n)
    assert len(r) == 2 * lag_n + 1
    best = int(np.argmax(np.abs(r)))
    assert best - lag_n == shift_n and r[best] == pytest.approx(-1.0, abs=1e-9)
