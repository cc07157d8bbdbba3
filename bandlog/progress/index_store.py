"""The session index's SQLite file: its schema, and opening it so that it heals instead of failing.

The index is a cache (see bandlog.progress.index), so no state of its file may stop a command: an index with
an older schema is rebuilt in place; a damaged one (garbage pages, or bandlog's version number over
other tables) is moved aside to `index.sqlite.damaged` and rebuilt from the logs; one that cannot be
written (a read-only data folder, a full disk) is replaced, for the life of the process, by a copy in
memory. Each of these appends one sentence to the caller's `notices`, for the user to see. A busy
index (another bandlog writing for more than 10 s) is one BandlogError sentence.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from bandlog.core.errors import BandlogError
from bandlog.core.results import RepMetrics

log = logging.getLogger(__name__)

INDEX_NAME = "index.sqlite"
SCHEMA_VERSION = 6
"""Bump when a column changes; an index with another version is dropped and rebuilt (it is a cache).
2: reps gained end_s and may have no eccentric; sessions gained eccentrics and rejected.
3: reps' set numbers count from 1, like everywhere a set is named.
4: sessions gained rpe and pain (means of the set ratings the user gave, 0-10), and for a recording that
   followed a plan its text, sets done and planned, and reps on tempo and planned.
5: sessions gained the band's curve and knee torque (bandlog.progress.band_session.BAND_SESSION_COLUMNS),
   reps their eccentric torque (BAND_REP_COLUMNS).
6: a log of both legs (a plan with LR or LLRR) is a session per leg: sessions are unique by (path, leg)."""

_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "str": "TEXT", "bool": "INTEGER"}


def _rep_sql_columns() -> str:
    """Typed column list for the reps table, derived from RepMetrics so the two never drift apart."""
    parts = []
    for f in fields(RepMetrics):
        base = str(f.type).split("|")[0].strip()
        parts.append(f'"{f.name}" {_SQL_TYPES.get(base, "")}'.rstrip())
    return ", ".join(parts)


SCHEMA = f"""
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
    start_utc TEXT, date TEXT, week TEXT, exercise TEXT, leg TEXT, band TEXT, target_ecc_s REAL,
    reps INTEGER, tut_ecc_s REAL, tut_tension_s REAL, mean_ecc_duration_s REAL, peak_force_n REAL,
    mean_force_n REAL, ecc_impulse_ns REAL, slow_reps INTEGER, moderate_reps INTEGER,
    fast_reps INTEGER, adherence REAL, mode TEXT, eccentrics INTEGER, rejected INTEGER, rpe REAL, pain REAL,
    plan TEXT, sets_done INTEGER, sets_planned INTEGER, plan_reps_on_tempo INTEGER, plan_reps_planned INTEGER,
    peak_torque_n_m REAL, mean_torque_n_m REAL, equivalent_load_kg REAL, band_curve TEXT, torque_note TEXT, torque_shank_cm REAL,
    rom_deg REAL,
    UNIQUE (path, leg)
);
CREATE TABLE reps (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    "set" INTEGER, {_rep_sql_columns()}, peak_torque_n_m REAL, mean_torque_n_m REAL
);
CREATE INDEX reps_session ON reps(session_id);
CREATE TABLE failures (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, reason TEXT);
"""


class DamagedIndex(sqlite3.DatabaseError):
    """The file opens as SQLite with our version number, but its tables or pages are not a sound index."""


T = TypeVar("T")
_CORRUPT = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_UNWRITABLE = {"SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH"}
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_MEMORY_INDEXES: dict[str, tuple[str, sqlite3.Connection]] = {}
"""Data dir -> (URI, keeper connection) of its in-memory index, used once its file cannot be written."""
_memory_ids = itertools.count()


def index_path(home: Path) -> Path:
    return Path(home) / INDEX_NAME


def damaged_path(home: Path) -> Path:
    """Where a damaged index is moved (replacing the previous one), so it can be examined."""
    return Path(home) / (INDEX_NAME + ".damaged")


@lru_cache(maxsize=1)
def _expected_tables() -> dict[str, tuple[str, ...]]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        return _tables(conn)
    finally:
        conn.close()


def _tables(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')) for name in names}


def open_file(path: Path | str, uri: bool = False) -> sqlite3.Connection:
    """Open an index file (or SQLite URI), creating or upgrading its tables; DamagedIndex when the
    version number is ours but the tables are not, so that it is moved aside rather than trusted."""
    conn = sqlite3.connect(path, timeout=10.0, uri=uri)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            conn.executescript(
                "BEGIN; DROP TABLE IF EXISTS reps; DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS failures;"
                " DROP TABLE IF EXISTS charts;"
                f"{SCHEMA}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        tables = _tables(conn)
        for name, columns in _expected_tables().items():
            if tables.get(name) != columns:
                raise DamagedIndex(f"it has bandlog's version number but not bandlog's tables: {name} differs")
    except BaseException:
        conn.close()
        raise
    return conn


def connect(home: Path, notices: list[str] | None = None) -> sqlite3.Connection:
    """Open the index of the data dir `home`: creating it, rebuilding it when stale or damaged, or in
    memory when it cannot be written. What was done to it is appended to `notices` as sentences."""
    home = Path(home)
    notices = [] if notices is None else notices
    for _ in range(3):
        memory = _MEMORY_INDEXES.get(_key(home))
        if memory is not None:
            return open_file(memory[0], uri=True)
        try:
            home.mkdir(parents=True, exist_ok=True)
            return open_file(index_path(home))
        except sqlite3.DatabaseError as error:
            _heal(home, error, notices)
        except OSError as error:
            _use_memory(home, error.strerror or str(error), notices)
    raise BandlogError(f"cannot use the session index {index_path(home)}: it failed again after being rebuilt")


def _key(home: Path) -> str:
    return os.path.abspath(home)


def with_index(home: Path, work: Callable[[sqlite3.Connection], T], notices: list[str]) -> T:
    """Run `work` on the index of `home`, healing the index and running it again if SQLite fails."""
    for _ in range(3):
        conn = connect(home, notices)
        try:
            return work(conn)
        except sqlite3.DatabaseError as error:
            _heal(home, error, notices)
        finally:
            conn.close()
    raise BandlogError(f"cannot use the session index {index_path(home)}: it failed again after being rebuilt")


def _heal(home: Path, error: sqlite3.DatabaseError, notices: list[str]) -> None:
    """Make the next attempt work: move a damaged index aside, or switch to memory; else one sentence."""
    path = index_path(home)
    name = "_".join(str(getattr(error, "sqlite_errorname", "")).split("_")[:2])  # SQLITE_READONLY_DIRECTORY -> SQLITE_READONLY
    message = str(error)
    if _key(home) in _MEMORY_INDEXES:  # even the in-memory copy fails: nothing left to heal
        raise BandlogError(f"cannot use the session index (kept in memory): {message}") from error
    if name in _BUSY:
        raise BandlogError(f"the session index {path} is locked by another bandlog; try again when it has finished") from error
    if isinstance(error, DamagedIndex) or name in _CORRUPT or message.startswith(("no such table", "no such column")):
        aside = damaged_path(home)
        try:
            for suffix in ("", "-journal", "-wal", "-shm"):  # a stale journal must not be replayed into the new index
                part = Path(str(path) + suffix)
                if part.exists():
                    os.replace(part, Path(str(aside) + suffix))
        except OSError as move_error:
            _use_memory(home, f"it is damaged ({message}) and cannot be moved aside ({move_error.strerror or move_error})", notices)
            return
        notices.append(f"the session index {path} was damaged ({message}); moved it to {aside.name} and rebuilt it from the logs")
        log.info(notices[-1])
        return
    if name in _UNWRITABLE:
        _use_memory(home, message, notices)
        return
    raise BandlogError(f"cannot use the session index {path}: {message}") from error


def _use_memory(home: Path, reason: str, notices: list[str]) -> None:
    """Give `home` an in-memory index for this process, seeded from its file when that is readable."""
    uri = f"file:bandlog-index-{os.getpid()}-{next(_memory_ids)}?mode=memory&cache=shared"
    keeper = sqlite3.connect(uri, uri=True)
    try:
        source = open_file(index_path(home).absolute().as_uri() + "?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA quick_check").fetchone()[0] == "ok":
                source.backup(keeper)
        finally:
            source.close()
    except sqlite3.DatabaseError as error:
        log.debug("not seeding the in-memory index from %s: %s", index_path(home), error)
    _MEMORY_INDEXES[_key(home)] = (uri, keeper)
    notices.append(
        f"cannot write the session index {index_path(home)} ({reason}); "
        "using a temporary index in memory, so this run re-reads what changed and saves nothing"
    )
    log.info(notices[-1])


def check_writable(conn: sqlite3.Connection) -> None:
    """Raise SQLite's own error now if the index cannot be written (a read-only file or folder)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    finally:
        conn.rollback()


