"""What a user reads off the charts is what the numbers mean (issue 12, point 7): the running week is
marked as partial, a week's peak is its best, axis labels are words with units, green is exactly
"inside the grey target band", force-only timings say they are estimated, and the knee trace says why
it starts late."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from progress_fakes import FakeBackend, rep_table, write_fake_log

from bandlog.detect.exercises import exercise_profile
from bandlog.progress import history, index, plots, report, trend_plots, trends

CODE_NAME = re.compile(r"[A-Za-z]+_[A-Za-z]+")
"""A column or variable name (tut_ecc_s, TUT_ecc) where words belong."""
UNIT = re.compile(r"\((s|N|°|°/s|%|0-10)\)$|^reps$|^rep$")
"""A unit in brackets at the end (0-10: a rating scale), or a count."""


def _unwrapped(ax: Axes) -> str:
    """An axis's x label as one line (the notes under the knee panel are wrapped to the figure's width)."""
    return " ".join(ax.get_xlabel().split())


def _local_noon(day: date) -> str:
    return datetime.combine(day, time(12)).astimezone().isoformat()


@pytest.fixture
def running(tmp_path: Path, backend: FakeBackend) -> pd.DataFrame:
    """Last week: two sessions per leg; this week (still running): one short session per leg."""
    this_monday = date.today() - timedelta(days=date.today().weekday())
    for leg in ("left", "right"):
        for day in (this_monday - timedelta(days=7), this_monday - timedelta(days=4)):
            write_fake_log(tmp_path / "recordings" / f"{day}_{leg}.csv", _local_noon(day), leg, [3.0] * 8)
        write_fake_log(tmp_path / "recordings" / f"{this_monday}_{leg}.csv", _local_noon(this_monday), leg, [3.0] * 2)
    backend.update(tmp_path)
    return index.load_sessions(tmp_path)


def _partial_artists(ax: Axes) -> list[object]:
    return [a for a in ax.get_children() if a.get_gid() == trend_plots.PARTIAL_GID]


def test_week_days_counts_the_days_of_the_running_week() -> None:
    weeks = pd.Series(pd.to_datetime(["2026-11-23", "2026-11-30"]))
    assert list(trends.week_days(weeks, today=date(2026, 12, 2))) == [7, 3]
    assert list(trends.week_days(weeks, today=date(2026, 12, 7))) == [7, 7]


def test_the_week_is_still_running_on_its_sunday() -> None:
    """All seven days of a week have begun on its Sunday, but the week has not ended: it was taken for
    a finished one (its sums compared with whole weeks, no hollow bar), and this file failed on Sundays."""
    weeks = pd.Series(pd.to_datetime(["2026-11-23", "2026-11-30"]))
    assert list(trends.week_running(weeks, today=date(2026, 12, 6))) == [False, True]
    assert list(trends.week_days(weeks, today=date(2026, 12, 6))) == [7, 7]
    assert list(trends.week_running(weeks, today=date(2026, 12, 7))) == [False, False]
    assert list(trends.week_running(weeks, today=date(2026, 11, 30))) == [False, True]


def test_the_running_week_is_drawn_hollow_and_labelled_with_its_days(running: pd.DataFrame) -> None:
    days = date.today().weekday() + 1
    table = trends.weekly(running)
    assert list(table["week_days"]) == [7, 7, days, days]
    ax = trend_plots.plot_tut(running, by="week")
    partial = _partial_artists(ax)
    hollow = [a for a in partial if isinstance(a, Rectangle)]
    assert len(hollow) == 2  # one per leg, hatched, no fill in the leg's colour
    assert all(a.get_hatch() and mcolors.to_hex(a.get_facecolor()) == "#ffffff" for a in hollow)
    solid = [b for b in ax.patches if b not in hollow]
    assert len(solid) == 2 and {mcolors.to_hex(b.get_facecolor()) for b in solid} == {trend_plots.LEG_COLOURS["left"], trend_plots.LEG_COLOURS["right"]}
    labels = [a.get_text() for a in partial if hasattr(a, "get_text")]
    assert labels == [f"week so far\n({days} of 7 days)"]
    assert "hollow: week so far" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"(so far: {days} of 7 days)</td>" in report.progress_report(running, metrics=["tut"])
    # line charts: the running week is an open marker, not joined to the whole weeks' line
    for chart in (trend_plots.plot_ecc_duration(running, by="week"), trend_plots.plot_force_trend(running, by="week")):
        markers = [a for a in _partial_artists(chart) if hasattr(a, "get_marker")]
        assert markers and all(m.get_markerfacecolor() == "white" and m.get_linestyle() == "None" for m in markers)
        joined = [line for line in chart.lines if line.get_label() in ("left", "right", "left peak, best")]
        assert all(len(line.get_xdata()) == 1 for line in joined)  # last week only


def test_a_session_chart_per_session_has_no_partial_week(running: pd.DataFrame) -> None:
    assert _partial_artists(trend_plots.plot_tut(running, by="session")) == []


def test_a_weeks_peak_force_is_its_best_session_peak_in_chart_and_report(tmp_path: Path, backend: FakeBackend) -> None:
    for day, peak in ((5, 60.0), (7, 80.0)):  # 2026-01-05 and 07: one week; session peak = rep 8's = base + 7
        write_fake_log(tmp_path / "recordings" / f"{day}.csv", f"2026-01-0{day}T12:00:00+00:00", "left", [3.0] * 8, peak_force_n=peak)
    backend.update(tmp_path)
    sessions = index.load_sessions(tmp_path)
    assert sorted(sessions["peak_force_n"]) == [67.0, 87.0]
    assert trends.weekly(sessions)["peak_force_n"].tolist() == [87.0]
    ax = trend_plots.plot_force_trend(sessions, by="week")
    (peak_line,) = [line for line in ax.lines if "peak" in line.get_label()]
    assert list(peak_line.get_ydata()) == [87.0] and "best" in peak_line.get_label()
    assert "best" in ax.get_title(loc="left")
    html = report.progress_report(sessions, metrics=["force"])
    assert "<th>best peak force (N)</th>" in html and "<td>87.0</td>" in html and "<td>77.0</td>" not in html


def _label_texts(fig: Figure) -> list[tuple[str, str]]:
    texts = []
    for ax in fig.axes:
        texts += [("x", ax.get_xlabel()), ("y", ax.get_ylabel()), ("title", ax.get_title(loc="left"))]
        if ax.get_legend() is not None:
            texts += [("legend", t.get_text()) for t in ax.get_legend().get_texts()]
    return texts


def test_every_axis_label_is_words_with_a_unit(running: pd.DataFrame) -> None:
    reps = rep_table([3.0, 2.2])
    t = np.arange(0.0, 20.0, 0.01)
    samples = pd.DataFrame({"t_s": t, "force_n": 30 + 20 * np.sin(t), "set": 1})
    figures = [trend_plots.progress_figure(running, by="week"), trend_plots.progress_figure(running, by="session"),
               plots.session_figure(samples, reps, 3.0, knee=(t, 50 + 40 * np.cos(t), "angle"))]
    for fig in figures:
        for where, text in _label_texts(fig):
            assert not CODE_NAME.search(text), f"{where} label {text!r} shows a code name"
        for ax in fig.axes:
            assert UNIT.search(ax.get_ylabel()), f"y label {ax.get_ylabel()!r} has no unit"
    tut = trend_plots.plot_tut(running, by="week")
    assert tut.get_ylabel() == "eccentric time under tension (s)"


def test_a_rep_inside_the_grey_band_is_green_and_the_legend_says_what_green_means() -> None:
    durations = [2.6, 3.4, 2.3, 3.7, 2.0]  # 2.6 s was 'moderate' (amber) though inside 2.4-3.6 s
    reps = rep_table(durations, target_ecc_s=3.0)
    assert reps["tempo"].iloc[0] == "moderate"
    ax = plots.plot_rep_durations(reps, 3.0)
    bars = [bar for container in ax.containers for bar in container.patches]
    (band,) = [p for p in ax.patches if isinstance(p, Rectangle) and p not in bars]
    low, high = band.get_y(), band.get_y() + band.get_height()
    colours = [mcolors.to_hex(bar.get_facecolor()) for bar in bars]
    assert colours[0] == colours[1] != colours[2]  # 2.6 s and 3.4 s are both in the band, 2.3 s is not
    green = plots.TARGET_COLOURS["on_target"]
    for bar in bars:
        inside = low <= bar.get_height() <= high
        assert (mcolors.to_hex(bar.get_facecolor()) == green) == inside, bar.get_height()
    legend = {t.get_text(): mcolors.to_hex(h.get_facecolor()) for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    assert legend["in the target band (2.4–3.6 s)"] == green
    assert not any(name in text for text in legend for name in ("slow", "moderate", "fast"))
    force = plots.plot_force(pd.DataFrame({"t_s": np.arange(0, 45, 0.01), "force_n": 1.0}), reps, 3.0)
    spans = [p for p in force.patches if isinstance(p, Rectangle)]
    assert mcolors.to_hex(spans[0].get_facecolor()) == green  # the force panel agrees


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One simulated session with force and IMU, and the same session's force column alone."""
    from bandlog.app.api import read_log

    home = tmp_path_factory.mktemp("meaning")
    path = history.write_simulated_history(home, weeks=1, sessions_per_week=1, seed=2, first_day=date(2026, 1, 5))[0]
    force_only = home / "force_only.csv"
    read_log(path).samples[["t_s", "force_n"]].to_csv(force_only, index=False)
    return path, force_only


