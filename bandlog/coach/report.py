"""A session against its plan: each set's result and the end-of-session PlanReport.

Reps done are the detector's rows (every loading cycle, with or without an eccentric); a rep is on
tempo when its eccentric met the plan's (Plan.on_tempo); eccentric TUT sums the timed eccentrics and
is set against the prescription, reps x ecc_s. Sets the session never reached count as planned with
nothing done, so the totals always compare against the whole plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bandlog.coach.plan import CONTROL_KINDS, Plan

END_REASONS = ("planned reps done", "no new rep", "stop rule", "recording ended")
"""How a set can end (SetResult.end_reason begins with one of them)."""


@dataclass(frozen=True)
class SetResult:
    set_number: int
    leg: str | None
    start_s: float
    end_s: float
    """The end of the set's last rep (its start when it has none)."""
    end_reason: str
    """END_REASONS, with the numbers: e.g. 'stop rule: 2 fast' or 'no new rep within 8 s'."""
    reps_done: int
    reps_planned: int
    reps_on_tempo: int
    reps_untimed: int
    """Rows with no eccentric to time (never on tempo)."""
    ecc_tut_s: float
    ecc_tut_planned_s: float
    control_lost: dict[str, int]
    """ControlLost events in the set by kind (every CONTROL_KINDS key present)."""
    rest_before_s: float | None
    """Rest taken before this set (None for the first)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    sets: tuple[SetResult, ...]
    sets_planned: int
    reps_done: int
    reps_planned: int
    reps_on_tempo: int
    adherence: float | None
    """Share of the reps done that were on tempo (None before any rep)."""
    ecc_tut_s: float
    ecc_tut_planned_s: float
    control_lost: dict[str, int]
    reps_outside_plan: int
    """Reps after the plan's last set: counted here, in no set."""
    sets_withdrawn: int = 0
    """Sets started by a movement that proved not to be a rep (coach.events.SetWithdrawn)."""

    def to_dict(self) -> dict[str, Any]:
        """For the log's metadata and the index."""
        data = asdict(self)
        data["plan"] = self.plan.to_dict()
        return data

    def lines(self) -> list[str]:
        """The end-of-session summary in words, one line per set and one for the total."""
        out = [f"plan {self.plan.describe()}"]
        for s in self.sets:
            leg = f" ({s.leg})" if s.leg else ""
            rest = f", after {s.rest_before_s:.0f} s rest" if s.rest_before_s is not None else ""
            out.append(
                f"set {s.set_number}{leg}: {s.reps_done}/{s.reps_planned} reps, {s.reps_on_tempo} on tempo, eccentric TUT "
                f"{s.ecc_tut_s:.1f}/{s.ecc_tut_planned_s:.0f} s{_control_words(s.control_lost)}{rest}; ended: {s.end_reason}"
            )
        adherence = f"{self.adherence:.0%}" if self.adherence is not None else "-"
        out.append(
            f"total: {len(self.sets)}/{self.sets_planned} sets, {self.reps_done}/{self.reps_planned} reps, "
            f"{self.reps_on_tempo} on tempo (adherence {adherence}), eccentric TUT {self.ecc_tut_s:.1f}/"
            f"{self.ecc_tut_planned_s:.0f} s{_control_words(self.control_lost)}"
        )
        if self.reps_outside_plan:
            out.append(f"{self.reps_outside_plan} reps after the plan's last set, in no set")
        if self.sets_withdrawn:
            out.append(f"{self.sets_withdrawn} set starts withdrawn: what started them was not a rep")
        return out


def no_control_lost() -> dict[str, int]:
    return dict.fromkeys(CONTROL_KINDS, 0)


def plan_report(plan: Plan, sets: Sequence[SetResult], reps_outside_plan: int = 0, sets_withdrawn: int = 0) -> PlanReport:
    """Totals of the sets done against the whole plan."""
    reps_done = sum(s.reps_done for s in sets)
    on_tempo = sum(s.reps_on_tempo for s in sets)
    reps_planned = plan.total_sets * plan.reps
    control = no_control_lost()
    for s in sets:
        for kind, count in s.control_lost.items():
            control[kind] += count
    return PlanReport(
        plan=plan,
        sets=tuple(sets),
        sets_planned=plan.total_sets,
        reps_done=reps_done,
        reps_planned=reps_planned,
        reps_on_tempo=on_tempo,
        adherence=on_tempo / reps_done if reps_done else None,
        ecc_tut_s=sum(s.ecc_tut_s for s in sets),
        ecc_tut_planned_s=reps_planned * plan.ecc_s,
        control_lost=control,
        reps_outside_plan=reps_outside_plan,
        sets_withdrawn=sets_withdrawn,
    )


def _control_words(counts: dict[str, int]) -> str:
    words = [f"{n} {kind}" for kind, n in counts.items() if n]
    return f", control lost: {', '.join(words)}" if words else ""
