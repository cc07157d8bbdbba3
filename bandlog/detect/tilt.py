"""Absolute knee angle from the shank accelerometer, fused with the gyro (science.md 3.4, 5.2).

The gyro alone gives knee motion but no zero, and its integral drifts. Gravity gives the zero, but
only once we know where the shank points in the sensor frame, which a sensor strapped on any way
round does not say. Here:

- Accelerometer offset (up to ~0.06 g per axis, ~5 degrees of tilt): still poses lie on a circle of
  radius 1 g about the knee axis whose centre is the offset; a circle fit over poses spread over
  >= 40 degrees gives its in-plane part, the mean reading along the axis (gravity has none) the rest.
- Gravity in the sensor frame is tracked by a complementary filter: rotated by the bias-corrected
  gyro every sample, and pulled towards the accelerometer with time constant tau (1 s) when the
  accelerometer reads 1 g within +-0.1 g once the known motion terms are removed.
- The shank direction s (unit, perpendicular to the knee axis k) comes from those motion terms: a
  sensor r along the shank feels, besides gravity, -r w^2 s (centripetal, towards the knee) and
  r dw/dt (k x s) (tangential), w the knee rate about k. Both are linear in v = r s, so v is a running
  least-squares solution over every sample with motion; the fast passive flexions inform it most.
- The knee axis sign then follows from the pose (science.md 3.3): the knee flexes to at most ~150
  degrees, so whenever the shank is within 45 degrees of horizontal its ankle end is in front of
  the knee, never behind it. No assumption about how the recording starts.
- Inclination alpha of the shank below the forward horizontal: sin(alpha) = -g.s / |g|,
  cos(alpha) = g.n / |g| with n = -k x s. Knee flexion = alpha + the thigh's pitch, which a shank
  sensor cannot see (DetectorParams.thigh_pitch_deg, 0 = thigh horizontal).
"""

from __future__ import annotations

import math

import numpy as np

STANDARD_GRAVITY_MS2 = 9.80665
GATE_G = 0.1
"""Accelerometer used only while its (motion-corrected) magnitude is within this of 1 g."""
SHANK_MIN_W4 = 1.0
"""Sum of w^4 dt (rad/s)^4 s needed before the shank direction is trusted (part of one flexion)."""
HORIZONTAL_SIN = 0.7
"""The knee-axis sign is read from a pose whose shank is within ~45 degrees of horizontal."""
FAST_DPS = 30.0
"""Before the shank direction is known, the accelerometer is not trusted above this knee rate."""
POSE_SPACING_DEG = 3.0
"""Still poses kept for the offset fit must differ by at least this much in tilt."""
MAX_POSES = 120
MIN_POSE_SPREAD_DEG = 40.0
"""The accelerometer offset is solved once still poses span this much rotation about the knee."""


def _cross(a: list[float], b: list[float]) -> list[float]:
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _dot(a: list[float], b: list[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


class ShankTilt:
    """Per-sample gravity tracking and shank-direction learning; call `step` once per sample."""

    def __init__(self, dt_s: float, tau_s: float) -> None:
        self.dt_s = dt_s
        self.gain = min(1.0, dt_s / tau_s)
        self.gravity: list[float] | None = None
        self._s = [0.0, 0.0, 0.0]  # sum of -(w^2 d + dw/dt (k x d)) dt
        self._w4 = 0.0
        self._wd2 = 0.0
        self._last_w: float | None = None
        self.shank: list[float] | None = None
        """Unit shank direction (sensor frame), once learned."""
        self.radius_m = 0.0
        self.rest_gravity: list[float] | None = None
        """Gravity at the latest still pose (the sign can be read from it later)."""
        self.offset: list[float] = [0.0, 0.0, 0.0]
        self._poses: list[list[float]] = []
        self._offset_solved = False

    def step(
        self, acc: list[float], omega: list[float], axis: list[float] | None, still: bool, pose: list[float] | None
    ) -> None:
        """acc: m/s^2; omega: bias-corrected gyro, rad/s (sensor frame); axis: unsigned knee axis;
        pose: a low-passed accelerometer reading taken while the shank barely turns, if it does."""
        dt = self.dt_s
        if pose is not None:
            self._add_pose(pose, axis)
        b = self.offset
        acc = [acc[0] - b[0], acc[1] - b[1], acc[2] - b[2]]
        g = self.gravity
        if g is None:
            # the first still sample, or (a recording with no still moment) the first slow one
            # that reads 1 g: gravity then follows the gyro and is corrected as it goes
            slow_one_g = pose is not None and abs(math.sqrt(_dot(acc, acc)) / STANDARD_GRAVITY_MS2 - 1.0) < GATE_G / 2
            if still or slow_one_g:
                self.gravity = list(acc)
                if still:
                    self.rest_gravity = list(acc)
            return
        # the sensor turns by omega dt, so a world-fixed vector turns by -omega dt in its frame
        turn = _cross(omega, g)
        g = [g[0] - turn[0] * dt, g[1] - turn[1] * dt, g[2] - turn[2] * dt]
        w = wd = 0.0
        motion = [0.0, 0.0, 0.0]
        if axis is not None:
            w = _dot(axis, omega)
            wd = 0.0 if self._last_w is None else (w - self._last_w) / dt
            self._last_w = w
            if self.shank is not None:
                v = [self.radius_m * x for x in self.shank]
                kv = _cross(axis, v)
                motion = [-w * w * v[i] + wd * kv[i] for i in range(3)]
        corrected = [acc[i] - motion[i] for i in range(3)]
        norm = math.sqrt(_dot(corrected, corrected))
        trusted = abs(norm / STANDARD_GRAVITY_MS2 - 1.0) < GATE_G and (
            self.shank is not None or abs(w) < math.radians(FAST_DPS)
        )
        if trusted:
            k = self.gain
            g = [g[i] + k * (corrected[i] - g[i]) for i in range(3)]
        self.gravity = g
        if still:
            self.rest_gravity = list(g)
        if axis is not None and w != 0.0:
            self._learn_shank(acc, g, axis, w, wd)

    def _add_pose(self, acc: list[float], axis: list[float] | None) -> None:
        norm = math.sqrt(_dot(acc, acc))
        if norm <= 0.0:
            return
        cos_min = math.cos(math.radians(POSE_SPACING_DEG))
        if any(_dot(acc, q) / (norm * math.sqrt(_dot(q, q))) > cos_min for q in self._poses):
            return
        self._poses.append(list(acc))
        del self._poses[:-MAX_POSES]
        if axis is not None:
            self._solve_offset(axis)

    def _solve_offset(self, axis: list[float]) -> None:
        """Circle fit of the still poses in the plane perpendicular to the knee axis."""
        ref = [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0]
        e1 = _cross(axis, ref)
        n1 = math.sqrt(_dot(e1, e1))
        e1 = [x / n1 for x in e1]
        e2 = _cross(axis, e1)
        pts = np.array([[_dot(q, e1), _dot(q, e2)] for q in self._poses])
        along = float(np.mean([_dot(q, axis) for q in self._poses]))
        angles = np.unwrap(np.arctan2(pts[:, 1], pts[:, 0]))
        if math.degrees(float(np.ptp(angles))) < MIN_POSE_SPREAD_DEG:
            return
        design = np.column_stack([2.0 * pts, np.ones(len(pts))])
        solution, *_ = np.linalg.lstsq(design, (pts**2).sum(axis=1), rcond=None)
        c1, c2 = float(solution[0]), float(solution[1])
        if math.hypot(c1, c2) > 0.2 * STANDARD_GRAVITY_MS2:  # not a plausible offset: keep the old
            return
        self.offset = [c1 * e1[i] + c2 * e2[i] + along * axis[i] for i in range(3)]
        if not self._offset_solved:
            # what was learned about the shank with an unknown offset is biased: learn it afresh
            self._offset_solved = True
            self._s = [0.0, 0.0, 0.0]
            self._w4 = self._wd2 = 0.0

    def _learn_shank(self, acc: list[float], g: list[float], axis: list[float], w: float, wd: float) -> None:
        """Accumulate the normal equations of d = -w^2 v + dw/dt (k x v), d = acc - gravity."""
        d = [acc[i] - g[i] for i in range(3)]
        kd = _cross(axis, d)
        w2 = w * w
        s = self._s
        for i in range(3):
            s[i] -= (wd * kd[i] + w2 * d[i]) * self.dt_s
        self._w4 += w2 * w2 * self.dt_s
        self._wd2 += wd * wd * self.dt_s
        if self._w4 < SHANK_MIN_W4:
            return
        along = _dot(s, axis)
        plane = [(s[i] - along * axis[i]) / (self._w4 + self._wd2) for i in range(3)]
        r = math.sqrt(_dot(plane, plane))
        if r > 0.0:
            self.radius_m = r
            self.shank = [x / r for x in plane]

    def sign_from_pose(self, axis: list[float]) -> int:
        """+1/-1 to make the axis flexion-positive, or 0 while no pose near horizontal is known."""
        if self.shank is None:
            return 0
        for g in (self.rest_gravity, self.gravity):
            if g is None:
                continue
            norm = math.sqrt(_dot(g, g))
            if norm <= 0.0 or abs(_dot(g, self.shank)) / norm >= HORIZONTAL_SIN:
                continue
            # cos(alpha) = g.n / |g| with n = -sign * (k x s) must be positive near horizontal
            across = _dot(g, _cross(axis, self.shank))
            return -1 if across > 0 else 1
        return 0

    def inclination_deg(self, axis: list[float], sign: int) -> float:
        """Shank angle below the forward horizontal (deg), or NaN while it cannot be known."""
        g = self.gravity
        if g is None or self.shank is None or sign == 0:
            return math.nan
        along = _dot(g, self.shank)
        across = -sign * _dot(g, _cross(axis, self.shank))
        return math.degrees(math.atan2(-along, across))