def test_a_force_only_chart_says_its_timings_are_estimated(simulated: tuple[Path, Path]) -> None:
    from bandlog.progress.session_chart import load_session_chart

    with_imu, force_only = simulated
    chart = load_session_chart(force_only)
    assert chart.knee is None and chart.reps["estimated"].all()
    fig = chart.figure()
    force_ax, bars_ax = fig.axes
    assert "estimated" in force_ax.get_title(loc="right")
    assert "estimated" in bars_ax.get_title(loc="left") and "estimated" in bars_ax.get_ylabel()
    assert chart.title.endswith("(estimated from force alone)")
    measured = load_session_chart(with_imu).figure()
    assert not any("estimated" in ax.get_title(loc=loc) for ax in measured.axes for loc in ("left", "right"))


def test_the_knee_trace_says_why_it_starts_late(simulated: tuple[Path, Path]) -> None:
    from bandlog.progress.session_chart import load_session_chart

    chart = load_session_chart(simulated[0])
    assert chart.knee is not None
    t_s, angle_deg = chart.knee.t_s, chart.knee.values
    first_s = float(t_s[np.isfinite(angle_deg)][0])
    assert first_s > 1.0  # the detector's angle needs the sensor's rest reading and the first bend
    knee_ax = chart.figure().axes[1]
    lead_in = [p for p in knee_ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(lead_in) == 1
    assert (lead_in[0].get_x(), lead_in[0].get_x() + lead_in[0].get_width()) == pytest.approx((t_s[0], first_s))
    assert f"no knee angle before {first_s:.1f} s" in _unwrapped(knee_ax)
    assert "learns its resting reading" in _unwrapped(knee_ax)


def test_the_knee_angle_is_drawn_lighter_while_the_shank_direction_is_learned(simulated: tuple[Path, Path]) -> None:
    # the shank's direction in the sensor is learned from the first rep's flexion: until the second rep
    # starts (where the band curve starts counting too) the angle is drawn lighter, and said
    from bandlog.progress.session_chart import load_session_chart

    chart = load_session_chart(simulated[0])
    assert chart.knee is not None
    t_s, angle_deg = chart.knee.t_s, chart.knee.values
    second_start_s = float(chart.reps.sort_values("start_s")["start_s"].iloc[1])
    knee_ax = chart.figure().axes[1]
    (settled,) = [line for line in knee_ax.lines if line.get_color() == "#5a3d8a"]
    (lighter,) = [line for line in knee_ax.lines if line.get_color() == plots.SETTLING_COLOUR]
    drawn = np.isfinite(np.asarray(lighter.get_ydata(), dtype=float))
    lighter_t = np.asarray(lighter.get_xdata(), dtype=float)[drawn]
    assert lighter_t[0] == pytest.approx(t_s[np.isfinite(angle_deg)][0])
    assert second_start_s - 0.1 < lighter_t[-1] <= second_start_s + 0.1  # one sample on, to join the lines
    settled_t = np.asarray(settled.get_xdata(), dtype=float)[np.isfinite(np.asarray(settled.get_ydata(), dtype=float))]
    assert settled_t[0] >= second_start_s
    assert f"lighter: the angle while the sensor learns the shank's direction from the first rep (to {lighter_t[-2]:.1f} s)" in _unwrapped(knee_ax)
    # neither the rate nor a planted shank's turn from the start rests on a learned direction
    rate_ax = plots.plot_knee(t_s, np.gradient(angle_deg, t_s), chart.reps, 3.0, kind="rate")
    planted_ax = plots.plot_knee(t_s, angle_deg, chart.reps, 3.0, profile=exercise_profile("standing-l"))
    for ax in (rate_ax, planted_ax):
        assert [line.get_color() for line in ax.lines] == ["#5a3d8a"] and "lighter" not in ax.get_xlabel()


def test_progress_charts_count_the_force_only_sessions_as_estimated(running: pd.DataFrame) -> None:
    assert "estimated" not in trend_plots.plot_tut(running).get_xlabel()
    one_force_only = running.assign(mode=["force"] + ["force+imu"] * (len(running) - 1))
    for metric in ("tut", "duration", "tempo"):
        label = trend_plots.progress_chart(metric, one_force_only).get_xlabel()
        assert f"1 of {len(running)} sessions force only: their eccentric timings are estimated" in label
    assert "timed from force alone" in report.progress_report(one_force_only, metrics=["tut"])
    assert "timed from force alone" not in report.progress_report(running, metrics=["tut"])


def test_a_planted_shank_trace_says_its_own_reason_for_starting_late() -> None:
    from bandlog.detect.exercises import PROFILES
    from bandlog.progress.plots import plot_knee

    t_s = np.arange(0.0, 30.0, 0.1)
    angle = np.where(t_s < 12.0, np.nan, 10.0 * np.sin(t_s))  # the sign is learned over the first reps
    reps = pd.DataFrame(columns=["ecc_start_s", "ecc_end_s", "ecc_duration_s", "start_s", "end_s", "flags"])
    ax = plot_knee(t_s, angle, reps, 3.0, profile=PROFILES["standing-l"])
    assert "which way the shank turns, over the first three reps" in _unwrapped(ax)
    assert PROFILES["standing-l"].angle_label in ax.get_ylabel() and "knee flexion" not in ax.get_ylabel()


def test_each_set_of_a_stitched_session_has_its_own_lighter_stretch() -> None:
    # the estimate starts afresh in each set, so the shank's direction is learned again: set 1's reps start
    # at 2, 10 and 18 s, set 2's (stitched on) at 42, 50 and 58 s; the angle exists from 1 and from 41 s
    second = rep_table([3.0, 3.0, 3.0], set_number=2)
    second[["start_s", "end_s", "ecc_start_s", "ecc_end_s"]] += 40.0
    reps = pd.concat([rep_table([3.0, 3.0, 3.0]), second], ignore_index=True)
    t_s = np.arange(0.0, 70.0, 0.1)
    angle_deg = np.where((t_s < 1.0) | ((t_s >= 30.0) & (t_s < 41.0)), np.nan, 60.0)
    ax = plots.plot_knee(t_s, angle_deg, reps, 3.0)
    (lighter,) = [line for line in ax.lines if line.get_color() == plots.SETTLING_COLOUR]
    drawn_t = t_s[np.isfinite(np.asarray(lighter.get_ydata(), dtype=float))]
    assert set(np.round(drawn_t, 1)) == set(np.round(np.concatenate([np.arange(1.0, 10.05, 0.1), np.arange(41.0, 50.05, 0.1)]), 1))
    assert "(to 9.9 s and again in each new set)" in _unwrapped(ax)
