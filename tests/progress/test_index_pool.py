"""The index analyses new logs in a process pool and writes them in one transaction: the rows are the
ones one process gives; a log that fails, or whose worker dies, is reported without costing the others;
an interrupted update (Ctrl-C) writes what it finished, whole, and the next update does only the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from progress_fakes import BuggyBackend, CrashingBackend, FakeBackend, write_fake_log, write_weeks

from bandlog.progress import index


def _stored(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sessions = index.load_sessions(home).drop(columns=["id"]).sort_values("path").reset_index(drop=True)
    reps = index.load_reps(home).drop(columns=["session_id"]).sort_values(["path", "set", "rep"]).reset_index(drop=True)
    return sessions, reps


def test_a_pool_stores_what_one_process_stores(tmp_path: Path, backend: FakeBackend) -> None:
    one, pool = tmp_path / "one", tmp_path / "pool"
    write_weeks(one, weeks=2)
    write_weeks(pool, weeks=2)
    backend.update(one, workers=1)
    seen: list[tuple[int, int]] = []
    report = backend.update(pool, workers=2, progress=lambda done, total, path: seen.append((done, total)))
    assert sorted(report.analysed) == report.analysed and len(report.analysed) == 8  # written in path order
    assert seen == [(i, 8) for i in range(1, 9)]
    assert backend.analyze_calls == [p for p in backend.analyze_calls if p.is_relative_to(one)]  # the pool's ran elsewhere
    for mine, theirs in zip(_stored(one), _stored(pool)):
        pd.testing.assert_frame_equal(mine.drop(columns=["mtime_ns"], errors="ignore"), theirs.drop(columns=["mtime_ns"], errors="ignore"))


def test_a_log_that_breaks_the_analysis_is_reported_not_remembered_and_the_others_are_stored(tmp_path: Path) -> None:
    write_weeks(tmp_path, weeks=1)
    write_fake_log(tmp_path / "recordings" / "bug.csv", "2026-01-20T12:00:00+00:00", "left", [3.0])
    for workers in (1, 2):
        index.index_path(tmp_path).unlink(missing_ok=True)
        report = BuggyBackend().update(tmp_path, workers=workers)
        assert len(report.analysed) == 4 and len(report.failed) == 1
        rel, reason = report.failed[0]
        assert rel == "recordings/bug.csv" and reason.startswith("bandlog failed analysing it (IndexError: index 8")
    fixed = FakeBackend().update(tmp_path)  # not remembered: a fixed bandlog reads it at once
    assert fixed.analysed == ["recordings/bug.csv"] and fixed.failed == []


def test_a_worker_that_dies_costs_no_log_for_good(tmp_path: Path) -> None:
    paths = write_weeks(tmp_path, weeks=2)
    crash = write_fake_log(tmp_path / "recordings" / "crash.csv", "2026-01-20T12:00:00+00:00", "left", [3.0])
    report = CrashingBackend().update(tmp_path, workers=2)
    reasons = dict(report.failed)
    assert "stopped unexpectedly" in reasons["recordings/crash.csv"]
    assert len(report.analysed) + len(report.failed) == len(paths) + 1  # each log stored or said; none lost
    assert all("stopped unexpectedly" in reason for reason in reasons.values())
    crash.unlink()
    again = FakeBackend().update(tmp_path)  # the logs caught in the crash are not remembered as broken
    assert sorted(again.analysed + report.analysed) == sorted(f"recordings/{p.name}" for p in paths)
    assert again.failed == []


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_writes_what_was_finished_whole_and_the_next_update_does_the_rest(tmp_path: Path, workers: int) -> None:
    paths = write_weeks(tmp_path, weeks=2)
    backend = FakeBackend()

    def interrupt_after_three(done: int, total: int, path: Path) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backend.update(tmp_path, workers=workers, progress=interrupt_after_three)
    conn = sqlite3.connect(index.index_path(tmp_path))
    try:
        stored = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        counts = conn.execute("SELECT s.reps, count(r.session_id) FROM sessions s LEFT JOIN reps r ON r.session_id = s.id GROUP BY s.id").fetchall()
    finally:
        conn.close()
    assert stored == 3 and all(reps == rows == 5 for reps, rows in counts)  # each session with all its reps
    rest = backend.update(tmp_path, workers=workers)
    assert len(rest.analysed) == len(paths) - 3 and rest.unchanged == 3
