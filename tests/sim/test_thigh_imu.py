"""A second IMU on the thigh (SimulatedSession.sample/record with thigh=True, bandlog.sim.imu.thigh_imu):
the thigh's turn less the shank's is the knee angle, and a sway, which turns both, cancels from it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

import bandlog.sim.session as session_module
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim import SimulatedSession, random_spec, simulate_session
from bandlog.sim.imu import sensor_from_world
from bandlog.sim.planted import EXERCISES, PLANTED, PlantedGeometry, planted_geometry, shank_lean_deg, thigh_lean_deg
from bandlog.sim.remount import both_legs_spec

SHORT = {"n_sets": 1, "reps_per_set": 4}
EXACT_GYROS = {"gyro_random_walk_dps_rts": 1e-6, "gyro_scale_err": (0.0, 0.0, 0.0), "thigh_gyro_scale_err": (0.0, 0.0, 0.0)}
Z = np.array([0.0, 0.0, 1.0])


def _hinge_rates_dps(session: SimulatedSession, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shank, thigh): each sensor's gyro less its bias, about its own mounting applied to +z."""
    spec = session.spec
    block = session.sample(t_s, thigh=True)
    assert block.gyro_dps is not None and block.thigh_gyro_dps is not None
    shank = (block.gyro_dps - np.asarray(spec.gyro_bias_dps)) @ (np.asarray(spec.imu_rotation) @ Z)
    thigh = (block.thigh_gyro_dps - np.asarray(spec.thigh_gyro_bias_dps)) @ (np.asarray(spec.thigh_imu_rotation) @ Z)
    return shank, thigh


def _turn_z(deg: np.ndarray) -> np.ndarray:
    """(n,3,3) rotations about +z (world from segment for a segment turned by deg)."""
    a = np.deg2rad(deg)
    c, s, zero, one = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_thigh_gyro_less_the_shank_gyro_integrates_to_the_knee_angle(exercise: str) -> None:
    """About +z the shank turns by -(its lean) and the thigh by +(its lean): knee = thigh - shank,
    all through a set; the thigh's own integral is thigh_turn_deg (planted: planted.py's phi_t)."""
    spec = random_spec(5, exercise=exercise, **SHORT, **EXACT_GYROS, thigh_wobble_deg=3.0)
    session = simulate_session(spec)
    t = np.arange(session.truth_reps[0].start_s, session.truth_reps[-1].end_s, 0.001)
    shank, thigh = _hinge_rates_dps(session, t)
    knee_deg = cumulative_trapezoid(thigh - shank, t, initial=0.0)
    thigh_deg = cumulative_trapezoid(thigh, t, initial=0.0)
    true_knee = session.knee_angle_deg(t) - session.knee_angle_deg(t[:1])
    true_thigh = session.thigh_turn_deg(t) - session.thigh_turn_deg(t[:1])
    assert np.max(np.abs(knee_deg - true_knee)) < 0.15  # white noise and quantisation over ~40 s
    assert np.max(np.abs(thigh_deg - true_thigh)) < 0.15
    assert np.ptp(true_knee) > 40.0
    if exercise in PLANTED:
        geometry = planted_geometry(spec.seed, exercise)
        phi_t = thigh_lean_deg(geometry, session.knee_angle_deg(t), t)
        np.testing.assert_allclose(session.thigh_turn_deg(t), phi_t, atol=1e-6)
        assert np.ptp(true_thigh) > 0.25 * np.ptp(true_knee)  # the shank alone misses a good part
    else:  # seated, the thigh turns with the push-in wobble only
        assert 0.5 < np.ptp(true_thigh) <= 2 * spec.thigh_wobble_deg


