"""The streaming eccentric-phase state machine (sans I/O).

Theory of operation
-------------------
One sample at a time the machine reads the knee rate (deg/s, flexion positive, causally filtered),
the knee angle (integrated, unfiltered, so it has no delay) and, when present, the band force.
A rep walks through

    IDLE -> LOADING (passive flexion) -> TOP (hold) -> ECCENTRIC -> SETTLING -> IDLE

or, for an exercise whose limb rests bent (bandlog.detect.exercises: the runner's stretch),
IDLE -> ECCENTRIC -> SETTLING (the hold once straight) -> IDLE, the flexion back to rest being idle.

Entering a state needs its condition to hold for a debounce time (hysteresis: the eccentric is
entered below -5 deg/s and is only left above -2 deg/s, or near the bottom once the rate has fallen
to the rate a minimum-jerk profile has 1 degree before its end). A short stall mid-range stays
inside the eccentric. Decisions are made late but *dated* early: onset and offset are back-dated
to 1 degree of displacement from the top and the bottom (the ground-truth definition), by reading
the rep's trace. EccentricEnded is the live cue and comes as soon as the end is likely; the rep's
final numbers (RepCompleted, built by bandlog.detect.analysis) wait until the knee has settled, so a
stall near the bottom can still extend the eccentric. Every transition is listed in TRANSITIONS;
`_fire` refuses anything else. The force-only variant (force_steps.py) uses the same table.

This module holds the states, the table and what both variants share (MachineBase); the knee-rate
machine's per-sample handlers are in imu_steps.py, its bulk stepping in imu_machine.py.

Segmenting cycles is kept apart from classifying their phases: every loading cycle that passes the
range gate becomes a row, with or without a timed eccentric (a hold never lowered, a recording cut
mid-rep: flags `no_eccentric`, `truncated`). What is not a rep at all (a fidget, a data gap) leaves
as RepRejected with a reason code. A cycle starts at or after the previous row's end (`last_end_s`),
so rows never overlap and no time is counted twice.

`ImuMachine.run` is `step` over arrays: between the samples at which a handler can do more than
count (a debounce count reached, a timeout passed, a flexion big enough to start a cycle), samples
are taken in bulk with the same comparisons made over the arrays, so batch analysis costs little
per sample while the transitions, and every event, stay exactly those of stepping one by one.
"""

from __future__ import annotations

import enum

from bandlog.core.events import Event, RepRejected
from bandlog.detect.levels import ForceLevels
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace

HISTORY_S = 3.0


class State(enum.Enum):
    IDLE = "idle"
    LOADING = "loading"
    TOP = "top"
    ECCENTRIC = "eccentric"
    SETTLING = "settling"


class Trigger(enum.Enum):
    FLEXION = "flexion"
    TOP_REACHED = "top reached"
    ECC_ENTER = "eccentric entered"
    ECC_EXIT = "eccentric exited"
    RESUME = "eccentric resumed"
    SETTLED = "settled"
    RELEASED = "released without an eccentric"
    JOINED = "recording began during an eccentric"
    FROM_REST = "eccentric from a bent rest"
    ABORT = "abort"


TRANSITIONS: dict[State, dict[Trigger, State]] = {
    State.IDLE: {Trigger.FLEXION: State.LOADING, Trigger.JOINED: State.ECCENTRIC, Trigger.FROM_REST: State.ECCENTRIC},
    State.LOADING: {Trigger.TOP_REACHED: State.TOP, Trigger.ECC_ENTER: State.ECCENTRIC, Trigger.RELEASED: State.SETTLING,
                    Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
    State.TOP: {Trigger.ECC_ENTER: State.ECCENTRIC, Trigger.FLEXION: State.LOADING, Trigger.RELEASED: State.SETTLING,
                Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
    State.ECCENTRIC: {Trigger.ECC_EXIT: State.SETTLING, Trigger.ABORT: State.IDLE},
    State.SETTLING: {Trigger.RESUME: State.ECCENTRIC, Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
}


def samples_in(seconds: float, dt_s: float) -> int:
    """Samples a duration spans at this sample interval (at least one: a debounce never takes zero)."""
    return max(1, int(round(seconds / dt_s)))


class MachineBase:
    """State, transition table enforcement, outputs, and the rep bookkeeping both variants share."""

    def __init__(self, params: DetectorParams, dt_s: float) -> None:
        self.params = params
        self.dt_s = dt_s
        self.state = State.IDLE
        self.events: list[Event | RepCandidate] = []
        """Output in order; a RepCandidate stands where bandlog.detect.analysis puts its RepCompleted."""
        self.levels = ForceLevels()
        self.trace = RepTrace()
        self.rep_start_s = 0.0
        self.last_end_s = -float("inf")
        """End of the last row: the next cycle starts at or after it (rows never overlap)."""
        self.accepted_roms: list[float] = []

    def _fire(self, trigger: Trigger) -> None:
        allowed = TRANSITIONS[self.state]
        if trigger not in allowed:
            raise RuntimeError(f"detector bug: {trigger.value!r} is not a transition from {self.state.value!r}")
        self.state = allowed[trigger]

    def drain(self) -> list[Event | RepCandidate]:
        events, self.events = self.events, []
        return events

    def close(self, t: float) -> None:
        """The recording ended inside a cycle (each variant finishes it with what it has)."""
        raise NotImplementedError

    def _reject(self, code: str, reason: str, now_s: float) -> None:
        self.events.append(RepRejected(self.rep_start_s, reason, now_s, code))
        self._fire(Trigger.ABORT)
        self.trace = RepTrace()

    def _duration_gate(self, end_s: float) -> tuple[str, str] | None:
        """(code, reason) when the cycle is too short or too long to be a rep, else None."""
        whole_s = end_s - self.rep_start_s
        p = self.params
        if whole_s < p.rep_min_s:
            return "too_short", f"rep lasted {whole_s:.2f} s, under {p.rep_min_s:g} s"
        if whole_s > p.rep_max_s:
            return "too_long", f"rep lasted {whole_s:.1f} s, over {p.rep_max_s:g} s"
        return None

    def _earliest_start(self, times: list[float]) -> int:
        """Index of the first remembered sample a new cycle may start at: never inside the last one."""
        for i, t in enumerate(times):
            if t >= self.last_end_s:
                return i
        return len(times) - 1
