"""Hands-free sets: the SetTracker follows a Plan from the detector's events and device time alone.

    WAITING --first rep--> IN_SET --last rep + SET_END_AFTER_S, planned reps done, or a stop rule-->
    RESTING --first rep--> IN_SET ... --the plan's last set ends--> DONE

A set starts at its first rep (dated at the rep's RepStarted: load applied or first flexion). The start
is confirmed when the rep's eccentric begins or the rep completes, so a movement the detector rejects
before that (a fidget while resting) starts nothing; one rejected later, before any rep of the set
completed (re-tying the band can look like an eccentric to force alone), withdraws the set
(SetWithdrawn, counted in the report): it was not a set, and the rest timer runs on. A set ends when its planned reps are done
(at the last rep's RepCompleted, which comes once the knee has settled), when a stop rule is met (at
the completion of the rep that met it), or when no new rep started within SET_END_AFTER_S of the last
rep's end. The rest is timed from that end; RestEnded is the cue that the planned rest is over. The
recording goes on throughout: nothing here stops it, and no key is needed.

Timers run on device time. Events are taken in the order of their `detected_at_s`, and a timer fires
before an event detected after its deadline; with no event, a timer fires once samples HORIZON_S past
its deadline have been fed (the detector may still be holding samples just before them). A timer's
event is dated at its deadline, so the events, and their times, do not depend on how the samples were
split into blocks (live or batch).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bandlog.coach.control import ControlRules
from bandlog.coach.events import CoachEvent, ControlLost, PlanDone, RestEnded, SetEnded, SetStarted, SetWithdrawn
from bandlog.coach.plan import Plan
from bandlog.coach.report import PlanReport, SetResult, no_control_lost, plan_report
from bandlog.core.events import EccentricEnded, EccentricStarted, Event, RepCompleted, RepRejected, RepStarted

log = logging.getLogger(__name__)

_Fire = Callable[[float], list[CoachEvent]]

SET_END_AFTER_S = 8.0
"""No new rep this long after the last one's end ends the set. Between the reps of a set the knee
rests at the bottom for up to 3 s (science.md 6.3) and a new rep is known ~0.3 s into its flexion;
rests between sets last a minute or more."""
HORIZON_S = 0.5
"""A timer with no event after it waits for samples this far past its deadline: the detector decides
up to 0.3 s after the samples that show a rep starting (measured on the motion model)."""


class TrackerState(enum.Enum):
    WAITING = "waiting"
    IN_SET = "in set"
    RESTING = "resting"
    DONE = "done"


@dataclass(frozen=True)
class CoachView:
    """What a live view shows, at device time `now_s`."""

    state: TrackerState
    set_number: int
    """The set in progress, or the next one while waiting or resting (the last one when done)."""
    sets_planned: int
    reps_done: int
    """Reps completed in the set in progress (0 while waiting or resting)."""
    rep_in_progress: bool
    reps_planned: int
    leg_now: str | None
    """The leg of the set in progress, or of the next set while waiting or resting."""
    leg_next: str | None
    """The leg of the set after that one (None after the last set, or when the plan names none)."""
    rest_elapsed_s: float | None
    """While resting: seconds since the last set ended."""
    rest_left_s: float | None
    """While resting: seconds of planned rest left (negative once it is over)."""
    control_lost: dict[str, int]
    """The set in progress's ControlLost counts by kind (the last set's while resting)."""


@dataclass
class _Tally:
    """The set in progress."""

    number: int
    start_s: float
    started_at_s: float
    rest_before_s: float | None
    last_end_s: float
    """The last rep's end; the set's start before its first rep."""
    reps: int = 0
    on_tempo: int = 0
    untimed: int = 0
    ecc_tut_s: float = 0.0
    control_lost: dict[str, int] = field(default_factory=no_control_lost)
    in_rep: bool = False
    idle_since_s: float = float("-inf")
    """When the last rep in progress was completed or rejected: the set-end timer runs from then on."""


class SetTracker:
    """Feed it, after each block the analyzer took: `feed(events, block.t_s[-1])`; at the end of the
    recording, the analyzer's finish() events the same way, then `finish(last_t_s)`."""

    def __init__(self, plan: Plan, set_end_after_s: float = SET_END_AFTER_S) -> None:
        self.plan = plan
        self.set_end_after_s = set_end_after_s
        self.state = TrackerState.WAITING
        self.results: list[SetResult] = []
        self.reps_outside_plan = 0
        self.sets_withdrawn = 0
        """Sets started by a movement that proved not to be a rep (SetWithdrawn), in no result."""
        self._rules = ControlRules(plan)
        self._set: _Tally | None = None
        self._pending_start_s: float | None = None
        """RepStarted of a rep that will start the next set once confirmed."""
        self._rest_from_s: float | None = None
        self._rest_armed_at_s = 0.0
        self._rest_cued = False
        self._clock_s = float("-inf")
        self._finished = False

    # -- feeding -----------------------------------------------------------------------------------
    def feed(self, events: Sequence[Event], now_s: float | None) -> list[CoachEvent]:
        """The analyzer's events for one block and the block's last sample time (None: an empty block)."""
        out: list[CoachEvent] = []
        for event in events:
            at_s = event.detected_at_s
            out += self._run_timers(at_s, inclusive=False)
            if at_s < self._clock_s:
                log.warning("detector event at %.2f s came after the coach's clock had reached %.2f s", at_s, self._clock_s)
            self._clock_s = max(self._clock_s, at_s)
            out += self._apply(event)
            out += self._run_timers(at_s, inclusive=True)
        if now_s is not None:
            out += self._run_timers(now_s - HORIZON_S, inclusive=True)
        return out

    def finish(self, last_t_s: float) -> list[CoachEvent]:
        """The recording ended at device time `last_t_s`: timers due by then fire, and a set still in
        progress ends there ('recording ended')."""
        if self._finished:
            return []
        self._finished = True
        out = self._run_timers(last_t_s, inclusive=True)
        tally = self._set
        if self.state is TrackerState.IN_SET and tally is not None:
            out += self._end_set(tally, "recording ended", max(last_t_s, self._clock_s))
        return out

    # -- what a view shows -------------------------------------------------------------------------
    def view(self, now_s: float) -> CoachView:
        tally = self._set
        in_set = self.state is TrackerState.IN_SET and tally is not None
        done = self.state is TrackerState.DONE
        number = tally.number if in_set and tally is not None else min(len(self.results) + (0 if done else 1), self.plan.total_sets)
        resting = self.state is TrackerState.RESTING and self._rest_from_s is not None
        elapsed = now_s - self._rest_from_s if resting and self._rest_from_s is not None else None
        if in_set and tally is not None:
            control = dict(tally.control_lost)
        else:
            control = dict(self.results[-1].control_lost) if self.results else no_control_lost()
        return CoachView(
            state=self.state,
            set_number=number,
            sets_planned=self.plan.total_sets,
            reps_done=tally.reps if in_set and tally is not None else 0,
            rep_in_progress=bool(in_set and tally is not None and tally.in_rep),
            reps_planned=self.plan.reps,
            leg_now=None if done else self.plan.leg(number),
            leg_next=self.plan.leg(number + 1) if not done and number < self.plan.total_sets else None,
            rest_elapsed_s=elapsed,
            rest_left_s=self.plan.rest_s - elapsed if elapsed is not None else None,
            control_lost=control,
        )

    @property
    def done(self) -> bool:
        """True once the plan's last set ended (a live recording may stop there)."""
        return self.state is TrackerState.DONE

    def report(self) -> PlanReport:
        """The sets ended so far against the whole plan (call after finish() for the session's)."""
        return plan_report(self.plan, self.results, self.reps_outside_plan, self.sets_withdrawn)

    # -- events ------------------------------------------------------------------------------------
    def _apply(self, event: Event) -> list[CoachEvent]:
        if self.state is TrackerState.DONE:
            if isinstance(event, RepCompleted):
                self.reps_outside_plan += 1
            return []
        tally = self._set if self.state is TrackerState.IN_SET else None
        if tally is None:
            return self._between_sets(event)
        if isinstance(event, RepStarted | EccentricStarted | EccentricEnded):
            tally.in_rep = True
        elif isinstance(event, RepRejected):
            if tally.reps == 0:
                return self._withdraw(tally, f"what started it was not a rep ({event.reason})", event.detected_at_s)
            tally.in_rep = False
            tally.idle_since_s = event.detected_at_s
        elif isinstance(event, RepCompleted):
            return self._rep_done(tally, event)
        return []

    def _between_sets(self, event: Event) -> list[CoachEvent]:
        """Waiting or resting: a rep's start is held until the rep proves real, then starts the set."""
        if isinstance(event, RepStarted):
            self._pending_start_s = event.t_s
            return []
        if isinstance(event, RepRejected):
            self._pending_start_s = None
            return []
        if isinstance(event, EccentricStarted | EccentricEnded):
            out = self._start_set(event.t_s if self._pending_start_s is None else self._pending_start_s, event.detected_at_s)
            return out + self._apply(event)
        if isinstance(event, RepCompleted):
            start_s = event.metrics.start_s if self._pending_start_s is None else self._pending_start_s
            return self._start_set(start_s, event.detected_at_s) + self._apply(event)
        return []

    def _start_set(self, start_s: float, at_s: float) -> list[CoachEvent]:
        number = len(self.results) + 1
        rest_s = start_s - self._rest_from_s if self._rest_from_s is not None else None
        self._set = _Tally(number, start_s, at_s, rest_s, last_end_s=start_s)
        self._pending_start_s = None
        self._rules.reset()
        self.state = TrackerState.IN_SET
        return [SetStarted(number, self.plan.leg(number), start_s, at_s, rest_s)]

    def _rep_done(self, tally: _Tally, event: RepCompleted) -> list[CoachEvent]:
        m = event.metrics
        tally.in_rep = False
        tally.idle_since_s = event.detected_at_s
        tally.reps += 1
        if m.ecc_duration_s is None:
            tally.untimed += 1
        else:
            tally.ecc_tut_s += m.ecc_duration_s
        tally.on_tempo += self.plan.on_tempo(m.ecc_duration_s)
        tally.last_end_s = max(tally.last_end_s, m.end_s)
        out = self._count(tally, self._rules.on_rep(event, tally.number, tally.reps))
        met = [r for r in self.plan.stop_on if tally.control_lost[r.kind] >= r.count]
        if met:
            return out + self._end_set(tally, f"stop rule: {', '.join(r.text() for r in met)}", event.detected_at_s)
        if tally.reps >= self.plan.reps:
            return out + self._end_set(tally, "planned reps done", event.detected_at_s)
        return out

    def _count(self, tally: _Tally, lost: list[ControlLost]) -> list[CoachEvent]:
        for item in lost:
            tally.control_lost[item.kind] += 1
        return list(lost)

    def _withdraw(self, tally: _Tally, reason: str, at_s: float) -> list[CoachEvent]:
        """A set that holds no rep was not a set: back to waiting or resting, the rest timer running on."""
        self._set = None
        self.sets_withdrawn += 1
        self.state = TrackerState.RESTING if self.results else TrackerState.WAITING
        self._rest_armed_at_s = max(self._rest_armed_at_s, at_s)
        return [SetWithdrawn(tally.number, tally.start_s, at_s, reason)]

    def _end_set(self, tally: _Tally, reason: str, at_s: float) -> list[CoachEvent]:
        if tally.reps == 0:
            return self._withdraw(tally, f"no rep completed in it ({reason})", at_s)
        result = SetResult(
            set_number=tally.number,
            leg=self.plan.leg(tally.number),
            start_s=tally.start_s,
            end_s=tally.last_end_s,
            end_reason=reason,
            reps_done=tally.reps,
            reps_planned=self.plan.reps,
            reps_on_tempo=tally.on_tempo,
            reps_untimed=tally.untimed,
            ecc_tut_s=tally.ecc_tut_s,
            ecc_tut_planned_s=self.plan.reps * self.plan.ecc_s,
            control_lost=dict(tally.control_lost),
            rest_before_s=tally.rest_before_s,
        )
        self.results.append(result)
        self._set = None
        out: list[CoachEvent] = [SetEnded(result, at_s)]
        if len(self.results) >= self.plan.total_sets:
            self.state = TrackerState.DONE
            out.append(PlanDone(len(self.results), result.end_s, at_s))
        else:
            self.state = TrackerState.RESTING
            self._rest_from_s = result.end_s
            self._rest_armed_at_s = at_s
            self._rest_cued = False
        return out

    # -- timers ------------------------------------------------------------------------------------
    def _run_timers(self, until_s: float, inclusive: bool) -> list[CoachEvent]:
        """Fire the timers due by `until_s` (before it, unless inclusive), in time order."""
        out: list[CoachEvent] = []
        while (due := self._next_timer()) is not None:
            deadline_s, fire = due
            if deadline_s > until_s or (deadline_s == until_s and not inclusive):
                break
            self._clock_s = max(self._clock_s, deadline_s)
            out += fire(deadline_s)
        return out

    def _next_timer(self) -> tuple[float, _Fire] | None:
        tally = self._set
        if self.state is TrackerState.IN_SET and tally is not None and not tally.in_rep:
            deadline_s = tally.last_end_s + self.set_end_after_s

            def end(at_s: float) -> list[CoachEvent]:
                assert tally is not None
                return self._end_set(tally, f"no new rep within {self.set_end_after_s:g} s", at_s)

            return max(deadline_s, tally.started_at_s, tally.idle_since_s), end
        if self.state is TrackerState.RESTING and self._rest_from_s is not None and not self._rest_cued:
            rest_from_s = self._rest_from_s

            def cue(at_s: float) -> list[CoachEvent]:
                self._rest_cued = True
                after = len(self.results)
                return [RestEnded(after, self.plan.leg(after + 1), rest_from_s + self.plan.rest_s, at_s)]

            return max(rest_from_s + self.plan.rest_s, self._rest_armed_at_s), cue
        return None

