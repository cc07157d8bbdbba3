"""The state the live view shows, fed by the pipeline; both front ends only read it.

Every update is O(block) into bounded buffers, so the model can sit on the recording path
without slowing it. Times are device-clock seconds; "now" is the newest sample time, so a replay
looks exactly like the live recording it came from.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bandlog.coach import CoachView, ControlLost
from bandlog.core.events import (
    EccentricEnded,
    EccentricStarted,
    Event,
    RepCompleted,
    RepRejected,
    RepStarted,
)
from bandlog.core.meta import DEFAULT_TARGET_ECC_S, RecordingMeta
from bandlog.core.pipeline import Gap, Kinematics
from bandlog.core.results import RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus, losses_phrase
from bandlog.detect.exercises import DEFAULT_KEY, ExerciseProfile, exercise_profile, profile_for_header
from bandlog.detect.explain import NO_ECCENTRIC_FLAGS, no_eccentric_label, saturation_warning, split_flags
from bandlog.live.coach_text import ALERT_S, coach_label, coach_message
from bandlog.live.ring import RingBuffer, decimate_keep

log = logging.getLogger(__name__)

WINDOW_S = 20.0
OVERVIEW_HZ = 25.0
MAX_SPANS = 1000
SPAN_MATCH_S = 0.5
"""A RepCompleted belongs to the span whose start is within this of its ecc_start_s."""
TENSION_HOLD_S = 0.2
"""A band's pull lasts this long at least (a rep takes seconds); a spike of the load cell does not."""


class SpanOutcome(enum.Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    NO_ECCENTRIC = "no_eccentric"
    """It looked like an eccentric, but the rep's row says there was none to time (e.g. isometric)."""


@dataclass
class EccentricSpan:
    """One detected eccentric: open (end_s None) from EccentricStarted until EccentricEnded."""

    start_s: float
    end_s: float | None = None
    outcome: SpanOutcome = SpanOutcome.PENDING

    @property
    def is_open(self) -> bool:
        return self.end_s is None


class TimerState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    """Eccentric in progress, still short of the target: keep going slowly."""
    RUNNING_PAST_TARGET = "running_past_target"
    DONE_ON_TARGET = "done_on_target"
    DONE_SHORT = "done_short"


@dataclass(frozen=True)
class TimerReading:
    state: TimerState
    elapsed_s: float
    target_s: float

    @property
    def past_target(self) -> bool:
        return self.elapsed_s >= self.target_s

    def label(self) -> str:
        """The tensr-style cue, e.g. 'eccentric: 2.1 s / target 3.0 s'."""
        if self.state is TimerState.IDLE:
            return f"eccentric: -- / target {self.target_s:.1f} s"
        return f"eccentric: {self.elapsed_s:.1f} s / target {self.target_s:.1f} s"


class LiveModel:
    """Ring buffers of force and knee signal, eccentric spans, rep results and link state."""

    def __init__(
        self,
        target_ecc_s: float = DEFAULT_TARGET_ECC_S,
        window_s: float = WINDOW_S,
        capacity: int = 32768,
        overview_capacity: int = 90000,
        exercise: str | None = None,
    ) -> None:
        """`exercise`: the profile key the detector was told (replay --exercise); None: the one the
        recording's header names, as the detector does (bandlog.detect.analysis.Analyzer.on_meta)."""
        self.target_ecc_s = target_ecc_s
        self.window_s = window_s
        self.meta: RecordingMeta | None = None
        self._exercise_given = exercise is not None
        self._use_profile(exercise_profile(exercise or DEFAULT_KEY))
        self.band_tension_seen = False
        """Latched once the force rose no_band_n above its rest: until then, with a band-optional
        exercise, the force channel is only the load cell's zero and the views say 'no band'."""
        self._force_low_n = math.inf
        self.force = RingBuffer(capacity, 1)
        self.knee = RingBuffer(capacity, 2)
        """Columns: knee angle (deg), knee angular velocity (deg/s); NaN where not estimated."""
        self.force_overview = RingBuffer(overview_capacity, 1)
        self.knee_overview = RingBuffer(overview_capacity, 2)
        self.knee_tracked = False
        """Whether the detector has sent knee estimates (NaN or not): a motion sensor is in the recording."""
        self._angle_since_s: float | None = None
        """When the knee angle last began to exist (None while it does not): it then settles (angle_settling)."""
        self._angle_rep_done = False
        """A row has ended since the angle began: the next rep's start ends the settling."""
        self._angle_settled = False
        """A rep has started after that row: the shank's direction is learned, the angle settled."""
        self._force_bucket: int | None = None
        self._knee_bucket: int | None = None
        self.now_s: float | None = None
        self.start_s: float | None = None
        self.samples_total = 0
        self.spans: deque[EccentricSpan] = deque(maxlen=MAX_SPANS)
        self.eccentrics_detected = 0
        self.rep_in_progress = False
        self.reps: deque[RepMetrics] = deque(maxlen=MAX_SPANS)
        self.rejected = 0
        self.last_rejection = ""
        self.rejected_by_code: Counter[str] = Counter()
        """Rejected candidates per REJECT_REASONS code, for the end-of-set footnote."""
        self.saturated_reps = 0
        """Reps whose force clipped at the sensor's range (flagged `saturated`): the view warns at once."""
        self.status: LinkStatus | None = None
        self.gaps: deque[Gap] = deque(maxlen=MAX_SPANS)
        self.summary: SetSummary | None = None
        self.ended = False
        self.coach_view: CoachView | None = None
        """Where the plan stands (bandlog.coach), at the last block; None without a plan."""
        self.coach_messages: deque[tuple[float, str]] = deque(maxlen=MAX_SPANS)
        """(device time, words) of what the coach said: control lost, set done, rest over."""
        self.control_lost = 0
        """ControlLost events so far (every set), for the views' counters."""
        self.version = 0
        """Bumped on every change, so a front end can tell whether it has anything new to draw."""

    def _use_profile(self, profile: ExerciseProfile) -> None:
        self.profile = profile
        """The exercise: what the angle trace is (angle_label) and whether its band is optional."""
        self.no_band_n = profile.params().no_band_n
        """How far above its rest the force must rise to count as band tension (DetectorParams.no_band_n)."""

    # --- updates (called from the pipeline sink) ---

    def start(self, meta: RecordingMeta) -> None:
        self.meta = meta
        if not self._exercise_given:
            self._use_profile(profile_for_header(meta.exercise)[0])
        if meta.target_ecc_s > 0 and meta.target_ecc_s != self.target_ecc_s:
            log.info("live view target follows the recording: %.1f s", meta.target_ecc_s)
            self.target_ecc_s = meta.target_ecc_s
        self.version += 1

    def add_samples(self, block: SampleBlock) -> None:
        n = len(block)
        if n == 0:
            return
        self.samples_total += n
        self._advance(float(block.t_s[0]), float(block.t_s[-1]))
        if block.force_n is not None:
            values = block.force_n.reshape(-1, 1)
            self.force.extend(block.t_s, values)
            keep, self._force_bucket = decimate_keep(block.t_s, OVERVIEW_HZ, self._force_bucket)
            self.force_overview.extend(block.t_s[keep], values[keep])
            if self.profile.band_optional and not self.band_tension_seen:
                self._look_for_tension(block.force_n)
        self.version += 1

    def _look_for_tension(self, force_n: np.ndarray) -> None:
        """Latch band_tension_seen once the force held no_band_n above its rest (the window's median, as
        the detector judges a rep against its own rest) for TENSION_HOLD_S, so a knock on the sensor is
        not a band. O(block) while the force's whole range since the start stays under no_band_n, which
        is all of a set without a band on a quiet load cell (the lowest block median stays near the rest)."""
        finite = force_n[np.isfinite(force_n)]
        if finite.shape[0] == 0:
            return
        self._force_low_n = min(self._force_low_n, float(np.median(finite)))  # the lowest rest so far, give or take
        if float(finite.max()) - self._force_low_n < self.no_band_n:
            return
        _, recent = self.force.since((self.now_s or 0.0) - TENSION_HOLD_S)
        held_n = float(np.nanmedian(recent[:, 0]))
        if held_n - self._force_low_n < self.no_band_n:
            return
        _, window = self.force.since(self.window()[0])
        self.band_tension_seen = held_n - float(np.nanmedian(window[:, 0])) >= self.no_band_n

    def add_kinematics(self, kinematics: Kinematics) -> None:
        t_s = np.asarray(kinematics.t_s, dtype=np.float64).reshape(-1)
        n = t_s.shape[0]
        if n == 0 or (kinematics.knee_angle_deg is None and kinematics.knee_rate_dps is None):
            return
        self.knee_tracked = True
        if kinematics.whole_knee and (knee := self.profile.with_thigh()) != self.profile:
            self._use_profile(knee)  # a thigh sensor's turn taken out: the angle is the knee's own
        values = np.full((n, 2), np.nan)
        if kinematics.knee_angle_deg is not None:
            values[:, 0] = kinematics.knee_angle_deg
            self._follow_angle(t_s, values[:, 0])
        if kinematics.knee_rate_dps is not None:
            values[:, 1] = kinematics.knee_rate_dps
        self.knee.extend(t_s, values)
        keep, self._knee_bucket = decimate_keep(t_s, OVERVIEW_HZ, self._knee_bucket)
        self.knee_overview.extend(t_s[keep], values[keep])
        self._advance(float(t_s[0]), float(t_s[-1]))
        self.version += 1

    def _follow_angle(self, t_s: np.ndarray, angle_deg: np.ndarray) -> None:
        """Where the angle began, again after it went (a new set, the sensor moved on the leg): the shank's
        direction in the sensor is learned afresh from the first rep then (bandlog.detect.tilt)."""
        known = np.isfinite(angle_deg)
        if self._angle_since_s is None and known.any():
            self._angle_since_s = float(t_s[int(np.argmax(known))])
            self._angle_rep_done = self._angle_settled = False
        if not known[-1]:
            self._angle_since_s = None

    @property
    def angle_settling(self) -> bool:
        """The knee angle exists but rests on a shank direction still being learned: from where it began to
        the start of the second rep (the first one's row ended after it began), as the saved chart draws it
        lighter (bandlog.progress.plots). A planted shank's angle is its turn from the start: nothing learned."""
        return self._angle_since_s is not None and not self._angle_settled and self.profile.pose != "planted"

    def add_events(self, events: Sequence[Event]) -> None:
        for event in events:
            self._apply(event)
            self._advance(None, event.detected_at_s)
        self.version += 1

    def add_coach(self, events: Sequence[object], view: CoachView | None) -> None:
        """The coach's events after a block, and where the plan stands."""
        self.coach_view = view
        for event in events:
            message = coach_message(event)
            if message is not None:
                self.coach_messages.append((float(getattr(event, "detected_at_s", self.now_s or 0.0)), message))
            self.control_lost += isinstance(event, ControlLost)
        self.version += 1

    def coach_label(self) -> str:
        """Where the plan stands, in one line ('' without a plan)."""
        return coach_label(self.coach_view)

    def coach_alert(self) -> str:
        """The coach's latest message while it is fresh (ALERT_S of device time), else ''."""
        if not self.coach_messages or self.now_s is None:
            return ""
        at_s, message = self.coach_messages[-1]
        return message if self.now_s - at_s <= ALERT_S else ""

    def set_status(self, status: LinkStatus) -> None:
        self.status = status
        self.version += 1

    def add_gap(self, gap: Gap) -> None:
        """Record the gap and break the plotted lines there, so they do not bridge missing time."""
        self.gaps.append(gap)
        nan_row = np.array([gap.start_s])
        self.force.extend(nan_row, np.full((1, 1), np.nan))
        self.knee.extend(nan_row, np.full((1, 2), np.nan))
        self.force_overview.extend(nan_row, np.full((1, 1), np.nan))
        self.knee_overview.extend(nan_row, np.full((1, 2), np.nan))
        self.version += 1

    def end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        """The pipeline's rep list is authoritative for the final table."""
        self.summary = summary
        self.reps = deque(reps, maxlen=max(MAX_SPANS, len(reps)))
        self.saturated_reps = sum("saturated" in split_flags(r.flags) for r in reps)
        for span in self.spans:
            if span.is_open:
                span.end_s = self.now_s if self.now_s is not None else span.start_s
        self.ended = True
        self.version += 1

    def _advance(self, first_s: float | None, last_s: float) -> None:
        if self.start_s is None and first_s is not None:
            self.start_s = first_s
        if self.now_s is None or last_s > self.now_s:
            self.now_s = last_s

    def _apply(self, event: Event) -> None:
        if isinstance(event, RepStarted):
            self.rep_in_progress = True
            self._angle_settled = self._angle_settled or self._angle_rep_done
        elif isinstance(event, EccentricStarted):
            open_span = self.open_span()
            if open_span is not None:
                log.warning("eccentric at %.2f s started before the one at %.2f s ended", event.t_s, open_span.start_s)
                open_span.end_s = event.t_s
            self.spans.append(EccentricSpan(start_s=event.t_s))
            self.eccentrics_detected += 1
        elif isinstance(event, EccentricEnded):
            open_span = self.open_span()
            if open_span is None:
                self.spans.append(EccentricSpan(start_s=event.ecc_start_s, end_s=event.t_s))
                self.eccentrics_detected += 1
            else:
                open_span.end_s = event.t_s
        elif isinstance(event, RepCompleted):
            self._complete(event.metrics)
            since_s = self._angle_since_s
            self._angle_rep_done = self._angle_rep_done or (since_s is not None and event.metrics.end_s > since_s)
        elif isinstance(event, RepRejected):
            self.rejected += 1
            self.last_rejection = event.reason
            self.rejected_by_code[event.code] += 1
            self.rep_in_progress = False
            span = self.open_span()
            if span is not None:
                span.end_s = event.detected_at_s
            else:
                span = next((s for s in reversed(self.spans) if s.outcome is SpanOutcome.PENDING), None)
            if span is not None:
                span.outcome = SpanOutcome.REJECTED

    def _complete(self, rep: RepMetrics) -> None:
        """A finished row; without an eccentric, a span still open inside its cycle is closed as such."""
        self.reps.append(rep)
        self.rep_in_progress = False
        self.saturated_reps += "saturated" in split_flags(rep.flags)
        if rep.ecc_start_s is not None:
            span = self._span_near(rep.ecc_start_s)
            if span is not None:
                span.outcome = SpanOutcome.COMPLETED
            return
        span = next((s for s in reversed(self.spans) if s.outcome is SpanOutcome.PENDING), None)
        if span is not None and rep.start_s - SPAN_MATCH_S <= span.start_s <= rep.end_s:
            if span.is_open:
                span.end_s = rep.end_s
            span.outcome = SpanOutcome.NO_ECCENTRIC

    def _span_near(self, start_s: float) -> EccentricSpan | None:
        for span in reversed(self.spans):
            if abs(span.start_s - start_s) <= SPAN_MATCH_S:
                return span
        return None

    # --- reads (called by the front ends) ---

    def open_span(self) -> EccentricSpan | None:
        if self.spans and self.spans[-1].is_open:
            return self.spans[-1]
        return None

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def timer(self) -> TimerReading:
        """The running eccentric timer, or the last eccentric's duration once it ended."""
        span = next((s for s in reversed(self.spans) if s.outcome is not SpanOutcome.NO_ECCENTRIC), None)
        if span is None:
            return TimerReading(TimerState.IDLE, 0.0, self.target_ecc_s)
        if span.is_open:
            elapsed_s = max(0.0, (self.now_s or span.start_s) - span.start_s)
            state = TimerState.RUNNING_PAST_TARGET if elapsed_s >= self.target_ecc_s else TimerState.RUNNING
            return TimerReading(state, elapsed_s, self.target_ecc_s)
        elapsed_s = float(span.end_s or span.start_s) - span.start_s
        state = TimerState.DONE_ON_TARGET if elapsed_s >= self.target_ecc_s else TimerState.DONE_SHORT
        return TimerReading(state, elapsed_s, self.target_ecc_s)

    def last_rep(self) -> RepMetrics | None:
        return self.reps[-1] if self.reps else None

    def window(self) -> tuple[float, float]:
        """(start, end) device time of what the live plots show."""
        end_s = self.now_s if self.now_s is not None else 0.0
        return end_s - self.window_s, end_s

    def force_window(self) -> tuple[np.ndarray, np.ndarray]:
        t_s, values = self.force.since(self.window()[0])
        return t_s, values[:, 0]

    def knee_kind(self, whole_set: bool = False) -> str | None:
        """'angle' when the detector estimates a knee angle, 'rate' when only angular velocity, else None.

        Looks at the live window, or with whole_set=True at the whole-set overview.
        """
        ring = self.knee_overview if whole_set else self.knee
        if len(ring) == 0:
            return None
        _, values = ring.all() if whole_set else ring.since(self.window()[0])
        if values.shape[0] and np.isfinite(values[:, 0]).any():
            return "angle"
        if values.shape[0] and np.isfinite(values[:, 1]).any():
            return "rate"
        return None

    def no_band(self) -> bool:
        """True while the exercise may be done without a band and none has pulled yet: the force trace is
        then the load cell's noise, which the views must not scale up into what looks like band force."""
        return self.profile.band_optional and not self.band_tension_seen and len(self.force) > 0

    def no_band_label(self) -> str:
        """What the views write on the force trace while no_band() (else '')."""
        return f"no band: force within {self.no_band_n:g} N of rest" if self.no_band() else ""

    def no_angle_label(self) -> str:
        """What the views write on the angle trace before the detector has an estimate: why there is none
        yet (the exercise profile's lead_in_reason), so a blank panel does not look like a fault. After
        reps have been counted, either there is no motion sensor at all (no knee estimate ever came) or
        the estimate went because the sensor moved on the leg (the detector learns its axis afresh:
        bandlog.detect.axis); that is said instead."""
        if self.rep_count and not self.knee_tracked:  # reps, and never a knee estimate: no motion sensor
            return "no angle: this recording has no motion sensor (force only)"
        if self.rep_count:
            return "no estimate for now: the sensor moved on the leg, and it is learning again which way the leg turns"
        return f"no estimate yet: {self.profile.lead_in_reason}"

    def angle_label(self, kind: str | None) -> str:
        """The angle trace's label for a knee_kind(): what the profile's angle is (a planted shank's turn is
        not knee flexion), with its unit, and while angle_settling, that it may still be degrees off."""
        if kind == "rate":
            return "angular velocity (deg/s)"
        if kind == "angle" and self.angle_settling:
            return f"{self.profile.angle_label} (deg; settling)"
        return self.profile.angle_label + (" (deg)" if kind == "angle" else "")

    def knee_window(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        t_s, values = self.knee.since(self.window()[0])
        return t_s, values[:, 0 if kind == "angle" else 1]

    def spans_in_window(self) -> list[EccentricSpan]:
        start_s, end_s = self.window()
        return [s for s in self.spans if (s.end_s if s.end_s is not None else end_s) >= start_s]

    def samples_per_s(self) -> float | None:
        """The link's own figure when it sent one, else the rate measured over the last 2 s."""
        if self.status is not None and self.status.samples_per_s is not None:
            return self.status.samples_per_s
        if self.now_s is None:
            return None
        t_s, _ = self.force.since(self.now_s - 2.0)
        if t_s.shape[0] < 2 or t_s[-1] <= t_s[0]:
            t_s, _ = self.knee.since(self.now_s - 2.0)
        if t_s.shape[0] < 2 or t_s[-1] <= t_s[0]:
            return None
        return (t_s.shape[0] - 1) / float(t_s[-1] - t_s[0])

    def link_label(self, sep: str = " | ") -> str:
        """State, samples/s, dropped/corrupted packets, battery when known, joined by `sep`."""
        parts = [self.status.state.value if self.status is not None else "waiting for data"]
        rate = self.samples_per_s()
        if rate is not None:
            parts.append(f"{rate:.0f} samples/s")
        if self.status is not None and self.status.state is not LinkState.REPLAYING:  # a log has no link to lose
            parts.append(losses_phrase(self.status))
            parts.append(f"corrupted {self.status.corrupted_packets}")
            if self.status.trimmed_packets:
                parts.append(f"trimmed {self.status.trimmed_packets}")
            if self.status.reconnects:
                parts.append(f"reconnects {self.status.reconnects}")
            if self.status.battery_percent is not None:
                parts.append(f"battery {self.status.battery_percent:.0f} %")
        if self.gaps:
            parts.append(f"gaps {len(self.gaps)}")
        return sep.join(parts)

    def saturation_label(self) -> str:
        """The warning and what to change once a rep's force clipped at the sensor's range; '' until then."""
        return saturation_warning(self.saturated_reps)

    def last_rep_label(self) -> str:
        """e.g. 'last rep #3: 3.2 s slow, peak 41 N, ROM 95 deg' or '... #4: isometric pull, no eccentric, ...'."""
        rep = self.last_rep()
        if rep is None:
            return "last rep: --"
        return f"last rep #{rep.rep}: {rep_label(rep)}"


def rep_label(rep: RepMetrics) -> str:
    """What one row was, in words: its eccentric and tempo (or why it had none), forces, ROM and flags."""
    peak = "--" if rep.peak_force_n is None else f"{rep.peak_force_n:.0f} N"
    rom = "--" if rep.rom_deg is None else f"{rep.rom_deg:.0f} deg"
    if rep.ecc_duration_s is None:
        what = no_eccentric_label(rep.flags)
    else:
        what = f"{rep.ecc_duration_s:.1f} s {rep.tempo}"
    shown = [k for k in split_flags(rep.flags) if rep.ecc_duration_s is not None or k not in NO_ECCENTRIC_FLAGS]
    flags = f" [{', '.join(shown)}]" if shown else ""
    return f"{what}, peak {peak}, ROM {rom}{flags}"
