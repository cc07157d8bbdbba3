"""A second IMU on the thigh: the knee's own turn, with the body's sway taken out (issue 17).

With the foot planted (the runner's stretch, the standing "L") a shank sensor sees only part of the
knee's bend (the thigh turns the rest), and the whole leg sways about the ankle, turning the shank
without bending the knee: alone it can tell neither apart from the knee's movement
(bench/standing_limits.py). The knee's bend is the shank's turn less the thigh's about the same
lateral axis, and a sway turns both alike, so it cancels.

- The thigh's turn about its own main axis is measured as the shank's is (axis.KneeEstimator: gyro
  bias from still windows, the axis as the principal direction of its motion), from its own front
  end, on the same sample times (matched by time: either stream may lose samples the other has).
- Each axis is learned in its own sensor's frame, with an arbitrary sign, so which way round the
  thigh's points relative to the shank's follows from how they move. With the foot planted, a bend
  turns the two segments opposite ways [assump: the knee moves forward over the ankle and ahead of
  the hip, bandlog.sim.planted; a hip pushed forward past the knee would break it]: over the shank's
  first DECIDE_TURN_DEG of motion their rates are anti-correlated if the axes point the same way.
  The knee's turn is then shank - factor * thigh, factor = -sign(correlation).
- Seated, the thigh rests on the chair and hardly turns, and nothing fixes which way its small wobble
  goes, so a thigh sensor is not used there (ThighCompensation.used); nor when its turn does not
  follow the shank's (|r| < MIN_CORRELATION once the shank has turned GIVE_UP_TURN_DEG). Once in
  use, the relation is checked again over every CHECK_TURN_DEG of the shank's turn, and a thigh that
  stops following (come loose) is left out from there. The notes say which.
- Until the factor is known the tracks are held (at most HOLD_S: what is older goes on measured on
  the shank alone, and is counted), so the reps are measured on the knee's turn: the live view starts
  a little late, and a batch run is the same machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import numpy as np

from bandlog.core.samples import SampleBlock
from bandlog.detect.axis import KneeEstimator, KneeTrack
from bandlog.detect.exercises import ExerciseProfile
from bandlog.detect.frontend import Frame, Frontend
from bandlog.detect.params import DetectorParams

DECIDE_TURN_DEG = 20.0
"""Shank turn (deg, over samples where both axes are known and the shank moves) after which the
factor is decided, when the correlation is clear."""
GIVE_UP_TURN_DEG = 60.0
"""Shank turn after which a correlation still below MIN_CORRELATION leaves the thigh out."""
MIN_CORRELATION = 0.9
"""|r| of the two rates over the shank's motion for the thigh's turn to count as the knee's other part."""
CHECK_TURN_DEG = 60.0
"""Shank turn over which, once in use, the thigh's relation to it is checked again (_check). Over 20 or
40 deg a fidget of the shank alone took a genuine window under KEEP_CORRELATION (7 and 1 of 120
simulated sessions); over 60, none. A sensor come loose is found a rep or two late: those reps are
measured on the shank against ranges learned on the knee, and mostly rejected as too small (said)."""
KEEP_CORRELATION = 0.5
"""|r| over such a window under which the thigh is left out from there. Lower than MIN_CORRELATION:
a fidget of the shank alone lowers a genuine window's r (to 0.84 in simulated sessions), a sensor come
loose, or one whose first movements matched the shank's by chance, takes it to about 0."""
HOLD_S = 30.0
"""Longest stretch of samples held while the factor is undecided: a rest before the first movement
goes on (on the shank alone) rather than holding the live view back; the movement's onset, dated from
the second before it (imu_steps.REST_LAG_S, REST_WINDOW_S), stays inside."""


class _ThighEstimator(KneeEstimator):
    """The thigh's turn about its main axis. Its own sign is never needed (the factor relates it to
    the shank's axis), so it is taken as it comes."""

    def _decide_sign(self, axis: list[float], angle_u_deg: float, rate_u_dps: float, force_n: float) -> int:
        return 1


class Combined(NamedTuple):
    """A shank frame's knee track, and whether its angle is the knee's whole turn (the thigh's taken
    out) or the shank's alone (bandlog.detect.imu_steps.ImuSteps.set_whole_knee)."""

    frame: Frame
    track: KneeTrack
    whole_knee: bool


@dataclass
class _Held:
    frame: Frame
    track: KneeTrack
    thigh_deg: np.ndarray
    thigh_dps: np.ndarray


def _split(held: _Held, cut: int) -> tuple[_Held, _Held | None]:
    """(samples before `cut`, the rest or None): a track's fresh axis goes with its first part only."""
    if cut >= len(held.frame):
        return held, None
    track = held.track
    parts = [{f.name: getattr(track, f.name)[a:b] for f in fields(track) if isinstance(getattr(track, f.name), np.ndarray)}
             for a, b in ((0, cut), (cut, len(held.frame)))]
    return (
        _Held(held.frame.part(0, cut), replace(track, **parts[0]), held.thigh_deg[:cut], held.thigh_dps[:cut]),
        _Held(held.frame.part(cut), replace(track, **parts[1], fresh_axis=False), held.thigh_deg[cut:], held.thigh_dps[cut:]),
    )


def _correlation(st: np.ndarray, ss: np.ndarray, tt: np.ndarray) -> np.ndarray:
    """r from running sums of shank x thigh, shank^2 and thigh^2 (0 where either has not moved)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((ss > 0.0) & (tt > 0.0), st / np.sqrt(ss * tt), 0.0)


class ThighCompensation:
    """Turns the shank's knee tracks into the knee's: feed the thigh's frames (`push_thigh`) and the
    shank's tracks (`combine`), in time order; `finish` at the end of the recording."""

    def __init__(self, params: DetectorParams, profile: ExerciseProfile) -> None:
        self.used = profile.pose == "planted"
        """Whether the thigh can be used at all: with the foot planted only (module docstring)."""
        self.params = params
        self.profile = profile
        self.frontend = Frontend(params)
        """The thigh's own: its samples are repaired and filtered as the shank's are."""
        self.estimator: _ThighEstimator | None = None
        self.dt_s = 0.0
        self.factor: int | None = None if self.used else 0
        """-1 or +1 once decided, 0 when the thigh is left out; None while undecided."""
        self.motion_dps = params.motion_dps
        self._t = np.empty(0)
        self._deg = np.empty(0)
        self._dps = np.empty(0)
        self._last_deg = 0.0
        self._held: list[_Held] = []
        self._pending: list[tuple[Frame, KneeTrack]] = []
        """Shank tracks whose thigh samples have not come out of the thigh's estimator yet."""
        self._sums = [0.0, 0.0, 0.0, 0.0]  # shank x thigh, shank^2, thigh^2, shank turn (deg)
        self._window = [0.0, 0.0, 0.0, 0.0]
        """The same sums over the current CHECK_TURN_DEG window once the factor is in use."""
        self.dropped: tuple[float, float] | None = None
        """(time, r) where a thigh in use stopped turning with the knee and was left out from there."""
        self._decided_from: tuple[float, float] | None = None
        """(thigh angle, thigh term) where the factor took effect: the knee's angle goes on from there
        without a step (the term is factor * the thigh's turn since, plus the term before)."""
        self._term_deg = 0.0
        """The thigh's term in the knee angle at the last sample given."""
        self.samples_shank_only = 0
        """Samples released on the shank alone while the factor was undecided (HOLD_S)."""
        self.samples_without_thigh = 0
        """Samples with no thigh reading at their time (the thigh's angle held, its rate taken as 0)."""
        self.correlation: float | None = None
        self._decided_s = math.inf
        """The sample the factor was decided at (HOLD_S before it, samples are the shank's alone)."""
        self.decided_at_s: float | None = None
        """The first sample measured as the knee's whole turn."""

    def push_thigh(self, block: SampleBlock) -> None:
        """The thigh's samples (SampleBlock.thigh_block): measured into (time, turn, rate) for the shank's tracks."""
        if self.used:
            self._measure(self.frontend.push(block))

    def _measure(self, frame: Frame | None) -> None:
        if frame is None or len(frame) == 0:
            return
        if self.estimator is None:
            assert self.frontend.dt_s is not None
            self.dt_s = self.frontend.dt_s
            self.estimator = _ThighEstimator(self.params, self.dt_s, use_force_sign=False, profile=self.profile, absolute_angle=False)
        for part, track in self.estimator.process(frame):
            self._add_thigh(part, track)

    def _add_thigh(self, frame: Frame, track: KneeTrack) -> None:
        if track.fresh_axis:  # the thigh sensor moved on the leg: relate its new axis afresh
            self._restart()
        self._t = np.concatenate([self._t, frame.t_s])
        self._deg = np.concatenate([self._deg, track.angle_u_deg])
        self._dps = np.concatenate([self._dps, np.where(track.known, track.rate_u_dps, 0.0)])

    def _restart(self) -> None:
        self.factor = None
        self._window = [0.0, 0.0, 0.0, 0.0]
        self._decided_from = None
        self._decided_s = math.inf
        self._sums = [0.0, 0.0, 0.0, 0.0]

    def combine(self, tracks: list[tuple[Frame, KneeTrack]]) -> list[Combined]:
        """The shank's tracks as the knee's, those that can be given now (see the module docstring)."""
        if not self.used:
            return [Combined(frame, track, False) for frame, track in tracks]
        self._pending.extend(tracks)
        newest_thigh_s = float(self._t[-1]) if self._t.size else -math.inf
        out: list[Combined] = []
        while self._pending and float(self._pending[0][0].t_s[-1]) <= newest_thigh_s:
            out += self._hold(*self._pending.pop(0))
        return out

    def finish(self) -> list[Combined]:
        """The recording ended: the thigh's last samples measured, the factor decided on what was seen
        (or the thigh left out), everything held given."""
        if not self.used:
            return []
        self._measure(self.frontend.flush())
        for part, track in self.estimator.finish() if self.estimator is not None else []:
            self._add_thigh(part, track)
        out: list[Combined] = []
        while self._pending:
            out += self._hold(*self._pending.pop(0))
        if self.factor is None and self._held:
            self._decide_at_end()
        return out + self._release(math.inf)

    def _hold(self, frame: Frame, track: KneeTrack) -> list[Combined]:
        """Match the thigh's samples to the shank frame's times, add the pair to what is held, and
        give what can be given. Every decision is taken at a sample, whatever blocks the samples came
        in, so a live run and a batch run give the same knee angles."""
        if track.fresh_axis:  # the shank sensor moved: its new axis may point the other way
            self._restart()
        t = frame.t_s
        if not t.size:
            return []
        at = np.searchsorted(self._t, t - 0.25 * self.dt_s)
        found = at < self._t.size
        found[found] &= np.abs(self._t[at[found]] - t[found]) < 0.25 * self.dt_s
        thigh_dps = np.zeros(t.size)
        thigh_dps[found] = self._dps[at[found]]
        self.samples_without_thigh += int(t.size - np.count_nonzero(found))
        # over a missing reading the last angle holds (the one before this frame for its first samples)
        thigh_deg = np.concatenate([[self._last_deg], self._deg[at[found]]])[np.cumsum(found)]
        self._last_deg = float(thigh_deg[-1])
        used = int(at[found][-1]) + 1 if found.any() else 0
        self._t, self._deg, self._dps = self._t[used:], self._deg[used:], self._dps[used:]
        held = _Held(frame, track, thigh_deg, thigh_dps)
        if self.factor is None:
            self._gather(track, thigh_dps, t)
        elif self.factor and (cut := self._check(track, thigh_dps)) is not None:  # the relation broke at `cut`
            before, after = _split(held, cut)
            self._held.append(before)
            out = self._release(float(t[cut - 1]))
            self.dropped = (float(t[cut - 1]), self.correlation or 0.0)
            self.factor, self._decided_from = 0, None
            if after is None:
                return out
            self._held.append(after)
            return out + self._release(float(t[-1]))
        self._held.append(held)
        return self._release(float(t[-1]))

    def _check(self, track: KneeTrack, thigh_dps: np.ndarray) -> int | None:
        """Once in use, whether the thigh still turns with the knee: over each CHECK_TURN_DEG of the
        shank's motion, its rate must correlate with the shank's as it did when decided (a sensor come
        loose, or one whose first movements matched by chance, does not). The first sample after a
        window where it did not (the frame's length if that window ends on its last sample), or None."""
        products = self._motion_products(track, thigh_dps)
        start = 0
        while start < len(thigh_dps):
            st, ss, tt, turn = (total + np.cumsum(x[start:]) for total, x in zip(self._window, products))
            full = turn >= CHECK_TURN_DEG
            if not full.any():
                self._window = [float(st[-1]), float(ss[-1]), float(tt[-1]), float(turn[-1])]
                return None
            i = int(np.argmax(full))
            r = float(_correlation(st[i], ss[i], tt[i]))
            self._window = [0.0, 0.0, 0.0, 0.0]
            if abs(r) < KEEP_CORRELATION or (-1 if r > 0 else 1) != self.factor:
                self.correlation = r
                return start + i + 1
            start += i + 1
        return None

    def _motion_products(self, track: KneeTrack, thigh_dps: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per sample, over the shank's motion (its axis known) and 0 elsewhere: shank x thigh rate,
        shank^2, thigh^2 and the shank's turn (deg), the terms of their correlation and of its span."""
        moving = track.known & (np.abs(track.rate_u_dps) > self.motion_dps)
        s = np.where(moving, track.rate_u_dps, 0.0)
        th = np.where(moving, thigh_dps, 0.0)
        return s * th, s * s, th * th, np.abs(s) * self.dt_s

    def _gather(self, track: KneeTrack, thigh_dps: np.ndarray, t_s: np.ndarray) -> None:
        """Add the shank's motion samples (its axis known) to the correlation; decide at the first
        sample where it is clear (DECIDE_TURN_DEG) or clearly not (GIVE_UP_TURN_DEG)."""
        sums = [total + np.cumsum(part) for total, part in zip(self._sums, self._motion_products(track, thigh_dps))]
        st, ss, tt, turn = sums
        r = _correlation(st, ss, tt)
        clear = (np.abs(r) >= MIN_CORRELATION) & (turn >= DECIDE_TURN_DEG)
        done = clear | (turn >= GIVE_UP_TURN_DEG)
        i = int(np.argmax(done)) if done.any() else len(thigh_dps) - 1
        self._sums = [float(column[i]) for column in sums]
        self.correlation = float(r[i])
        if done.any():
            self.factor = (-1 if r[i] > 0 else 1) if clear[i] else 0
            self._decided_s = float(t_s[i])

    def _decide_at_end(self) -> None:
        """The recording ended undecided: a clear correlation over less turn than DECIDE_TURN_DEG still
        relates the two; else the thigh is left out."""
        r = self.correlation or 0.0
        self.factor = (-1 if r > 0 else 1) if abs(r) >= MIN_CORRELATION else 0
        self._decided_s = float(self._held[-1].frame.t_s[-1])

    def _release(self, newest_s: float) -> list[Combined]:
        """What is held and can be given: while undecided, samples more than HOLD_S before the newest,
        on the shank alone; once decided, those more than HOLD_S before the decision on the shank
        alone and the rest as the knee's."""
        undecided = self.factor is None
        shank_until_s = (newest_s if undecided else self._decided_s) - HOLD_S
        out: list[Combined] = []
        while self._held and float(self._held[0].frame.t_s[0]) < shank_until_s:
            held = self._held[0]
            cut = int(np.searchsorted(held.frame.t_s, shank_until_s))
            first, rest = _split(held, cut)
            self.samples_shank_only += len(first.frame)
            out.append(Combined(first.frame, replace(first.track, angle_u_deg=first.track.angle_u_deg - self._term_deg), False))
            if rest is None:
                self._held.pop(0)
                continue
            self._held[0] = rest
            break
        if undecided:
            return out
        for held in self._held:
            out.append(self._as_knee(held))
        self._held = []
        return out

    def _as_knee(self, held: _Held) -> Combined:
        """The held pair with the thigh's term taken out (factor 0: the shank's angle, kept continuous)."""
        factor = self.factor or 0
        if self._decided_from is None:
            self._decided_from = (float(held.thigh_deg[0]), self._term_deg)
            if self.decided_at_s is None and factor:
                self.decided_at_s = float(held.frame.t_s[0])
        start_deg, start_term = self._decided_from
        term = start_term + factor * (held.thigh_deg - start_deg)
        self._term_deg = float(term[-1])
        rate = held.track.rate_u_dps - factor * held.thigh_dps if factor else held.track.rate_u_dps
        return Combined(held.frame, replace(held.track, angle_u_deg=held.track.angle_u_deg - term, rate_u_dps=rate), bool(factor))

    def notes(self) -> list[str]:
        """What became of the thigh sensor, in words (the set's notes)."""
        if not self.used:
            return ["a thigh sensor was recorded but not used: seated, the thigh rests on the chair, and its small turns say "
                    "nothing of which way it turns against the shank; the knee angle is the shank's"]
        notes: list[str] = []
        together = "knee angle from the shank and thigh sensors together (the shank's turn less the thigh's): the body's sway cancels"
        if self.dropped is not None:
            at_s, r = self.dropped
            notes.append(f"{together}, until {at_s:.1f} s: there the thigh sensor's turn no longer followed the shank's (r = {r:+.2f} "
                         f"over the last {CHECK_TURN_DEG:.0f} deg of shank turn; come loose?), and from there the knee angle is the shank's alone")
        elif self.factor == 0:
            seen = f"r = {self.correlation:+.2f}" if self.correlation is not None else "no common motion"
            notes.append(f"the thigh sensor's turn did not follow the shank's ({seen}): the knee angle is the shank's alone, "
                         "with the body's sway in it")
        elif self.factor is not None:
            notes.append(together)
        if self.samples_shank_only:
            notes.append(f"the first {self.samples_shank_only * self.dt_s:.1f} s, before the thigh's turn could be matched to the "
                         "shank's, were measured on the shank alone")
        if self.samples_without_thigh:
            notes.append(f"{self.samples_without_thigh} samples had no thigh reading at their time: the thigh's angle was held over them")
        fe = self.frontend
        if fe.values_filled:
            notes.append(f"thigh sensor: {fe.values_filled} missing or non-finite values filled from their neighbours")
        if fe.samples_dropped:
            notes.append(f"thigh sensor: {fe.samples_dropped} samples dropped (their time did not advance, or too many values missing in a row)")
        if self.estimator is not None:
            notes += [f"thigh sensor: {note}" for note in self.estimator.notes]
            moved = self.estimator.moved_note()
            notes += [f"thigh sensor: {moved}"] if moved else []
        return notes
