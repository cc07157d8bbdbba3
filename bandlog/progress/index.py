"""The session index: a SQLite cache of per-session and per-rep metrics, rebuilt from the logs.

The logs are the truth; `index.sqlite` only saves re-analysing them every time someone asks for a
table or a chart. A file is re-analysed only when it is new or its content changed (size + mtime say
"maybe", the SHA-256 says "yes"); files that vanished drop out; a moved file keeps its rows. Deleting
the index loses nothing: the next update rebuilds the same rows. A log that cannot be read is
reported (path + reason) and skipped, and is not retried until it changes. New or changed logs may be
analysed in a pool of processes (bandlog.progress.process_pool); whatever an update finds is written in one
transaction, so a reader never sees half an update, and an interrupted one keeps what it finished.

Because it is a cache, it heals instead of failing (bandlog.progress.index_store): damaged, it is moved aside
and rebuilt; unwritable, it is kept in memory. Each says so in `IndexReport.notices`, which the CLI
prints. Logs deleted mid-scan and folders that cannot be listed are counted in the report too.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bandlog.core.errors import BandlogError
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import REP_COLUMNS
from bandlog.io.paths import recordings_dir
from bandlog.progress.index_store import INDEX_NAME as INDEX_NAME  # re-exported: the index's public names stay here
from bandlog.progress.index_store import SCHEMA_VERSION as SCHEMA_VERSION
from bandlog.progress.index_store import DamagedIndex, check_writable, with_index
from bandlog.progress.index_store import connect as connect
from bandlog.progress.index_store import damaged_path as damaged_path
from bandlog.progress.index_store import index_path as index_path
from bandlog.progress.process_pool import default_workers as default_workers  # re-exported: how many workers=None runs
from bandlog.progress.process_pool import pool_map

if TYPE_CHECKING:  # pandas is imported where a table is built: a warm `bandlog sessions` never needs it
    import pandas as pd

log = logging.getLogger(__name__)

ADHERENCE_TOLERANCE = 0.2
"""A rep adheres when its eccentric lasts target +- 20 % (tensr's adherence rule, science.md 4);
adherence is the share of the timed eccentrics that do (rows without one are not counted)."""


def target_band_s(target_ecc_s: Any) -> tuple[Any, Any]:
    """(shortest, longest) eccentric that adheres to `target_ecc_s` (a number or a Series)."""
    return target_ecc_s * (1 - ADHERENCE_TOLERANCE), target_ecc_s * (1 + ADHERENCE_TOLERANCE)


def adheres(ecc_duration_s: Any, target_ecc_s: Any) -> Any:
    """Whether an eccentric (or each of a Series) lies in the target band: the one test behind the
    index's adherence and the charts' "on target" colour."""
    return abs(ecc_duration_s - target_ecc_s) <= ADHERENCE_TOLERANCE * target_ecc_s

SESSION_COLUMNS: tuple[str, ...] = (
    "path", "size", "mtime_ns", "sha256", "start_utc", "date", "week", "exercise", "leg", "band",
    "target_ecc_s", "reps", "tut_ecc_s", "tut_tension_s", "mean_ecc_duration_s", "peak_force_n",
    "mean_force_n", "ecc_impulse_ns", "slow_reps", "moderate_reps", "fast_reps", "adherence", "mode",
    "eccentrics", "rejected",
)
"""Columns of the sessions table besides `id`. `week` is the ISO week's Monday (YYYY-MM-DD)."""

ReadLog = Callable[[Path], Any]
"""Reads a log; the result needs `.meta` (RecordingMeta). Default: bandlog.app.api.read_log."""
Analyze = Callable[[Any], Any]
"""Analyses what ReadLog returned; the result needs `.reps` (DataFrame) and `.summary` (dict)."""
Progress = Callable[[int, int, Path], None]
"""Called as (files_done, files_to_analyse, path) while analysing."""


@dataclass
class IndexReport:
    """What one update did; `failed` holds (relative path, reason) for every unreadable log.

    `vanished` lists logs that disappeared between listing and reading (skipped); `unreadable_dirs`
    lists folders under recordings/ that could not be listed (their sessions stay as last indexed);
    `notices` holds one sentence for each thing done to the index itself (rebuilt, kept in memory).
    """

    analysed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    unreadable_dirs: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _default_read(path: Path) -> Any:
    from bandlog.app.api import read_log

    return read_log(path)


def _default_analyze(log_data: Any) -> Any:
    from bandlog.app.api import analyze

    return analyze(log_data)


def _why(error: OSError) -> str:
    """'permission denied', 'input/output error'...: the OS reason, to end a sentence."""
    return (error.strerror or str(error)).lower()


def list_logs(home: Path, report: IndexReport) -> dict[str, Path]:
    """Every `recordings/**/*.csv` of `home` by relative path; folders that cannot be listed go to
    `report.unreadable_dirs`. An unreadable recordings folder itself is one sentence (BandlogError)."""
    home = Path(home)
    root = recordings_dir(home)
    try:
        os.stat(root)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise BandlogError(f"cannot read the recordings folder {root}: {_why(error)}") from error
    problems: list[OSError] = []
    found: dict[str, Path] = {}
    for folder, _dirs, files in os.walk(root, onerror=problems.append):
        base = Path(folder)
        prefix = base.relative_to(home).as_posix()  # once a folder, not once a log: a warm listing is mostly this loop
        for name in files:
            if name.endswith(".csv"):
                found[f"{prefix}/{name}"] = base / name
    for problem in problems:
        where = Path(problem.filename or root)
        if where == root:
            raise BandlogError(f"cannot read the recordings folder {root}: {_why(problem)}") from problem
        if not isinstance(problem, FileNotFoundError):  # a folder deleted mid-walk just has no logs now
            report.unreadable_dirs.append((where.relative_to(home).as_posix(), _why(problem)))
    return dict(sorted(found.items()))


def update_index(
    home: Path,
    *,
    read: ReadLog | None = None,
    analyze: Analyze | None = None,
    progress: Progress | None = None,
    workers: int | None = 1,
) -> IndexReport:
    """Bring the index of `home` up to date with `home/recordings/**/*.csv`; returns what changed.

    New or changed logs are analysed in this process (`workers=1`, the default, so a script needs no
    `if __name__ == "__main__":` guard), in a pool of `workers` processes, or with `workers=None` (the
    CLI) one per core once there are POOL_MIN_BYTES of them. Everything found is written in one
    transaction at the end, so the index never holds half an update; interrupted (Ctrl-C), the logs
    analysed so far are written before the interruption goes on, and the next update does the rest.
    """
    home = Path(home)
    notices: list[str] = []
    finished: dict[tuple[str, str | None], _Analysed] = {}  # kept across with_index's retries: a healed index is not re-analysed
    analyser = _Analyser(read or _default_read, analyze or _default_analyze, workers or default_workers(), workers is None)

    def work(conn: sqlite3.Connection) -> IndexReport:
        report = IndexReport()
        _update(conn, home, analyser, progress, report, finished)
        return report

    report = with_index(home, work, notices)
    report.notices[:0] = notices
    for rel, reason in report.failed:
        log.info("skipped %s: %s", rel, reason)
    return report


@dataclass
class _Plan:
    """What an update writes, gathered before anything is written (see _write)."""

    forget_failures: list[str] = field(default_factory=list)
    touched: list[tuple[str, os.stat_result]] = field(default_factory=list)
    moved: list[tuple[str, str, os.stat_result]] = field(default_factory=list)
    to_analyse: list[tuple[str, Path, os.stat_result, str | None]] = field(default_factory=list)
    """(relative path, path, stat, SHA-256 or None when the analysis is to compute it)."""
    vanished_logs: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _update(
    conn: sqlite3.Connection, home: Path, analyser: _Analyser, progress: Progress | None, report: IndexReport,
    finished: dict[tuple[str, str | None], _Analysed],
) -> None:
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":  # garbage pages behind a sound header
        raise DamagedIndex("database disk image is malformed")
    on_disk = list_logs(home, report)
    known = {row[0]: row[1:] for row in conn.execute("SELECT path, id, size, mtime_ns, sha256 FROM sessions")}
    failures = {row[0]: row[1:] for row in conn.execute("SELECT path, size, mtime_ns, reason FROM failures")}
    todo: list[tuple[str, os.stat_result]] = []
    for rel, path in list(on_disk.items()):
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted since the listing, or a link to nothing
            del on_disk[rel]
            if os.path.islink(path):
                report.failed.append((rel, "it is a link to a file that does not exist"))
            else:
                report.vanished.append(rel)
            continue
        except OSError as error:
            report.failed.append((rel, f"cannot read it ({_why(error)})"))
            continue
        if rel in known and known[rel][1:3] == (stat.st_size, stat.st_mtime_ns):
            report.unchanged += 1
        elif rel in failures and failures[rel][0:2] == (stat.st_size, stat.st_mtime_ns):
            report.failed.append((rel, failures[rel][2]))
        else:
            todo.append((rel, stat))
    hidden = tuple(f"{folder}/" for folder, _ in report.unreadable_dirs)
    vanished = {rel: row for rel, row in known.items() if rel not in on_disk and not rel.startswith(hidden)}
    if todo or vanished or set(failures) - set(on_disk):
        check_writable(conn)  # fail (and heal) before analysing anything, not after
    plan = _Plan(forget_failures=[r for r in failures if r not in on_disk and not r.startswith(hidden)])
    by_hash = {row[3]: rel for rel, row in vanished.items()}
    for rel, stat in todo:
        _classify(rel, on_disk[rel], stat, known, by_hash, vanished, plan, report)
    plan.removed = list(vanished)
    try:
        analyser.run(plan.to_analyse, finished, progress)
    finally:  # interrupted too: what was finished is written, whole
        _write(conn, plan, finished, report)


def _classify(
    rel: str, path: Path, stat: os.stat_result, known: dict[str, tuple[Any, ...]], by_hash: dict[str, str],
    vanished: dict[str, tuple[Any, ...]], plan: _Plan, report: IndexReport,
) -> None:
    """One new or touched file: same content -> keep; a vanished file's content -> moved; else analyse.
    A new log that no vanished one could match is hashed where it is analysed (by the workers, for a
    first index), as nothing here depends on its hash."""
    if rel not in known and not by_hash:
        plan.to_analyse.append((rel, path, stat, None))
        return
    try:
        sha = _sha256(path)
    except FileNotFoundError:
        plan.vanished_logs.append(rel)
        return
    except OSError as error:
        report.failed.append((rel, f"cannot read it ({_why(error)})"))
        return
    if rel in known and known[rel][3] == sha:
        plan.touched.append((rel, stat))  # touched, not changed: remember the new stat, keep the analysis
    elif rel not in known and sha in by_hash:
        old = by_hash.pop(sha)
        del vanished[old]
        plan.moved.append((old, rel, stat))
    else:
        plan.to_analyse.append((rel, path, stat, sha))


def _write(conn: sqlite3.Connection, plan: _Plan, finished: dict[tuple[str, str | None], _Analysed], report: IndexReport) -> None:
    """Everything the update found, in one transaction: a session's row and its reps arrive together or not at all."""
    with conn:
        for rel in plan.forget_failures:
            conn.execute("DELETE FROM failures WHERE path = ?", (rel,))
        for rel, stat in plan.touched:
            conn.execute("UPDATE sessions SET size=?, mtime_ns=? WHERE path=?", (stat.st_size, stat.st_mtime_ns, rel))
            report.unchanged += 1
        for old, rel, stat in plan.moved:
            conn.execute("UPDATE sessions SET path=?, size=?, mtime_ns=? WHERE path=?", (rel, stat.st_size, stat.st_mtime_ns, old))
            report.moved.append((old, rel))
        for rel, _path, stat, sha in plan.to_analyse:
            outcome = finished.get((rel, sha))
            if outcome is not None:
                _store(conn, rel, stat, sha, outcome, report)
        for rel in plan.vanished_logs:
            _forget_vanished(conn, rel, report)
        for rel in plan.removed:
            conn.execute("DELETE FROM sessions WHERE path = ?", (rel,))
            report.removed.append(rel)


def _forget_vanished(conn: sqlite3.Connection, rel: str, report: IndexReport) -> None:
    """A log deleted after it was listed: drop what the index knew of it, and count it."""
    conn.execute("DELETE FROM sessions WHERE path = ?", (rel,))
    conn.execute("DELETE FROM failures WHERE path = ?", (rel,))
    report.vanished.append(rel)


def _store(conn: sqlite3.Connection, rel: str, stat: os.stat_result, sha: str | None, outcome: _Analysed, report: IndexReport) -> None:
    """One analysed log into the index (inside _write's transaction): its session and reps, or its failure."""
    if outcome.vanished:
        _forget_vanished(conn, rel, report)
        return
    if outcome.failure is not None:
        if outcome.remember:  # a log bandlog cannot read stays skipped until it changes
            conn.execute("DELETE FROM sessions WHERE path = ?", (rel,))
            conn.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", (rel, stat.st_size, stat.st_mtime_ns, outcome.failure))
        report.failed.append((rel, outcome.failure))
        return
    assert outcome.row is not None
    row = {**outcome.row, "path": rel, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha or outcome.sha256}
    conn.execute("DELETE FROM failures WHERE path = ?", (rel,))
    conn.execute("DELETE FROM sessions WHERE path = ?", (rel,))
    cursor = conn.execute(
        f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({', '.join('?' * len(SESSION_COLUMNS))})",
        [row[c] for c in SESSION_COLUMNS],
    )
    columns = ["session_id", "set", *REP_COLUMNS]
    quoted = ", ".join(f'"{c}"' for c in columns)
    conn.executemany(f"INSERT INTO reps ({quoted}) VALUES ({', '.join('?' * len(columns))})",
                     [[cursor.lastrowid, *rep] for rep in outcome.reps])
    report.analysed.append(rel)


@dataclass(frozen=True)
class _Analysed:
    """What analysing one log gave (in a worker process or this one): its session row and its reps'
    rows ("set" first, then REP_COLUMNS), or why not. A `remember`ed failure is stored, so the log is
    not retried until it changes; the others (permissions, I/O, a crash) may pass, so are retried."""

    row: dict[str, Any] | None = None
    reps: list[list[Any]] = field(default_factory=list)
    sha256: str | None = None
    failure: str | None = None
    remember: bool = False
    vanished: bool = False


def _analyse_file(path: Path, mtime_ns: int, read: ReadLog, analyze: Analyze, sha: str | None = None) -> _Analysed:
    """Hash (unless `sha` is known), read and analyse one log; every failure becomes a reason, so one
    log never stops the others."""
    try:
        sha = sha or _sha256(path)
        log_data = read(path)
        result = analyze(log_data)
        row = session_row(log_data.meta, result.reps, result.summary, mtime_ns=mtime_ns)
        reps = [[int(record.get("set", 1) or 1), *(_plain(record.get(c)) for c in REP_COLUMNS)]
                for record in result.reps.to_dict("records")]
    except FileNotFoundError:  # deleted while being read: gone, not broken
        return _Analysed(vanished=True)
    except OSError as error:  # a permission or I/O problem may pass
        return _Analysed(failure=f"cannot read it ({_why(error)})")
    except (BandlogError, ValueError, KeyError) as error:
        return _Analysed(failure=str(error) or type(error).__name__, remember=True)
    except Exception as error:  # a bug in bandlog: said, not remembered (a fixed bandlog retries the log)
        log.debug("analysing %s failed", path, exc_info=True)
        return _Analysed(failure=f"bandlog failed analysing it ({type(error).__name__}: {error}); please report this")
    return _Analysed(row=row, reps=reps, sha256=sha)


POOL_MIN_BYTES = 32 << 20
"""With `workers=None`, logs are analysed in a process pool only when at least this many bytes of them
are to be analysed (about 70 logs of a minute at 50 Hz): on 2 cores a pool's start-up (a fork server
importing numpy, pandas and scipy, then its workers) cost more than it saved for 16 such logs and
about broke even at 40 (bench/index_scale.py), as analysing one now takes only 35-70 ms."""
WORKER_PRELOAD = ("bandlog.app.api", "bandlog.detect.analysis")
"""What analysing a log imports: imported once for all the workers (process_pool.pool_map's `preload`)."""


@dataclass(frozen=True)
class _Analyser:
    """How an update analyses its logs: which functions, and in how many processes."""

    read: ReadLog
    analyze: Analyze
    workers: int
    by_size: bool
    """Whether a pool waits for POOL_MIN_BYTES (workers=None) or is used whenever workers > 1 (asked for)."""

    def run(self, jobs: list[tuple[str, Path, os.stat_result, str | None]], finished: dict[tuple[str, str | None], _Analysed],
            progress: Progress | None) -> None:
        """Analyse each job not yet `finished` into `finished`, as each completes (so an interruption keeps them)."""
        left = [job for job in jobs if (job[0], job[3]) not in finished]
        total, done = len(jobs), len(jobs) - len(left)
        workers = min(self.workers, len(left))
        if self.by_size and sum(job[2].st_size for job in left) < POOL_MIN_BYTES:
            workers = 1
        if workers <= 1:
            for rel, path, stat, sha in left:
                finished[rel, sha] = _analyse_file(path, stat.st_mtime_ns, self.read, self.analyze, sha)
                done += 1
                if progress is not None:
                    progress(done, total, path)
            return

        left.sort(key=lambda job: -job[2].st_size)  # longest first, so no core idles at the end

        def on_done(i: int, outcome: _Analysed | None) -> None:
            nonlocal done
            rel, path, _stat, sha = left[i]
            finished[rel, sha] = outcome or _Analysed(failure="the process analysing it stopped unexpectedly (out of memory?)")
            done += 1
            if progress is not None:
                progress(done, total, path)

        pool_map(_analyse_file, [(path, stat.st_mtime_ns, self.read, self.analyze, sha) for _rel, path, stat, sha in left],
                 workers, on_done, preload=WORKER_PRELOAD)


def _plain(value: Any) -> Any:
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


def session_row(meta: RecordingMeta, reps: pd.DataFrame, summary: Mapping[str, Any], *, mtime_ns: int) -> dict[str, Any]:
    """One sessions-table row from a log's metadata and its analysis (no path/stat fields)."""
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
        value = _plain(summary.get(name))
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
    }


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


