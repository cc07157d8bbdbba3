"""The session index is a cache: incremental, rebuildable, tolerant of bad logs."""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from progress_fakes import FakeBackend, write_fake_log, write_weeks

from bandlog.core.meta import RecordingMeta
from bandlog.progress import index, index_rows


def _rows(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sessions = index.load_sessions(home).drop(columns=["id"]).sort_values("path").reset_index(drop=True)
    reps = index.load_reps(home).drop(columns=["session_id"]).sort_values(["path", "set", "rep"]).reset_index(drop=True)
    return sessions, reps


def test_first_run_analyses_every_log_and_stores_its_reps(tmp_path: Path, backend: FakeBackend) -> None:
    paths = write_weeks(tmp_path, weeks=2)
    report = backend.update(tmp_path)
    assert len(report.analysed) == len(paths) == len(backend.analyze_calls) == 8
    sessions = index.load_sessions(tmp_path)
    assert len(sessions) == 8
    assert set(sessions["leg"]) == {"left", "right"}
    assert (sessions["reps"] == 5).all()
    reps = index.load_reps(tmp_path)
    assert len(reps) == 40
    assert list(reps.columns[: 2]) == ["session_id", "set"]
    assert reps["estimated"].dtype == bool


def test_second_run_after_touching_one_file_reanalyses_only_that_file(tmp_path: Path, backend: FakeBackend) -> None:
    paths = write_weeks(tmp_path, weeks=2)
    backend.update(tmp_path)
    backend.analyze_calls.clear()
    assert backend.update(tmp_path).unchanged == len(paths)
    assert backend.analyze_calls == []

    changed = paths[3]
    write_fake_log(changed, "2026-01-08T12:00:00+00:00", "right", [5.0, 5.5], band="blue")
    report = backend.update(tmp_path)
    assert backend.analyze_calls == [changed]
    assert report.analysed == [changed.relative_to(tmp_path).as_posix()]
    row = index.load_sessions(tmp_path).set_index("path").loc[report.analysed[0]]
    assert (row["reps"], row["band"], row["tut_ecc_s"]) == (2, "blue", pytest.approx(10.5))
    assert len(index.load_reps(tmp_path)) == 7 * 5 + 2


def test_touched_but_identical_file_is_hashed_not_reanalysed(tmp_path: Path, backend: FakeBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_weeks(tmp_path, weeks=1)
    backend.update(tmp_path)
    backend.analyze_calls.clear()
    stat = paths[0].stat()
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    hashed: list[Path] = []
    real_sha = index.file_sha256
    monkeypatch.setattr(index, "file_sha256", lambda p: hashed.append(p) or real_sha(p))
    assert backend.update(tmp_path).unchanged == len(paths)
    assert backend.analyze_calls == [] and hashed == [paths[0]]
    backend.update(tmp_path)  # the new mtime was remembered: no hashing the next time
    assert hashed == [paths[0]]


def test_removed_file_drops_out_and_moved_file_keeps_its_rows(tmp_path: Path, backend: FakeBackend) -> None:
    paths = write_weeks(tmp_path, weeks=1)
    backend.update(tmp_path)
    backend.analyze_calls.clear()
    paths[0].unlink()
    moved_to = tmp_path / "recordings" / "archive" / paths[1].name
    moved_to.parent.mkdir()
    paths[1].rename(moved_to)
    report = backend.update(tmp_path)
    assert report.removed == [paths[0].relative_to(tmp_path).as_posix()]
    assert report.moved == [(paths[1].relative_to(tmp_path).as_posix(), moved_to.relative_to(tmp_path).as_posix())]
    assert backend.analyze_calls == []
    sessions = index.load_sessions(tmp_path)
    assert len(sessions) == len(paths) - 1
    assert moved_to.relative_to(tmp_path).as_posix() in set(sessions["path"])
    assert len(index.load_reps(tmp_path)) == (len(paths) - 1) * 5


def test_deleting_the_index_then_reindexing_gives_the_same_rows(tmp_path: Path, backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=2)
    backend.update(tmp_path)
    before = _rows(tmp_path)
    index.index_path(tmp_path).unlink()
    assert len(backend.update(tmp_path).analysed) == 8
    after = _rows(tmp_path)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])


