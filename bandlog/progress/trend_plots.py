"""Charts of progress over weeks: time under tension, eccentric duration, force, tempo mix, reps on
tempo, effort and pain as rated, asymmetry.

Each reads the session index's table (per session, or per week through bandlog.progress.trends),
draws one colour per leg, and draws the week still running hollow, saying so, so a low weekly sum
never reads as a drop. The conventions every chart keeps are in bandlog.progress.chart_style; one
session's charts are bandlog.progress.plots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bandlog.core.errors import ConfigError
from bandlog.core.results import ADHERENCE_TOLERANCE, FAST_UNDER_S
from bandlog.core.text_safety import chart_text
from bandlog.progress.chart_style import TARGET_COLOUR, TEMPO_COLOURS, axes_for, legend, no_data, tidy
from bandlog.progress.index_rows import target_band_s
from bandlog.progress.reliability import Z95, asymmetry_noise, changes, row_sem
from bandlog.progress.trends import (
    ASYMMETRY_FORMULA,
    TEMPO_COUNT_COLUMNS,
    WEEK_DAYS,
    by_grouping,
    running_rows,
    weekly,
    weekly_asymmetry,
)

LEG_COLOURS = {"left": "#1f6fb4", "right": "#e07b00", "unknown": "#7f7f7f"}
"""Left is always blue and right always orange, in every chart."""
TEMPO_LABELS = {"slow": "slow (at or over the target)", "moderate": f"moderate ({FAST_UNDER_S:g} s up to the target)",
                "fast": f"fast (under {FAST_UNDER_S:g} s)"}
"""Legend words for the tempo classes: what each one means (bandlog.core.results.tempo_class)."""
METRIC_LABELS = {"peak_force_n": "peak force (the week's best)", "mean_force_n": "mean eccentric force",
                 "tut_ecc_s": "eccentric time under tension", "mean_ecc_duration_s": "mean eccentric duration"}
"""Words for the weekly columns of bandlog.progress.trends.weekly (never the column names themselves)."""
PARTIAL_GID = "partial-week"
"""gid of every artist that draws the week still running (hollow bars and markers, its label)."""
PARTIAL_HATCH = "////"
NOISE_GID = "noise-band"
"""gid of the confidence bands (value +- 1.96 SEM, bandlog.progress.reliability)."""
WITHIN_NOISE_GID = "within-noise"
"""gid of every artist marking a change or a left/right difference within noise (under its MDC95)."""
WITHIN_NOISE_COLOUR = "#c8c8c8"
PROGRESS_METRICS = ("tut", "duration", "force", "tempo", "adherence", "effort", "asymmetry")
"""Panels of the progress figure, in order; `bandlog progress --metric` picks among these."""


SINGLE_DATE_MARGIN_DAYS = 4.0
"""A chart of one session or week spans this many days either side of it (autoscale made it years)."""


def _date_axis(ax: Axes, by: str) -> None:
    """Dates on x as '02 Nov' (with the year when the range spans years); weekly charts tick on Mondays.
    A chart of a single date gets a few days either side instead of matplotlib's default of years."""
    data_low, data_high = ax.dataLim.intervalx
    if math.isfinite(data_low) and math.isfinite(data_high) and data_high - data_low < 1.0:
        middle = 0.5 * (data_low + data_high)
        ax.set_xlim(middle - SINGLE_DATE_MARGIN_DAYS, middle + SINGLE_DATE_MARGIN_DAYS)
    low, high = ax.get_xlim()
    same_year = mdates.num2date(low).year == mdates.num2date(high).year
    most = 8 if same_year else 6  # labels with the year are wider
    locator: mdates.DateLocator = mdates.AutoDateLocator(minticks=3, maxticks=most)
    if by == "week":
        weeks = max(1, int((high - low) / 7))
        # every n-th Monday, by a WEEKLY rule: WeekdayLocator steps n *days* and keeps Mondays, so an n
        # that is a multiple of 7 (histories of 49-56, 105-112... weeks) found no Monday and searched to year 9999
        rule = mdates.rrulewrapper(mdates.WEEKLY, byweekday=mdates.MO, interval=max(1, -(-weeks // most)))
        locator = mdates.RRuleLocator(rule)
        ax.set_xlabel("week starting", fontsize=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b" if same_year else "%d %b %Y"))


def _by_leg(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    order = ["left", "right", "unknown"]
    legs = sorted(table["leg"].unique(), key=lambda leg: order.index(leg) if leg in order else len(order))
    return [(leg, table[table["leg"] == leg]) for leg in legs]


def _mark_partial_weeks(ax: Axes, table: pd.DataFrame, x_col: str, bars: bool) -> list[Artist]:
    """Say on the chart which week is still running and how many of its days are in: a label over it,
    and the legend handle for its hollow style (returned), so a low weekly sum never reads as a drop."""
    partial = table[running_rows(table)]
    if partial.empty:
        return []
    for week, days in partial.groupby(x_col)["week_days"].min().items():
        ax.text(week, 0.98, f"week so far\n({int(days)} of {WEEK_DAYS} days)", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8, color="#555555", gid=PARTIAL_GID,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0})
    label = "hollow: week so far"
    handle: Patch | Line2D = (Patch(facecolor="white", edgecolor="#555555", hatch=PARTIAL_HATCH, label=label) if bars
                              else Line2D([], [], ls="none", marker="o", ms=5, color="#555555", mfc="white", label=label))
    return [handle]


def _leg_series(ax: Axes, table: pd.DataFrame, x_col: str, y_col: str, bars: bool = False, ls: str = "-",
                marker: str = "o", label_suffix: str = "") -> None:
    """One colour per leg: side-by-side bars (weekly volume) or lines with markers. The week still
    running is drawn hollow (hatched bars, open markers not joined to the line): it is not a whole week."""
    legs = _by_leg(table)
    for i, (leg, rows) in enumerate(legs):
        colour = LEG_COLOURS.get(leg, LEG_COLOURS["unknown"])
        label = chart_text(f"{leg}{label_suffix}")
        partial = running_rows(rows)
        whole, running = rows[~partial], rows[partial]
        if bars:
            offset = pd.Timedelta(days=(i - (len(legs) - 1) / 2) * 2.2)
            ax.bar(whole[x_col] + offset, whole[y_col], width=2.0, color=colour, label=label)
            ax.bar(running[x_col] + offset, running[y_col], width=2.0, facecolor="white", edgecolor=colour,
                   hatch=PARTIAL_HATCH, lw=1.0, gid=PARTIAL_GID)
            continue
        ax.plot(whole[x_col], whole[y_col], ls=ls, marker=marker, ms=4, color=colour, label=label)
        if not running.empty:
            ax.plot(running[x_col], running[y_col], ls="none", marker=marker, ms=5, color=colour, mfc="white",
                    gid=PARTIAL_GID)


def _estimated_note(ax: Axes, sessions: pd.DataFrame) -> None:
    """Under a chart of eccentric timings: how many sessions were timed from force alone (estimated)."""
    if "mode" not in sessions:
        return
    force_only = int((sessions["mode"] == "force").sum())
    if force_only:
        note = f"{force_only} of {len(sessions)} sessions force only: their eccentric timings are estimated"
        ax.set_xlabel(f"{ax.get_xlabel()}  ·  {note}" if ax.get_xlabel() else note, fontsize=8)


def _noise_marks(ax: Axes, table: pd.DataFrame, x_col: str, y_col: str, noise: pd.DataFrame | None,
                 marker: str = "o") -> list[Artist]:
    """Each leg's confidence band (value +- 1.96 SEM, its own noise: bandlog.progress.reliability) and a
    grey-filled marker on each point whose change from the leg's previous point is within noise (under
    the MDC95); the legend handles for both, or none when no leg's noise is known yet."""
    if noise is None or table.empty:
        return []
    sem = row_sem(table, noise, y_col)
    if sem.isna().all():
        if not any(text.get_gid() == NOISE_GID for text in ax.texts):  # said once, not once per series
            ax.text(0.99, 0.02, "noise not known yet (two sessions of a leg needed): no bands", transform=ax.transAxes,
                    ha="right", va="bottom", fontsize=7, color="#555555", gid=NOISE_GID)
        return []
    for leg, rows in _by_leg(table):
        colour = LEG_COLOURS.get(leg, LEG_COLOURS["unknown"])
        rows = rows.sort_values(x_col)
        value = pd.to_numeric(rows[y_col], errors="coerce")
        half = Z95 * sem[rows.index]
        ax.fill_between(rows[x_col], value - half, value + half, color=colour, alpha=0.12, lw=0, gid=NOISE_GID)
    steps = changes(table, noise, y_col, x_col)
    running = set(table.loc[running_rows(table), x_col])  # already drawn hollow: the week is not whole yet
    calm = steps[~steps["real"].astype(bool) & steps["mdc"].notna() & ~steps[x_col].isin(running)]
    for leg, rows in calm.groupby("leg"):
        ax.plot(rows[x_col], rows["after"], ls="none", marker=marker, ms=5, mfc=WITHIN_NOISE_COLOUR,
                mec=LEG_COLOURS.get(str(leg), LEG_COLOURS["unknown"]), gid=WITHIN_NOISE_GID)
    return [Patch(facecolor=LEG_COLOURS["left"], alpha=0.2, label=f"shade round a line: ±{Z95:g} SEM (95 %, the leg's own noise)"),
            Line2D([], [], ls="none", marker=marker, ms=5, mfc=WITHIN_NOISE_COLOUR, mec="#555555",
                   label="grey: change from the point before within noise (< MDC95)")]


def plot_tut(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Eccentric time under tension (s) per session or per week, per leg; the running week hollow."""
    ax = axes_for(ax)
    title = f"Eccentric time under tension per {by}"
    if sessions.empty:
        return no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "tut_ecc_s", bars=by == "week")
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=by == "week"))
    ax.set_ylim(bottom=0)
    tidy(ax, title, "eccentric time under tension (s)")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_ecc_duration(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None,
                      noise: pd.DataFrame | None = None) -> Axes:
    """Mean eccentric duration (s) per session or week and leg, against the target +- 20 % band; with
    the legs' `noise` (reliability.noise_table), confidence bands and changes within noise marked."""
    ax = axes_for(ax)
    title = f"Mean eccentric duration per {by} vs target ±{ADHERENCE_TOLERANCE:.0%}"
    if sessions.empty:
        return no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    target = table.groupby(x_col)["target_ecc_s"].mean().sort_index()
    ax.fill_between(target.index, *target_band_s(target),
                    step="mid", color=TARGET_COLOUR, alpha=0.12, lw=0, label=f"target band (target ±{ADHERENCE_TOLERANCE:.0%})")
    ax.step(target.index, target, where="mid", color=TARGET_COLOUR, ls="--", lw=1, label="target")
    _leg_series(ax, table, x_col, "mean_ecc_duration_s")
    marks = _noise_marks(ax, table, x_col, "mean_ecc_duration_s", noise)
    ax.set_ylim(bottom=0)
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False) + marks)
    tidy(ax, title, "mean eccentric duration (s)")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_force_trend(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None,
                     noise: pd.DataFrame | None = None) -> Axes:
    """Peak force (solid, circles) and mean eccentric force (dashed, squares) in N, per session or week
    and leg; per week the peak is the week's best session peak (trends.weekly), the mean an average.
    With the legs' `noise` (reliability.noise_table), confidence bands and changes within noise marked."""
    ax = axes_for(ax)
    title = f"Peak and mean eccentric force per {by}"
    if by == "week":
        title = "Peak force (the week's best) and mean eccentric force (the week's average)"
    if sessions.empty:
        return no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    if table[["peak_force_n", "mean_force_n"]].isna().all().all():  # IMU only, or no band on
        return no_data(ax, title, "no band force measured")
    _leg_series(ax, table, x_col, "peak_force_n", label_suffix=" peak" + (", best" if by == "week" else ""))
    _leg_series(ax, table, x_col, "mean_force_n", ls="--", marker="s", label_suffix=" mean" + (", average" if by == "week" else ""))
    marks = _noise_marks(ax, table, x_col, "peak_force_n", noise)
    _noise_marks(ax, table, x_col, "mean_force_n", noise, marker="s")
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False) + marks)
    tidy(ax, title, "force (N)")
    _date_axis(ax, by)
    return ax


def plot_tempo_mix(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Reps per tempo class (TEMPO_LABELS), stacked, per session or week (legs shown together)."""
    ax = axes_for(ax)
    title = f"Reps per tempo class per {by}"
    if sessions.empty:
        return no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    counts = table.groupby(x_col)[list(TEMPO_COUNT_COLUMNS.values())].sum().sort_index()
    running = set(table.loc[running_rows(table), x_col])
    width = 5.0 if by == "week" else 0.8
    bottom = np.zeros(len(counts))
    for tempo, column in TEMPO_COUNT_COLUMNS.items():
        bars = ax.bar(counts.index, counts[column], width=width, bottom=bottom, color=TEMPO_COLOURS[tempo],
                      label=TEMPO_LABELS[tempo])
        for x, bar in zip(counts.index, bars):
            if x in running:
                bar.set(facecolor="white", edgecolor=TEMPO_COLOURS[tempo], hatch=PARTIAL_HATCH, gid=PARTIAL_GID)
        bottom += counts[column].to_numpy(dtype=float)
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=True))
    tidy(ax, title, "reps")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_adherence(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Share of the timed eccentrics on tempo (target +- 20 %, index_rows.adheres), per session or
    week, per leg: tensr's adherence, the number a plan is judged by."""
    ax = axes_for(ax)
    title = f"Eccentrics on tempo (target ±{ADHERENCE_TOLERANCE:.0%}) per {by}"
    if sessions.empty or pd.to_numeric(sessions["adherence"], errors="coerce").isna().all():
        return no_data(ax, title + ": no timed eccentric yet")
    table, x_col = by_grouping(sessions, by)
    table = table.assign(adherence_pct=100.0 * pd.to_numeric(table["adherence"], errors="coerce"))
    _leg_series(ax, table, x_col, "adherence_pct")
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False))
    ax.set_ylim(0, 105)
    tidy(ax, title, "eccentrics on tempo (%)")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_effort(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """How the sets felt: RPE (solid) and pain (dashed), 0-10, per session or week, per leg, as the
    user rated them after each set (kMeter's per-set RPE and pain): read beside the time under tension."""
    ax = axes_for(ax)
    title = f"Effort and pain per {by} (0-10, as rated after each set)"
    rated = any(column in sessions and pd.to_numeric(sessions[column], errors="coerce").notna().any() for column in ("rpe", "pain"))
    if sessions.empty or not rated:
        no_data(ax, title + ": no set rated yet")
        ax.set_ylabel("score (0-10)")  # the scale it will have, so the empty panel still says what it is
        return ax
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "rpe", label_suffix=" RPE")
    _leg_series(ax, table, x_col, "pain", ls="--", marker="s", label_suffix=" pain")
    legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False))
    ax.set_ylim(0, 10.5)
    tidy(ax, title, "score (0-10)")
    _date_axis(ax, by)
    return ax


