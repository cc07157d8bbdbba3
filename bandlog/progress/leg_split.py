"""A log of both legs, indexed as one session per leg.

A plan with both legs (`LR` alternating, `LLRR` one leg's sets then the other's) is recorded as one
log, its sets on either leg (bandlog.coach.plan.Plan.leg). The index keeps one leg per session (the
left/right charts, the asymmetry tests and the per-leg noise all compare legs by session), so such a
log becomes one session per leg. The coach's report of each log set says where each planned set ran
(SetResult.start_s..end_s) and on which leg; each rep goes to the leg of the planned set it started
in; each rejected candidate and each set rating goes to the leg of the last planned set that began
before it (the first set's, before any), so every one is counted in some leg's session. Reps outside
every planned set (after the plan's end) keep the log's own leg, in a part of their own, so none is
lost. Pure: tables and reports in, parts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bandlog.coach.report import plan_report

if TYPE_CHECKING:
    import pandas as pd

    from bandlog.coach.report import PlanReport, SetResult
    from bandlog.core.results import SetRating

SPAN_MARGIN_S = 0.5
"""A rep starting this much before its set's recorded start still belongs to it (the set starts at its
first rep's start, as the coach dates it)."""


@dataclass(frozen=True)
class LegPart:
    """One leg's share of a log of both legs."""

    leg: str | None
    rows: list[int]
    """Positions in the log's reps table, in its order."""
    spans: list[tuple[int, float, float]]
    """(log set, start s, end s) of the planned sets on this leg: where its samples are."""
    rejected: int
    """Candidates rejected in this leg's sets."""
    ratings: tuple[SetRating, ...]
    plans: tuple[PlanReport, ...]
    """The plan's report, cut to this leg's sets (sets planned and reps planned per leg)."""


def both_legs(plans: Sequence[PlanReport]) -> bool:
    return any(p.plan.both_legs for p in plans)


def leg_parts(
    leg: str | None, reps: pd.DataFrame, rejected: pd.DataFrame, plans: Sequence[PlanReport], ratings: Sequence[SetRating]
) -> list[LegPart] | None:
    """Each leg's part of a log whose plan had both legs (left first), or None for a log of one leg
    (no such plan, or the header names the leg). `plans`: one report per log set, in order; `reps`
    and `rejected`: the analysis's tables (their `set` is the log set, `start_s` where each began)."""
    if leg is not None or not both_legs(plans) or not any(report.sets for report in plans):
        return None  # one leg's, or no planned set began: one session, its leg unknown
    spans = [(number, s) for number, report in enumerate(plans, start=1) for s in report.sets]
    rows: dict[str | None, list[int]] = {}
    for position, (number, start_s) in enumerate(zip(reps["set"], reps["start_s"], strict=True)):
        rows.setdefault(_leg_at(spans, int(number), float(start_s), leg), []).append(position)
    dropped: dict[str | None, int] = {}
    for number, start_s in zip(rejected["set"], rejected["start_s"], strict=True):
        where = _last_started([s for n, s in spans if n == int(number)] or [s for _, s in spans], float(start_s))
        dropped[where] = dropped.get(where, 0) + 1
    given: dict[str | None, list[SetRating]] = {}
    for rating in ratings:
        given.setdefault(_last_started([s for _, s in spans], rating.t_s), []).append(rating)
    legs: list[str | None] = [x for x in ("left", "right") if any(s.leg == x for _, s in spans)]
    legs += [x for x in rows if x not in legs]
    return [LegPart(x, rows.get(x, []), [(n, s.start_s, s.end_s) for n, s in spans if s.leg == x], dropped.get(x, 0),
                    tuple(given.get(x, ())), tuple(_report_for(p, x) for p in plans) if x is not None else ()) for x in legs]


def _leg_at(spans: list[tuple[int, SetResult]], number: int, start_s: float, default: str | None) -> str | None:
    """The leg of the planned set (in log set `number`) a rep starting at start_s belongs to."""
    inside = [s for n, s in spans if n == number and s.start_s - SPAN_MARGIN_S <= start_s <= max(s.end_s, s.start_s) + SPAN_MARGIN_S]
    return inside[-1].leg if inside else default


def _last_started(sets: list[SetResult], t_s: float) -> str | None:
    """The leg of the last of `sets` that began by t_s (the first one's before any began)."""
    started = [s for s in sets if s.start_s - SPAN_MARGIN_S <= t_s]
    return (started[-1] if started else sets[0]).leg if sets else None


def _report_for(report: PlanReport, leg: str) -> PlanReport:
    """The plan's report over one leg's sets, totalled as for a plan of that leg alone (what it planned
    for that leg and what was done there), the plan itself kept as written."""
    one_leg = plan_report(replace(report.plan, legs=leg), [s for s in report.sets if s.leg == leg])
    return replace(one_leg, plan=report.plan)


def part_summary(summary: dict[str, Any], part: LegPart) -> dict[str, Any]:
    """A leg's session summary: the log's mode, and the candidates rejected in its sets (the counts
    and times are its own reps': index_rows.session_row computes them from its rows)."""
    return {**{key: summary[key] for key in ("mode",) if key in summary}, "rejected": part.rejected}
