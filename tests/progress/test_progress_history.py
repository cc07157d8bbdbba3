"""Simulated history end to end: the motion model writes real logs, the real reader and detector
index them, and the verbs chart them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from bandlog import cli
from bandlog.progress import history, index

FIRST_MONDAY = date(2026, 1, 5)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks, one session a week per leg, indexed with the real read_log + analyze."""
    root = tmp_path_factory.mktemp("history")
    history.write_simulated_history(root, weeks=2, sessions_per_week=1, seed=1, first_day=FIRST_MONDAY)
    report = index.update_index(root)
    assert report.failed == [] and len(report.analysed) == 4
    return root


def test_plan_tells_the_progression_story() -> None:
    plan = history.plan_history(FIRST_MONDAY, weeks=4, sessions_per_week=3, seed=0)
    assert len(plan) == 4 * 3 * 2
    assert [p.start.date().isoformat() for p in plan[:6:2]] == ["2026-01-05", "2026-01-07", "2026-01-09"]
    assert [p.leg for p in plan[:2]] == ["left", "right"]
    assert [p.target_ecc_s for p in plan[::6]] == [3.0, 3.0, 4.0, 4.0]
    tempos = [p.tempo_ecc_s for p in plan[::6]]
    assert tempos == sorted(tempos) and tempos[0] < 3.0 < 4.0 < tempos[-1]
    assert [p.p_fast for p in plan[::6]] == sorted((p.p_fast for p in plan[::6]), reverse=True)
    right_rom = [p.rom_deg for p in plan if p.leg == "right"]
    assert right_rom[0] < right_rom[-1] == pytest.approx(105.0)
    assert [p.colour for p in plan[::6]] == ["red", "green", "green", "blue"]
    assert len({p.seed for p in plan}) == len(plan)
    with pytest.raises(Exception, match="sessions a week"):
        history.plan_history(FIRST_MONDAY, weeks=1, sessions_per_week=9, seed=0)


def test_history_writes_readable_logs_once(tmp_path: Path) -> None:
    from bandlog.app.api import read_log

    seen: list[tuple[int, int]] = []
    paths = history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=3, first_day=FIRST_MONDAY,
                                            progress=lambda done, total, path: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)] and [p.parent.name for p in paths] == ["recordings", "recordings"]
    log = read_log(paths[1])
    assert log.meta.leg == "right" and log.meta.band == "red" and log.meta.target_ecc_s == 3.0
    assert log.meta.start_utc.endswith("+00:00")
    assert datetime.fromisoformat(log.meta.start_utc).astimezone().strftime("%Y-%m-%d %H:%M") == "2026-01-05 17:38"
    assert log.samples["force_n"].notna().all() and log.samples["gyro_x_dps"].notna().all()
    mtimes = [p.stat().st_mtime_ns for p in paths]
    assert history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=3, first_day=FIRST_MONDAY) == paths
    assert [p.stat().st_mtime_ns for p in paths] == mtimes


def test_history_for_benchmarks_writes_denser_longer_logs(tmp_path: Path) -> None:
    """bench/index_scale.py --long: ~90 s sessions at 100 Hz (12 reps) instead of ~65 s at 50 Hz."""
    from bandlog.app.api import analyze, read_log

    path = history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=3, first_day=FIRST_MONDAY,
                                           rate_hz=100.0, reps_per_set=12)[0]
    log = read_log(path)
    assert log.meta.stream.sample_rate_hz == 100.0
    assert log.samples["t_s"].diff().median() == pytest.approx(0.01)
    assert 75.0 < log.samples["t_s"].iloc[-1] < 110.0
    assert len(analyze(log).reps) == 12