@pytest.mark.parametrize("exercise", PLANTED)
def test_a_sway_turns_both_sensors_alike_and_leaves_their_knee_angle(exercise: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same session with a 3-degree sway and with none: both gyros see the sway, the same way
    round; the knee rate from the pair is unchanged (same seed: the same noise, so to the LSB)."""
    spec = random_spec(9, exercise=exercise, **SHORT, **EXACT_GYROS)

    def with_sway(sway_deg: float) -> SimulatedSession:
        def geometry(seed: int, name: str) -> PlantedGeometry:
            return replace(planted_geometry(seed, name), sway_deg=sway_deg)

        monkeypatch.setattr(session_module, "planted_geometry", geometry)
        return simulate_session(spec)

    still, swaying = with_sway(0.0), with_sway(3.0)
    t = np.arange(0.5, swaying.truth_reps[-1].end_s, 0.002)
    shank_still, thigh_still = _hinge_rates_dps(still, t)
    shank_sway, thigh_sway = _hinge_rates_dps(swaying, t)
    sway_dps = shank_sway - shank_still
    assert np.max(np.abs(sway_dps)) > 1.0  # 3 deg at 0.1-0.4 Hz
    np.testing.assert_allclose(thigh_sway - thigh_still, sway_dps, atol=0.15)  # 0.06 dps LSB at 2000 dps
    np.testing.assert_allclose(thigh_sway - shank_sway, thigh_still - shank_still, atol=0.15)
    np.testing.assert_array_equal(swaying.knee_angle_deg(t), still.knee_angle_deg(t))
    geometry = planted_geometry(spec.seed, exercise)
    sway_deg = 3.0 * np.sin(2 * np.pi * geometry.sway_hz * t + geometry.sway_phase)
    np.testing.assert_allclose(swaying.thigh_turn_deg(t) - still.thigh_turn_deg(t), -sway_deg, atol=1e-6)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_a_still_thigh_sensor_reads_gravity_through_its_mounting_and_turn(exercise: str) -> None:
    """In the still lead-in the thigh sensor reads g, turned by -beta about z into the thigh and by
    its mounting into the sensor; beta is planted.py's phi_t, or 90 + the thigh pitch seated."""
    spec = random_spec(7, exercise=exercise, **SHORT, thigh_acc_offset_mg=(0.0, 0.0, 0.0))
    session = simulate_session(spec)
    t = np.array([1.0, 1.5, 2.0])
    beta = session.thigh_turn_deg(t)
    if exercise in PLANTED:
        expected = thigh_lean_deg(planted_geometry(spec.seed, exercise), session.knee_angle_deg(t), t)
    else:
        expected = np.full(t.size, 90.0 + spec.thigh_pitch_deg)
    np.testing.assert_allclose(beta, expected, atol=1e-6)
    acc = session.sample(t, thigh=True).thigh_acc_ms2
    assert acc is not None
    b = np.deg2rad(beta)
    gravity = STANDARD_GRAVITY_MS2 * np.stack([np.sin(b), np.cos(b), np.zeros_like(b)], axis=1)
    np.testing.assert_allclose(acc, gravity @ np.asarray(spec.thigh_imu_rotation).T, atol=0.06)
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), STANDARD_GRAVITY_MS2, atol=0.06)


@pytest.mark.parametrize("exercise", PLANTED)
def test_a_thigh_sensor_at_the_knee_feels_what_a_shank_sensor_there_feels(exercise: str) -> None:
    """Both sensors at the knee, taken back to the world: the same specific force (the shank's from
    its closed form, the thigh's from the knee's path), and not just gravity: the knee moves."""
    spec = random_spec(3, exercise=exercise, **SHORT, sensor_radius_m=0.0, thigh_sensor_radius_m=0.0,
                       acc_noise_ug_rthz=1.0, acc_offset_mg=(0.0, 0.0, 0.0), thigh_acc_offset_mg=(0.0, 0.0, 0.0))
    session = simulate_session(spec)
    rep = session.truth_reps[1]
    t = np.arange(rep.start_s, rep.end_s, 0.005)
    block = session.sample(t, thigh=True)
    assert block.acc_ms2 is not None and block.thigh_acc_ms2 is not None
    alpha = 90.0 + shank_lean_deg(planted_geometry(spec.seed, exercise), session.knee_angle_deg(t), t)
    shank_world = np.stack([sensor_from_world(spec, float(a)).T @ v for a, v in zip(alpha, block.acc_ms2)])
    thigh_sensor = block.thigh_acc_ms2 @ np.asarray(spec.thigh_imu_rotation)  # R_t^T a, row-wise
    thigh_world = np.einsum("nij,nj->ni", _turn_z(session.thigh_turn_deg(t)), thigh_sensor)
    assert np.max(np.abs(thigh_world - shank_world)) < 0.02
    assert np.max(np.abs(thigh_world - [0.0, STANDARD_GRAVITY_MS2, 0.0])) > 0.2


def test_seated_the_thigh_turns_about_the_hip() -> None:
    """A thigh sensor at the hip feels gravity alone while the push-in wobble turns the thigh; at the
    knee it swings with the wobble."""
    def worst_deviation(radius_m: float) -> float:
        spec = random_spec(3, **SHORT, thigh_wobble_deg=3.0, thigh_m=0.45, thigh_sensor_radius_m=radius_m,
                           acc_noise_ug_rthz=1.0, thigh_acc_offset_mg=(0.0, 0.0, 0.0))
        session = simulate_session(spec)
        t = np.arange(session.truth_reps[0].start_s, session.truth_reps[-1].end_s, 0.005)
        acc = session.sample(t, thigh=True).thigh_acc_ms2
        assert acc is not None
        assert np.ptp(session.thigh_turn_deg(t)) > 1.0
        return float(np.max(np.abs(np.linalg.norm(acc, axis=1) - STANDARD_GRAVITY_MS2)))

    assert worst_deviation(0.45) < 0.01
    assert worst_deviation(0.0) > 0.1


