"""Knee rate and angle from a shank gyro mounted any way round (science.md 3.3, 5.2).

- Gyro bias: learned in still windows (ZUPT): the slow gyro barely varies and gravity does not turn.
- Knee axis: the principal direction of the bias-corrected gyro over motion, found online by power
  iteration on the accumulated outer-product matrix (it never flips sign between updates).
- Axis sign (flexion positive): the pose first (a shank near horizontal points forward, tilt.py),
  else the force level and the movement pattern over one whole excursion (axis_sign.py).
- No still window (a clip trimmed to the movement): frames are held for BIAS_WAIT_S, then the bias
  comes from the movement itself (fallback_bias: gravity against the integrated gyro) and the
  result's notes say so.
- Angle for the state machine: integrated bias-corrected knee rate (no filter delay, no zero),
  relative to where it started. Absolute knee flexion (for display): gravity fused with the gyro
  (tilt.py), NaN until the shank direction and sign are known.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from bandlog.detect.frontend import Frame
from bandlog.detect.params import DetectorParams
from bandlog.detect.axis_sign import SignEvidence
from bandlog.detect.tilt import ShankTilt

log = logging.getLogger(__name__)

MIN_GRAVITY_IN_PLANE = 0.5
"""Gravity tells the angle about k only if at least this share of it lies across k (an axis near
vertical, like a forearm rotating at the elbow, turns without tilting)."""
BIAS_WAIT_S = 4.0
"""How long to wait for a still window before estimating the gyro bias from the movement itself."""
QUASI_STILL_DPS = 5.0
"""Slow gyro below this: the (1 Hz low-passed) accelerometer reads gravity well enough to serve
as a pose for the accelerometer-offset fit (top holds included, which the still test rejects)."""


@dataclass(frozen=True)
class KneeTrack:
    """Per-sample knee estimates for one Frame; unsigned until `sign` is non-zero."""

    still: np.ndarray
    angle_u_deg: np.ndarray
    rate_u_dps: np.ndarray
    """Filtered (phase-logic) knee rate, before the sign is applied."""
    sign: np.ndarray
    """0 while the flexion direction is unknown, then +1 or -1 (multiply to get flexion-positive)."""
    knee_deg: np.ndarray
    """Absolute knee flexion (0 = straight) from gravity and gyro; NaN while unknown."""


def fallback_bias(gyro_slow_dps: np.ndarray, acc_slow_ms2: np.ndarray | None, dt_s: float) -> list[float]:
    """Gyro bias from a stretch with no still moment (a clip trimmed to the movement).

    The knee turns about one axis k (the principal direction of the gyro), so the bias across k is
    the mean of the gyro across k. Along k, the integrated gyro drifts from the knee angle by the
    bias times time, and gravity (the accelerometer, both through the same 1 Hz low-pass) gives the
    knee angle without drift: the slope of their difference is the bias along k. Without a usable
    gravity reference the trend of the integrated gyro itself is used.
    """
    g = np.asarray(gyro_slow_dps, dtype=np.float64)
    centred = g - g.mean(axis=0)
    k = np.linalg.svd(centred, full_matrices=False)[2][0]
    mean = g.mean(axis=0)
    across = mean - float(mean @ k) * k
    theta_gyro = np.cumsum(g @ k) * dt_s
    theta_ref = np.zeros_like(theta_gyro)
    if acc_slow_ms2 is not None:
        e1 = np.cross(k, [1.0, 0.0, 0.0] if abs(k[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(k, e1)
        acc = np.asarray(acc_slow_ms2, dtype=np.float64)
        in_plane = np.hypot(acc @ e1, acc @ e2)
        if float(np.median(in_plane / np.maximum(np.linalg.norm(acc, axis=1), 1e-9))) >= MIN_GRAVITY_IN_PLANE:
            # gravity, seen from a sensor turning by +theta about k, turns by -theta
            theta_ref = -np.degrees(np.unwrap(np.arctan2(acc @ e2, acc @ e1)))
    # no usable gravity (no accelerometer, or an axis near vertical): reps go out and come back,
    # so the angle has no trend of its own and the integrated gyro's trend is the bias
    t = np.arange(g.shape[0]) * dt_s
    along = float(np.polyfit(t, theta_gyro - theta_ref, 1)[0])
    return [float(v) for v in across + along * k]


class KneeEstimator:
    """Stateful per-sample gyro processing; feed Frames in order."""

    def __init__(self, params: DetectorParams, dt_s: float, use_force_sign: bool, use_pose: bool = True) -> None:
        self.params = params
        self.dt_s = dt_s
        self.use_force_sign = use_force_sign
        self.window = max(2, int(round(params.still_window_s / dt_s)))
        self._history: np.ndarray | None = None
        self.bias: list[float] | None = None
        self.axis: list[float] | None = None
        self._s = [0.0] * 6  # xx, yy, zz, xy, xz, yz of the motion outer-product sum
        self.angle_u_deg = 0.0
        self.sign = 0
        self.use_pose = use_pose
        self._evidence = SignEvidence(dt_s, params.sign_excursion_deg, use_force_sign, quick_loading=use_pose)
        self.tilt = ShankTilt(dt_s, params.tilt_tau_s)
        self.notes: list[str] = []
        """Guesses made along the way (how the bias was found, how the axis sign was decided)."""
        self.bias_from_still = False
        self._held: list[tuple[Frame, np.ndarray]] = []
        self._held_n = 0
        """Samples in the held frames (so each new frame is looked at once, not the whole hold again)."""

    def _still_candidates(self, frame: Frame) -> np.ndarray:
        """Window test (vectorised, with carried history): slow gyro flat and gravity not turning."""
        assert frame.gyro_slow_dps is not None
        columns = [frame.gyro_slow_dps / self.params.still_gyro_range_dps]
        if frame.acc_slow_ms2 is not None:
            norm = np.linalg.norm(frame.acc_slow_ms2, axis=1, keepdims=True)
            direction = frame.acc_slow_ms2 / np.maximum(norm, 1e-9)
            columns.append(direction / math.radians(self.params.still_tilt_deg))
        values = np.concatenate(columns, axis=1)
        if self._history is None:
            self._history = np.repeat(values[:1], self.window - 1, axis=0) + 1e6  # not still at start
        joined = np.concatenate([self._history, values])
        self._history = joined[-(self.window - 1) :]
        # running max and min over the trailing window: linear in the samples whatever the window
        w, origin = self.window, (self.window - 1) // 2
        spread = maximum_filter1d(joined, w, axis=0, origin=origin) - minimum_filter1d(joined, w, axis=0, origin=origin)
        spread = spread[w - 1 :]
        return np.asarray((spread <= 1.0).all(axis=1))

    def process(self, frame: Frame) -> list[tuple[Frame, KneeTrack]]:
        """Tracks for the frames that can be processed now. Until a gyro bias is known, frames are
        held (no knee motion can be measured without it); they are processed, in order, as soon as
        a still window or, failing one for BIAS_WAIT_S, the movement itself (fallback_bias) gives it."""
        candidates = self._still_candidates(frame)
        if self.bias is None:
            self._held.append((frame, candidates))
            if not self._find_bias():
                return []
            held, self._held = self._held, []
            return [(f, self._process(f, c.tolist())) for f, c in held]
        return [(frame, self._process(frame, candidates.tolist()))]

    def finish(self) -> list[tuple[Frame, KneeTrack]]:
        """The recording ended: whatever is still held is measured with the best bias there is,
        and a sign still undecided is decided from the evidence seen (both said in the notes)."""
        out: list[tuple[Frame, KneeTrack]] = []
        held_n = sum(len(f) for f, _ in self._held)
        if held_n >= 2:
            self.bias = self._bias_from_held(held_n)
            self.notes.append(
                f"the recording ended {held_n * self.dt_s:.1f} s in, before any still moment: gyro bias estimated from the movement"
            )
            held, self._held = self._held, []
            out = [(f, self._process(f, c.tolist())) for f, c in held]
        if self.sign == 0 and self._evidence.angle_deg:
            self.sign = self._evidence.decide()
            self.notes.append(f"{self._evidence.how}, decided at the end of the recording on little evidence")
        return out

    def _find_bias(self) -> bool:
        """Bias from the first still window within the first BIAS_WAIT_S of samples, else (once that
        much is held) from the movement of exactly those samples: the same answer however the
        recording arrives in blocks."""
        wait = int(round(BIAS_WAIT_S / self.dt_s))
        frame, still = self._held[-1]  # the frames held before had no still window: only the newest can
        before = self._held_n
        self._held_n += len(frame)
        still = still[: max(wait - before, 0)]
        if still.any():  # held frames are measured with the bias of this first still window
            assert frame.gyro_slow_dps is not None
            self.bias = [float(v) for v in frame.gyro_slow_dps[int(np.argmax(still))]]
            self.bias_from_still = True
            return True
        if self._held_n < wait:
            return False
        self.bias = self._bias_from_held(wait)
        self.notes.append(
            f"no still moment in the first {BIAS_WAIT_S:g} s: gyro bias estimated from the movement "
            "(replaced by the first still window, if any)"
        )
        return True

    def _bias_from_held(self, n: int) -> list[float]:
        """fallback_bias over the first n held samples."""
        frames = [f for f, _ in self._held]
        gyro_slow = np.concatenate([f.gyro_slow_dps for f in frames])[:n]  # type: ignore[misc]
        acc = np.concatenate([f.acc_slow_ms2 for f in frames])[:n] if frames[0].acc_slow_ms2 is not None else None  # type: ignore[misc]
        return fallback_bias(gyro_slow, acc, self.dt_s)

    def _process(self, frame: Frame, candidates: list[bool]) -> KneeTrack:
        assert frame.gyro_dps is not None and frame.gyro_lp_dps is not None and frame.gyro_slow_dps is not None
        p = self.params
        n = len(frame)
        gyro = frame.gyro_dps.tolist()
        gyro_lp = frame.gyro_lp_dps.tolist()
        gyro_slow = frame.gyro_slow_dps.tolist()
        force = frame.force_n.tolist() if (self.use_force_sign and frame.force_n is not None) else None
        acc = frame.acc_ms2.tolist() if frame.acc_ms2 is not None else None
        acc_slow = frame.acc_slow_ms2.tolist() if frame.acc_slow_ms2 is not None else None
        quasi2 = QUASI_STILL_DPS**2
        tilt = self.tilt
        rad = math.pi / 180.0
        pitch = p.thigh_pitch_deg
        knee_out = [math.nan] * n
        still_out = [False] * n
        angle_out = [0.0] * n
        rate_out = [0.0] * n
        sign_out = [0] * n
        dt = self.dt_s
        alpha = min(1.0, dt / p.bias_tau_s)
        gate2 = p.still_bias_gate_dps**2
        motion2 = p.motion_dps**2
        s = self._s
        for i in range(n):
            gs = gyro_slow[i]
            bias = self.bias
            still = False
            if candidates[i]:
                if bias is None or not self.bias_from_still:
                    self.bias = bias = list(gs)
                    self.bias_from_still = True
                    still = True
                elif (gs[0] - bias[0]) ** 2 + (gs[1] - bias[1]) ** 2 + (gs[2] - bias[2]) ** 2 < gate2:
                    bias[0] += alpha * (gs[0] - bias[0])
                    bias[1] += alpha * (gs[1] - bias[1])
                    bias[2] += alpha * (gs[2] - bias[2])
                    still = True
            still_out[i] = still
            if bias is None:
                angle_out[i] = self.angle_u_deg
                continue
            g = gyro[i]
            vx, vy, vz = g[0] - bias[0], g[1] - bias[1], g[2] - bias[2]
            axis = self.axis
            if acc is not None:
                slow2 = (gs[0] - bias[0]) ** 2 + (gs[1] - bias[1]) ** 2 + (gs[2] - bias[2]) ** 2
                pose = acc_slow[i] if (acc_slow is not None and slow2 < quasi2) else None
                tilt.step(acc[i], [vx * rad, vy * rad, vz * rad], axis, still, pose)
            if vx * vx + vy * vy + vz * vz > motion2:
                s[0] += vx * vx
                s[1] += vy * vy
                s[2] += vz * vz
                s[3] += vx * vy
                s[4] += vx * vz
                s[5] += vy * vz
                if axis is None:
                    axis = [vx, vy, vz]
                ax = s[0] * axis[0] + s[3] * axis[1] + s[4] * axis[2]
                ay = s[3] * axis[0] + s[1] * axis[1] + s[5] * axis[2]
                az = s[4] * axis[0] + s[5] * axis[1] + s[2] * axis[2]
                norm = math.sqrt(ax * ax + ay * ay + az * az)
                self.axis = axis = [ax / norm, ay / norm, az / norm]
            if axis is None:
                angle_out[i] = self.angle_u_deg
                continue
            w_raw = axis[0] * vx + axis[1] * vy + axis[2] * vz
            self.angle_u_deg += w_raw * dt
            gl = gyro_lp[i]
            rate_out[i] = axis[0] * (gl[0] - bias[0]) + axis[1] * (gl[1] - bias[1]) + axis[2] * (gl[2] - bias[2])
            angle_out[i] = self.angle_u_deg
            if self.sign == 0:
                self.sign = self._decide_sign(axis, self.angle_u_deg, rate_out[i], force[i] if force is not None else 0.0)
            sign_out[i] = self.sign
            if self.sign != 0 and acc is not None:
                knee_out[i] = tilt.inclination_deg(axis, self.sign) + pitch
        return KneeTrack(
            still=np.array(still_out, bool),
            angle_u_deg=np.array(angle_out),
            rate_u_dps=np.array(rate_out),
            sign=np.array(sign_out, np.int8),
            knee_deg=np.array(knee_out),
        )

    def _decide_sign(self, axis: list[float], angle_u_deg: float, rate_u_dps: float, force_n: float) -> int:
        """0 while undecided; the pose first (knee exercise), else all the evidence of one whole
        excursion out and back (axis_sign.py)."""
        if self.use_pose:
            pose = self.tilt.sign_from_pose(axis)
            if pose != 0:
                log.debug("axis sign from the shank's pose (gravity)")
                return pose
        evidence = self._evidence
        evidence.add(angle_u_deg, rate_u_dps, force_n)
        if not evidence.ready():
            return 0
        sign = evidence.decide(wait_for_pose=self.use_pose and self.tilt.gravity is not None)
        if sign == 0:
            return 0
        if evidence.guessed:
            self.notes.append(evidence.how)
        else:
            log.debug(evidence.how)
        return sign
