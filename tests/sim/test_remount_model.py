"""The motion model of a sensor moved to the other leg between sets (bandlog.sim.remount)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bandlog.core.errors import ConfigError
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim import random_spec, simulate_session
from bandlog.sim.remount import alternating_legs, handled_imu, leg_mountings, one_sensor_spec


def test_the_handled_sensors_gyro_turns_gravity_as_its_accelerometer_sees_it() -> None:
    # integrate the body rate from the first pose: gravity then agrees with the reading all along
    start, end = Rotation.random(random_state=1).as_matrix(), Rotation.random(random_state=2).as_matrix()
    t_s = np.arange(10.0, 25.0, 0.001)
    acc_ms2, omega_dps = handled_imu(3, t_s, (10.0, 25.0), (start, end))
    world_from_sensor = Rotation.from_matrix(start.T)
    worst_ms2 = 0.0
    for k in range(len(t_s) - 1):
        world_from_sensor = world_from_sensor * Rotation.from_rotvec(np.radians(0.5 * (omega_dps[k] + omega_dps[k + 1])) * 0.001)
        if k % 500 == 0:
            gravity = world_from_sensor.inv().apply([0.0, STANDARD_GRAVITY_MS2, 0.0])
            worst_ms2 = max(worst_ms2, float(np.linalg.norm(acc_ms2[k + 1] - gravity)))
    assert worst_ms2 < 3.0  # the hand's own acceleration (1.5 m/s^2 RMS per axis) is all that differs
    assert np.allclose(world_from_sensor.as_matrix(), end.T, atol=0.01)  # and it ends strapped on as set
    assert np.percentile(np.linalg.norm(omega_dps, axis=1), 90) > 30.0  # turned about, not held still


def test_readings_change_with_the_mounting_only_from_the_handling_on() -> None:
    one = simulate_session(random_spec(5, n_sets=3, reps_per_set=6))
    moved = simulate_session(random_spec(5, n_sets=3, reps_per_set=6, mountings=leg_mountings(5, one.spec.imu_rotation, alternating_legs(3))))
    a, b = one.record(100.0), moved.record(100.0)
    first_handling_s = moved.handling_s[0][0]
    before = a.t_s < first_handling_s
    assert np.array_equal(a.gyro_dps[before], b.gyro_dps[before]) and np.array_equal(a.force_n[before], b.force_n[before])
    after = b.t_s > moved.handling_s[0][1] + 1.0
    assert not np.allclose(a.acc_ms2[after], b.acc_ms2[after], atol=0.5)
    for begin_s, end_s in moved.handling_s:  # the band is off the ankle while the sensor is moved
        held = (b.t_s > begin_s + 1.5) & (b.t_s < end_s - 1.5)
        assert np.abs(moved.true_force_n(b.t_s[held])).max() < 1e-9
    assert [(r.onset_s, r.offset_s) for r in one.truth_reps] == [(r.onset_s, r.offset_s) for r in moved.truth_reps]


def test_both_legs_alternate_with_the_strap_a_few_degrees_off_each_time() -> None:
    spec = random_spec(7, n_sets=3)
    first, second, third = (np.asarray(m) for m in (spec.imu_rotation, *leg_mountings(7, spec.imu_rotation, alternating_legs(3))))
    assert Rotation.from_matrix(first.T @ third).magnitude() < np.radians(30)  # the same leg again
    assert Rotation.from_matrix(first.T @ second).magnitude() > np.radians(1)


def test_a_mounting_per_set_after_the_first_or_a_clear_error() -> None:
    spec = random_spec(4, n_sets=3)
    with pytest.raises(ConfigError, match="one rotation per set after the first"):
        random_spec(4, n_sets=3, mountings=leg_mountings(4, spec.imu_rotation, alternating_legs(2)))
    with pytest.raises(ConfigError, match="must be a rotation"):
        random_spec(4, n_sets=2, mountings=(((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),))


def test_a_plan_with_each_legs_sets_together_moves_the_sensor_once() -> None:
    spec = one_sensor_spec(6, ["L", "L", "R", "R"], n_sets=4, reps_per_set=3)
    assert spec.mountings[0] == spec.imu_rotation and spec.mountings[1] == spec.mountings[2] != spec.imu_rotation
    session = simulate_session(spec)
    assert len(session.handling_s) == 1
    (begin_s, end_s), = session.handling_s
    second_set = sorted(r.start_s for r in session.truth_reps if r.set_index == 2)[0]
    first_set_end = max(r.end_s for r in session.truth_reps if r.set_index == 1)
    assert first_set_end < begin_s < end_s < second_set
    assert one_sensor_spec(6, ["R", "R"], n_sets=2).mountings == ()  # one leg: the sensor stays put