def test_the_thigh_channels_ride_on_the_shank_recording_and_change_nothing_else() -> None:
    """record(thigh=True) is record() plus the thigh's two channels, on the same (lossy) timeline."""
    session = simulate_session(random_spec(4, **SHORT, ble_loss_frac=0.02, ble_bursts_per_min=1.0))
    plain, both = session.record(100.0), session.record(100.0, thigh=True)
    assert plain.thigh_acc_ms2 is None and plain.thigh_gyro_dps is None and not plain.has_thigh
    for name in ("t_s", "force_n", "acc_ms2", "gyro_dps", "t_host_s"):
        np.testing.assert_array_equal(getattr(both, name), getattr(plain, name), err_msg=name)
    assert both.thigh_acc_ms2 is not None and both.thigh_gyro_dps is not None
    assert both.thigh_acc_ms2.shape == both.thigh_gyro_dps.shape == (len(plain), 3)
    assert len(plain) < 0.995 * session.duration_s * 100.0  # some samples were lost, and with them the thigh's
    t = np.linspace(0.0, session.duration_s, 500)
    sampled, sampled_both = session.sample(t), session.sample(t, thigh=True)
    for name in ("force_n", "acc_ms2", "gyro_dps"):
        np.testing.assert_array_equal(getattr(sampled_both, name), getattr(sampled, name), err_msg=name)
    assert sampled.thigh_gyro_dps is None


def test_handling_and_fidgets_move_the_shank_sensor_only() -> None:
    """While the shank sensor is in the hands between sets, or fidgeted with, the seated thigh is
    still: its sensor reads gravity and its bias."""
    session = simulate_session(both_legs_spec(12))
    spec = session.spec
    windows = [*session.handling_s, *((d.start_s, d.end_s) for d in session.distractors if d.kind == "fidget")]
    assert session.handling_s and len(windows) > len(session.handling_s)
    t = np.concatenate([np.arange(a, b, 0.01) for a, b in windows])
    block = session.sample(t, thigh=True)
    assert block.gyro_dps is not None and block.thigh_gyro_dps is not None and block.thigh_acc_ms2 is not None
    offset = np.asarray(spec.thigh_acc_offset_mg) * 1e-3 * STANDARD_GRAVITY_MS2
    np.testing.assert_allclose(np.linalg.norm(block.thigh_acc_ms2 - offset, axis=1), STANDARD_GRAVITY_MS2, atol=0.1)
    thigh_rate = np.linalg.norm(block.thigh_gyro_dps - np.asarray(spec.thigh_gyro_bias_dps), axis=1)
    shank_rate = np.linalg.norm(block.gyro_dps - np.asarray(spec.gyro_bias_dps), axis=1)
    assert np.max(thigh_rate) < 1.5 < 20.0 < np.max(shank_rate)


def test_the_thigh_sensors_noise_is_its_own() -> None:
    """Seated and still, the thigh gyro reads its bias and noise alone; that noise is not the shank's."""
    spec = random_spec(6, **SHORT, **EXACT_GYROS, gyro_noise_dps_rthz=0.014, imu_bandwidth_hz=100.0)
    session = simulate_session(spec)
    t = np.arange(0.5, 0.5 + 3.0, 0.001)
    t = t[t < spec.lead_in_s - 0.2]
    t = t[[not any(d.start_s - 0.1 <= x <= d.end_s + 0.1 for d in session.distractors) for x in t]]
    block = session.sample(t, thigh=True)
    assert block.gyro_dps is not None and block.thigh_gyro_dps is not None
    shank_noise = block.gyro_dps - np.asarray(spec.gyro_bias_dps) - np.outer(session.knee_rate_dps(t), spec.knee_axis_sensor)
    thigh_noise = block.thigh_gyro_dps - np.asarray(spec.thigh_gyro_bias_dps)
    assert np.std(thigh_noise) == pytest.approx(0.014 * np.sqrt(np.pi / 2 * 100.0), rel=0.2)
    for k in range(3):
        assert abs(np.corrcoef(shank_noise[:, k], thigh_noise[:, k])[0, 1]) < 0.15
