"""The planted-foot exercises of the motion model (bandlog.sim.planted, bandlog.sim.standing): the shank
pivots about the ankle and turns by part of the knee angle; the runner's stretch rests bent."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim import random_spec, simulate_session
from bandlog.sim.planted import PLANTED, SHARE, planted_geometry, shank_lean_deg, thigh_lean_deg

SHORT = {"n_sets": 1, "reps_per_set": 4}


def _knee_axis_rate(session, t_s: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    spec = session.spec
    block = session.sample(t_s)
    assert block.gyro_dps is not None
    bias = np.asarray(spec.gyro_bias_dps)
    return (block.gyro_dps - bias) @ spec.knee_axis_sensor


@pytest.mark.parametrize("exercise", PLANTED)
def test_the_shank_turns_by_its_share_of_the_knee_angle(exercise: str) -> None:
    """Integrated about the knee axis, the gyro gives the shank's turn: share x the knee's, not the
    knee's (seated, the two are the same)."""
    spec = random_spec(5, exercise=exercise, **SHORT, gyro_random_walk_dps_rts=1e-6, gyro_scale_err=(0.0, 0.0, 0.0))
    session = simulate_session(spec)
    geometry = planted_geometry(spec.seed, exercise)
    rep = session.truth_reps[0]
    t = np.arange(rep.onset_s, rep.offset_s, 0.001)
    shank_turn = float(np.sum(_knee_axis_rate(session, t)) * 0.001)
    knee_turn = float(session.knee_angle_deg(t[-1:])[0] - session.knee_angle_deg(t[:1])[0])
    assert SHARE[0] <= geometry.share <= SHARE[1]
    assert shank_turn == pytest.approx(geometry.share * knee_turn, abs=0.05 * abs(knee_turn) + 0.3)
    assert abs(shank_turn) < 0.75 * abs(knee_turn)


@pytest.mark.parametrize("exercise", PLANTED)
def test_gravity_shows_the_shank_lean_and_knee_equals_shank_plus_thigh(exercise: str) -> None:
    """At rest the accelerometer, turned back into the shank frame, reads gravity at 90 deg + the
    shank's lean below the forward horizontal; the thigh takes the rest of the knee angle."""
    spec = random_spec(7, exercise=exercise, **SHORT, acc_offset_mg=(0.0, 0.0, 0.0))
    session = simulate_session(spec)
    geometry = planted_geometry(spec.seed, exercise)
    t = np.array([1.0, 2.0])  # the still lead-in
    theta = session.knee_angle_deg(t)
    block = session.sample(t)
    assert block.acc_ms2 is not None
    shank_frame = block.acc_ms2 @ np.asarray(spec.imu_rotation)  # R^T a, row-wise
    # imu.py: gravity (0, g) in world seen from a shank turned by alpha about -z
    alpha = np.degrees(np.arctan2(-shank_frame[:, 0], shank_frame[:, 1]))
    lean = shank_lean_deg(geometry, theta, t)
    assert alpha == pytest.approx(90.0 + lean, abs=0.3)
    assert lean + thigh_lean_deg(geometry, theta, t) == pytest.approx(theta)


def test_a_sensor_at_the_ankle_pivot_feels_no_motion_with_the_foot_planted() -> None:
    """With the foot planted the shank turns about the ankle: a sensor there reads gravity alone,
    while seated the same sensor swings at the end of the shank."""
    def worst_deviation(exercise: str) -> float:
        spec = random_spec(3, exercise=exercise, **SHORT, sensor_radius_m=0.40, shank_m=0.40, acc_noise_ug_rthz=1.0,
                           acc_offset_mg=(0.0, 0.0, 0.0))
        session = simulate_session(spec)
        rep = session.truth_reps[1]
        t = np.arange(rep.start_s, rep.end_s, 0.005)
        block = session.sample(t)
        assert block.acc_ms2 is not None
        return float(np.max(np.abs(np.linalg.norm(block.acc_ms2, axis=1) - STANDARD_GRAVITY_MS2)))

    assert worst_deviation("standing-l") < 0.02
    assert worst_deviation("reverse-curl") > 0.5


def test_the_runners_stretch_rests_bent_and_straightens_first() -> None:
    spec = random_spec(2, exercise="runners-stretch", **SHORT)
    session = simulate_session(spec)
    first = session.truth_reps[0]
    assert session.knee_angle_deg(np.array([0.5]))[0] == pytest.approx(first.top_deg, abs=0.5)  # starts bent
    for rep in session.truth_reps:
        flex_start, flex_end = rep.flexion_span_s
        assert rep.start_s <= rep.onset_s < rep.offset_s < flex_start < flex_end <= rep.end_s  # the flexion comes last
        assert 20.0 <= rep.rom_deg <= 70.0
        assert session.knee_angle_deg(np.array([flex_end]))[0] > rep.bottom_deg + 15.0  # back to the bent rest


def test_the_standing_l_rests_straight_and_bends_first() -> None:
    session = simulate_session(random_spec(2, exercise="standing-l", **SHORT))
    for rep in session.truth_reps:
        assert rep.flexion_span_s == (rep.start_s, rep.top_s) and rep.top_s <= rep.onset_s
        assert 20.0 <= rep.rom_deg <= 70.0 and rep.bottom_deg <= 20.0


def test_the_exercise_draws_leave_the_reverse_curl_and_the_sensors_alone() -> None:
    """A planted-foot spec draws its movement on its own stream: the sensors, noise and tempo are the
    reverse curl's of the same seed, and random_spec(seed) is still the reverse curl."""
    curl, standing = random_spec(11), random_spec(11, exercise="standing-l")
    assert curl.exercise == "reverse-curl" and standing.exercise == "standing-l"
    for name in ("imu_rotation", "gyro_bias_dps", "sensor_radius_m", "target_ecc_s", "reps_per_set", "n_sets"):
        assert getattr(curl, name) == getattr(standing, name), name
    assert standing.rom_deg <= 60.0 < curl.rom_deg


def test_unknown_exercises_and_planted_pulls_are_refused() -> None:
    with pytest.raises(ConfigError, match="exercise must be one of"):
        random_spec(1, exercise="squat")
    with pytest.raises(ConfigError, match="isometric"):
        random_spec(1, exercise="standing-l", session_kind="isometric")