CHARTS_KEPT = 4
"""Chart sets kept in the index (the latest stored), one per combination of `progress` options in use; each
is about a megabyte (a report's PNGs), and every update's integrity check reads them."""
_CHARTS = "CREATE TABLE IF NOT EXISTS charts (key TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, name))"
"""What `bandlog progress` drew (a report or a figure, and its table), by the key of what it shows
(bandlog.cli.commands.progress.output_key). Created when first used, not with the schema, so that reading
an index never has to write it (a read-only index stays usable)."""


def load_charts(home: Path, key: str) -> dict[str, bytes] | None:
    """The parts stored under `key` by name; None when there are none or they cannot be read (a cache
    miss: the charts are drawn again, nothing is lost)."""
    try:
        conn = connect(home)
        try:
            rows = conn.execute("SELECT name, data FROM charts WHERE key = ? ORDER BY rowid", (key,)).fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, BandlogError) as error:  # no charts table yet, or an index in trouble: draw
        log.debug("no stored charts for %s: %s", key, error)
        return None
    return {name: bytes(data) for name, data in rows} or None


def store_charts(home: Path, key: str, images: dict[str, bytes]) -> bool:
    """Keep the drawn parts `images` under `key` (and the CHARTS_KEPT latest sets only); False, logged,
    when the index cannot take them: the charts were drawn, only the next run's time is lost."""
    try:
        conn = connect(home)
        try:
            with conn:
                conn.execute(_CHARTS)
                conn.execute("DELETE FROM charts WHERE key = ?", (key,))
                conn.executemany("INSERT INTO charts VALUES (?, ?, ?)", [(key, name, data) for name, data in images.items()])
                conn.execute("DELETE FROM charts WHERE key NOT IN (SELECT key FROM charts GROUP BY key ORDER BY max(rowid) DESC LIMIT ?)",
                             (CHARTS_KEPT,))
        finally:
            conn.close()
    except (sqlite3.Error, BandlogError) as error:
        log.info("could not keep the charts in the session index (%s); they will be drawn again next time", error)
        return False
    return True
