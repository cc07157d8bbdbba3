"""The Analyzer the pipeline runs: front end -> knee estimator -> state machine -> metrics.

The mode follows the channels of the first block: force + gyro -> 'force+imu', force alone ->
'force', gyro alone -> 'imu'. `analyze_block` is the same streaming machine run over one block,
so batch and live results cannot disagree.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.events import Event, RepCompleted, RepRejected
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Kinematics
from bandlog.core.results import RejectedCandidate, RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock
from bandlog.detect.axis import OFF_AXIS_EPISODE_DEG, KneeEstimator, KneeTrack
from bandlog.detect.axis_sign import REVIEW_CONTRADICTIONS, SignReview
from bandlog.detect.exercises import DEFAULT_KEY, ExerciseProfile, exercise_profile, profile_for_header
from bandlog.detect.explain import saturation_note, split_flags
from bandlog.detect.force_machine import ForceMachine
from bandlog.detect.frontend import Frame, Frontend
from bandlog.detect.imu_machine import ImuMachine
from bandlog.detect.machine import MachineBase
from bandlog.detect.metrics import TensionRecord, rep_metrics, set_summary
from bandlog.detect.params import DetectorParams
from bandlog.detect.rate_limits import RATE_LIMITS, MeasuredRate, RateLimit, segmentation_note
from bandlog.detect.thigh import Combined, ThighCompensation
from bandlog.detect.trace import RepCandidate

log = logging.getLogger(__name__)


def mode_for(block: SampleBlock) -> str:
    """'force+imu', 'force' or 'imu' from the channels a block carries."""
    if block.gyro_dps is not None:
        return "force+imu" if block.force_n is not None else "imu"
    if block.force_n is not None:
        return "force"
    raise ConfigError("the samples carry neither force nor gyro data, so there is nothing to analyse")


SHORTEST_BEFORE_EXTENSION_NOTE = (
    "the band is shortest before the knee is straight (anchored below the knee?): force alone hardly sees the "
    "last degrees of each eccentric, so eccentric times may read short (~6 % in a typical such set, up to 25 % or more "
    "with a light band); a motion sensor on the shin, or an anchor at knee height or above, times them fully"
)
"""A force-only set whose rises start with a dip: science.md 1.4; bench/accuracy.py measures the shortfall
(class 'anchor below', force: the per-session median of the TUT_ecc error)."""
LIGHT_BAND_RANGE_SDS = 40.0
"""A force-only set whose working range is under this many SDs of the load cell's sample noise reads its
eccentric times short, whatever the anchor: over bench/accuracy.py's seeds 0-479, the median session
under it read 18 % short with an anchor below the knee (16 sessions), 10 % at (10) and 8 % above (5),
against 3-5 % over it. Most such low-anchor sets show no dip either (too small to see), so without this
their notes said nothing."""

UNMEASURED_TURN_NOTE_DEG = 5.0
"""Turning before the knee axis is known that the notes mention: a clip that began mid-rep; a still start
turns the sensor 2 deg at most in that time (tremor; bench/accuracy.py's 240 sessions)."""

OFF_AXIS_REP_SHARE = 0.5
"""A knee rep turns the sensor about the knee axis only (a few per cent across it, from a fidget or the
thigh's wobble); handling it turns it about every axis, ~0.8 as much across a given one as about it."""
TURNS_KEPT_S = 1800.0
"""How far back the sensor's turning is remembered while no rep ends (~4 MB at 100 Hz): a whole batch
log is tracked before its first rep is converted, so the memory is bounded by time, not by reps."""

SATURATION_MARGIN = 0.01
"""A force reading within this fraction of the range's half-span of a limit counts as at the limit
(0.5 N of +-50 N): a clipped reading sits at or just inside it, depending on the unit's last count."""


class Analyzer:
    """Streaming detector + metrics (implements bandlog.core.pipeline.Analyzer and ReadsMeta)."""

    def __init__(
        self,
        target_ecc_s: float = 3.0,
        params: DetectorParams | None = None,
        exercise: str | None = None,
        kinematics: bool = True,
        rate_limits: tuple[RateLimit, ...] = RATE_LIMITS,
    ) -> None:
        """`kinematics`: keep per-sample knee estimates for last_kinematics() (a live view or chart);
        batch analysis turns them off to save the gravity tracking they need. Reps do not depend on it.
        `rate_limits`: metrics left None in a rep when the rate measured up to its end is below their
        minimum (bench/rate_limits.py passes none, to measure them at every rate).
        `exercise`: a bandlog.detect.exercises profile key; None: the one the recording's header names
        (on_meta, before the first samples), the reverse curl without one."""
        if target_ecc_s <= 0:
            raise ConfigError(f"target eccentric duration must be positive, got {target_ecc_s}")
        self.target_ecc_s = target_ecc_s
        self.kinematics = kinematics
        self._base_params = params
        self._exercise_given = exercise is not None
        self.exercise_note: str | None = None
        """Why the exercise profile was guessed (a header naming no known profile), for the notes."""
        self._use_profile(exercise_profile(exercise or DEFAULT_KEY))
        self.mode: str | None = None
        self._channels: tuple[str, ...] | None = None
        self._machine: MachineBase | None = None
        self._knee: KneeEstimator | None = None
        self._thigh: ThighCompensation | None = None
        """A thigh IMU's turn, taken from the shank's (bandlog.detect.thigh), when the samples carry one."""
        self._sign_review = SignReview()
        self._unsigned: list[tuple[float, float, float, bool, float, float, bool]] = []
        """Samples seen before the axis sign was known (replayed through the machine once it is)."""
        self._axis_turns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        """(t_s, across_deg, about_deg) of recent tracks: how each rep turned the sensor (_off_axis)."""
        self._rests_s: list[float] = []
        """Times a still moment began (after motion), over the last TURNS_KEPT_S."""
        self._was_still = True
        self.samples_unmeasured = 0
        """Held samples whose axis sign was never known: their axis was dropped (KneeTrack.fresh_axis)."""
        self.reps: list[RepMetrics] = []
        self.rejected: list[RejectedCandidate] = []
        self._tension: list[TensionRecord] = []
        """What the summary needs of each rep's trace; the traces themselves go with the events."""
        self._kinematics: Kinematics | None = None
        self._finished = False
        self.force_range_n: tuple[float, float] | None = None
        """The force sensor's (lowest, highest) reading in N, from the recording's metadata."""
        self._clip_limits_n: tuple[float, float] | None = None
        """The range's limits as the fed (tared) force sees them, pulled in by SATURATION_MARGIN."""
        self.samples_saturated = 0
        self._saturated_t_s: list[float] = []
        """Times of force samples at a range limit not yet placed in a finished rep (ascending)."""
        self.rate_limits = rate_limits
        self._rate = MeasuredRate()
        self._left_out: dict[RateLimit, int] = {}
        """Reps whose metric was left None because the measured rate was below its minimum."""

    def _use_profile(self, profile: ExerciseProfile) -> None:
        self.profile = profile
        """The exercise (bandlog.detect.exercises: its gates, pose model and rest end)."""
        self.exercise = profile.key
        self.params = profile.params(self._base_params)
        self._frontend = Frontend(self.params)

    def on_meta(self, meta: RecordingMeta) -> None:
        """Learn the force sensor's range and the tare offset, so readings at the range limit are found
        (the fed force is tared: a limit of 50 N with a 2 N tare is reached at 48 N); and, unless one
        was given, the exercise profile from the header (only before the first samples)."""
        if not self._exercise_given and self._channels is None:
            profile, self.exercise_note = profile_for_header(meta.exercise)
            if profile is not self.profile:
                self._use_profile(profile)
        stream_range = meta.stream.force_range_n if meta.stream is not None else None
        self.force_range_n = stream_range
        if stream_range is None:
            self._clip_limits_n = None
            return
        low_n, high_n = stream_range
        margin_n = SATURATION_MARGIN * (high_n - low_n) / 2
        offset_n = meta.tare_offset_n or 0.0
        self._clip_limits_n = (low_n + margin_n - offset_n, high_n - margin_n - offset_n)

    def feed(self, block: SampleBlock) -> list[Event]:
        if self._finished:
            raise ConfigError("this analyzer has finished; start a new one for more samples")
        if len(block) == 0:
            self._kinematics = None
            return []
        channels = block.channel_names()
        if self._channels is None:
            self.mode = mode_for(block)
            self._channels = channels
            if block.has_thigh and block.gyro_dps is not None:
                self._thigh = ThighCompensation(self.params, self.profile)
        elif channels != self._channels:
            raise ConfigError(f"the sample channels changed mid-recording (from {self._channels} to {channels})")
        if block.has_thigh:
            if self._thigh is not None:
                self._thigh.push_thigh(block.thigh_block())
            block = replace(block, thigh_acc_ms2=None, thigh_gyro_dps=None)
        if self._clip_limits_n is not None and block.force_n is not None:
            low_n, high_n = self._clip_limits_n
            at_limit = (block.force_n <= low_n) | (block.force_n >= high_n)
            if at_limit.any():
                self.samples_saturated += int(np.count_nonzero(at_limit))
                self._saturated_t_s.extend(block.t_s[at_limit].tolist())
        return self._run(self._frontend.push(block))

    def finish(self) -> list[Event]:
        """End of the recording: close the cycle still open, flagged `truncated` if it was cut."""
        if self._finished:
            return []
        events = self._run(self._frontend.flush())
        self._finished = True
        machine = self._machine
        if machine is None:
            return events
        if isinstance(machine, ImuMachine) and self._knee is not None:
            for frame, track, whole_knee in self._combined(self._knee.finish(), end=True):
                machine.set_whole_knee(whole_knee)
                self._run_imu(machine, frame, track)
            if self._unsigned and self._knee.sign != 0:
                self._replay_unsigned(machine, self._knee.sign)
        last_t = float(machine.trace.t[-1]) if len(machine.trace) else machine.rep_start_s
        machine.close(last_t)
        return events + self._convert(machine.drain())

    def summary(self) -> SetSummary:
        working = self._machine.levels.range_n() if self._machine is not None else None
        summary = set_summary(self.reps, self._tension, self.mode or "force+imu", working, len(self.rejected), self.notes())
        fe = self._frontend
        return replace(summary, samples_filled=fe.values_filled, samples_dropped=fe.samples_dropped)

    def notes(self) -> list[str]:
        """Guesses the detector had to make and samples it repaired or dropped, in words (they go
        into the summary, so the table and the live view say so too)."""
        notes = [self.exercise_note] if self.exercise_note else []
        timing_note = self.angle_profile.timing_note
        notes += [timing_note] if timing_note and self.reps else []
        moved = self._knee.moved_note() if self._knee is not None else None
        notes += [moved] if moved else []
        notes += self._knee.notes if self._knee is not None else []
        notes += self._thigh.notes() if self._thigh is not None else []
        if self._knee is not None and self._knee.motion_before_axis_deg >= UNMEASURED_TURN_NOTE_DEG:
            k = self._knee
            notes.append(
                f"the first {k.motion_before_axis_n * k.dt_s:.1f} s of movement (the sensor turned {k.motion_before_axis_deg:.0f} deg) came "
                "before the knee axis could be learned from the motion and were not measured: if the recording began inside a rep, that rep is not counted"
            )
        notes += self._knee.tilt.notes() if self._knee is not None and self._knee.absolute_angle else []
        if self.samples_unmeasured:
            notes.append(
                f"{self.samples_unmeasured} samples ({self.samples_unmeasured * (self._frontend.dt_s or 0.0):.1f} s) of motion before the "
                "knee axis settled were not measured: the sensor turned across the axis learned from them"
            )
        if isinstance(self._machine, ForceMachine) and self.reps and self._machine.shortest_before_extension():
            notes.append(SHORTEST_BEFORE_EXTENSION_NOTE)
        if isinstance(self._machine, ForceMachine) and self.reps and (ratio := self._machine.range_over_noise()) is not None \
                and ratio < LIGHT_BAND_RANGE_SDS:
            notes.append(
                f"the band's pull is only {ratio:.0f} times the load cell's noise: force alone sees the slow end of each "
                "eccentric poorly, so eccentric times may read short (typically by 10-20 %, more the lighter the band); a motion sensor "
                "on the shin, a heavier band or a steadier load cell times them better"
            )
        if isinstance(self._machine, ForceMachine):
            notes += _rest_shift_notes(self._machine.rest_shifts_down, self._machine.rest_shifts_up, self._machine.rises_from_level)
        if isinstance(self._machine, ForceMachine) and (flat_ends := self._machine.flat_ends):
            share = "every eccentric" if flat_ends >= len(self.reps) else f"{flat_ends} of {len(self.reps)} eccentrics"
            notes.append(
                f"the force went almost flat before the knee stopped in {share} (the band near its shortest length as the "
                "knee straightened): their ends are extrapolated from how the force approached its rest, so they are less sure"
            )
        if isinstance(self._machine, ImuMachine) and (no_band := self._machine.reps_without_band):
            share = "every rep" if no_band >= len(self.reps) else f"{no_band} of {len(self.reps)} reps"
            notes.append(
                f"no band tension in {share} (the force stayed within {self.params.no_band_n:g} N of its rest): their force "
                f"figures are left out; the {self.profile.name} may be done without a band"
            )
        if self.samples_saturated and self.force_range_n is not None:
            saturated_reps = sum("saturated" in split_flags(r.flags) for r in self.reps)
            notes.append(saturation_note(self.samples_saturated, saturated_reps, self.force_range_n))
        fe = self._frontend
        if fe.values_filled:
            notes.append(f"{fe.values_filled} missing or non-finite values filled from their neighbours")
        if fe.samples_out_of_order:
            notes.append(f"{fe.samples_out_of_order} samples dropped: their time was not a number or did not advance")
        if fe.holes_unfilled:
            notes.append(
                f"{fe.holes_unfilled} holes in the sample times left as gaps: the times are far sparser than the "
                f"{fe.dt_s:g} s interval learned at the start"
            )
        if fe.samples_in_long_runs:
            notes.append(f"{fe.samples_in_long_runs} samples dropped in runs of missing values too long to fill (gaps)")
        rate_hz = self.measured_rate_hz
        if (sparse := segmentation_note(rate_hz)) is not None:
            notes.append(sparse)
        for limit, count in self._left_out.items():
            share = "" if count == len(self.reps) else f" in {count} of {len(self.reps)} reps"
            measured = f"{rate_hz:.1f} Hz measured" if rate_hz is not None else "rate not measured"
            notes.append(f"{limit.label} left out{share}: {measured}, {limit.min_rate_hz:g} Hz needed")
        return notes

    @property
    def angle_profile(self) -> ExerciseProfile:
        """The profile as the angle it measures is named: with a thigh sensor's turn taken out, the
        knee's own (ExerciseProfile.with_thigh), else the exercise's."""
        return self.profile.with_thigh() if self._thigh is not None and self._thigh.factor else self.profile

    @property
    def measured_rate_hz(self) -> float | None:
        """Samples per second of covered time (gaps excluded) over the recording so far; None before
        two samples in a row. This, never the nominal rate, decides which metrics are left out."""
        return self._rate.overall()

    def last_kinematics(self) -> Kinematics | None:
        return self._kinematics

    # -- internals ---------------------------------------------------------------------------------
    def _setup(self) -> MachineBase:
        fe = self._frontend
        assert fe.dt_s is not None
        if self.mode == "force":
            return ForceMachine(self.params, fe.dt_s, fe.force_delay_s, fe.force_rate_delay_s)
        has_force = self.mode == "force+imu"
        self._knee = KneeEstimator(
            self.params, fe.dt_s, use_force_sign=has_force, profile=self.profile,
            absolute_angle=self.kinematics and self.profile.pose != "planted",
        )
        return ImuMachine(
            self.params, fe.dt_s, has_force, fe.gyro_delay_s, fe.force_delay_s, loading_first=self.profile.loading_first,
            slow_ends=self.profile.pose == "planted", band_optional=self.profile.band_optional,
        )

    def _run(self, frame: Frame | None) -> list[Event]:
        if frame is None or len(frame) == 0:
            self._kinematics = None
            return []
        if self._machine is None:
            self._machine = self._setup()
        self._rate.push(frame.t_s, frame.real, frame.gap_before)
        machine = self._machine
        if isinstance(machine, ForceMachine):
            self._run_force(machine, frame)
            self._kinematics = None
        else:
            assert isinstance(machine, ImuMachine) and self._knee is not None
            tracks = self._combined(self._knee.process(frame))
            for f, track, whole_knee in tracks:
                machine.set_whole_knee(whole_knee)
                self._run_imu(machine, f, track)
            absolute = self._knee.absolute_angle  # off with the foot planted: the shank turns too slowly to learn its direction
            unsure = absolute and self._knee.tilt.unsure
            self._kinematics = Kinematics.concat([_kinematics(f, t, absolute, unsure, whole) for f, t, whole in tracks]) if tracks and self.kinematics else None
        return self._convert(machine.drain())

    def _combined(self, tracks: list[tuple[Frame, KneeTrack]], end: bool = False) -> list[Combined]:
        """The shank's tracks as the knee's where a thigh sensor's turn is taken out (bandlog.detect.thigh)."""
        if self._thigh is None:
            return [Combined(frame, track, False) for frame, track in tracks]
        return self._thigh.combine(tracks) + (self._thigh.finish() if end else [])

    def _run_force(self, machine: ForceMachine, frame: Frame) -> None:
        """Feed the machine each gap-free stretch of the frame (a gap drops the rep in progress)."""
        assert frame.force_n is not None and frame.dforce_nps is not None and frame.force_raw_n is not None
        for a, b in _stretches(frame.gap_before, 0):
            if frame.gap_before[a]:
                machine.reset()
            machine.run(frame.t_s[a:b], frame.force_n[a:b], frame.dforce_nps[a:b], frame.force_raw_n[a:b])

    def _replay_unsigned(self, machine: ImuMachine, sign: int) -> None:
        for t, angle, rate, still, force, dforce, gap in self._unsigned:
            if gap:
                machine.reset()
            machine.step(t, sign * angle, sign * rate, still, force, dforce)
        self._unsigned.clear()

    def _run_imu(self, machine: ImuMachine, frame: Frame, track: KneeTrack) -> None:
        """Feed the machine; samples from before the axis sign is known are held, then replayed. A track
        with the knee axis learned afresh (the sensor strapped on again) ends the rep in progress."""
        if track.fresh_axis:
            if self._unsigned:  # motion about an axis since dropped: its sign will never be known
                self.samples_unmeasured += len(self._unsigned)
                self._unsigned.clear()
            machine.reset("sensor_moved", "the sensor moved on the leg during the rep (its knee axis was learned afresh)", float(frame.t_s[0]))
            self._sign_review = SignReview()
        self._keep_turns(frame.t_s, track)
        n = len(frame)
        zeros = np.zeros(n)
        force = frame.force_n if frame.force_n is not None else zeros
        dforce = frame.dforce_nps if frame.dforce_nps is not None else zeros
        columns = (frame.t_s, track.angle_u_deg, track.rate_u_dps, track.still, force, dforce, frame.gap_before)
        signed = int(np.argmax(track.sign != 0)) if track.sign.any() else n  # the sign, once known, stays
        if signed:
            self._unsigned.extend(zip(*(c[:signed].tolist() for c in columns)))
        if signed == n:
            return
        sign = int(track.sign[signed])
        if self._unsigned:
            self._replay_unsigned(machine, sign)
        t, angle, rate, still = columns[:4]
        for a, b in _stretches(frame.gap_before, signed):
            if frame.gap_before[a]:
                machine.reset()
            machine.run(t[a:b], sign * angle[a:b], sign * rate[a:b], still[a:b], force[a:b], dforce[a:b])

    def _keep_turns(self, t_s: np.ndarray, track: KneeTrack) -> None:
        """Remember how the sensor turned, for the reps still to end (_off_axis forgets what is before
        them; at most TURNS_KEPT_S is kept, in case none ends)."""
        if not len(t_s):
            return
        self._axis_turns.append((t_s, track.across_deg, track.about_deg))
        was_still = np.concatenate([[self._was_still], track.still[:-1]])
        self._rests_s.extend(t_s[track.still & ~was_still].tolist())
        self._was_still = bool(track.still[-1])
        newest = float(t_s[-1])
        while self._axis_turns and float(self._axis_turns[0][0][-1]) < newest - TURNS_KEPT_S:
            self._axis_turns.pop(0)
        del self._rests_s[: bisect.bisect_left(self._rests_s, newest - TURNS_KEPT_S)]

    def _off_axis(self, rep: RepCandidate) -> RepRejected | None:
        """A rejection when, from the rest before the rep to its end, the sensor turned across the knee
        axis by OFF_AXIS_EPISODE_DEG and by more than OFF_AXIS_REP_SHARE of its turn about it: it was
        being handled, or the leg moved as a whole, not a knee movement (a stretch of handling can look
        like a rep about any one axis)."""
        across = about = 0.0
        rests = self._rests_s[: bisect.bisect_right(self._rests_s, rep.start_s)]
        since_s = rests[-1] if rests else rep.start_s
        del self._rests_s[: max(len(rests) - 1, 0)]  # reps end in order: earlier rests are done with
        while self._axis_turns and float(self._axis_turns[0][0][-1]) < since_s:
            self._axis_turns.pop(0)
        for t_s, across_deg, about_deg in self._axis_turns:
            inside = (t_s >= since_s) & (t_s <= rep.end_s)
            across += float(across_deg[inside].sum())
            about += float(about_deg[inside].sum())
        if across < OFF_AXIS_EPISODE_DEG or across <= OFF_AXIS_REP_SHARE * about:
            return None
        reason = f"the sensor turned {across:.0f} deg across the knee and {about:.0f} deg about it"
        return RepRejected(rep.start_s, reason, rep.detected_at_s, "off_axis")

    def _review_sign(self, rep: RepCandidate) -> None:
        """Reverse the axis sign for what follows if finished reps keep contradicting it."""
        knee, machine = self._knee, self._machine
        if knee is None or not isinstance(machine, ImuMachine) or rep.force_n is None or rep.angle_deg is None:
            return
        if "band_slack" in rep.flags or not self._sign_review.contradicts(rep.angle_deg, rep.force_n):
            return
        knee.sign = -knee.sign
        machine.reset("axis_reversed", "the knee axis was turned round during the rep (the band force fell as the knee flexed)", rep.detected_at_s)
        knee.notes.append(
            f"axis sign reversed at {rep.detected_at_s:.1f} s: the band force fell as the knee flexed in "
            f"{REVIEW_CONTRADICTIONS} reps in a row; rows before that time may be inverted"
        )

    def _convert(self, items: list[Event | RepCandidate]) -> list[Event]:
        """Give each finished rep its metrics row, in the order the machine produced them."""
        events: list[Event] = []
        for item in items:
            if isinstance(item, RepCandidate) and (off_axis := self._off_axis(item)) is not None:
                item = off_axis
            if isinstance(item, RepCandidate):
                self._review_sign(item)
                metrics = self._within_rate(rep_metrics(
                    item, len(self.reps) + 1, self.target_ecc_s, item.tension_threshold_n, saturated=self._clipped_in(item)
                ), item.end_s)
                self.reps.append(metrics)
                record = TensionRecord.of(item)
                if record is not None:
                    self._tension.append(record)
                events.append(RepCompleted(metrics, item.detected_at_s))
            else:
                if isinstance(item, RepRejected):
                    self.rejected.append(RejectedCandidate(item.t_s, item.detected_at_s, item.code, item.reason))
                events.append(item)
        return events

    def _within_rate(self, metrics: RepMetrics, end_s: float) -> RepMetrics:
        """The rep with each metric its rate cannot support left None, decided from the rate measured
        from the recording's start to the rep's end (the same samples live and in a replay)."""
        rate_hz = self._rate.until(end_s)
        dropped = [
            limit for limit in self.rate_limits
            if rate_hz is not None and rate_hz < limit.min_rate_hz and getattr(metrics, limit.metric) is not None
        ]
        for limit in dropped:
            self._left_out[limit] = self._left_out.get(limit, 0) + 1
        cleared: dict[str, Any] = {limit.metric: None for limit in dropped}  # RATE_LIMITS names fields that may be None
        return replace(metrics, **cleared) if dropped else metrics

    def _clipped_in(self, rep: RepCandidate) -> bool:
        """Whether a force sample at the range limit fell inside this rep; the times up to its end are
        then done with (reps come in order and never overlap)."""
        times = self._saturated_t_s
        first = bisect.bisect_left(times, rep.start_s)
        done = bisect.bisect_right(times, rep.end_s)
        del times[:done]
        return done > first


def _stretches(gap_before: np.ndarray, start: int) -> list[tuple[int, int]]:
    """(begin, end) of the gap-free stretches of samples from `start` on: each begins at `start` or at a gap."""
    edges = sorted({start, len(gap_before), *(np.flatnonzero(gap_before[start:]) + start).tolist()})
    return list(pairwise(edges))


def _kinematics(frame: Frame, track: KneeTrack, absolute: bool = True, unsure: bool = False, whole_knee: bool = False) -> Kinematics:
    """The measured samples' knee estimates, flexion positive (NaN while the sign is unknown); the
    absolute angle from gravity unless `absolute` is False (ExerciseProfile.angle_meaning), `unsure`
    when its shank direction is loosely pinned down (Kinematics.angle_unsure), `whole_knee` when a thigh
    sensor's turn is taken out (Kinematics.whole_knee)."""
    sign_f = track.sign[frame.real].astype(np.float64)
    if frame.acc_ms2 is not None and absolute:
        angle_deg = track.knee_deg[frame.real]
    else:  # no gravity reference: the angle relative to where the recording began
        angle_deg = np.where(sign_f != 0, sign_f * track.angle_u_deg[frame.real], np.nan)
    rate_dps = np.where(sign_f != 0, sign_f * track.rate_u_dps[frame.real], np.nan)
    return Kinematics(frame.t_s[frame.real], angle_deg, rate_dps, unsure and frame.acc_ms2 is not None, whole_knee)


def _rest_shift_notes(down: list[tuple[float, float, float]], up: list[tuple[float, float, float]], rises_from_level: int = 0) -> list[str]:
    """What the force-only machine guessed of the band's rest level: the recording's opening level
    taken for a held load (`down`), and levels the force settled at well above the rest a rep rose
    from (`up`), each (t_s, level before, level after), `rises_from_level` of whose reps had rested at
    the new level before they rose. A first rise back most of the way to the opening level says the
    lower one was a slack band, not the rest: only the rise is said then."""
    notes = []
    if down:
        held_n, (at_s, _, rest_n) = down[0][1], down[-1]
        if not up or up[0][2] < held_n - 0.5 * (held_n - rest_n):
            notes.append(
                f"the recording began {held_n - rest_n:.1f} N above the level the force first rested at (from {at_s:.1f} s): "
                "that lower level was taken for the band's rest; the opening (a load held, or the band's rest before it "
                "went slack as the knee bent) is not a row"
            )
    if up:
        at_s, before_n, after_n = up[0]
        more = f" (and {len(up) - 1} more times)" if len(up) > 1 else ""
        notes.append(
            f"the force settled {after_n - before_n:.1f} N above the rest its rep rose from at {at_s:.1f} s{more}: a band taken "
            "up or re-tied, or a rest first taken from a slack band; the level it settled at is the rest from there on"
            + (f"; a rep that rested at that level before rising starts there ({rises_from_level} in all)" if rises_from_level else "")
        )
    return notes


def analyze_block(
    block: SampleBlock, target_ecc_s: float = 3.0, params: DetectorParams | None = None
) -> tuple[list[RepMetrics], SetSummary]:
    """Batch analysis: the streaming Analyzer fed the whole block at once."""
    analyzer = Analyzer(target_ecc_s, params, kinematics=False)
    analyzer.feed(block)
    analyzer.finish()
    return list(analyzer.reps), analyzer.summary()
