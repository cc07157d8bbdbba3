"""The session index is a cache, so no fault in it or in the data folder may stop `sessions` or
`progress`: a damaged or foreign index is moved aside and rebuilt, an unwritable one is replaced by one
in memory, a log deleted mid-scan or an unreadable one is skipped; each says so in one line."""

from __future__ import annotations

import errno
import io
import os
import random
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "progress"))  # the fake rep logs of tests/progress
from progress_fakes import FakeBackend, write_fake_log, write_weeks

from bandlog import cli
from bandlog.progress import index, index_analysis

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NEEDS_PERMISSIONS = pytest.mark.skipif(AS_ROOT, reason="root ignores file permissions; the simulated variant covers this")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    """The fake reader/analyser, also behind the verbs, so a rebuilt index can be refilled from the fake logs."""
    fake = FakeBackend()
    monkeypatch.setattr(index, "_default_read", fake.read)
    monkeypatch.setattr(index, "_default_analyze", fake.analyze)
    return fake


@pytest.fixture
def home(tmp_path: Path, backend: FakeBackend) -> Path:
    """One week, two legs: 4 logs, indexed."""
    write_weeks(tmp_path, weeks=1)
    assert len(backend.update(tmp_path).analysed) == 4
    return tmp_path


def _sessions_csv(home: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[pd.DataFrame, list[str]]:
    """Run `bandlog sessions --format csv`: (the table, the stderr lines); it must succeed."""
    assert cli.main(["--data-dir", str(home), "sessions", "--format", "csv", *extra]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return pd.read_csv(io.StringIO(captured.out)), captured.err.splitlines()


def _stored_paths(home: Path) -> list[str]:
    conn = sqlite3.connect(index.index_path(home))
    try:
        return sorted(row[0] for row in conn.execute("SELECT path FROM sessions"))
    finally:
        conn.close()


def test_garbage_pages_behind_a_valid_header_are_moved_aside_and_rebuilt(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = index.index_path(home)
    data = path.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    assert len(data) > page_size  # page 1 (header and schema) stays valid, every other page is noise
    path.write_bytes(data[:page_size] + random.Random(11).randbytes(len(data) - page_size))
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 4
    assert len(err) == 1 and "was damaged" in err[0] and "rebuilt it from the logs" in err[0]
    assert index.damaged_path(home).read_bytes()[:page_size] == data[:page_size]  # kept aside, for a look
    assert len(_stored_paths(home)) == 4  # healed on disk: the next run is quiet
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 4 and err == []


def test_a_database_with_bandlogs_version_but_other_tables_is_moved_aside(tmp_path: Path, backend: FakeBackend,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_weeks(tmp_path, weeks=1)
    conn = sqlite3.connect(index.index_path(tmp_path))
    conn.executescript(f"CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me'); PRAGMA user_version = {index.SCHEMA_VERSION};")
    conn.close()
    table, err = _sessions_csv(tmp_path, capsys)
    assert len(table) == 4
    assert len(err) == 1 and "not bandlog's tables" in err[0] and index.damaged_path(tmp_path).name in err[0]
    kept = sqlite3.connect(index.damaged_path(tmp_path))
    assert kept.execute("SELECT text FROM notes").fetchall() == [("keep me",)]  # someone else's file is not destroyed
    kept.close()


def test_an_index_whose_tables_lost_a_column_is_moved_aside(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(index.index_path(home))
    conn.executescript("ALTER TABLE sessions DROP COLUMN rejected;")
    conn.close()
    write_fake_log(home / "recordings" / "2026-02-02T120000_left.csv", "2026-02-02T12:00:00+00:00", "left", [3.0])
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 5 and len(err) == 1 and "damaged" in err[0]


@pytest.fixture
def readonly_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every index file opens read-only, as in a read-only data folder (works as root, unlike chmod)."""
    real_connect = sqlite3.connect

    def connect(database: Any, *args: Any, uri: bool = False, **kwargs: Any) -> sqlite3.Connection:
        if not uri and str(database) != ":memory:":
            database, uri = f"file:{database}?mode=ro", True
        return real_connect(database, *args, uri=uri, **kwargs)

    monkeypatch.setattr(index.sqlite3, "connect", connect)


def test_a_read_only_index_works_in_memory_and_says_so_once(home: Path, backend: FakeBackend, readonly_sqlite: None,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    write_fake_log(home / "recordings" / "2026-02-02T120000_left.csv", "2026-02-02T12:00:00+00:00", "left", [3.0, 3.2])
    backend.analyze_calls.clear()
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 5 and "recordings/2026-02-02T120000_left.csv" in set(table["path"])
    assert len(err) == 1 and "cannot write the session index" in err[0] and "in memory" in err[0]
    assert len(backend.analyze_calls) == 1  # seeded from the file: only the new log is read
    out = home / "charts" / "p.png"
    assert cli.main(["--data-dir", str(home), "progress", "--metric", "tut", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_a_read_only_folder_without_an_index_still_lists_every_session(tmp_path: Path, readonly_sqlite: None,
                                                                       capsys: pytest.CaptureFixture[str], backend: FakeBackend) -> None:
    write_weeks(tmp_path, weeks=1)
    table, err = _sessions_csv(tmp_path, capsys)
    assert len(table) == 4 and len(err) == 1 and "in memory" in err[0]
    assert not index.index_path(tmp_path).exists()


@NEEDS_PERMISSIONS
def test_a_read_only_data_folder_really_chmodded(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake_log(home / "recordings" / "2026-02-02T120000_left.csv", "2026-02-02T12:00:00+00:00", "left", [3.0])
    before = index.index_path(home).read_bytes()
    home.chmod(0o555)
    index.index_path(home).chmod(0o444)
    try:
        table, err = _sessions_csv(home, capsys)
    finally:
        home.chmod(0o755)
        index.index_path(home).chmod(0o644)
    assert len(table) == 5 and len(err) == 1 and "in memory" in err[0]
    assert index.index_path(home).read_bytes() == before


def test_a_log_deleted_between_listing_and_stat_is_skipped_and_counted(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    victim = sorted((home / "recordings").glob("*.csv"))[0]
    victim.touch()  # changed since indexed, so it is looked at again
    real_stat = Path.stat

    def stat_then_delete(self: Path, **kwargs: Any) -> os.stat_result:
        """The first look at the victim sees it; then it is gone, as if deleted by another program."""
        result = real_stat(self, **kwargs)
        if self == victim and os.path.exists(victim):
            os.unlink(victim)
        return result

    monkeypatch.setattr(Path, "stat", stat_then_delete)
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 3 and f"recordings/{victim.name}" not in set(table["path"])
    assert err == [f"bandlog: skipped 1 log deleted while indexing: recordings/{victim.name}"]


def test_a_log_deleted_while_it_is_read_is_skipped_not_remembered_as_broken(tmp_path: Path, backend: FakeBackend) -> None:
    paths = write_weeks(tmp_path, weeks=1)
    real_read = backend.read

    def read_after_delete(path: Path) -> Any:
        if path == paths[0]:
            path.unlink()
        return real_read(path)

    report = index.update_index(tmp_path, read=read_after_delete, analyze=backend.analyze)
    assert report.failed == [] and report.vanished == [f"recordings/{paths[0].name}"] and len(report.analysed) == 3
    conn = sqlite3.connect(index.index_path(tmp_path))
    assert conn.execute("SELECT count(*) FROM failures").fetchone() == (0,)
    conn.close()


def _denied(monkeypatch: pytest.MonkeyPatch, blocked: Callable[[str], bool]) -> None:
    """os.scandir fails with EACCES on the folders `blocked` picks, as for a folder of mode 000."""
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Iterator[os.DirEntry[str]]:
        if blocked(os.fspath(path)):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_recordings_folder_is_one_sentence_and_keeps_the_index(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    recordings = str(home / "recordings")
    _denied(monkeypatch, lambda path: path == recordings)
    for verb in (["sessions"], ["progress", "--out", str(home / "p.png")]):
        assert cli.main(["--data-dir", str(home), *verb]) == cli.ExitStatus.ERROR
        err = capsys.readouterr().err
        assert err == f"bandlog: cannot read the recordings folder {recordings}: permission denied\n"
    assert len(_stored_paths(home)) == 4  # the sessions are not forgotten because the folder was unreadable


def test_an_unreadable_subfolder_is_named_and_its_sessions_kept(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str], backend: FakeBackend) -> None:
    sub = home / "recordings" / "january"
    write_fake_log(sub / "a.csv", "2026-01-20T12:00:00+00:00", "left", [3.0])
    backend.update(home)
    _denied(monkeypatch, lambda path: path == str(sub))
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 5 and "recordings/january/a.csv" in set(table["path"])
    assert len(err) == 1 and err[0].startswith("bandlog: cannot read the folder recordings/january (permission denied)")


def test_an_unreadable_log_is_skipped_named_and_retried_once_readable(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    new = write_fake_log(home / "recordings" / "2026-02-02T120000_left.csv", "2026-02-02T12:00:00+00:00", "left", [3.0])
    real_sha = index_analysis.file_sha256  # a new log is hashed where it is analysed

    def sha(path: Path) -> str:
        if path == new:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_sha(path)

    monkeypatch.setattr(index_analysis, "file_sha256", sha)
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 4
    assert err == [f"bandlog: skipped recordings/{new.name}: cannot read it (permission denied)"]
    monkeypatch.setattr(index_analysis, "file_sha256", real_sha)  # permission given back: size and mtime unchanged
    table, err = _sessions_csv(home, capsys)
    assert len(table) == 5 and err == []


@NEEDS_PERMISSIONS
def test_unreadable_folder_and_log_really_chmodded(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = sorted((home / "recordings").glob("*.csv"))[0]
    new = write_fake_log(home / "recordings" / "2026-02-02T120000_left.csv", "2026-02-02T12:00:00+00:00", "left", [3.0])
    new.chmod(0)
    try:
        table, err = _sessions_csv(home, capsys)
        assert len(table) == 4 and len(err) == 1 and "permission denied" in err[0]
        (home / "recordings").chmod(0)
        assert cli.main(["--data-dir", str(home), "sessions"]) == cli.ExitStatus.ERROR
        assert "cannot read the recordings folder" in capsys.readouterr().err
    finally:
        (home / "recordings").chmod(0o755)
        new.chmod(0o644)
    assert log.exists()


def test_a_locked_index_is_one_sentence(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    writer = sqlite3.connect(index.index_path(home))
    writer.execute("BEGIN EXCLUSIVE")
    real_connect = sqlite3.connect
    monkeypatch.setattr(index.sqlite3, "connect", lambda *args, **kwargs: real_connect(*args, **{**kwargs, "timeout": 0.05}))
    try:
        assert cli.main(["--data-dir", str(home), "sessions"]) == cli.ExitStatus.ERROR
    finally:
        writer.rollback()
        writer.close()
    err = capsys.readouterr().err
    assert err.startswith("bandlog: the session index") and "locked by another bandlog" in err and err.count("\n") == 1
    assert len(_stored_paths(home)) == 4  # a busy index is not mistaken for a damaged one
