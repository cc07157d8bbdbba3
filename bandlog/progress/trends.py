"""Progress tables: per-session metrics rolled up per week and leg, and the left/right asymmetry.

These read the session index's tables (bandlog.progress.index.load_sessions) and never look at samples or
re-run detection; the charts and the HTML report draw exactly these numbers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from bandlog.core.errors import ConfigError

GROUPINGS = ("session", "week")
TEMPO_COUNT_COLUMNS = {"slow": "slow_reps", "moderate": "moderate_reps", "fast": "fast_reps"}

ASYMMETRY_FORMULA = "% difference = (stronger − weaker) / stronger × 100; + = left stronger"
"""The one asymmetry index bandlog reports (Bishop et al.'s percentage difference, science.md 4).

Chosen because it does not depend on which limb is called 'involved' (LSI does) and reads directly
as "the weaker leg is X % below the stronger". The sign only says which side is stronger.
"""


def asymmetry_pct(left: float | np.ndarray | pd.Series, right: float | np.ndarray | pd.Series) -> np.ndarray:
    """Signed percentage difference: (stronger - weaker) / stronger * 100, positive when left is stronger.

    NaN where either side is missing or both are zero.

    >>> float(asymmetry_pct(90.0, 100.0)[()])
    -10.0
    """
    left_a = np.asarray(left, dtype=np.float64)
    right_a = np.asarray(right, dtype=np.float64)
    stronger = np.fmax(left_a, right_a)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = (left_a - right_a) / stronger * 100.0
    return np.where(stronger > 0, result, np.nan)


def _check_grouping(by: str) -> None:
    if by not in GROUPINGS:
        raise ConfigError(f"group by 'session' or 'week', not {by!r}")


WEEK_DAYS = 7


def week_days(weeks: pd.Series, today: date | None = None) -> pd.Series:
    """Days of each week (a Monday) that have begun by `today` (default: now): 7 for a finished week,
    1-7 for the current one (see week_running)."""
    today = today or date.today()
    elapsed = (pd.Timestamp(today) - pd.to_datetime(weeks)).dt.days + 1
    return elapsed.clip(lower=1, upper=WEEK_DAYS).astype(int)


def week_running(weeks: pd.Series, today: date | None = None) -> pd.Series:
    """True for the week (a Monday) that holds `today` (default: now): its sums are not yet comparable
    with whole weeks. On its Sunday all 7 of its days have begun but not ended: it was taken for a
    finished week then (week_days 7), and the charts' tests failed every Sunday."""
    today = today or date.today()
    return (pd.Timestamp(today) - pd.to_datetime(weeks)).dt.days < WEEK_DAYS


def running_rows(table: pd.DataFrame) -> pd.Series:
    """True for the rows of a weekly table (weekly, weekly_asymmetry) that belong to the week still
    running; all False for a table without week_running (sessions by date)."""
    if "week_running" not in table:
        return pd.Series(False, index=table.index)
    return table["week_running"].fillna(False).astype(bool)


def weekly(sessions: pd.DataFrame, today: date | None = None) -> pd.DataFrame:
    """One row per (week, leg): volume summed, durations weighted by timed eccentrics, the week's best
    session peak (`peak_force_n`, the highest force of the week, as a session's is the highest of its
    reps), mean forces and set ratings (RPE, pain) averaged over the sessions that have them. Rows without an eccentric count as reps but not in the
    eccentric means. `week_running` marks the week still running on `today`, `week_days` its days so far."""
    if sessions.empty:
        return pd.DataFrame(columns=["week", "leg", "sessions", "reps", "eccentrics", "tut_ecc_s", "tut_tension_s",
                                     "mean_ecc_duration_s", "peak_force_n", "mean_force_n", "target_ecc_s",
                                     "adherence", "rpe", "pain", *TEMPO_COUNT_COLUMNS.values(), "week_days", "week_running"])
    frame = sessions.assign(leg=sessions["leg"].fillna("unknown"))
    eccentrics = pd.to_numeric(frame["eccentrics"], errors="coerce") if "eccentrics" in frame else frame["reps"]
    frame = frame.assign(
        _eccentrics=eccentrics.fillna(frame["reps"]),
        _tension=pd.to_numeric(frame["tut_tension_s"], errors="coerce"),
    )
    frame = frame.assign(
        _adherent=pd.to_numeric(frame["adherence"], errors="coerce") * frame["_eccentrics"],
        _rpe=pd.to_numeric(frame["rpe"], errors="coerce") if "rpe" in frame else np.nan,
        _pain=pd.to_numeric(frame["pain"], errors="coerce") if "pain" in frame else np.nan,
    )
    grouped = frame.groupby(["week", "leg"], sort=True)
    out = grouped.agg(
        sessions=("path", "count"),
        reps=("reps", "sum"),
        eccentrics=("_eccentrics", "sum"),
        tut_ecc_s=("tut_ecc_s", "sum"),
        tut_tension_s=("_tension", lambda s: s.sum(min_count=1)),
        peak_force_n=("peak_force_n", "max"),
        mean_force_n=("mean_force_n", "mean"),
        target_ecc_s=("target_ecc_s", "mean"),
        _adherent=("_adherent", "sum"),
        rpe=("_rpe", "mean"),
        pain=("_pain", "mean"),
        **{col: (col, "sum") for col in TEMPO_COUNT_COLUMNS.values()},
    ).reset_index()
    timed = out["eccentrics"].where(out["eccentrics"] > 0)
    out["mean_ecc_duration_s"] = out["tut_ecc_s"] / timed
    out["adherence"] = out.pop("_adherent") / timed
    out["week_days"] = week_days(out["week"], today)
    out["week_running"] = week_running(out["week"], today)
    return out


def by_grouping(sessions: pd.DataFrame, by: str, today: date | None = None) -> tuple[pd.DataFrame, str]:
    """The table to chart and its date column: sessions by `date`, or weekly rows by `week`."""
    _check_grouping(by)
    if by == "week":
        return weekly(sessions, today), "week"
    return sessions.assign(leg=sessions["leg"].fillna("unknown")), "date"


def weekly_asymmetry(sessions: pd.DataFrame, metric: str = "peak_force_n", today: date | None = None) -> pd.DataFrame:
    """Per week with both legs trained: the weekly value of `metric` per leg (see weekly), their
    asymmetry (%), `week_days` and `week_running` (see weekly)."""
    table = weekly(sessions, today)
    if metric not in table.columns:
        raise ConfigError(f"no weekly column {metric!r} to compare left and right on")
    wide = table[table["leg"].isin(["left", "right"])].pivot(index="week", columns="leg", values=metric)
    wide = wide.reindex(columns=["left", "right"]).dropna().reset_index()
    wide.columns.name = None
    wide["asymmetry_pct"] = asymmetry_pct(wide["left"], wide["right"])
    wide["week_days"] = week_days(wide["week"], today)
    wide["week_running"] = week_running(wide["week"], today)
    return wide


def by_exercise(sessions: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(profile name, its sessions) per exercise in the sessions' `exercise` column, in the order the
    profiles are listed (the reverse curl first): each exercise is charted on its own, since an eccentric
    TUT or a force means something different in each (an old log's free text counts as the reverse curl)."""
    from bandlog.detect.exercises import PROFILES
    from bandlog.progress.index_rows import exercise_key

    if sessions.empty:
        return []
    keys = sessions["exercise"].map(exercise_key)
    return [(profile.name, sessions[keys == key]) for key, profile in PROFILES.items() if (keys == key).any()]
