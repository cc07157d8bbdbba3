"""The shank's direction in the sensor frame, by least squares over samples with knee motion (tilt.py).

A sensor r along the shank feels, besides gravity, -r w^2 s (centripetal) and r dw/dt (k x s)
(tangential), w the knee rate about the axis k: both linear in v = r s. Each sample's reading is
split along the unit tracked gravity u, with |g| fitted as an intercept (the accelerometer's scale
and the tracked gravity's length then bias nothing), and across it, where an error in the tracked
gravity's angle about k shows but its length does not; there the gyro's scale about k, which turns
the tracked gravity too far or too short in a fast flexion, is solved for too (tilt.py). The rows are
folded into normal equations FIT_BLOCK at a time (a fixed count: the same however the recording arrives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FIT_BLOCK = 32
"""Samples folded into the fit's sums at a time."""
SHANK_MIN_W4 = 1.0
"""Sum of w^4 dt (rad/s)^4 s needed before the shank direction is trusted (part of one flexion)."""
SCALE_MIN_RADIUS_M = 0.05
"""Nearer the knee the motion terms are too small to tell the gyro's scale from the shank direction
(a sensor 1 cm off the axis: the scaled fit claimed a tight direction pointing the wrong way)."""

Row = tuple[float, ...]
"""One sample: tracked gravity (3), reading (3), knee axis (3), knee rate w (rad/s), dw/dt (rad/s^2), and
the gyro scale's regressors x, y (rad; tilt.ShankTilt._track_scale)."""


@dataclass(frozen=True)
class ShankSolution:
    """The learned shank: unit direction in the sensor frame, its distance from the knee, the
    standard error of its direction about the knee axis (deg), and the gyro's reading about the knee
    over the true rate (NaN when the fit makes it negative: the data cannot tell it)."""

    direction: list[float]
    radius_m: float
    direction_sd_deg: float
    gyro_scale: float


def _cross_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise a x b of (n, 3) arrays (np.cross costs more than the sums it feeds here)."""
    return np.column_stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]])


def plane(axis: list[float]) -> tuple[list[float], list[float]]:
    """Unit e1, e2 spanning the plane across the knee axis."""
    ref = [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0]
    e1 = [axis[1] * ref[2] - axis[2] * ref[1], axis[2] * ref[0] - axis[0] * ref[2], axis[0] * ref[1] - axis[1] * ref[0]]
    n1 = math.sqrt(sum(x * x for x in e1))
    e1 = [x / n1 for x in e1]
    e2 = [axis[1] * e1[2] - axis[2] * e1[1], axis[2] * e1[0] - axis[0] * e1[2], axis[0] * e1[1] - axis[1] * e1[0]]
    return e1, e2


class ShankFit:
    """Running least squares for the shank direction; add() rows in order, solve when one is due."""

    def __init__(self, dt_s: float, gain: float) -> None:
        self.dt_s = dt_s
        self.gain = gain
        """The gravity filter's gain per sample: its error is correlated over 1/gain samples."""
        self.rows: list[Row] = []
        self.normal = np.zeros((5, 5))
        self.moment = np.zeros(5)
        self.yy = 0.0
        self.n = 0
        self.w4 = 0.0

    def add(self, row: Row) -> ShankSolution | None:
        """Queue one sample; every FIT_BLOCK samples fold them in and, once the knee has turned fast
        enough (SHANK_MIN_W4), return the solution (None otherwise)."""
        self.rows.append(row)
        self.w4 += row[9] ** 4 * self.dt_s
        if len(self.rows) < FIT_BLOCK:
            return None
        block = np.array(self.rows)
        self.rows = []
        g_, acc_, k = block[:, 0:3], block[:, 3:6], block[:, 6:9]
        norm = np.maximum(np.linalg.norm(g_, axis=1, keepdims=True), 1e-9)
        u = g_ / norm
        w2, wd_ = (block[:, 9] ** 2)[:, None], block[:, 10:11]
        lag_x, lag_y = norm[:, 0] * block[:, 11], norm[:, 0] * block[:, 12]
        design, target = [], []
        for e, intercept, lag in ((u, 1.0, 0.0), (_cross_rows(k, u), 0.0, 1.0)):
            # e.(k x v) = v.(e x k); across, the true gravity leads the tracked one by |g| (y - a x)
            design.append(np.column_stack([np.full(len(e), intercept), -w2 * e + wd_ * _cross_rows(e, k), -lag * lag_x]))
            target.append((e * acc_).sum(axis=1) - lag * lag_y)
        x, y = np.concatenate(design), np.concatenate(target)
        self.normal += x.T @ x
        self.moment += x.T @ y
        self.yy += float(y @ y)
        self.n += len(y)
        if self.w4 < SHANK_MIN_W4:
            return None
        return self._solve([float(v) for v in block[-1, 6:9]])

    def _solve(self, axis: list[float]) -> ShankSolution | None:
        """The shank with the gyro taken as exact; with its scale about the knee solved too when the
        sensor sits far enough from the knee (SCALE_MIN_RADIUS_M) for the scale to be told apart from
        the direction."""
        exact = self._solve_with(axis, scale=False)
        if exact is None or exact.radius_m < SCALE_MIN_RADIUS_M:
            return exact
        return self._solve_with(axis, scale=True) or exact

    def _solve_with(self, axis: list[float], scale: bool) -> ShankSolution | None:
        e1, e2 = plane(axis)
        basis = np.zeros((5, 4 if scale else 3))  # (c, v, a) = basis @ (c, v.e1, v.e2[, a]): v lies across the axis
        basis[0, 0] = 1.0
        basis[1:4, 1], basis[1:4, 2] = e1, e2
        full_moment, yy = self.moment, self.yy
        if scale:
            basis[4, 3] = 1.0
        else:  # a = 1 known: its column moves into the target
            full_moment = self.moment - self.normal[:, 4]
            yy = self.yy - 2.0 * float(self.moment[4]) + float(self.normal[4, 4])
        normal, moment = basis.T @ self.normal @ basis, basis.T @ full_moment
        try:
            c = np.linalg.solve(normal, moment)
            cov = np.linalg.inv(normal)
        except np.linalg.LinAlgError:
            return None
        c1, c2 = float(c[1]), float(c[2])
        a = float(c[3]) if scale else 1.0
        r = math.hypot(c1, c2)
        if r <= 0.0:
            return None
        return ShankSolution([(c1 * e1[i] + c2 * e2[i]) / r for i in range(3)], r, self._direction_sd_deg(c, normal, moment, cov, r, yy),
                             (1.0 / a if a > 0.0 else math.nan) if scale else 1.0)

    def _direction_sd_deg(self, c: np.ndarray, normal: np.ndarray, moment: np.ndarray, cov: np.ndarray, r: float, yy: float) -> float:
        """Standard error of the shank direction (deg): the fit's residual variance through its
        covariance, across the learned direction, over r. The residual (mostly the tracked gravity's
        error) is correlated over the filter's time constant, so the samples count as one per tau."""
        dof = self.n - len(c)
        if dof <= 0:
            return math.nan
        residual_var = max(float(yy - 2.0 * c @ moment + c @ normal @ c), 0.0) / dof
        across = np.concatenate([[0.0, -float(c[2]), float(c[1])], np.zeros(len(c) - 3)]) / r
        return math.degrees(math.sqrt(residual_var * float(across @ cov @ across) / self.gain) / r)
