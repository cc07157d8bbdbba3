"""Shank-mounted (and thigh-mounted) IMU readings from the leg's planar motion (science.md 6.4).

World frame: knee at the origin, x forward, y up, z lateral. The shank points at angle alpha below
the forward horizontal (alpha = knee flexion - thigh pitch + thigh wobble), so the shank turns about
-z at rate d(alpha)/dt. The sensor sits r along the shank with a random mounting rotation; it reads
   gyro = (1 + scale err) * R (-z) d(alpha)/dt + bias + random walk + white noise
   acc  = R Rz(alpha) (p'' + g y) + offset + white noise,   p'' = tangential + centripetal
quantised to 16 bits and clipped at the range.

A second sensor on the thigh (thigh_imu) reads the thigh's turn beta about +z, the thigh's lean
forward from upright (the knee ahead of the hip), and the specific force at its own point P:
   gyro = (1 + its scale err) R_t z d(beta)/dt + its bias + its random walk + white noise
   acc  = R_t Rz(-beta) (P'' + g y) + its offset + white noise
with the shank sensor's noise, range and bandwidth, its own errors and noise channels. Knee flexion
is the shank's lean plus the thigh's, theta = (alpha - 90) + beta: about +z the thigh's turn less the
shank's (-alpha) is the knee's, and a turn of the whole leg (a sway, the seated wobble) turns both
segments alike and leaves it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim.noise import hashed_normals
from bandlog.sim.spec import SessionSpec

ACC_RANGE_MS2 = 16.0 * STANDARD_GRAVITY_MS2
GYRO_NOISE_CHANNEL = 10
ACC_NOISE_CHANNEL = 20
THIGH_GYRO_NOISE_CHANNEL = 50
THIGH_ACC_NOISE_CHANNEL = 60
"""The thigh sensor's white noise, independent of the shank's (hashed_normals(c, 3) hashes channels
2c..2c+5: 100-105 and 120-125 are no other noise's)."""


def white_sigma(density: float, bandwidth_hz: float) -> float:
    """Per-sample sigma of white noise of the given density seen through a 1st-order bandwidth."""
    return density * float(np.sqrt(np.pi / 2.0 * bandwidth_hz))


def _quantise(x: np.ndarray, full_scale: float) -> np.ndarray:
    lsb = full_scale / 32768.0
    return np.clip(np.round(x / lsb) * lsb, -full_scale, full_scale - lsb)


def shank_imu(
    spec: SessionSpec,
    grid_index: np.ndarray,
    alpha_deg: np.ndarray,
    alpha_rate_dps: np.ndarray,
    alpha_acc_dps2: np.ndarray,
    gyro_drift_dps: np.ndarray,
    extra_rate_dps: np.ndarray,
    extra_angle_rad: np.ndarray,
    lever_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(acc_ms2 (n,3), gyro_dps (n,3)) at n instants.

    grid_index keys the white noise; gyro_drift_dps is bias random walk (n,3); extra_rate_dps and
    extra_angle_rad are (n,3) sensor-frame rotations not about the knee (fidgeting). lever_m: the
    sensor's distance along the knee-to-ankle direction from the point the shank turns about: the
    knee's sensor_radius_m seated (the default); with the foot planted the shank turns about the
    ankle, shank_m further on, so sensor_radius_m - shank_m (bandlog.sim.planted).
    """
    rotation = np.asarray(spec.imu_rotation)
    axis = rotation @ np.array([0.0, 0.0, -1.0])  # R maps shank-frame vectors into the sensor frame
    omega = np.outer(alpha_rate_dps, axis) + extra_rate_dps
    a = np.deg2rad(alpha_deg)
    w = np.deg2rad(alpha_rate_dps)
    wd = np.deg2rad(alpha_acc_dps2)
    r = spec.sensor_radius_m if lever_m is None else lever_m
    sin_a, cos_a = np.sin(a), np.cos(a)
    acc_x = r * (wd * -sin_a - w * w * cos_a)
    acc_y = r * (wd * -cos_a + w * w * sin_a) + STANDARD_GRAVITY_MS2
    shank = np.stack([cos_a * acc_x - sin_a * acc_y, sin_a * acc_x + cos_a * acc_y, np.zeros_like(a)], axis=1)
    acc = shank @ rotation.T  # row-wise R v
    if np.any(extra_angle_rad):
        acc = acc - np.cross(extra_angle_rad, acc)
    return imu_readings(spec, grid_index, acc, omega, gyro_drift_dps)


def thigh_imu(
    spec: SessionSpec,
    grid_index: np.ndarray,
    beta_deg: np.ndarray,
    beta_rate_dps: np.ndarray,
    point_acc_ms2: np.ndarray,
    gyro_drift_dps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(acc_ms2 (n,3), gyro_dps (n,3)) of the thigh sensor at n instants (module docstring).

    beta_deg: the thigh's turn about +z; point_acc_ms2 (n,2): the world (x, y) acceleration of the
    sensor's point; gyro_drift_dps: its own bias random walk (n,3).
    """
    rotation = np.asarray(spec.thigh_imu_rotation)
    omega = np.outer(beta_rate_dps, rotation @ np.array([0.0, 0.0, 1.0]))
    b = np.deg2rad(beta_deg)
    sin_b, cos_b = np.sin(b), np.cos(b)
    force_x, force_y = point_acc_ms2[:, 0], point_acc_ms2[:, 1] + STANDARD_GRAVITY_MS2
    thigh = np.stack([cos_b * force_x + sin_b * force_y, cos_b * force_y - sin_b * force_x, np.zeros_like(b)], axis=1)
    # the thigh sensor's own errors, in the fields imu_readings reads them from
    worn = replace(spec, gyro_bias_dps=spec.thigh_gyro_bias_dps, gyro_scale_err=spec.thigh_gyro_scale_err,
                   acc_offset_mg=spec.thigh_acc_offset_mg)
    channels = (THIGH_GYRO_NOISE_CHANNEL, THIGH_ACC_NOISE_CHANNEL)
    return imu_readings(worn, grid_index, thigh @ rotation.T, omega, gyro_drift_dps, channels)


def sensor_from_world(spec: SessionSpec, alpha_deg: float) -> np.ndarray:
    """The mounted sensor's orientation (3x3, world vectors into the sensor frame) at shank angle alpha."""
    a = np.deg2rad(alpha_deg)
    turn = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return np.asarray(spec.imu_rotation) @ turn


def imu_readings(
    spec: SessionSpec, grid_index: np.ndarray, acc_ms2: np.ndarray, omega_dps: np.ndarray, gyro_drift_dps: np.ndarray,
    noise_channels: tuple[int, int] = (GYRO_NOISE_CHANNEL, ACC_NOISE_CHANNEL),
) -> tuple[np.ndarray, np.ndarray]:
    """What the sensor reports for its true specific force and rotation rate (sensor frame): scale
    error, bias and its random walk, offsets, white noise, 16-bit quantisation and range.
    noise_channels (gyro, acc) key its white noise: another sensor's must not be the shank's."""
    gyro_channel, acc_channel = noise_channels
    gyro = omega_dps * (1.0 + np.asarray(spec.gyro_scale_err)) + np.asarray(spec.gyro_bias_dps) + gyro_drift_dps
    sigma_g = white_sigma(spec.gyro_noise_dps_rthz, spec.imu_bandwidth_hz)
    gyro += sigma_g * hashed_normals(spec.seed, gyro_channel, 3, grid_index)
    acc = acc_ms2 + np.asarray(spec.acc_offset_mg) * 1e-3 * STANDARD_GRAVITY_MS2
    sigma_a = white_sigma(spec.acc_noise_ug_rthz * 1e-6 * STANDARD_GRAVITY_MS2, spec.imu_bandwidth_hz)
    acc += sigma_a * hashed_normals(spec.seed, acc_channel, 3, grid_index)
    return _quantise(acc, ACC_RANGE_MS2), _quantise(gyro, spec.gyro_range_dps)
