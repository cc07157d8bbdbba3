"""`bandlog demo` never touches a user's real history: it writes into a folder of its own, refuses a
folder holding real recordings before writing anything, marks its logs as simulated, and a rerun
says what it did. Each demo run here streams a one-rep set at high speed over the emulated link."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bandlog import cli
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import StreamInfo
from bandlog.io import paths
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.progress import history, index

FAST = ["--speed", "40", "--reps", "1", "--weeks", "1", "--view", "none"]


def make_real_folder(home: Path) -> Path:
    """A user's data folder: one real (unmarked) recording, its index, and a report."""
    from bandlog.sim import random_spec, simulate_session

    block = simulate_session(random_spec(7, n_sets=1, reps_per_set=2)).record(rate_hz=50.0, channels="force+imu")
    log = paths.recordings_dir(home) / "2026-01-05T173000_gdx-for.csv"
    log.parent.mkdir(parents=True)
    sink = CsvLogSink(log)
    sink.on_start(RecordingMeta(leg="left", band="red", stream=StreamInfo(
        profile="gdx-for", model="GDX-FOR", sample_rate_hz=50.0, channels=block.channel_names())))
    sink.on_samples(block)
    sink.close()
    assert not index.update_index(home).failed
    (home / "reports").mkdir()
    (home / "reports" / "progress-2026-01-05.html").write_text("<html>mine</html>")
    return home


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` (folders too) with a hash of each file's bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<folder>"
    return found


@dataclass
class Runs:
    real: Path
    real_before: dict[str, str]
    demo: Path
    outputs: list[str]
    codes: list[int]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The demo run twice beside a real folder: as the README says with XDG_DATA_HOME set, then with
    BANDLOG_HOME at the real folder and --data-dir at the demo folder the first run made (capsys is
    per test, so output is redirected here)."""
    root = tmp_path_factory.mktemp("demo_runs")
    real = make_real_folder(root / "share" / "bandlog")
    before = snapshot(real)
    demo = root / "share" / "bandlog-demo"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("BANDLOG_HOME", raising=False)
        mp.setenv("XDG_DATA_HOME", str(root / "share"))
        first = run_captured(["demo", *FAST])
        mp.setenv("BANDLOG_HOME", str(real))
        second = run_captured(["--data-dir", str(demo), "demo", *FAST])
    return Runs(real, before, demo, [first[1], second[1]], [first[0], second[0]])


def run_captured(argv: list[str]) -> tuple[int, str]:
    """cli.main's exit status and everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(argv)
    return code, out.getvalue()


@pytest.mark.slow  # shares two demo runs (~13 s of CPU) with the tests around it
def test_demo_leaves_the_real_data_folder_byte_identical(demo_runs: Runs) -> None:
    assert demo_runs.codes == [0, 0], demo_runs.outputs
    assert snapshot(demo_runs.real) == demo_runs.real_before
    share = demo_runs.real.parent
    assert [p.name for p in share.parent.iterdir()] == ["share"]  # nothing in the working directory
    assert sorted(p.name for p in share.iterdir()) == ["bandlog", "bandlog-demo"]


@pytest.mark.slow  # shares two demo runs (~13 s of CPU) with the tests around it
def test_demo_says_where_its_files_go_and_how_to_look_at_them(demo_runs: Runs) -> None:
    first = demo_runs.outputs[0]
    assert f"every file goes into the demo folder {demo_runs.demo}\n  (your data folder {demo_runs.real} is not touched)" in first
    assert f"Files, in the demo folder {demo_runs.demo}:" in first
    assert f"bandlog --data-dir {demo_runs.demo} sessions" in first and f"bandlog --data-dir {demo_runs.demo} progress" in first
    assert "1 weeks" not in first and "over 1 week, both legs" in first


@pytest.mark.slow  # shares two demo runs (~13 s of CPU) with the tests around it
def test_a_rerun_says_what_it_wrote(demo_runs: Runs) -> None:
    first, second = demo_runs.outputs
    assert "simulated history: wrote 6 sessions over 1 week, both legs\n" in first
    assert "simulated history: wrote 6 sessions over 1 week, both legs, replacing the 6 sessions an earlier run wrote" in second
    assert "(this run's; each run adds one: 1 so far)" in first and "(this run's; each run adds one: 2 so far)" in second
    logs = sorted(paths.recordings_dir(demo_runs.demo).iterdir())
    assert len(logs) == 6 + 2, [p.name for p in logs]  # the history rewritten, not doubled; one recording per run
    made_by = {p.name: read_log(p).meta.simulated_by for p in logs}
    assert sorted(made_by.values()) == ["bandlog demo"] * 2 + [history.SIMULATED_BY] * 6, made_by
    sessions = index.load_sessions(demo_runs.demo)
    assert len(sessions) == 8


def test_demo_refuses_a_folder_with_real_recordings_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = make_real_folder(tmp_path / "mine")
    before = snapshot(real)
    monkeypatch.setenv("BANDLOG_HOME", str(tmp_path / "elsewhere"))
    assert cli.main(["--data-dir", str(real), "demo", *FAST]) == cli.ExitStatus.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 recording the demo did not make (recordings/2026-01-05T173000_gdx-for.csv)" in err
    assert f"leave it out to use {tmp_path / 'elsewhere-demo'}" in err
    assert snapshot(real) == before and not (tmp_path / "elsewhere-demo").exists()
    moved = make_real_folder(tmp_path / "other-demo")  # real recordings moved into the default demo folder
    before = snapshot(moved)
    monkeypatch.setenv("BANDLOG_HOME", str(tmp_path / "other"))
    assert cli.main(["demo", *FAST]) == cli.ExitStatus.USAGE
    assert "the demo writes only into a folder of its own: give --data-dir a new folder\n" in capsys.readouterr().err
    assert snapshot(moved) == before and not (tmp_path / "other").exists()


def test_demo_refuses_the_real_data_folder_even_when_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "bandlog"
    monkeypatch.setenv("BANDLOG_HOME", str(real))
    assert cli.main(["--data-dir", str(real), "demo", *FAST]) == cli.ExitStatus.USAGE
    assert f"--data-dir {real} is your data folder {real}, and the demo writes only into a folder of its own" in capsys.readouterr().err
    inside = real / "recordings" / "demo"  # its logs would be indexed as real sessions
    assert cli.main(["--data-dir", str(inside), "demo", *FAST]) == cli.ExitStatus.USAGE
    assert f"--data-dir {inside} is inside your data folder {real}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG_DATA_HOME is read on Linux and other Unixes")
def test_empty_or_relative_xdg_data_home_means_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("BANDLOG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    default = tmp_path / ".local" / "share" / "bandlog"
    monkeypatch.setenv("XDG_DATA_HOME", "")
    assert paths.data_home() == default
    monkeypatch.setenv("BANDLOG_HOME", "")
    assert paths.data_home() == default
    monkeypatch.setenv("XDG_DATA_HOME", "data")
    with caplog.at_level(logging.WARNING, logger="bandlog.io.paths"):
        assert paths.data_home() == default
    assert "ignored XDG_DATA_HOME=data: it is not an absolute path" in caplog.text
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.data_home() == tmp_path / "xdg" / "bandlog"
    assert paths.demo_home(paths.data_home()) == tmp_path / "xdg" / "bandlog-demo"
    assert paths.demo_home(Path("/")) == Path("/bandlog-demo")
    assert os.listdir(tmp_path) == []