def plot_asymmetry(sessions: pd.DataFrame, metric: str = "peak_force_n", ax: Axes | None = None,
                   noise: pd.DataFrame | None = None) -> Axes:
    """Weekly left/right asymmetry (%) of `metric`; formula: trends.ASYMMETRY_FORMULA (Bishop % difference).
    With the legs' `noise` (reliability.noise_table), a difference within the MDC95 of a difference (the
    two legs' SEMs combined) is drawn grey and cross-hatched: not a real asymmetry."""
    ax = axes_for(ax)
    title = f"Left/right asymmetry per week, {METRIC_LABELS.get(metric, metric)}"
    table = weekly_asymmetry(sessions, metric) if not sessions.empty else pd.DataFrame()
    if table.empty:
        return no_data(ax, title + ": needs both legs in a week")
    colours = [LEG_COLOURS["left"] if v >= 0 else LEG_COLOURS["right"] for v in table["asymmetry_pct"]]
    bars = ax.bar(table["week"], table["asymmetry_pct"], width=5.0, color=colours)
    calm = _asymmetry_within_noise(sessions, table, metric, noise)
    for bar, colour, running, within in zip(bars, colours, running_rows(table), calm):
        if running:
            bar.set(facecolor="white", edgecolor=colour, hatch=PARTIAL_HATCH, gid=PARTIAL_GID)
        elif within:
            bar.set(facecolor=WITHIN_NOISE_COLOUR, edgecolor=colour, hatch="xx", gid=WITHIN_NOISE_GID)
    partial_handles = _mark_partial_weeks(ax, table, "week", bars=True)
    if calm.any():
        partial_handles.append(Patch(facecolor=WITHIN_NOISE_COLOUR, edgecolor="#555555", hatch="xx",
                                     label="grey: within noise (< MDC95 of a left/right difference)"))
    ax.axhline(0, color="#333333", lw=0.8)
    for level in (-10, 10):
        ax.axhline(level, color=TARGET_COLOUR, ls=":", lw=0.8)
    limit = max(15.0, float(np.nanmax(np.abs(table["asymmetry_pct"]))) * 1.2)
    ax.set_ylim(-limit, limit)
    ax.text(0.01, 0.97, "left stronger ↑", transform=ax.transAxes, va="top", fontsize=8, color=LEG_COLOURS["left"])
    ax.text(0.01, 0.03, "right stronger ↓", transform=ax.transAxes, va="bottom", fontsize=8, color=LEG_COLOURS["right"])
    if partial_handles:
        legend(ax, handles=partial_handles)
    tidy(ax, title, "left/right difference (%)")
    _date_axis(ax, "week")
    ax.set_xlabel(f"week starting  ·  {ASYMMETRY_FORMULA} (dotted: ±10 %)", fontsize=8)
    return ax


