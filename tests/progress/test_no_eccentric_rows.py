"""Rows without an eccentric (tempo 'none') in the charts, the index, the weekly trends and the report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from progress_fakes import FakeBackend, rep_table, write_fake_log

from bandlog.core.meta import RecordingMeta
from bandlog.core.results import NO_TEMPO
from bandlog.progress import chart_style, index, plots, report, trends
from bandlog.progress.session_chart import SessionChart


def _samples(duration_s: float = 30.0) -> pd.DataFrame:
    t = np.arange(0.0, duration_s, 0.01)
    return pd.DataFrame({"t_s": t, "force_n": 30 + 20 * np.sin(t), "set": 1})


def _hatched(ax: Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() == plots.NO_ECCENTRIC_HATCH]


def test_force_chart_hatches_the_whole_cycle_of_a_row_without_an_eccentric() -> None:
    reps = rep_table([3.2, None, 2.5])
    ax = plots.plot_force(_samples(), reps, 3.0)
    (cycle,) = _hatched(ax)
    assert (cycle.get_x(), cycle.get_width()) == pytest.approx((10.0, 4.0))  # start_s .. end_s of rep 2
    assert mcolors.to_rgb(cycle.get_edgecolor()) == pytest.approx(mcolors.to_rgb(chart_style.TEMPO_COLOURS[NO_TEMPO]))
    assert [t.get_text() for t in ax.texts] == ["3.2 s", "isometric pull, no eccentric", "2.5 s"]


def test_duration_bars_skip_the_missing_eccentric_and_say_why() -> None:
    reps = rep_table([3.2, None, 2.5])
    ax = plots.plot_rep_durations(reps, 3.0)
    bars = [bar for container in ax.containers for bar in container.patches]
    assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx([1.0, 3.0])
    (marker,) = _hatched(ax)
    assert marker.get_x() + marker.get_width() / 2 == pytest.approx(2.0)
    assert "isometric pull, no eccentric" in [t.get_text() for t in ax.texts]
    assert "no eccentric" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_session_chart_of_isometric_pulls_only_draws_and_says_so(tmp_path: Path) -> None:
    reps = rep_table([None, None]).astype(object)  # every eccentric column None: object dtype, as analyze gives
    _, stitched = plots.stitch_sets(_samples(), reps.assign(set=0))
    assert stitched["ecc_start_s"].isna().all()
    chart = SessionChart("pulls.csv", RecordingMeta(leg="left"), _samples(), stitched, 3.0, knee=None)
    assert chart.title == "pulls.csv, left leg: 2 reps (0 with an eccentric), eccentric TUT 0.0 s"
    fig = chart.figure()
    fig.savefig(tmp_path / "pulls.png")
    assert len(_hatched(fig.axes[0])) == 2 and len(_hatched(fig.axes[-1])) == 2


def test_index_counts_eccentrics_and_takes_means_over_them_only(tmp_path: Path, backend: FakeBackend) -> None:
    write_fake_log(tmp_path / "recordings" / "a.csv", "2026-01-05T12:00:00+00:00", "left", [3.0, None, 5.0, None])
    backend.update(tmp_path)
    (session,) = index.load_sessions(tmp_path).to_dict("records")
    assert (session["reps"], session["eccentrics"], session["rejected"]) == (4, 2, 0)
    assert session["mean_ecc_duration_s"] == pytest.approx(4.0)
    assert session["adherence"] == pytest.approx(0.5)  # 3.0 s is on target, 5.0 s is not; the pulls do not count
    reps = index.load_reps(tmp_path)
    assert reps["ecc_duration_s"].isna().tolist() == [False, True, False, True]
    assert reps["end_s"].notna().all() and list(reps["tempo"]) == ["slow", NO_TEMPO, "slow", NO_TEMPO]


def test_an_index_from_before_rows_without_eccentrics_is_rebuilt(tmp_path: Path, backend: FakeBackend) -> None:
    write_fake_log(tmp_path / "recordings" / "a.csv", "2026-01-05T12:00:00+00:00", "left", [3.0, None])
    with sqlite3.connect(index.index_path(tmp_path)) as conn:  # the version 1 layout: no end_s, no eccentrics
        conn.executescript("CREATE TABLE sessions (id INTEGER PRIMARY KEY, path TEXT); PRAGMA user_version = 1;")
    report_ = backend.update(tmp_path)
    assert report_.analysed == ["recordings/a.csv"]
    assert index.load_sessions(tmp_path)["eccentrics"].tolist() == [1]


def test_weekly_means_are_over_timed_eccentrics(tmp_path: Path, backend: FakeBackend) -> None:
    write_fake_log(tmp_path / "recordings" / "a.csv", "2026-01-05T12:00:00+00:00", "left", [3.0, None, 3.0])
    write_fake_log(tmp_path / "recordings" / "b.csv", "2026-01-07T12:00:00+00:00", "left", [4.0, None])
    backend.update(tmp_path)
    sessions = index.load_sessions(tmp_path)
    (week,) = trends.weekly(sessions).to_dict("records")
    assert (week["reps"], week["eccentrics"]) == (5, 3)
    assert week["mean_ecc_duration_s"] == pytest.approx(10.0 / 3)
    assert week["adherence"] == pytest.approx(2.0 / 3)  # 3.0 and 3.0 s are within 3 s +- 20 %, 4.0 s is not
    html = report.progress_report(sessions, metrics=["duration"])
    assert "with eccentric" in html and "not counted" in html
