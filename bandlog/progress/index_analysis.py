"""Analysing the logs an index update found: each into its rows or a reason, here or in a pool.

An update (bandlog.progress.index) decides which logs are new or changed; this reads and analyses
them, in this process or in a pool of processes (bandlog.progress.process_pool) once there is enough
to gain from one, and turns every failure into a reason, so one log never stops the others. Kept
apart from the refresh because it is the one part that runs outside the update's process and
transaction: a worker imports this module, not the index's bookkeeping.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bandlog.core.errors import BandlogError
from bandlog.core.results import REP_COLUMNS
from bandlog.progress.index_rows import session_row, sql_value
from bandlog.progress.process_pool import pool_map

log = logging.getLogger(__name__)

ReadLog = Callable[[Path], Any]
"""Reads a log; the result needs `.meta` (RecordingMeta). Default: bandlog.app.api.read_log."""
Analyze = Callable[[Any], Any]
"""Analyses what ReadLog returned; the result needs `.reps` (DataFrame) and `.summary` (dict)."""
Progress = Callable[[int, int, Path], None]
"""Called as (files_done, files_to_analyse, path) while analysing."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def os_reason(error: OSError) -> str:
    """'permission denied', 'input/output error'...: the OS reason, to end a sentence."""
    return (error.strerror or str(error)).lower()


@dataclass(frozen=True)
class Analysed:
    """What analysing one log gave (in a worker process or this one): its sessions, each a session row
    and its reps' rows ("set" first, then REP_COLUMNS, then the band's), one per leg for a log of both
    legs (bandlog.progress.leg_split), or why not. A `remember`ed failure is stored, so the log is not
    retried until it changes; the others (permissions, I/O, a crash) may pass, so are retried."""

    sessions: list[tuple[dict[str, Any], list[list[Any]]]] = field(default_factory=list)
    sha256: str | None = None
    failure: str | None = None
    remember: bool = False
    vanished: bool = False


def _analyse_file(path: Path, mtime_ns: int, read: ReadLog, analyze: Analyze, sha: str | None = None,
                  shank_cm: float | None = None) -> Analysed:
    """Hash (unless `sha` is known), read and analyse one log; every failure becomes a reason, so one
    log never stops the others. A log with force and IMU also gets its band curve and knee torque
    (bandlog.progress.band_session), with the person's shank length `shank_cm` (None: not given)."""
    from bandlog.progress.leg_split import both_legs, leg_parts, part_summary

    try:
        sha = sha or file_sha256(path)
        log_data = read(path)
        result = analyze(log_data)
        ratings, plans = getattr(log_data, "ratings", ()), getattr(result, "plan_reports", ())
        parts = leg_parts(log_data.meta.leg, result.reps, result.rejected, plans, ratings) if both_legs(plans) else None
        if parts is None:
            sessions = [_session(log_data, log_data.meta, result, result.reps, result.summary, ratings, plans, mtime_ns, shank_cm)]
        else:
            sessions = [_session(log_data, replace(log_data.meta, leg=part.leg), result, result.reps.iloc[part.rows].reset_index(drop=True),
                                 part_summary(result.summary, part), part.ratings, part.plans, mtime_ns, shank_cm, part.spans)
                        for part in parts]
    except FileNotFoundError:  # deleted while being read: gone, not broken
        return Analysed(vanished=True)
    except OSError as error:  # a permission or I/O problem may pass
        return Analysed(failure=f"cannot read it ({os_reason(error)})")
    except (BandlogError, ValueError, KeyError) as error:
        return Analysed(failure=str(error) or type(error).__name__, remember=True)
    except Exception as error:  # a bug in bandlog: said, not remembered (a fixed bandlog retries the log)
        log.debug("analysing %s failed", path, exc_info=True)
        return Analysed(failure=f"bandlog failed analysing it ({type(error).__name__}: {error}); please report this")
    return Analysed(sessions=sessions, sha256=sha)


def _session(log_data: Any, meta: Any, result: Any, reps: Any, summary: Any, ratings: Any, plans: Any, mtime_ns: int,
             shank_cm: float | None, within: list[tuple[int, float, float]] | None = None) -> tuple[dict[str, Any], list[list[Any]]]:
    """One session's row and its reps' rows, with its band curve and knee torque (bandlog.progress.band_session)
    from the samples `within` its sets (None: the whole log)."""
    from bandlog.progress.band_session import band_row, session_band

    row = session_row(meta, reps, summary, mtime_ns=mtime_ns, ratings=ratings, plans=plans)
    band = session_band(log_data, reps, shank_cm, result.kinematics, within) if hasattr(log_data, "sets") else None
    row.update(band_row(band, shank_cm, reps))
    torques = list(zip(band.peak_torque_n_m, band.mean_torque_n_m, strict=True)) if band else [(None, None)] * len(reps)
    return row, [[int(record.get("set", 1) or 1), *(sql_value(record.get(c)) for c in REP_COLUMNS), *torque]
                 for record, torque in zip(reps.to_dict("records"), torques, strict=True)]


POOL_MIN_BYTES = 32 << 20
"""With `workers=None`, logs are analysed in a process pool only when at least this many bytes of them
are to be analysed (about 70 logs of a minute at 50 Hz): on 2 cores a pool's start-up (a fork server
importing numpy, pandas and scipy, then its workers) cost more than it saved for 16 such logs and
about broke even at 40 (bench/index_scale.py), as analysing one now takes only 35-70 ms."""
WORKER_PRELOAD = ("bandlog.app.api", "bandlog.detect.analysis", "bandlog.progress.band_session")
"""What analysing a log imports: imported once for all the workers (process_pool.pool_map's `preload`)."""


@dataclass(frozen=True)
class Analyser:
    """How an update analyses its logs: which functions, and in how many processes."""

    read: ReadLog
    analyze: Analyze
    workers: int
    by_size: bool
    """Whether a pool waits for POOL_MIN_BYTES (workers=None) or is used whenever workers > 1 (asked for)."""
    shank_cm: float | None = None
    """The person's shank length for the knee torque (bandlog.progress.band_geometry.load_shank_cm)."""

    def run(self, jobs: list[tuple[str, Path, os.stat_result, str | None]], finished: dict[tuple[str, str | None], Analysed],
            progress: Progress | None) -> None:
        """Analyse each job not yet `finished` into `finished`, as each completes (so an interruption keeps them)."""
        left = [job for job in jobs if (job[0], job[3]) not in finished]
        total, done = len(jobs), len(jobs) - len(left)
        workers = min(self.workers, len(left))
        if self.by_size and sum(job[2].st_size for job in left) < POOL_MIN_BYTES:
            workers = 1
        if workers <= 1:
            for rel, path, stat, sha in left:
                finished[rel, sha] = _analyse_file(path, stat.st_mtime_ns, self.read, self.analyze, sha, self.shank_cm)
                done += 1
                if progress is not None:
                    progress(done, total, path)
            return

        left.sort(key=lambda job: -job[2].st_size)  # longest first, so no core idles at the end

        def on_done(i: int, outcome: Analysed | None) -> None:
            nonlocal done
            rel, path, _stat, sha = left[i]
            finished[rel, sha] = outcome or Analysed(failure="the process analysing it stopped unexpectedly (out of memory?)")
            done += 1
            if progress is not None:
                progress(done, total, path)

        pool_map(_analyse_file, [(path, stat.st_mtime_ns, self.read, self.analyze, sha, self.shank_cm) for _rel, path, stat, sha in left],
                 workers, on_done, preload=WORKER_PRELOAD)
