"""Reading the session index back: its sessions and reps as plain records or DataFrames.

The index's readers only query (on an index healed by bandlog.progress.index_store if need be); they
never refresh it, which is the caller's choice (bandlog.progress.index.update_index, run by the CLI
before it reads). Kept apart from the refresh so each reads on its own; bandlog.progress.index
re-exports these, so the index's public names stay there.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bandlog.progress.index_rows import exercise_key
from bandlog.progress.index_store import with_index

if TYPE_CHECKING:  # pandas is imported where a table is built: a warm `bandlog sessions` never needs it
    import pandas as pd

log = logging.getLogger(__name__)


def _where(leg: str | None, since: date | str | None, alias: str = "") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if leg and leg != "both":
        clauses.append(f"{alias}leg = ?")
        params.append(leg)
    if since:
        clauses.append(f"{alias}date >= ?")
        params.append(since.isoformat() if isinstance(since, date) else str(since))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _query(home: Path, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of `sql` on a healed index; what was done to the index is logged as a
    warning, since no report carries it here."""
    notices: list[str] = []

    def work(conn: sqlite3.Connection) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall()
        return [d[0] for d in cursor.description], rows

    result = with_index(home, work, notices)
    for notice in notices:
        log.warning(notice)
    return result


def _frame(columns: list[str], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows as a DataFrame, as pandas.read_sql_query builds it, with `date`/`week` as datetimes."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    for name in ("date", "week"):
        frame[name] = pd.to_datetime(frame[name])
    return frame


def _query_exercise(home: Path, sql: str, params: list[Any], exercise: str | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """_query's rows of one exercise profile key (all when `exercise` is None), read from the rows'
    `exercise` column: a header's name, matched to its profile as the analysis matches it."""
    columns, rows = _query(home, sql, params)
    if exercise is not None:
        at = columns.index("exercise")
        rows = [row for row in rows if exercise_key(row[at]) == exercise]
    return columns, rows


def _sessions_sql(leg: str | None, since: date | str | None) -> tuple[str, list[Any]]:
    where, params = _where(leg, since)
    return f"SELECT * FROM sessions{where} ORDER BY start_utc, path", params


def session_records(
    home: Path, *, leg: str | None = None, since: date | str | None = None, exercise: str | None = None
) -> list[dict[str, Any]]:
    """The sessions table as plain dicts (dates as 'YYYY-MM-DD' text), oldest first: what a listing
    needs, without the second or so pandas takes to import. `exercise`: one profile key's sessions."""
    columns, rows = _query_exercise(home, *_sessions_sql(leg, since), exercise)
    return [dict(zip(columns, row)) for row in rows]


def load_sessions(
    home: Path, *, leg: str | None = None, since: date | str | None = None, exercise: str | None = None
) -> pd.DataFrame:
    """The sessions table, oldest first; `date`/`week` as datetimes, filtered by leg, start date and
    exercise profile key."""
    return _frame(*_query_exercise(home, *_sessions_sql(leg, since), exercise))


def sessions_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """session_records (at least one) as load_sessions gives them."""
    return _frame(list(records[0]), [tuple(record.values()) for record in records])


def load_reps(
    home: Path, *, leg: str | None = None, since: date | str | None = None, exercise: str | None = None
) -> pd.DataFrame:
    """Every indexed rep with its session's date, week, leg, exercise and target, oldest session first;
    filtered by leg, start date and exercise profile key."""
    where, params = _where(leg, since, alias="s.")
    frame = _frame(*_query_exercise(
        home,
        "SELECT r.*, s.date, s.week, s.leg, s.exercise, s.target_ecc_s, s.path FROM reps r JOIN sessions s ON s.id = r.session_id"
        f"{where} ORDER BY s.start_utc, s.path, r.\"set\", r.rep",
        params,
        exercise,
    ))
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame
