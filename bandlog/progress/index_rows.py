"""A log's analysis as the session index stores it: its sessions-table row, and the adherence rule.

What one analysed log becomes in the index (its day and ISO week, time under tension, tempo counts,
adherence) is kept apart from the refresh that decides which logs to analyse (bandlog.progress.index):
this is arithmetic over one log's metrics, that is bookkeeping over files. The adherence rule lives
here once, for the index's adherence column and the charts' "on target" colour (bandlog.progress.plots).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bandlog.coach import PlanReport
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import ADHERENCE_TOLERANCE, SetRating, adheres

if TYPE_CHECKING:  # pandas is imported where a table is built: a warm `bandlog sessions` never needs it
    import pandas as pd


def exercise_key(exercise: str | None) -> str:
    """The exercise profile a session's header names (bandlog.detect.exercises; an old or foreign log's
    free text counts as the reverse curl, as its analysis does): what sessions are grouped and filtered by."""
    from bandlog.detect.exercises import profile_for_header

    return profile_for_header(exercise)[0].key


def target_band_s(target_ecc_s: Any) -> tuple[Any, Any]:
    """(shortest, longest) eccentric that adheres to `target_ecc_s` (a number or a Series)."""
    return target_ecc_s * (1 - ADHERENCE_TOLERANCE), target_ecc_s * (1 + ADHERENCE_TOLERANCE)


def sql_value(value: Any) -> Any:
    """numpy scalars and NaN -> plain Python values / NULL, so SQLite stores them faithfully."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def session_day(start_utc: str, fallback_mtime_ns: int) -> datetime:
    """The session's local start time: from the log header, else the file's modification time."""
    try:
        when = datetime.fromisoformat(start_utc.strip())
    except ValueError:
        when = datetime.fromtimestamp(fallback_mtime_ns / 1e9, tz=UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone()


def week_start(day: date) -> date:
    """The Monday of the ISO week containing `day`."""
    return day - timedelta(days=day.weekday())


def session_row(
    meta: RecordingMeta, reps: pd.DataFrame, summary: Mapping[str, Any], *, mtime_ns: int, ratings: Sequence[SetRating] = (),
    plans: Sequence[PlanReport] = (),
) -> dict[str, Any]:
    """One sessions-table row from a log's metadata, its analysis, its set ratings and, for a recording
    that followed a plan, the coach's report (no path/stat fields); `rpe` and `pain` are the means of
    the scores given (None when none was); `plan` is the plan's text, `sets_done`/`sets_planned` and
    `plan_reps_on_tempo`/`plan_reps_planned` the session against it (None without a plan)."""
    import pandas as pd

    when = session_day(meta.start_utc or "", mtime_ns)
    target = float(meta.target_ecc_s)
    ecc = pd.to_numeric(reps["ecc_duration_s"], errors="coerce").dropna() if "ecc_duration_s" in reps else pd.Series(dtype=float)
    tempo = reps["tempo"] if "tempo" in reps else pd.Series(dtype=str)

    def column_stat(name: str, how: str) -> float | None:
        if name not in reps:
            return None
        values = pd.to_numeric(reps[name], errors="coerce").dropna()
        return None if values.empty else float(getattr(values, how)())

    def summary_or(name: str, fallback: float | None) -> Any:
        value = sql_value(summary.get(name))
        return fallback if value is None else value

    n_reps = int(summary_or("reps", len(reps)))
    return {
        "start_utc": meta.start_utc or when.astimezone(UTC).isoformat(),
        "date": when.date().isoformat(),
        "week": week_start(when.date()).isoformat(),
        "exercise": meta.exercise,
        "leg": meta.leg,
        "band": meta.band,
        "target_ecc_s": target,
        "reps": n_reps,
        "tut_ecc_s": float(summary_or("tut_ecc_s", float(ecc.sum()))),
        "tut_tension_s": summary_or("tut_tension_s", column_stat("tut_tension_s", "sum")),
        "mean_ecc_duration_s": summary_or("mean_ecc_duration_s", column_stat("ecc_duration_s", "mean")),
        "peak_force_n": summary_or("peak_force_n", column_stat("peak_force_n", "max")),
        "mean_force_n": column_stat("mean_ecc_force_n", "mean"),
        "ecc_impulse_ns": column_stat("ecc_impulse_ns", "sum"),
        "slow_reps": int((tempo == "slow").sum()),
        "moderate_reps": int((tempo == "moderate").sum()),
        "fast_reps": int((tempo == "fast").sum()),
        "adherence": float(adheres(ecc, target).mean()) if len(ecc) else None,
        "mode": summary_or("mode", None),
        "eccentrics": len(ecc),  # counted from the rows stored beside it, so the two always agree
        "rejected": int(summary_or("rejected", 0)),
        "rpe": _mean_score([r.rpe for r in ratings]),
        "pain": _mean_score([r.pain for r in ratings]),
        "plan": plans[0].plan.text() if plans else None,
        "sets_done": sum(len(p.sets) for p in plans) if plans else None,
        "sets_planned": sum(p.sets_planned for p in plans) if plans else None,
        "plan_reps_on_tempo": sum(p.reps_on_tempo for p in plans) if plans else None,
        "plan_reps_planned": sum(p.reps_planned for p in plans) if plans else None,
    }


def _mean_score(scores: Sequence[int | None]) -> float | None:
    given = [s for s in scores if s is not None]
    return sum(given) / len(given) if given else None
