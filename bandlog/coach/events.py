"""What the coach emits as a session follows its plan: the cues a live view or a sound plays.

Times are device-clock seconds like the detector's events: `t_s` is when the thing happened (back-dated:
a set starts where its first rep began), `detected_at_s` the device time at which the coach knew it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bandlog.coach.report import SetResult


@dataclass(frozen=True)
class SetStarted:
    set_number: int
    """1-based, counting every set of the session (both legs)."""
    leg: str | None
    t_s: float
    detected_at_s: float
    rest_taken_s: float | None
    """Seconds since the previous set ended (None for the first set)."""


@dataclass(frozen=True)
class SetEnded:
    result: SetResult
    """The set against the plan; `result.end_reason` says why it ended."""
    detected_at_s: float

    @property
    def t_s(self) -> float:
        return self.result.end_s


@dataclass(frozen=True)
class SetWithdrawn:
    """The SetStarted of `set_number` was not a set: what started it proved not to be a rep, and no rep
    of it completed. The session is back to waiting or resting; the next set takes the same number."""

    set_number: int
    t_s: float
    detected_at_s: float
    reason: str


@dataclass(frozen=True)
class RestEnded:
    """The planned rest after `after_set` is over: the cue to start the next set."""

    after_set: int
    next_leg: str | None
    t_s: float
    detected_at_s: float


@dataclass(frozen=True)
class PlanDone:
    """The plan's last set ended."""

    sets_done: int
    t_s: float
    detected_at_s: float


@dataclass(frozen=True)
class ControlLost:
    """A loss of eccentric control (bandlog.coach.plan.CONTROL_KINDS), as soon as it is known."""

    kind: str
    set_number: int
    rep: int
    """The rep in its set (1-based)."""
    t_s: float
    """When it happened: the eccentric's end (a drop is only dated to its rep by the detector)."""
    detected_at_s: float
    detail: str
    """One sentence with the numbers, e.g. 'eccentric 1.3 s, under 2 s (half the planned 4 s)'."""


CoachEvent = SetStarted | SetEnded | SetWithdrawn | RestEnded | PlanDone | ControlLost
