"""The session index: a SQLite cache of per-session and per-rep metrics, rebuilt from the logs.

The logs are the truth; `index.sqlite` only saves re-analysing them every time someone asks for a
table or a chart. A file is re-analysed only when it is new or its content changed (size + mtime say
"maybe", the SHA-256 says "yes"); files that vanished drop out; a moved file keeps its rows. Deleting
the index loses nothing: the next update rebuilds the same rows. A log that cannot be read is
reported (path + reason) and skipped, and is not retried until it changes. New or changed logs may be
analysed in a pool of processes (bandlog.progress.index_analysis); whatever an update finds is written in one
transaction, so a reader never sees half an update, and an interrupted one keeps what it finished.

This module is the refresh: what changed on disk, what to analyse, and the one transaction that
writes it. A log's analysis as rows is bandlog.progress.index_rows; reading the index back is
bandlog.progress.index_read (its readers are re-exported here, with the store's public names).

Because it is a cache, it heals instead of failing (bandlog.progress.index_store): damaged, it is moved aside
and rebuilt; unwritable, it is kept in memory. Each says so in `IndexReport.notices`, which the CLI
prints. Logs deleted mid-scan and folders that cannot be listed are counted in the report too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bandlog.core.errors import BandlogError
from bandlog.core.results import REP_COLUMNS
from bandlog.io.paths import recordings_dir
from bandlog.progress.index_analysis import Analysed, Analyser, Analyze, Progress, ReadLog, file_sha256, os_reason
from bandlog.progress.index_read import load_reps as load_reps  # re-exported: the index's public names stay here
from bandlog.progress.index_read import load_sessions as load_sessions
from bandlog.progress.index_read import session_records as session_records
from bandlog.progress.index_read import sessions_frame as sessions_frame
from bandlog.progress.index_store import INDEX_NAME as INDEX_NAME
from bandlog.progress.index_store import SCHEMA_VERSION as SCHEMA_VERSION
from bandlog.progress.index_store import DamagedIndex, check_writable, with_index
from bandlog.progress.index_store import connect as connect
from bandlog.progress.index_store import damaged_path as damaged_path
from bandlog.progress.index_store import index_path as index_path
from bandlog.progress.process_pool import default_workers as default_workers  # re-exported: how many workers=None runs

log = logging.getLogger(__name__)

SESSION_COLUMNS: tuple[str, ...] = (
    "path", "size", "mtime_ns", "sha256", "start_utc", "date", "week", "exercise", "leg", "band",
    "target_ecc_s", "reps", "tut_ecc_s", "tut_tension_s", "mean_ecc_duration_s", "peak_force_n",
    "mean_force_n", "ecc_impulse_ns", "slow_reps", "moderate_reps", "fast_reps", "adherence", "mode",
    "eccentrics", "rejected", "rpe", "pain", "plan", "sets_done", "sets_planned", "plan_reps_on_tempo", "plan_reps_planned",
    "peak_torque_n_m", "mean_torque_n_m", "equivalent_load_kg", "band_curve", "torque_note", "torque_shank_cm", "rom_deg",
)
"""Columns of the sessions table besides `id`. `week` is the ISO week's Monday (YYYY-MM-DD)."""


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



def _default_read(path: Path) -> Any:
    from bandlog.app.api import read_log

    return read_log(path)


def _default_analyze(log_data: Any) -> Any:
    """The log's reps; a reverse curl's also with its knee estimates from the same pass, for its band
    curve and torque (bandlog.progress.band_session)."""
    from bandlog.app.api import analyze
    from bandlog.detect.exercises import DEFAULT_KEY
    from bandlog.progress.index_rows import exercise_key

    return analyze(log_data, kinematics=exercise_key(log_data.meta.exercise) == DEFAULT_KEY)


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
        raise BandlogError(f"cannot read the recordings folder {root}: {os_reason(error)}") from error
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
            raise BandlogError(f"cannot read the recordings folder {root}: {os_reason(problem)}") from problem
        if not isinstance(problem, FileNotFoundError):  # a folder deleted mid-walk just has no logs now
            report.unreadable_dirs.append((where.relative_to(home).as_posix(), os_reason(problem)))
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
    finished: dict[tuple[str, str | None], Analysed] = {}  # kept across with_index's retries: a healed index is not re-analysed
    from bandlog.progress.band_geometry import load_shank_cm

    try:
        shank_cm = load_shank_cm(home)
    except BandlogError as error:  # an unreadable geometry.json costs the torque its shank length, not the index
        shank_cm = None
        notices.append(str(error))
    analyser = Analyser(read or _default_read, analyze or _default_analyze, workers or default_workers(), workers is None, shank_cm)

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
    conn: sqlite3.Connection, home: Path, analyser: Analyser, progress: Progress | None, report: IndexReport,
    finished: dict[tuple[str, str | None], Analysed],
) -> None:
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":  # garbage pages behind a sound header
        raise DamagedIndex("database disk image is malformed")
    on_disk = list_logs(home, report)
    known = {row[0]: row[1:] for row in conn.execute("SELECT path, id, size, mtime_ns, sha256, torque_shank_cm FROM sessions")}
    stale = {rel for rel, row in known.items() if row[4] != analyser.shank_cm}  # torque from another shank length
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
            report.failed.append((rel, f"cannot read it ({os_reason(error)})"))
            continue
        if rel in known and known[rel][1:3] == (stat.st_size, stat.st_mtime_ns) and rel not in stale:
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
        if rel in stale:
            plan.to_analyse.append((rel, on_disk[rel], stat, None))
        else:
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
        sha = file_sha256(path)
    except FileNotFoundError:
        plan.vanished_logs.append(rel)
        return
    except OSError as error:
        report.failed.append((rel, f"cannot read it ({os_reason(error)})"))
        return
    if rel in known and known[rel][3] == sha:
        plan.touched.append((rel, stat))  # touched, not changed: remember the new stat, keep the analysis
    elif rel not in known and sha in by_hash:
        old = by_hash.pop(sha)
        del vanished[old]
        plan.moved.append((old, rel, stat))
    else:
        plan.to_analyse.append((rel, path, stat, sha))


def _write(conn: sqlite3.Connection, plan: _Plan, finished: dict[tuple[str, str | None], Analysed], report: IndexReport) -> None:
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


def _store(conn: sqlite3.Connection, rel: str, stat: os.stat_result, sha: str | None, outcome: Analysed, report: IndexReport) -> None:
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
    conn.execute("DELETE FROM failures WHERE path = ?", (rel,))
    conn.execute("DELETE FROM sessions WHERE path = ?", (rel,))
    from bandlog.progress.band_session import BAND_REP_COLUMNS  # numpy: only when a log was analysed

    columns = ["session_id", "set", *REP_COLUMNS, *BAND_REP_COLUMNS]
    quoted = ", ".join(f'"{c}"' for c in columns)
    for session, reps in outcome.sessions:  # one per leg for a log of both legs
        row = {**session, "path": rel, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha or outcome.sha256}
        cursor = conn.execute(
            f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({', '.join('?' * len(SESSION_COLUMNS))})",
            [row[c] for c in SESSION_COLUMNS],
        )
        conn.executemany(f"INSERT INTO reps ({quoted}) VALUES ({', '.join('?' * len(columns))})",
                         [[cursor.lastrowid, *rep] for rep in reps])
    report.analysed.append(rel)
