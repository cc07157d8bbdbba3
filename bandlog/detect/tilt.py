"""Absolute knee angle from the shank accelerometer, fused with the gyro (science.md 3.4, 5.2).

The gyro alone gives knee motion but no zero, and its integral drifts. Gravity gives the zero, but
only once we know where the shank points in the sensor frame, which a sensor strapped on any way
round does not say. Here:

- Accelerometer offset (up to ~0.06 g per axis, ~5 degrees of tilt): every quiet pose (the 1 Hz
  low-passed accelerometer while the gyro reads < 5 deg/s) lies on a circle of radius |g| about the
  knee axis whose centre is the offset. The knee sweeps only ~90 degrees of it, mostly in two
  clusters (rest and top), where a circle of free radius is poorly conditioned (5-45 mg off in the
  simulator), so the radius is taken as standard gravity: the fit is then a linear least squares
  over running sums of all the poses (~1 mg off). On a real sensor, a residual accelerometer scale
  error e moves the fitted offset by about e |g| towards the middle of the arc, ~0.6 degree of angle
  per 1 %: factory-trimmed MEMS parts are within ~1 %, and the offset it removes is up to 5 degrees.
  The offset along the axis is the mean reading along it (gravity has none when the axis is level).
  Solved once the poses span >= 40 degrees about the axis, then refined as poses come.
- Gravity in the sensor frame is tracked by a complementary filter: rotated by the bias-corrected
  gyro every sample (the mean rate over the step), and pulled towards the accelerometer with time
  constant tau (1 s) when it reads 1 g within +-0.1 g once the known motion terms are removed.
- The shank direction s (unit, perpendicular to the knee axis k) comes from those motion terms: a
  sensor r along the shank feels, besides gravity, -r w^2 s (centripetal, towards the knee) and
  r dw/dt (k x s) (tangential), w the knee rate about k. Both are linear in v = r s, so v is a running
  least-squares solution over every sample with motion; the fast passive flexions inform it most.
  The reading is split along the tracked gravity u and across it; along it the fit has an intercept
  (|g|), so neither the tracked gravity's length (the filter pulls it towards readings with motion
  left in) nor the accelerometer's scale biases v: with |g| assumed, the shank direction came out
  1-2 degrees off, the same way in most simulated sessions. The fit itself is
  bandlog.detect.shank_fit. Samples taken before the accelerometer's offset is solved are biased by
  it, so the fit restarts then; until it has seen a flexion, an interim fit of the earlier samples
  moved by the offset found stands in (ShankTilt._restart_fit).
- The gyro's scale about the knee (MEMS parts: 1-3 % off) turns the tracked gravity too far or too
  short in every fast flexion (3 % of 100 degrees: 3 degrees, pulled back over tau), and through the
  tracked gravity it bent the shank fit too: the angle was 1-2 degrees off, on flexion samples most,
  the same way as the scale error in most simulated sessions. The lag a scale error leaves in the
  tracked gravity about the knee is linear in 1 / scale (ShankTilt._track_scale), so the shank fit
  solves for it along with the shank, and the gravity is turned by the rate about the knee divided by
  the scale found (a plausible one: MAX_GYRO_SCALE_ERR).
- Abrupt samples stay out of both fits: a knock, a jolt or a dead stop at the top shows as a knee
  rate jumping faster than the sample rate follows, or a reading far from 1 g (clipped at the
  range); fitted, a few such samples a rep turned the shank direction 140-180 degrees round. A
  sample joins the fit only once the next one shows no jump either: a spike one sample long shows
  for sure only on the sample after it. With the spikes out, the gyro's scale is solved whatever
  came before (turning it off for a session after any abrupt sample left the angle up to 1 degree off). A new
  solution far looser than the one in use is set aside too (LOOSER_SOLUTION_RATIO). They are
  counted and said in the notes, as is a shank direction the data pin down only loosely (its
  standard error from the fit's residual: a sensor near the knee axis feels little motion): the
  angle is then given but said to be unsure.
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

from bandlog.detect.shank_fit import Row, ShankFit, ShankSolution, plane

STANDARD_GRAVITY_MS2 = 9.80665
GATE_G = 0.1
"""Accelerometer used only while its (motion-corrected) magnitude is within this of 1 g."""
HORIZONTAL_SIN = 0.7
"""The knee-axis sign is read from a pose whose shank is within ~45 degrees of horizontal."""
FAST_DPS = 30.0
"""Before the shank direction is known, the accelerometer is not trusted above this knee rate."""
POSE_SPACING_DEG = 3.0
"""Poses kept to measure their spread about the knee must differ by at least this much in tilt."""
MAX_POSES = 120
POSE_BLOCK = 64
"""Poses folded into the offset fit's sums at a time (a fixed count: the same however blocks arrive)."""
MIN_POSE_SPREAD_DEG = 40.0
"""The accelerometer offset is solved once still poses span this much rotation about the knee."""
MAX_RATE_JUMP_RAD_S2 = 40.0
"""A sample with knee motion joins the shank fit only if the knee's angular acceleration (the rate's
finite difference, half a sample late) changed by less than this since the last one: the lag then
misstates the tangential term r dw/dt by under r |jump| / 2, 1 g at a 0.5 m lever. A smooth flexion
of 150 degrees in 0.8 s changes it by ~6 (rad/s^2) a sample at 50 Hz; a knock, a jolt or a dead stop
at the top (sampled once, or clipped at the gyro's range) by far more, and a sample taken then says
nothing about the shank (three such a rep put it 30-180 degrees off in simulated sessions)."""
MAX_MOTION_G = 2.0
"""Nor if the reading's magnitude is further than this from 1 g: twice what a knee curl's motion terms
give (r w^2 is 0.8 g at 0.5 m and 230 deg/s), so a knock, or a reading clipped at the range."""
POSE_SETTLE_S = 2.0
"""Poses are left out of the offset fit this long after a knock (MAX_MOTION_G): the 1 Hz low-pass they
come through spreads it over about as long (one 15 g sample moves it by 0.43 g, 0.2 s later, at 100 Hz)."""
MAX_EARLY_ROWS = 20_000
"""Shank-fit samples kept until the accelerometer's offset is solved (a minute or two of motion)."""
MAX_GYRO_SCALE_ERR = 0.1
"""The gyro scale about the knee the shank fit finds is used only within 1 +- this (MEMS parts: within
~3 %); further off, the data cannot tell it (a sensor near the knee axis) and the last one is kept."""
UNSURE_DIRECTION_DEG = 3.0
"""Above this standard error the learned shank direction, and so the absolute angle, is said to be unsure."""
LOOSER_SOLUTION_RATIO = 4.0
"""A new shank solution whose standard error is over this many times the one in use (and over
UNSURE_DIRECTION_DEG) is set aside, the one in use kept: the rows just folded in contradict the rest, and
the shank has not moved on the leg (a new mounting is learned afresh: forget_mounting). Only once the
offset is solved and the fit that followed it stands (not the interim one): before, a loose solution
is the learning itself. After a dead stop at a rep's top the fit's standard error went from 4.5 to 186
degrees in one block, its direction turned 150-180 degrees round, and the angle read 180-200 degrees
off for 5 s, until later rows turned it back."""


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
        self._fit = ShankFit(dt_s, self.gain)
        self._interim: ShankFit | None = None
        """Stands in for _fit from the offset's first solution until _fit has seen a flexion (_restart_fit)."""
        self._early: list[Row] = []
        """Shank-fit samples taken before the offset was solved (at most MAX_EARLY_ROWS)."""
        self.direction_sd_deg = math.nan
        """Standard error (deg) of the learned shank direction about the knee, once learned."""
        self._last_w: float | None = None
        self._last_wd = 0.0
        self._held_row: Row | None = None
        """The last sample with knee motion, held until the next one shows it was not a one-sample spike."""
        self.samples_abrupt = 0
        """Samples left out of the shank fit as too abrupt for the sample rate (a knock, a jolt)."""
        self.solutions_set_aside = 0
        """Shank solutions far looser than the one in use, not used (LOOSER_SOLUTION_RATIO)."""
        self._settle_n = round(POSE_SETTLE_S / dt_s)
        self._settle_left = 0
        """Samples to go before poses are taken again after an abrupt one (POSE_SETTLE_S)."""
        self._last_omega: list[float] | None = None
        self.shank: list[float] | None = None
        """Unit shank direction (sensor frame), once learned."""
        self.radius_m = 0.0
        self.rest_gravity: list[float] | None = None
        """Gravity at the latest still pose (the sign can be read from it later)."""
        self.offset: list[float] = [0.0, 0.0, 0.0]
        self._poses: list[list[float]] = []
        self._pose_rows: list[list[float]] = []
        self._pose_n = 0
        self._pose_sum = np.zeros(3)
        self._pose_outer = np.zeros((3, 3))
        self._pose_third = np.zeros((3, 3, 3))
        self._offset_solved = False
        self.gyro_scale = 1.0
        """The gyro's reading about the knee axis over the true rate, once learned (the shank fit's)."""
        self._scale_x = self._scale_y = 0.0

    def step(
        self, acc: list[float], omega: list[float], axis: list[float] | None, still: bool, pose: list[float] | None
    ) -> None:
        """acc: m/s^2; omega: bias-corrected gyro, rad/s (sensor frame); axis: unsigned knee axis;
        pose: a low-passed accelerometer reading taken while the shank barely turns, if it does."""
        dt = self.dt_s
        knock = abs(math.sqrt(_dot(acc, acc)) / STANDARD_GRAVITY_MS2 - 1.0) > MAX_MOTION_G
        if knock:  # the poses of the next POSE_SETTLE_S are left out of the offset fit
            self.samples_abrupt += 1
            self._settle_left = self._settle_n
        elif self._settle_left:
            self._settle_left -= 1
        if pose is not None and not self._settle_left:
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
        # over the step from the last sample: the mean of both rates (trapezoid, not half a sample early),
        # its part about the knee divided by the gyro's learned scale about it (_track_scale)
        last = self._last_omega if self._last_omega is not None else omega
        self._last_omega = omega
        rate = [0.5 * (omega[i] + last[i]) for i in range(3)]
        w_turn = 0.0 if axis is None else _dot(axis, rate)
        if axis is not None and self.gyro_scale != 1.0:
            rescale = (1.0 / self.gyro_scale - 1.0) * w_turn
            rate = [rate[i] + rescale * axis[i] for i in range(3)]
        turn = _cross(rate, g)
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
        self._track_scale(w_turn, trusted)
        if trusted:
            k = self.gain
            g = [g[i] + k * (corrected[i] - g[i]) for i in range(3)]
        self.gravity = g
        if still:
            self.rest_gravity = list(g)
        if axis is not None and w != 0.0:
            jump, self._last_wd = abs(wd - self._last_wd) > MAX_RATE_JUMP_RAD_S2, wd
            if jump and not knock:
                self.samples_abrupt += 1
            self._settle_held_row(abrupt_next=knock or jump)
            if not (knock or jump):
                self._held_row = (*g, *acc, *axis, w, wd, self._scale_x, self._scale_y)

    def _track_scale(self, w: float, trusted: bool) -> None:
        """What a gyro scale error about the knee has done to the tracked gravity, for the shank fit to
        solve (bandlog.detect.shank_fit): a rate read (1 + e) times the true one turns the tracked gravity
        about the knee by e w dt too far a step, and each pull towards the accelerometer takes the
        filter's gain of it back. So the tracked gravity lags the true one by y - a x about the knee,
        with x the measured rates' turn and y the turn applied (the rate divided by the scale used
        then), both passed through the same pulls, and a = 1 / (1 + e)."""
        k = self.gain if trusted else 0.0
        self._scale_x = (1.0 - k) * (self._scale_x + w * self.dt_s)
        self._scale_y = (1.0 - k) * (self._scale_y + w * self.dt_s / self.gyro_scale)

    def forget_mounting(self) -> None:
        """The sensor was strapped on again at another angle: the shank's direction in it, and the poses
        the offset fit rests on (a circle about the old knee axis), are learned afresh. The tracked
        gravity, the offset found so far and the count of abrupt samples are the sensor's own: kept; the
        gyro's scale about the knee depends on where the knee axis lies in the sensor: learned afresh."""
        self._fit = ShankFit(self.dt_s, self.gain)
        self.gyro_scale = 1.0
        self._interim = None
        self._early = []
        self.direction_sd_deg = math.nan
        self._last_w = None
        self._last_wd = 0.0
        self._held_row = None
        self.shank = None
        self.radius_m = 0.0
        self._poses = []
        self._pose_rows = []
        self._pose_n = 0
        self._pose_sum = np.zeros(3)
        self._pose_outer = np.zeros((3, 3))
        self._pose_third = np.zeros((3, 3, 3))
        self._offset_solved = False

    def _add_pose(self, acc: list[float], axis: list[float] | None) -> None:
        """Every pose goes into the offset fit's sums; the few kept POSE_SPACING_DEG apart only tell
        how far the poses spread about the knee."""
        self._pose_rows.append(acc)
        if len(self._pose_rows) >= POSE_BLOCK:
            rows = np.array(self._pose_rows)
            self._pose_rows = []
            self._pose_n += len(rows)
            self._pose_sum += rows.sum(axis=0)
            self._pose_outer += rows.T @ rows
            self._pose_third += np.einsum("ni,nj,nk->ijk", rows, rows, rows)
            if axis is not None and (self._offset_solved or self._spread_deg(axis) >= MIN_POSE_SPREAD_DEG):
                self._solve_offset(axis)
        norm = math.sqrt(_dot(acc, acc))
        if norm <= 0.0:
            return
        cos_min = math.cos(math.radians(POSE_SPACING_DEG))
        if any(_dot(acc, q) / (norm * math.sqrt(_dot(q, q))) > cos_min for q in self._poses):
            return
        self._poses.append(list(acc))
        del self._poses[:-MAX_POSES]

    def _spread_deg(self, axis: list[float]) -> float:
        """How far (deg) the distinct poses spread in rotation about the knee axis."""
        e1, e2 = plane(axis)
        angles = np.unwrap([math.atan2(_dot(q, e2), _dot(q, e1)) for q in self._poses])
        return math.degrees(float(np.ptp(angles)))

    def _solve_offset(self, axis: list[float]) -> None:
        """In-plane offset b from |p - b| = |g| over every pose p (p projected across the knee axis),
        by least squares on |p|^2 - 2 p.b = |g|^2 - |b|^2 (linear once |b|^2 is taken from the
        previous pass; two passes, |b|^2 being ~0.3 % of |g|^2). Along the axis: the mean reading."""
        e1, e2 = plane(axis)
        basis = np.array([e1, e2])  # (2, 3)
        across = np.eye(3) - np.outer(axis, axis)
        outer = basis @ self._pose_outer @ basis.T
        moment = basis @ np.einsum("ijk,jk->i", self._pose_third, across)  # sum of x |x|^2
        total = basis @ self._pose_sum
        b = np.zeros(2)
        try:
            for _ in range(2):
                c = STANDARD_GRAVITY_MS2**2 - float(b @ b)
                b = 0.5 * np.linalg.solve(outer, moment - c * total)
        except np.linalg.LinAlgError:
            return
        if math.hypot(float(b[0]), float(b[1])) > 0.2 * STANDARD_GRAVITY_MS2:  # not a plausible offset: keep the old
            return
        along = _dot([float(x) for x in self._pose_sum], axis) / self._pose_n
        before = self.offset
        self.offset = [float(b[0]) * e1[i] + float(b[1]) * e2[i] + along * axis[i] for i in range(3)]
        if not self._offset_solved:
            self._offset_solved = True
            self._restart_fit([before[i] - self.offset[i] for i in range(3)])

    def _restart_fit(self, shift: list[float]) -> None:
        """What was learned about the shank with an unknown offset is biased: the fit starts afresh on
        samples read with the solved offset. Until it has seen a flexion (SHANK_MIN_W4), an interim fit
        stands in: the samples so far, their readings and tracked gravity moved by `shift` (old offset
        - new offset; for the tracked gravity only roughly, as the filter turned it with the sensor),
        and the new ones; without it the angle stayed on the biased direction until the next flexion,
        5-12 deg off in the rest after the first rep in 8 of 20 simulated sessions."""
        dx, dy, dz = shift
        self._fit = ShankFit(self.dt_s, self.gain)
        self._interim = ShankFit(self.dt_s, self.gain)
        for gx, gy, gz, ax, ay, az, *rest in self._early:
            if (solution := self._interim.add((gx + dx, gy + dy, gz + dz, ax + dx, ay + dy, az + dz, *rest))) is not None:
                self._use(solution)
        self._early = []

    def _use(self, solution: ShankSolution) -> None:
        in_use_sd = self.direction_sd_deg
        settled = self.shank is not None and self._offset_solved and self._interim is None  # not while still learning
        if settled and math.isfinite(in_use_sd) and solution.direction_sd_deg > max(UNSURE_DIRECTION_DEG, LOOSER_SOLUTION_RATIO * in_use_sd):
            self.solutions_set_aside += 1
            return
        self.shank = solution.direction
        self.radius_m = solution.radius_m
        self.direction_sd_deg = solution.direction_sd_deg
        if abs(solution.gyro_scale - 1.0) <= MAX_GYRO_SCALE_ERR:
            self.gyro_scale = solution.gyro_scale

    def _settle_held_row(self, abrupt_next: bool) -> None:
        """The held sample joins the shank fit unless the sample after it is abrupt. A one-sample spike
        (a knock or a dead stop sampled once) changes the rate's finite difference by about its size
        on its own sample and by twice that on the next, so only the next shows it for sure: on its
        own sample it passed MAX_RATE_JUMP_RAD_S2, was fitted with a 2.9 g reading, and turned the
        shank's learned direction 176 degrees round in a simulated session."""
        row, self._held_row = self._held_row, None
        if row is None:
            return
        if abrupt_next:
            self.samples_abrupt += 1
        else:
            self._learn_shank(row)

    def _learn_shank(self, row: Row) -> None:
        """One sample with knee motion into the shank fit (bandlog.detect.shank_fit), and into the
        interim one while it stands in; kept too until the offset is solved (_restart_fit)."""
        if not self._offset_solved and len(self._early) < MAX_EARLY_ROWS:
            self._early.append(row)
        if self._interim is not None and (solution := self._interim.add(row)) is not None:
            self._use(solution)
        if (solution := self._fit.add(row)) is not None:
            self._use(solution)
            self._interim = None

    @property
    def unsure(self) -> bool:
        """The shank direction is learned, but the data pin it down worse than UNSURE_DIRECTION_DEG."""
        return self.shank is not None and not self.direction_sd_deg <= UNSURE_DIRECTION_DEG

    def notes(self) -> list[str]:
        """What the absolute knee angle rests on that the user should know, in words: samples left out
        of the shank fit, the gyro scale it corrects for, and a shank direction the data pin down too
        loosely for the angle to be sure."""
        notes = []
        if self.samples_abrupt:
            notes.append(
                f"{self.samples_abrupt} samples of abrupt motion (a knock, a jolt, a reading at the sensor's range) "
                "left out of what the absolute knee angle is learned from"
            )
        if self.solutions_set_aside:
            notes.append(
                f"{self.solutions_set_aside} updates of the shank's learned direction set aside: each pinned it down over "
                f"{LOOSER_SOLUTION_RATIO:g} times more loosely than the one in use (the samples just added contradicted the rest)"
            )
        if self.gyro_scale != 1.0:
            notes.append(
                f"the gyro reads {100.0 * (self.gyro_scale - 1.0):+.1f} % about the knee (learned with the shank's direction): "
                "the absolute knee angle is corrected for it"
            )
        if self.unsure:
            notes.append(
                f"absolute knee angle unsure: the data pin the shank's direction in the sensor down to {self.direction_sd_deg:.1f} "
                f"degrees (standard error; over {UNSURE_DIRECTION_DEG:g} is unsure), so the angle may be off by that or more; "
                "reps and their timing do not depend on it"
            )
        return notes

    def sign_from_pose(self, axis: list[float]) -> int:
        """+1/-1 to make the axis flexion-positive, or 0 while no pose near horizontal is known."""
        for g in (self.rest_gravity, self.gravity):
            if g is not None and (sign := self.sign_from_gravity(axis, g)) != 0:
                return sign
        return 0

    def sign_from_gravity(self, axis: list[float], g: list[float]) -> int:
        """+1/-1 to make the axis flexion-positive from one pose's gravity, or 0 when the shank's
        direction is not known yet or the shank is not near horizontal in it."""
        if self.shank is None:
            return 0
        norm = math.sqrt(_dot(g, g))
        if norm <= 0.0 or abs(_dot(g, self.shank)) / norm >= HORIZONTAL_SIN:
            return 0
        # cos(alpha) = g.n / |g| with n = -sign * (k x s) must be positive near horizontal
        return -1 if _dot(g, _cross(axis, self.shank)) > 0 else 1

    def inclination_deg(self, axis: list[float], sign: int) -> float:
        """Shank angle below the forward horizontal (deg), or NaN while it cannot be known."""
        g = self.gravity
        if g is None or self.shank is None or sign == 0:
            return math.nan
        along = _dot(g, self.shank)
        across = -sign * _dot(g, _cross(axis, self.shank))
        return math.degrees(math.atan2(-along, across))
