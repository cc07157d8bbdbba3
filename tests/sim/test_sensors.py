"""Shank IMU, load cell and BLE delivery behave like the sensors of science.md 6.4-6.5."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, MotionSource
from bandlog.sim import SimulatedSession, random_spec, simulate_session

SHORT = {"n_sets": 1, "reps_per_set": 4, "rest_between_sets_s": 20.0}


@pytest.fixture(scope="module")
def session() -> SimulatedSession:
    return simulate_session(random_spec(8, **SHORT))


def _rest_and_eccentric_times(s: SimulatedSession) -> np.ndarray:
    """Times without push-in thigh wobble or fidgets: eccentrics and bottom rests."""
    spans = [np.arange(r.ecc_move_start_s, r.end_s, 0.01) for r in s.truth_reps]
    t = np.concatenate(spans)
    for d in s.distractors:
        t = t[(t < d.start_s - 0.1) | (t > d.end_s + 0.1)]
    return t


@pytest.mark.parametrize("seed", [8, 9, 10])
def test_gyro_is_the_knee_rate_about_the_knee_axis(seed: int) -> None:
    s = simulate_session(random_spec(seed, **SHORT))
    t = _rest_and_eccentric_times(s)
    gyro = s.sample(t).gyro_dps - np.asarray(s.spec.gyro_bias_dps)
    rate = s.knee_rate_dps(t)
    tolerance = 0.04 * np.abs(rate) + 1.0  # scale error, random walk, white noise, quantisation
    assert np.all(np.abs(np.linalg.norm(gyro, axis=1) - np.abs(rate)) < tolerance)
    along_axis = gyro @ s.spec.knee_axis_sensor
    assert np.all(np.abs(along_axis - rate) < tolerance)  # sign: flexion is positive
    assert rate.min() < -40.0  # the eccentrics are in there


def test_accelerometer_reads_gravity_when_still_and_tilts_by_the_rom(session: SimulatedSession) -> None:
    s = session
    offset = np.asarray(s.spec.acc_offset_mg) * 1e-3 * STANDARD_GRAVITY_MS2
    for r in s.truth_reps:
        bottom = np.linspace(r.ecc_move_end_s + 0.2, r.end_s - 0.05, 20)
        top = np.linspace(r.top_s + 0.05, r.ecc_move_start_s, 20) if r.ecc_move_start_s - r.top_s > 0.1 else None
        acc_bottom = s.sample(bottom).acc_ms2 - offset
        magnitude = np.linalg.norm(acc_bottom, axis=1)  # white noise is ~0.02 m/s^2 per axis
        np.testing.assert_allclose(magnitude, STANDARD_GRAVITY_MS2, atol=0.1)
        assert magnitude.mean() == pytest.approx(STANDARD_GRAVITY_MS2, abs=0.03)
        if top is not None:
            acc_top = s.sample(top).acc_ms2 - offset
            a, b = acc_top.mean(axis=0), acc_bottom.mean(axis=0)
            tilt_deg = np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
            assert tilt_deg == pytest.approx(r.top_deg - r.bottom_deg, abs=2.5)


def test_load_cell_noise_and_drift_are_as_specified() -> None:
    s = simulate_session(random_spec(12, force_noise_n=0.3, force_quant_n=0.01, force_drift_n_per_min=0.6,
                                     force_gain_err=0.02, **SHORT))
    t = np.arange(0.0, s.duration_s, 0.01)
    residual = s.sample(t).force_n - s.true_force_n(t) * 1.02 - 0.6 * t / 60.0
    assert residual.std() == pytest.approx(0.3, rel=0.1)
    assert abs(residual.mean()) < 0.03


def test_sample_is_a_motion_source_and_clamps_outside_the_session(session: SimulatedSession) -> None:
    source: MotionSource = session
    block = source.sample(np.array([-1.0, 0.0, source.duration_s, source.duration_s + 5.0]))
    assert block.has_force and block.has_imu and len(block) == 4
    assert np.all(np.isfinite(block.force_n)) and np.all(np.isfinite(block.gyro_dps))


def test_record_channel_modes(session: SimulatedSession) -> None:
    full = session.record(50.0, "force+imu", ble_loss=False)
    force = session.record(50.0, "force", ble_loss=False)
    imu = session.record(50.0, "imu", ble_loss=False)
    assert full.channel_names() == ("force_n", "acc_x_ms2", "acc_y_ms2", "acc_z_ms2", "gyro_x_dps", "gyro_y_dps", "gyro_z_dps")
    assert force.acc_ms2 is None and force.gyro_dps is None and force.force_n is not None
    assert imu.force_n is None and imu.gyro_dps is not None
    np.testing.assert_array_equal(full.force_n, force.force_n)
    np.testing.assert_array_equal(full.gyro_dps, imu.gyro_dps)
    assert len(full) == int(np.floor(session.duration_s * 50.0)) + 1
    np.testing.assert_allclose(full.t_s, np.arange(len(full)) / 50.0)
    with pytest.raises(ConfigError, match="channels"):
        session.record(50.0, "gyro")
    with pytest.raises(ConfigError, match="rate_hz"):
        session.record(0.0)


@pytest.mark.parametrize("rate_hz", [25.0, 100.0, 200.0])
def test_random_ble_loss_matches_the_requested_fraction(rate_hz: float) -> None:
    s = simulate_session(random_spec(4, ble_loss_frac=0.02, ble_bursts_per_min=0.0, **SHORT))
    kept = s.record(rate_hz)
    total = int(np.floor(s.duration_s * rate_hz)) + 1
    lost = 1.0 - len(kept) / total
    assert 0.01 <= lost <= 0.03
    steps = np.round(np.diff(kept.t_s) * rate_hz)
    assert np.all(steps >= 1) and np.any(steps > 1)  # device times kept, gaps where lost
    assert np.all(np.diff(kept.t_host_s) >= 0) and np.all(kept.t_host_s > kept.t_s)


def test_ble_bursts_add_long_gaps_and_no_loss_means_nothing_lost() -> None:
    s = simulate_session(random_spec(4, ble_loss_frac=0.0, ble_bursts_per_min=6.0, **SHORT))
    kept = s.record(100.0)
    gaps = np.diff(kept.t_s)
    assert gaps.max() >= 0.1 and 1.0 - len(kept) / (np.floor(s.duration_s * 100.0) + 1) < 0.1
    clean = simulate_session(random_spec(4, ble_loss_frac=0.0, ble_bursts_per_min=0.0, **SHORT)).record(100.0)
    assert np.allclose(np.diff(clean.t_s), 0.01)