def _asymmetry_within_noise(sessions: pd.DataFrame, table: pd.DataFrame, metric: str, noise: pd.DataFrame | None) -> np.ndarray:
    """For each week of `table` (weekly_asymmetry), True when its left/right difference is within noise."""
    if noise is None or noise.empty:
        return np.zeros(len(table), dtype=bool)
    calls = asymmetry_noise(weekly(sessions), noise, metric).set_index("week")
    known = table["week"].map(calls["mdc"]).notna()
    real = table["week"].map(calls["real"]).fillna(False).astype(bool)
    return (known & ~real).to_numpy()


def progress_figure(sessions: pd.DataFrame, by: str = "week", metrics: Sequence[str] = PROGRESS_METRICS, title: str = "",
                    noise: pd.DataFrame | None = None) -> Figure:
    """The progress panels named in `metrics` (see PROGRESS_METRICS), stacked with a shared date axis;
    `noise` (reliability.noise_table) adds confidence bands and marks what is within noise."""
    unknown = [m for m in metrics if m not in PROGRESS_METRICS]
    if unknown or not metrics:
        raise ConfigError(f"unknown progress metric {unknown or metrics!r}; choose from {', '.join(PROGRESS_METRICS)}")
    fig = Figure(figsize=(10, 3.0 * len(metrics) + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(metrics), 1))
    for ax, metric in zip(axes, metrics):
        progress_chart(metric, sessions, by, ax=ax, noise=noise)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def progress_chart(metric: str, sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None,
                   noise: pd.DataFrame | None = None) -> Axes:
    """One progress panel by name (PROGRESS_METRICS); `noise` as progress_figure."""
    if metric == "tut":
        return plot_tut(sessions, by, ax=ax)
    if metric == "duration":
        return plot_ecc_duration(sessions, by, ax=ax, noise=noise)
    if metric == "force":
        return plot_force_trend(sessions, by, ax=ax, noise=noise)
    if metric == "tempo":
        return plot_tempo_mix(sessions, by, ax=ax)
    if metric == "adherence":
        return plot_adherence(sessions, by, ax=ax)
    if metric == "effort":
        return plot_effort(sessions, by, ax=ax)
    if metric == "asymmetry":
        return plot_asymmetry(sessions, ax=ax, noise=noise)
    raise ConfigError(f"unknown progress metric {metric!r}; choose from {', '.join(PROGRESS_METRICS)}")
