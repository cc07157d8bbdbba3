"""Knee rate and angle from a shank gyro mounted any way round (science.md 3.3, 5.2).

- Gyro bias: learned in still windows (ZUPT): the slow gyro barely varies and gravity does not turn.
  Each still sample reads the slow gyro less what gravity turned over the last half second
  (Frame.gyro_bias_reading_dps), so a top hold creeping a degree or two is not taken for bias.
- Knee axis: the principal direction of the bias-corrected gyro over motion, found online by power
  iteration on the accumulated outer-product matrix (it never flips sign between updates).
- Axis sign (flexion positive): the pose first (seated: a shank near horizontal points forward,
  tilt.py), else the force level and the movement pattern over one whole excursion, or over three
  with the foot planted, where gravity cannot tell (axis_sign.py, bandlog.detect.exercises).
- The sensor moved on the leg (a both-leg plan done with one sensor, a strap done up again): at the
  first still moment after the sensor turned OFF_AXIS_EPISODE_DEG across the knee axis, the axis, its
  sign and the shank's direction are learned afresh (said in the notes); a young axis whose own motion
  turned across it is dropped alone. Tracks carry how far each sample turned across and about the
  axis, so a stretch of handling that looked like a rep is rejected (analysis.py).
- No still window (a clip trimmed to the movement): frames are held for BIAS_WAIT_S, then the bias
  comes from the movement itself (fallback_bias: gravity against the integrated gyro) and the
  result's notes say so.
- Angle for the state machine: integrated bias-corrected knee rate (no filter delay, no zero),
  relative to where it started. Absolute knee flexion (for display): gravity fused with the gyro
  (tilt.py), NaN until the shank direction and sign are known.
- Per frame, the bias is a linear filter over the still samples (lfilter, state carried), the axis
  a power iteration over motion samples; only the axis and (while needed) the sign and gravity run
  sample by sample. Angle and rate are array arithmetic.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import lfilter

from bandlog.detect.axis_sign import SignEvidence
from bandlog.detect.exercises import DEFAULT_KEY, ExerciseProfile, exercise_profile
from bandlog.detect.frontend import Frame
from bandlog.detect.params import DetectorParams
from bandlog.detect.tilt import ShankTilt

log = logging.getLogger(__name__)

MIN_GRAVITY_IN_PLANE = 0.5
"""Gravity tells the angle about k only if at least this share of it lies across k (an axis near
vertical, like a forearm rotating at the elbow, turns without tilting)."""
BIAS_WAIT_S = 4.0
"""How long to wait for a still window before estimating the gyro bias from the movement itself."""
BIAS_BLOCK_MIN = 256
"""Still candidates the bias filter takes at first after a gate miss (doubling while all stay inside)."""
TILT_CHUNK = 512
"""Samples converted to Python lists at a time for the per-sample sign and gravity loop."""
OFF_AXIS_EPISODE_DEG = 45.0
"""Rotation across the knee axis, between two still moments, that makes the next still pose be checked
against the mounting: the knee turns the sensor about the axis only, a hand turning the sensor or a
leg crossed turns it across (a fidget, a few degrees; unstrapping and strapping on, hundreds)."""
MATURE_AXIS_DEG = 90.0
"""Knee rotation about a learned axis (over its motion samples) after which it is trusted: less than one
rep out and back. Before that, an episode of OFF_AXIS_EPISODE_DEG restarts it (its motion was not a knee's)."""
REMOUNT_COS = 0.3
"""A still pose whose gravity component along the knee axis differs by more than this (as a share of
1 g, ~17 degrees of axis tilt) from the last still pose's, after an off-axis episode, is said in the note:
the knee axis stays level whatever the knee does, so only turning the sensor on the leg moves it."""
POSE_AGAINST_RESTS = 2
"""Still moments in a row whose seated pose says the axis points the other way that turn it round."""
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
    across_deg: np.ndarray
    """Rotation across the knee axis at each sample (deg, motion samples once an axis is known; else 0)."""
    about_deg: np.ndarray
    """Rotation about the knee axis at each sample (deg, likewise): a rep turning the sensor more across
    than about it was no knee movement (the sensor handled, or the leg moved as a whole)."""
    known: np.ndarray
    """Whether the knee axis is known at each sample (angle and rate hold still before it is)."""
    fresh_axis: bool = False
    """The knee axis (and its sign) is learned afresh from this track's first sample on: the sensor
    was strapped on again, or what was learned came from motion that was not the knee's."""


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


def _hold(n: int, at: np.ndarray, rows: np.ndarray, start: Sequence[float]) -> np.ndarray:
    """(n, 3) rows: `start` until the first index in `at`, then the row of `rows` given at each
    index in `at` from that index on."""
    which = np.zeros(n, np.int64)
    which[at] = np.arange(1, len(at) + 1)
    table = np.concatenate([np.asarray(start, dtype=np.float64)[None, :], np.asarray(rows, dtype=np.float64).reshape(-1, 3)])
    return table[np.maximum.accumulate(which)]


def _within_gate(gyro_dps: np.ndarray, bias_dps: np.ndarray, gate2: float) -> np.ndarray:
    """Rows of the slow gyro within the still gate of the bias (row by row, or one bias row for all)."""
    d = gyro_dps - bias_dps
    within: np.ndarray = d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2 < gate2
    return within


class KneeEstimator:
    """Stateful per-sample gyro processing; feed Frames in order."""

    def __init__(
        self, params: DetectorParams, dt_s: float, use_force_sign: bool, profile: ExerciseProfile | None = None,
        absolute_angle: bool = True,
    ) -> None:
        """`profile`: the exercise (default the reverse curl): its pose model says whether gravity may
        decide the axis sign, its rest end and loading speed what the movement pattern means."""
        self.params = params
        self.absolute_angle = absolute_angle
        """Track gravity all along for the absolute knee angle (KneeTrack.knee_deg); without it, only
        until the axis sign is known (batch analysis: nothing displays the angle)."""
        self.dt_s = dt_s
        self.use_force_sign = use_force_sign
        self.window = max(2, int(round(params.still_window_s / dt_s)))
        self._history: np.ndarray | None = None
        self.bias: list[float] | None = None
        self.axis: list[float] | None = None
        self._s = [0.0] * 6  # xx, yy, zz, xy, xz, yz of the motion outer-product sum
        self.angle_u_deg = 0.0
        self.sign = 0
        profile = profile or exercise_profile(DEFAULT_KEY)
        self.use_pose = profile.pose == "seated"
        self.planted = profile.pose == "planted"
        self._evidence = SignEvidence(
            dt_s, params.sign_excursion_deg, use_force_sign, quick_loading=profile.quick_loading,
            rest_flexed=profile.rest_end == "flexed", by_time=self.planted,
        )
        self.tilt = ShankTilt(dt_s, params.tilt_tau_s)
        self.notes: list[str] = []
        """Guesses made along the way (how the bias was found, how the axis sign was decided)."""
        self.bias_from_still = False
        self._held: list[tuple[Frame, np.ndarray]] = []
        self._held_n = 0
        """Samples in the held frames (so each new frame is looked at once, not the whole hold again)."""
        self.motion_before_axis_n = 0
        """Samples not still seen before the knee axis was learned: their knee motion is not measured
        (a rep the recording began inside is lost with them); said in the notes."""
        self.motion_before_axis_deg = 0.0
        """How far the sensor turned over those samples."""
        self._axis_found = False
        self._off_axis_deg = 0.0
        """Rotation across the knee axis since the last still moment (OFF_AXIS_EPISODE_DEG)."""
        self._axis_turn_deg = 0.0
        """Rotation about the knee axis since it was (re)started (MATURE_AXIS_DEG)."""
        self._episode_turn_deg = 0.0
        """Rotation about the knee axis since the last still moment."""
        self._axis_gravity: float | None = None
        """Gravity's share along the knee axis at the last still pose with a mature axis (REMOUNT_COS)."""
        self._pose_against = 0
        """Still moments in a row whose pose said the axis sign is the other one (POSE_AGAINST_RESTS)."""
        self._moves: list[tuple[float, str]] = []
        """(time, what showed it) of each time the sensor moved on the leg (moved_note)."""
        self._was_still = True
        """Whether the last sample seen was a still candidate (a rest begins where one follows motion)."""

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
            return [pair for f, c in held for pair in self._process(f, c)]
        return self._process(frame, candidates)

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
            out = [pair for f, c in held for pair in self._process(f, c)]
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
            assert frame.gyro_bias_reading_dps is not None
            self.bias = [float(v) for v in frame.gyro_bias_reading_dps[int(np.argmax(still))]]
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
        gyro_slow = np.concatenate([f.gyro_slow_dps for f in frames])[:n]
        acc = np.concatenate([f.acc_slow_ms2 for f in frames])[:n] if frames[0].acc_slow_ms2 is not None else None
        return fallback_bias(gyro_slow, acc, self.dt_s)

    def _process(self, frame: Frame, candidates: np.ndarray) -> list[tuple[Frame, KneeTrack]]:
        """The frame's knee tracks, cut at the first still sample of each rest: there the mounting is
        checked (_check_mounting), with the axis as learned up to it, whatever the blocks the samples came in."""
        rest_starts = candidates & ~np.concatenate([[self._was_still], candidates[:-1]])
        self._was_still = bool(candidates[-1])
        cuts = [0, *np.flatnonzero(rest_starts).tolist(), len(frame)]
        out = []
        for a, b in pairwise(dict.fromkeys(cuts)):  # in order, without repeats
            fresh = self._check_mounting(frame, a) if rest_starts[a] else False
            part = frame.part(a, b)
            out.append((part, self._track(part, candidates[a:b], fresh)))
        return out

    def _check_mounting(self, frame: Frame, i: int) -> bool:
        """At the first still sample of a rest: whether the knee axis must be learned afresh from here
        (the estimator is then reset). After an episode of rotation across the axis (OFF_AXIS_EPISODE_DEG)
        the sensor may sit on the leg at another angle, even the same axis turned round (a sensor moved
        to the other leg, its face out again), which no still pose can tell for sure: axis, sign and
        shank direction are learned afresh, which costs the next rep nothing (its samples wait for the
        new sign). A young axis (MATURE_AXIS_DEG) is dropped alone: its motion was not the knee's. And
        a seated pose that twice in a row says the axis points the other way turns it round."""
        across, about = self._off_axis_deg, self._episode_turn_deg
        self._off_axis_deg = self._episode_turn_deg = 0.0
        if self.axis is None:
            return False
        if across >= OFF_AXIS_EPISODE_DEG and self._axis_turn_deg < MATURE_AXIS_DEG:
            self._restart_axis()
            return True
        if across >= OFF_AXIS_EPISODE_DEG:
            gravity = self._gravity_along(frame, i, np.asarray(self.axis))
            moved = None if gravity is None or self._axis_gravity is None else abs(gravity - self._axis_gravity)
            tilted = f", axis {math.degrees(math.asin(min(moved, 1.0))):.0f} deg off against gravity" if moved is not None and moved > REMOUNT_COS else ""
            self._forget_mounting(float(frame.t_s[i]), f"turned {across:.0f} deg across the knee axis, {about:.0f} about it{tilted}")
            return True
        pose_sign = self._pose_sign(frame, i)
        self._pose_against = self._pose_against + 1 if pose_sign != 0 and self.sign != 0 and pose_sign != self.sign else 0
        if self._pose_against >= POSE_AGAINST_RESTS:
            self._forget_mounting(float(frame.t_s[i]), f"the shank's pose said the axis points the other way at {POSE_AGAINST_RESTS} rests in a row")
            return True
        if self._axis_turn_deg >= MATURE_AXIS_DEG and (gravity := self._gravity_along(frame, i, np.asarray(self.axis))) is not None:
            self._axis_gravity = gravity
        return False

    def _pose_sign(self, frame: Frame, i: int) -> int:
        """The axis sign the still pose at sample i says (seated knee exercise), 0 when it cannot tell."""
        g = self._still_gravity(frame, i)
        if not self.use_pose or g is None or self.axis is None:
            return 0
        return self.tilt.sign_from_gravity(self.axis, [float(v) for v in g])

    def _gravity_along(self, frame: Frame, i: int, axis: np.ndarray) -> float | None:
        """Gravity's share along the knee axis in the still pose at sample i (None without an accelerometer)."""
        g = self._still_gravity(frame, i)
        if g is None:
            return None
        norm = float(np.linalg.norm(g))
        return float(g @ axis) / norm if norm > 0.0 else None

    def _still_gravity(self, frame: Frame, i: int) -> np.ndarray | None:
        """Gravity in the sensor frame at the still sample i: the low-passed reading less the offset."""
        if frame.acc_slow_ms2 is None:
            return None
        g: np.ndarray = frame.acc_slow_ms2[i] - np.asarray(self.tilt.offset)
        return g

    def _restart_axis(self) -> None:
        """Learn the knee axis and its sign afresh from the next motion."""
        self.axis = None
        self._s = [0.0] * 6
        self.sign = 0
        self._evidence = self._evidence.fresh()
        self._off_axis_deg = self._axis_turn_deg = self._episode_turn_deg = 0.0
        self._axis_gravity = None
        self._pose_against = 0

    def _forget_mounting(self, t_s: float, evidence: str) -> None:
        """The sensor sits on the leg at a new angle: axis, sign and shank direction learned afresh, said in the notes."""
        self._restart_axis()
        self.tilt.forget_mounting()
        self._moves.append((t_s, evidence))

    def moved_note(self) -> str | None:
        """The times the sensor moved on the leg (_forget_mounting), in one sentence, or None."""
        if not self._moves:
            return None
        said = [f"{t_s:.1f} s ({evidence})" for t_s, evidence in self._moves]
        when = said[0] if len(said) == 1 else f"{len(said)} times, before {', '.join(said[:-1])} and {said[-1]}"
        return (f"the sensor moved on the leg (or the leg as a whole) {'before ' if len(said) == 1 else ''}{when}: the knee "
                f"axis, its sign and the shank's direction were learned afresh {'from there' if len(said) == 1 else 'each time'}")

    def _track(self, frame: Frame, candidates: np.ndarray, fresh: bool) -> KneeTrack:
        """The frame's knee track. The recurrences run only over the samples where they can change:
        the bias over still candidates (as a filter), the axis over motion samples, the sign and
        gravity tracking while they are needed. The rest is whole-array arithmetic, written in
        the same operation order as the recurrences, so the result is the same to the last bit."""
        assert frame.gyro_dps is not None and frame.gyro_lp_dps is not None and frame.gyro_slow_dps is not None
        assert self.bias is not None  # process() holds frames until it is known
        n = len(frame)
        assert frame.gyro_bias_reading_dps is not None
        bias, still = self._track_bias(frame.gyro_bias_reading_dps, candidates)
        v = frame.gyro_dps - bias
        vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
        motion = vx * vx + vy * vy + vz * vz > self.params.motion_dps**2
        axis_before = self.axis
        axis, known = self._track_axis(v, motion)
        ax, ay, az = axis[:, 0], axis[:, 1], axis[:, 2]
        along = ax * vx + ay * vy + az * vz
        counted = motion & known
        if not self._axis_found:  # only the recording's opening: after a re-mount, the move is said instead
            blind = ~known & ~still
            self.motion_before_axis_n += int(np.count_nonzero(blind))
            self.motion_before_axis_deg += float(np.sqrt(vx[blind] ** 2 + vy[blind] ** 2 + vz[blind] ** 2).sum()) * self.dt_s
            self._axis_found = bool(known.any())
        across_deg = np.where(counted, np.sqrt(np.maximum(vx * vx + vy * vy + vz * vz - along * along, 0.0)), 0.0) * self.dt_s
        about_deg = np.where(counted, np.abs(along), 0.0) * self.dt_s
        self._off_axis_deg += float(across_deg.sum())
        turned_deg = float(about_deg.sum())
        self._axis_turn_deg += turned_deg
        self._episode_turn_deg += turned_deg
        angle = np.full(n, self.angle_u_deg)
        rate = np.zeros(n)
        if known.any():
            first = int(np.argmax(known))
            steps = (ax * vx + ay * vy + az * vz)[first:] * self.dt_s
            angle[first:] = np.cumsum(np.concatenate([[self.angle_u_deg], steps]))[1:]
            self.angle_u_deg = float(angle[-1])
            gl = frame.gyro_lp_dps
            rate[first:] = (ax * (gl[:, 0] - bias[:, 0]) + ay * (gl[:, 1] - bias[:, 1]) + az * (gl[:, 2] - bias[:, 2]))[first:]
        sign = np.zeros(n, np.int8)
        knee = np.full(n, math.nan)
        done = self._track_sign_and_tilt(frame, bias, v, axis_before, axis, known, still, angle, rate, sign, knee)
        sign[done:] = self.sign
        return KneeTrack(still, angle, rate, sign, knee, across_deg, about_deg, known, fresh)

    def _track_bias(self, gyro_slow_dps: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bias in force at each sample, still flags): the bias is replaced by the first still
        window's slow gyro (if it came from the movement) and then follows each later still sample
        within the gate as an exponential average; other samples leave it unchanged.

        The average runs as a linear filter over runs of candidates (lfilter, its state carried
        exactly, so blocks give the same bits as one pass); each run is cut at the first sample
        outside the gate, and the samples after it are skipped while they stay outside."""
        assert self.bias is not None
        n = gyro_slow_dps.shape[0]
        changed = np.flatnonzero(candidates)
        rows = gyro_slow_dps[changed]
        m = changed.size
        alpha = min(1.0, self.dt_s / self.params.bias_tau_s)
        gate2 = self.params.still_bias_gate_dps**2
        start = list(self.bias)
        bias = np.array(start)
        kept = np.zeros(m, bool)
        values = np.empty((m, 3))
        i = 0
        if m and not self.bias_from_still:
            bias = rows[0].copy()
            kept[0], values[0] = True, bias
            self.bias_from_still = True
            i = 1
        block = BIAS_BLOCK_MIN
        while i < m:
            part = rows[i : i + block]
            averaged = lfilter([alpha], [1.0, alpha - 1.0], part, axis=0, zi=((1.0 - alpha) * bias)[None, :])[0]
            before = np.concatenate([bias[None, :], averaged[:-1]])
            inside = _within_gate(part, before, gate2)
            accepted = len(part) if inside.all() else int(np.argmin(inside))
            kept[i : i + accepted] = True
            values[i : i + accepted] = averaged[:accepted]
            if accepted:
                bias = averaged[accepted - 1]
            i += accepted
            if accepted == len(part):
                block *= 2  # a long still stretch: fewer, bigger filter calls
                continue
            block = BIAS_BLOCK_MIN
            while i < m:  # outside the gate: the bias holds until a sample comes back inside it
                part = rows[i : i + BIAS_BLOCK_MIN]
                inside = _within_gate(part, bias[None, :], gate2)
                if inside.any():
                    i += int(np.argmax(inside))
                    break
                i += len(part)
        self.bias = [float(v) for v in bias]
        still = np.zeros(n, bool)
        still[changed[kept]] = True
        return _hold(n, changed[kept], values[kept], start), still

    def _track_axis(self, v: np.ndarray, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(axis in force at each sample, whether one is known yet): one power-iteration step on the
        running outer-product sum at each motion sample. With the foot planted the shank turns a
        few deg/s, slower than a fidget, so each motion sample counts once (unit vectors) instead
        of by its rate squared."""
        n = v.shape[0]
        moving = np.flatnonzero(motion)
        start = self.axis
        if moving.size == 0:
            return _hold(n, moving, np.empty((0, 3)), start or [0.0, 0.0, 0.0]), np.full(n, start is not None)
        m = v[moving]
        if self.planted:  # slow knee motion: a fidget's few fast samples must not outweigh it
            m = m / np.linalg.norm(m, axis=1, keepdims=True)
        mx, my, mz = m[:, 0], m[:, 1], m[:, 2]
        s = self._s
        sums = [np.cumsum(np.concatenate([[s[k]], products]))[1:] for k, products in
                enumerate((mx * mx, my * my, mz * mz, mx * my, mx * mz, my * mz))]
        for k in range(6):
            s[k] = float(sums[k][-1])
        a0, a1, a2 = start if start is not None else m[0].tolist()  # the first motion starts the iteration
        values: tuple[list[float], list[float], list[float]] = ([], [], [])
        x_add, y_add, z_add = (column.append for column in values)
        for s0, s1, s2, s3, s4, s5 in zip(*(a.tolist() for a in sums)):
            x = s0 * a0 + s3 * a1 + s4 * a2
            y = s3 * a0 + s1 * a1 + s5 * a2
            z = s4 * a0 + s5 * a1 + s2 * a2
            norm = math.sqrt(x * x + y * y + z * z)
            a0, a1, a2 = x / norm, y / norm, z / norm
            x_add(a0)
            y_add(a1)
            z_add(a2)
        self.axis = [a0, a1, a2]
        known = np.ones(n, bool) if start is not None else np.arange(n) >= moving[0]
        return _hold(n, moving, np.array(values).T, start or [0.0, 0.0, 0.0]), known

    def _track_sign_and_tilt(
        self, frame: Frame, bias: np.ndarray, v: np.ndarray, axis_before: list[float] | None, axis: np.ndarray,
        known: np.ndarray, still: np.ndarray, angle: np.ndarray, rate: np.ndarray, sign: np.ndarray, knee: np.ndarray,
    ) -> int:
        """Sample by sample while the axis sign is undecided (the shank's pose and the evidence decide
        it) or absolute knee angles are wanted (gravity tracking, tilt.py); fills `sign` and `knee`
        and returns the index where it stopped (the sign is constant from there on)."""
        acc = frame.acc_ms2
        tilting = self.absolute_angle and acc is not None
        if self.sign != 0 and not tilting:
            return 0
        assert frame.gyro_slow_dps is not None
        n = len(frame)
        tilt = self.tilt
        pitch = self.params.thigh_pitch_deg
        quasi2 = QUASI_STILL_DPS**2
        omega_all = v * (math.pi / 180.0)
        previous = axis_before
        for c in range(0, n, TILT_CHUNK):  # lists made a chunk at a time: the loop often stops early
            part = slice(c, c + TILT_CHUNK)
            force = frame.force_n[part].tolist() if (self.use_force_sign and frame.force_n is not None) else None
            acc_rows = acc[part].tolist() if acc is not None else None
            acc_slow = frame.acc_slow_ms2[part].tolist() if frame.acc_slow_ms2 is not None else None
            gyro_slow, bias_rows, omega = frame.gyro_slow_dps[part].tolist(), bias[part].tolist(), omega_all[part].tolist()
            axes, known_l, still_l = axis[part].tolist(), known[part].tolist(), still[part].tolist()
            for j in range(len(axes)):
                i = c + j
                if self.sign != 0 and not tilting:
                    return i
                axis_i = axes[j] if known_l[j] else None
                if acc_rows is not None:
                    gs, b = gyro_slow[j], bias_rows[j]
                    slow2 = (gs[0] - b[0]) ** 2 + (gs[1] - b[1]) ** 2 + (gs[2] - b[2]) ** 2
                    pose = acc_slow[j] if (acc_slow is not None and slow2 < quasi2) else None
                    tilt.step(acc_rows[j], omega[j], previous, still_l[j], pose)
                previous = axis_i
                if axis_i is None:
                    continue
                if self.sign == 0:
                    self.sign = self._decide_sign(axis_i, float(angle[i]), float(rate[i]), force[j] if force is not None else 0.0)
                sign[i] = self.sign
                if self.sign != 0 and acc_rows is not None:
                    knee[i] = tilt.inclination_deg(axis_i, self.sign) + pitch
        return n

    def _decide_sign(self, axis: list[float], angle_u_deg: float, rate_u_dps: float, force_n: float) -> int:
        """0 while undecided; the pose first (seated knee exercise), else all the evidence of one whole
        excursion out and back, or of several with the foot planted (axis_sign.py)."""
        if self.use_pose:
            pose = self.tilt.sign_from_pose(axis)
            if pose != 0:
                log.debug("axis sign from the shank's pose (gravity)")
                return pose
        evidence = self._evidence
        evidence.add(angle_u_deg, rate_u_dps, force_n)
        if not evidence.ready():
            return 0
        sign = evidence.decide(patient=self.planted or (self.use_pose and self.tilt.gravity is not None))
        if sign == 0:
            return 0
        if evidence.guessed:
            self.notes.append(evidence.how)
        else:
            log.debug(evidence.how)
        return sign