def test_indexed_history_shows_slower_eccentrics_and_heavier_bands(home: Path) -> None:
    sessions = index.load_sessions(home)
    assert list(sessions["leg"]) == ["left", "right", "left", "right"]
    assert list(sessions["week"].dt.date) == [FIRST_MONDAY] * 2 + [date(2026, 1, 12)] * 2
    assert list(sessions["band"]) == ["red", "red", "green", "green"]
    assert (sessions["reps"] >= 6).all() and (sessions["mode"] == "force+imu").all()
    first, last = sessions.iloc[:2], sessions.iloc[2:]
    assert (last["mean_ecc_duration_s"].to_numpy() > first["mean_ecc_duration_s"].to_numpy() + 1.0).all()
    assert (last["peak_force_n"].to_numpy() > first["peak_force_n"].to_numpy()).all()
    assert first["fast_reps"].sum() > last["fast_reps"].sum()
    reps = index.load_reps(home)
    assert len(reps) == sessions["reps"].sum()
    assert reps.groupby("path")["ecc_duration_s"].sum().to_numpy() == pytest.approx(
        sessions.set_index("path").loc[reps.groupby("path").size().index, "tut_ecc_s"].to_numpy())


def test_sessions_verb_lists_the_history(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--data-dir", str(home), "sessions", "--format", "csv"]) == 0
    table = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert list(table["band"]) == ["red", "red", "green", "green"]
    assert list(table["date"]) == ["2026-01-05", "2026-01-05", "2026-01-12", "2026-01-12"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_verb_draws_one_session(home: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    log_path = sorted((home / "recordings").glob("*.csv"))[-1]
    out = home / "charts" / f"session{suffix}"
    assert cli.main(["plot", str(log_path), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"Knee flexion angle" in data or b"<svg" in data[:2000]
    assert len(data) > 20_000


def test_plot_verb_never_overwrites_an_existing_image_without_force(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_path = sorted((home / "recordings").glob("*.csv"))[0]
    out = tmp_path / "mine.png"
    out.write_bytes(b"the user's own picture")
    assert cli.main(["plot", str(log_path), "--out", str(out)]) == cli.ExitStatus.WRITE_FAILED
    assert capsys.readouterr().err == f"bandlog: cannot write the chart {out}: the file already exists (add --force to overwrite it)\n"
    assert out.read_bytes() == b"the user's own picture"
    assert cli.main(["plot", str(log_path), "--out", str(out), "--force"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_plot_verb_errors_are_one_sentence(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_path = sorted((home / "recordings").glob("*.csv"))[0]
    assert cli.main(["plot", str(log_path), "--out", str(tmp_path / "x.jpg")]) == cli.ExitStatus.USAGE
    assert "--out must end in .png or .svg" in capsys.readouterr().err
    assert cli.main(["plot", str(tmp_path / "missing.csv")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("bandlog: ") and "Traceback" not in err


def test_knee_panel_comes_from_the_detector_and_needs_the_imu(home: Path, tmp_path: Path) -> None:
    import numpy as np

    from bandlog.app.api import read_log
    from bandlog.progress.session_chart import knee_trace

    log = read_log(sorted((home / "recordings").glob("*.csv"))[0])
    trace = knee_trace(log, 3.0)
    assert trace is not None and trace[2] == "angle"
    assert len(trace[0]) == len(log.samples) and np.nanmax(trace[1]) - np.nanmin(trace[1]) > 60.0
    force_only = tmp_path / "force_only.csv"
    force_only.write_text("t_s,force_n\n" + "".join(f"{i / 50},{10 + i % 7}\n" for i in range(500)), encoding="utf-8")
    assert knee_trace(read_log(force_only), 3.0) is None


def test_indexing_on_a_terminal_draws_a_progress_bar(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from bandlog.cli.commands._indexing import refresh_index

    history.write_simulated_history(tmp_path, weeks=1, sessions_per_week=1, seed=2, first_day=FIRST_MONDAY)
    screen = io.StringIO()
    report = refresh_index(tmp_path, Console(file=screen, force_terminal=True, width=100))
    assert len(report.analysed) == 2
    assert "indexing" in screen.getvalue() and "2/2" in screen.getvalue()
