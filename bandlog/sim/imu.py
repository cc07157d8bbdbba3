"""Shank-mounted IMU readings from the shank's planar motion (science.md 6.4).

World frame: knee at the origin, x forward, y up, z lateral. The shank points at angle alpha below
the forward horizontal (alpha = knee flexion - thigh pitch + thigh wobble), so the shank turns about
-z at rate d(alpha)/dt. The sensor sits r along the shank with a random mounting rotation; it reads
   gyro = (1 + scale err) * R (-z) d(alpha)/dt + bias + random walk + white noise
   acc  = R Rz(alpha) (p'' + g y) + offset + white noise,   p'' = tangential + centripetal
quantised to 16 bits and clipped at the range.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.sim.noise import hashed_normals
from bandlog.sim.spec import SessionSpec

ACC_RANGE_MS2 = 16.0 * STANDARD_GRAVITY_MS2
GYRO_NOISE_CHANNEL = 10
ACC_NOISE_CHANNEL = 20


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


def sensor_from_world(spec: SessionSpec, alpha_deg: float) -> np.ndarray:
    """The mounted sensor's orientation (3x3, world vectors into the sensor frame) at shank angle alpha."""
    a = np.deg2rad(alpha_deg)
    turn = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return np.asarray(spec.imu_rotation) @ turn


def imu_readings(
    spec: SessionSpec, grid_index: np.ndarray, acc_ms2: np.ndarray, omega_dps: np.ndarray, gyro_drift_dps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What the sensor reports for its true specific force and rotation rate (sensor frame): scale
    error, bias and its random walk, offsets, white noise, 16-bit quantisation and range."""
    gyro = omega_dps * (1.0 + np.asarray(spec.gyro_scale_err)) + np.asarray(spec.gyro_bias_dps) + gyro_drift_dps
    sigma_g = white_sigma(spec.gyro_noise_dps_rthz, spec.imu_bandwidth_hz)
    gyro += sigma_g * hashed_normals(spec.seed, GYRO_NOISE_CHANNEL, 3, grid_index)
    acc = acc_ms2 + np.asarray(spec.acc_offset_mg) * 1e-3 * STANDARD_GRAVITY_MS2
    sigma_a = white_sigma(spec.acc_noise_ug_rthz * 1e-6 * STANDARD_GRAVITY_MS2, spec.imu_bandwidth_hz)
    acc += sigma_a * hashed_normals(spec.seed, ACC_NOISE_CHANNEL, 3, grid_index)
    return _quantise(acc, ACC_RANGE_MS2), _quantise(gyro, spec.gyro_range_dps)