def test_a_corrupt_or_stale_index_is_rebuilt(tmp_path: Path, backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=1)
    index.index_path(tmp_path).write_bytes(b"this is not a database" * 100)
    assert len(backend.update(tmp_path).analysed) == 4
    with sqlite3.connect(index.index_path(tmp_path)) as conn:
        conn.execute("PRAGMA user_version = 0")
    conn.close()
    assert len(backend.update(tmp_path).analysed) == 4
    assert len(index.load_sessions(tmp_path)) == 4


def test_unreadable_log_is_reported_skipped_and_not_retried_until_it_changes(tmp_path: Path, backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=1)
    bad = tmp_path / "recordings" / "broken.csv"
    bad.write_text("time,weight\n0.0,abc\n", encoding="utf-8")
    report = backend.update(tmp_path)
    assert report.failed == [("recordings/broken.csv", "broken.csv is not a fake rep log")]
    assert len(report.analysed) == 4 and len(index.load_sessions(tmp_path)) == 4
    backend.read_calls.clear()
    again = backend.update(tmp_path)
    assert again.failed == report.failed and backend.read_calls == []
    write_fake_log(bad, "2026-02-01T09:00:00+00:00", "left", [3.0])
    fixed = backend.update(tmp_path)
    assert fixed.failed == [] and fixed.analysed == ["recordings/broken.csv"]


def test_progress_callback_sees_every_file_to_analyse(tmp_path: Path, backend: FakeBackend) -> None:
    paths = write_weeks(tmp_path, weeks=1)
    seen: list[tuple[int, int, Path]] = []
    backend.update(tmp_path, progress=lambda done, total, path: seen.append((done, total, path)))
    assert [(d, t) for d, t, _ in seen] == [(i, len(paths)) for i in range(1, len(paths) + 1)]
    assert {p for _, _, p in seen} == set(paths)


def test_filters_by_leg_and_start_date(tmp_path: Path, backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=3)
    backend.update(tmp_path)
    left = index.load_sessions(tmp_path, leg="left")
    assert len(left) == 6 and set(left["leg"]) == {"left"}
    recent = index.load_sessions(tmp_path, since=date(2026, 1, 12))
    assert len(recent) == 8 and recent["date"].min() >= pd.Timestamp("2026-01-12")
    assert len(index.load_reps(tmp_path, leg="right", since="2026-01-19")) == 2 * 5
    assert len(index.load_sessions(tmp_path, leg="both")) == 12


def test_session_row_derives_week_adherence_and_tempo_counts() -> None:
    from progress_fakes import rep_table

    reps = rep_table([3.0, 3.5, 2.5, 1.5, 4.0], target_ecc_s=3.0)
    meta = RecordingMeta(start_utc="2026-01-08T12:00:00+00:00", leg="left", band="red", target_ecc_s=3.0)
    row = index_rows.session_row(meta, reps, {"reps": 5, "tut_ecc_s": 14.5, "mode": "force"}, mtime_ns=0)
    assert row["week"] == "2026-01-05" and row["date"] == "2026-01-08"  # a Thursday; its ISO week starts Monday 5th
    assert row["adherence"] == pytest.approx(3 / 5)  # 3.0, 3.5, 2.5 lie within 2.4..3.6 s
    assert (row["slow_reps"], row["moderate_reps"], row["fast_reps"]) == (3, 1, 1)
    assert row["mean_ecc_duration_s"] == pytest.approx(14.5 / 5)  # absent from the summary: derived from reps
    assert row["peak_force_n"] == pytest.approx(64.0)
    assert row["mode"] == "force"


def test_session_without_start_time_is_dated_by_file_mtime() -> None:
    from progress_fakes import rep_table

    mtime_ns = int(pd.Timestamp("2026-03-04T12:00:00Z").value)
    row = index_rows.session_row(RecordingMeta(start_utc=""), rep_table([3.0]), {}, mtime_ns=mtime_ns)
    assert row["date"] == "2026-03-04" and row["week"] == "2026-03-02"
    assert row["start_utc"].startswith("2026-03-04T12:00:00")
