"""Charts draw what the tables say: one shaded span and label per rep, one series per leg, the target band."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from progress_fakes import FakeBackend, rep_table, write_weeks

from bandlog.core.errors import ConfigError
from bandlog.progress import index, plots, trend_plots, trends


def _bars(ax: Axes) -> list[Rectangle]:
    return [bar for container in ax.containers for bar in container.patches]


def _spans(ax: Axes) -> list[Rectangle]:
    """Shaded spans (axvspan/axhspan): every patch that is not a bar."""
    bars = _bars(ax)
    return [p for p in ax.patches if isinstance(p, Rectangle) and p not in bars]


def _samples(duration_s: float = 45.0, sets: int = 1) -> pd.DataFrame:
    t = np.arange(0.0, duration_s, 0.01)
    frames = [pd.DataFrame({"t_s": t, "force_n": 30 + 20 * np.sin(t), "set": s}) for s in range(1, sets + 1)]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def sessions(tmp_path: Path, backend: FakeBackend) -> pd.DataFrame:
    write_weeks(tmp_path, weeks=3)
    backend.update(tmp_path)
    return index.load_sessions(tmp_path)


def test_force_chart_shades_and_labels_every_eccentric_phase() -> None:
    reps = rep_table([3.2, 1.4, 4.0, 2.5])
    ax = plots.plot_force(_samples(), reps, 3.0)
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 4500
    spans = _spans(ax)
    assert len(spans) == 4
    assert [round(s.get_x(), 6) for s in spans] == list(reps["ecc_start_s"])
    assert [round(s.get_width(), 6) for s in spans] == pytest.approx(list(reps["ecc_duration_s"]))
    assert [t.get_text() for t in ax.texts] == ["3.2 s", "1.4 s", "4.0 s", "2.5 s"]
    short = mcolors.to_rgb(plots.TARGET_COLOURS["short"])
    assert mcolors.to_rgb(spans[1].get_facecolor()) == pytest.approx(short)
    assert "(N)" in ax.get_ylabel() and "(s)" in ax.get_xlabel()


def test_rep_duration_bars_are_coloured_by_the_target_band() -> None:
    reps = rep_table([3.2, 1.4, 2.5, 3.0], target_ecc_s=3.0)
    ax = plots.plot_rep_durations(reps, 3.0)
    bars = _bars(ax)
    assert [b.get_height() for b in bars] == pytest.approx([3.2, 1.4, 2.5, 3.0])
    expected = [plots.TARGET_COLOURS[t] for t in ("on_target", "short", "on_target", "on_target")]
    assert [mcolors.to_hex(b.get_facecolor()) for b in bars] == expected
    target_lines = [line for line in ax.lines if list(line.get_ydata()) == [3.0, 3.0]]
    assert len(target_lines) == 1
    band = _spans(ax)
    assert len(band) == 1 and band[0].get_height() == pytest.approx(1.2)  # 2.4..3.6 s
    assert "target 3 s" in ax.get_title(loc="left")


def test_session_figure_has_a_knee_panel_only_when_given_one() -> None:
    reps = rep_table([3.0, 3.5])
    without = plots.session_figure(_samples(20.0), reps, 3.0)
    assert isinstance(without, Figure) and len(without.axes) == 2
    t = np.arange(0, 20, 0.01)
    knee = plots.session_figure(_samples(20.0), reps, 3.0, knee=(t, 50 + 40 * np.cos(t), "angle"), title="x")
    assert len(knee.axes) == 3
    assert knee.axes[1].get_ylabel() == "knee flexion angle (°)" and len(_spans(knee.axes[1])) == 2
    with pytest.raises(ConfigError):
        plots.plot_knee(t, t, reps, 3.0, kind="torque")


def test_sets_with_restarting_clocks_are_stitched_side_by_side() -> None:
    samples = _samples(30.0, sets=2)
    reps = pd.concat([rep_table([3.0]), rep_table([4.0], set_number=2)], ignore_index=True)
    assert plots.set_offsets_s(samples) == {1: 0.0, 2: pytest.approx(30.0 - 0.01 + plots.SET_GAP_S)}
    stitched, stitched_reps = plots.stitch_sets(samples, reps)
    assert stitched["t_s"].is_monotonic_increasing
    assert stitched_reps["ecc_start_s"].iloc[1] == pytest.approx(3.5 + 29.99 + plots.SET_GAP_S)
    assert plots.set_offsets_s(samples.assign(t_s=samples["t_s"] + 40 * samples["set"])) == {1: 0.0, 2: 0.0}


def test_tut_chart_per_week_has_one_bar_per_leg_and_week(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_tut(sessions, by="week")
    bars = ax.patches
    assert len(bars) == 3 * 2
    colours = {mcolors.to_hex(b.get_facecolor()) for b in bars}
    assert colours == {trend_plots.LEG_COLOURS["left"], trend_plots.LEG_COLOURS["right"]}
    weekly = trends.weekly(sessions)
    assert sorted(b.get_height() for b in bars) == pytest.approx(sorted(weekly["tut_ecc_s"]))
    assert ax.get_ylabel() == "eccentric time under tension (s)"


def test_tut_chart_per_session_has_a_line_per_leg(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_tut(sessions, by="session")
    assert [line.get_label() for line in ax.lines] == ["left", "right"]
    assert all(len(line.get_xdata()) == 6 for line in ax.lines)
    assert [mcolors.to_hex(line.get_color()) for line in ax.lines] == [trend_plots.LEG_COLOURS["left"], trend_plots.LEG_COLOURS["right"]]


def test_duration_chart_shows_the_target_band(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_ecc_duration(sessions, by="week")
    assert len(ax.collections) == 1  # the ±20 % band
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(2.4) and band[:, 1].max() == pytest.approx(3.6)
    leg_lines = [line for line in ax.lines if line.get_label() in ("left", "right")]
    assert len(leg_lines) == 2 and all(len(line.get_xdata()) == 3 for line in leg_lines)
    means = trends.weekly(sessions).query("leg == 'left'")["mean_ecc_duration_s"]
    assert list(leg_lines[0].get_ydata()) == pytest.approx(list(means))


def test_force_chart_draws_peak_and_mean_per_leg(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_force_trend(sessions, by="session")
    assert sorted(line.get_label() for line in ax.lines) == ["left mean", "left peak", "right mean", "right peak"]
    assert ax.get_ylabel() == "force (N)"


def test_tempo_chart_stacks_the_three_classes(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_tempo_mix(sessions, by="week")
    assert len(ax.patches) == 3 * 3
    totals: dict[float, float] = {}
    for bar in ax.patches:
        totals[bar.get_x()] = totals.get(bar.get_x(), 0.0) + bar.get_height()
    assert list(totals.values()) == [20.0, 20.0, 20.0]  # 2 sessions x 2 legs x 5 reps a week


def test_asymmetry_chart_states_its_formula_and_sign(sessions: pd.DataFrame) -> None:
    ax = trend_plots.plot_asymmetry(sessions)
    assert len(ax.patches) == 3
    left = [(60 + 5 * w) * 1.1 + 4 for w in range(3)]  # session peak = the 5th rep's, base + 4 N
    right = [60 + 5 * w + 4 for w in range(3)]
    expected = [100 * (lf - r) / lf for lf, r in zip(left, right)]
    assert [b.get_height() for b in ax.patches] == pytest.approx(expected)
    assert "stronger" in ax.get_xlabel() and "left" in ax.get_xlabel()
    one_leg = sessions[sessions["leg"] == "left"]
    assert "needs both legs" in trend_plots.plot_asymmetry(one_leg).get_title(loc="left")


def test_progress_figure_has_one_panel_per_metric(sessions: pd.DataFrame) -> None:
    fig = trend_plots.progress_figure(sessions, by="week")
    assert len(fig.axes) == len(trend_plots.PROGRESS_METRICS)
    assert all(ax.get_title(loc="left") for ax in fig.axes)
    assert len(trend_plots.progress_figure(sessions, metrics=["tut", "asymmetry"]).axes) == 2
    with pytest.raises(ConfigError, match="unknown progress metric"):
        trend_plots.progress_figure(sessions, metrics=["speed"])


def test_charts_of_an_empty_table_say_no_data() -> None:
    empty = pd.DataFrame(columns=index.SESSION_COLUMNS)
    for metric in trend_plots.PROGRESS_METRICS:
        ax = trend_plots.progress_chart(metric, empty)
        assert any("no data" in t.get_text() for t in ax.texts)


def test_cli_metric_names_match_the_chart_names() -> None:
    from bandlog.cli.commands import progress

    assert progress.METRICS == trend_plots.PROGRESS_METRICS


def test_asymmetry_formula_is_signed_percentage_difference() -> None:
    assert trends.asymmetry_pct(100.0, 80.0) == pytest.approx(20.0)
    assert trends.asymmetry_pct(80.0, 100.0) == pytest.approx(-20.0)
    assert np.isnan(trends.asymmetry_pct(0.0, 0.0))
    assert np.isnan(trends.asymmetry_pct(np.nan, 50.0))


def test_weekly_sums_volume_and_weights_durations_by_reps(sessions: pd.DataFrame) -> None:
    table = trends.weekly(sessions)
    assert len(table) == 6 and (table["sessions"] == 2).all() and (table["reps"] == 10).all()
    first = table.iloc[0]
    same = sessions[(sessions["week"] == first["week"]) & (sessions["leg"] == first["leg"])]
    assert first["tut_ecc_s"] == pytest.approx(same["tut_ecc_s"].sum())
    assert first["mean_ecc_duration_s"] == pytest.approx(same["tut_ecc_s"].sum() / 10)
    with pytest.raises(ConfigError):
        trends.by_grouping(sessions, "month")


@pytest.mark.parametrize("weeks", [50, 106])
def test_weekly_charts_of_a_long_history_tick_on_mondays(sessions: pd.DataFrame, weeks: int) -> None:
    """49-56 or 105-112 weeks put 7 or 14 weeks between ticks: matplotlib's WeekdayLocator steps that many
    days and keeps Mondays, so it found none and searched to the year 9999 (a minute per chart)."""
    row = sessions.iloc[[0]]
    shifted = [row.assign(date=row["date"] + pd.Timedelta(weeks=w), week=row["week"] + pd.Timedelta(weeks=w)) for w in range(weeks)]
    ax = trend_plots.progress_chart("tut", pd.concat(shifted, ignore_index=True), "week")
    ticks = [mdates.num2date(x) for x in ax.get_xticks()]
    assert 3 <= len(ticks) <= 10 and {t.weekday() for t in ticks} == {0}


@pytest.mark.parametrize("by", ["session", "week"])
def test_a_single_date_spans_days_not_years(tmp_path: Path, backend: FakeBackend, by: str) -> None:
    """A first session alone used to get matplotlib's default range: an axis from 2024 to 2028."""
    write_weeks(tmp_path, weeks=1, legs=("left",))
    backend.update(tmp_path)
    first = index.load_sessions(tmp_path).iloc[:1]
    ax = trend_plots.plot_ecc_duration(first, by=by, ax=Figure().add_subplot())
    low, high = ax.get_xlim()
    assert high - low == pytest.approx(2 * trend_plots.SINGLE_DATE_MARGIN_DAYS)


def test_a_history_without_band_force_says_so_instead_of_an_empty_date_axis(sessions: pd.DataFrame) -> None:
    no_force = sessions.assign(peak_force_n=np.nan, mean_force_n=np.nan)
    ax = trend_plots.plot_force_trend(no_force, by="week", ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.texts] == ["no band force measured"] and not ax.lines