def _sessions_sql(leg: str | None, since: date | str | None) -> tuple[str, list[Any]]:
    where, params = _where(leg, since)
    return f"SELECT * FROM sessions{where} ORDER BY start_utc, path", params


def session_records(home: Path, *, leg: str | None = None, since: date | str | None = None) -> list[dict[str, Any]]:
    """The sessions table as plain dicts (dates as 'YYYY-MM-DD' text), oldest first: what a listing
    needs, without the second or so pandas takes to import."""
    columns, rows = _query(home, *_sessions_sql(leg, since))
    return [dict(zip(columns, row)) for row in rows]


def load_sessions(home: Path, *, leg: str | None = None, since: date | str | None = None) -> pd.DataFrame:
    """The sessions table, oldest first; `date`/`week` as datetimes, filtered by leg and start date."""
    return _frame(*_query(home, *_sessions_sql(leg, since)))


def sessions_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """session_records (at least one) as load_sessions gives them."""
    return _frame(list(records[0]), [tuple(record.values()) for record in records])


def load_reps(home: Path, *, leg: str | None = None, since: date | str | None = None) -> pd.DataFrame:
    """Every indexed rep with its session's date, week, leg and target, oldest session first."""
    where, params = _where(leg, since, alias="s.")
    frame = _frame(*_query(
        home,
        "SELECT r.*, s.date, s.week, s.leg, s.target_ecc_s, s.path FROM reps r JOIN sessions s ON s.id = r.session_id"
        f"{where} ORDER BY s.start_utc, s.path, r.\"set\", r.rep",
        params,
    ))
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame
