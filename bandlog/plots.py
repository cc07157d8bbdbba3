"""Charts of one session and of progress over weeks.

Every function reads metrics tables (the analyze table, the session index) and never re-runs
detection. Each takes `ax=None` and returns the axes it drew on (multi-panel ones return a Figure);
none calls plt.show(). New figures are plain `matplotlib.figure.Figure`s, not pyplot figures, so a
long-running process or a test that draws hundreds of charts leaks nothing; Jupyter still shows
a returned Figure inline.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bandlog.errors import ConfigError
from bandlog.explain import no_eccentric_label
from bandlog.index import ADHERENCE_TOLERANCE
from bandlog.results import NO_TEMPO, TEMPO_CLASSES
from bandlog.text_safety import chart_text
from bandlog.trends import ASYMMETRY_FORMULA, TEMPO_COUNT_COLUMNS, by_grouping, weekly_asymmetry

LEG_COLOURS = {"left": "#1f6fb4", "right": "#e07b00", "unknown": "#7f7f7f"}
"""Left is always blue and right always orange, in every chart."""
TEMPO_COLOURS = {"slow": "#2a9d55", "moderate": "#f0b429", "fast": "#d1495b", NO_TEMPO: "#8c8c8c"}
NO_ECCENTRIC_HATCH = "//"
"""A cycle without an eccentric (tempo 'none') is drawn hatched grey over its whole cycle, not dropped."""
TARGET_COLOUR = "#444444"
METRIC_LABELS = {"peak_force_n": "peak force", "mean_force_n": "mean eccentric force", "tut_ecc_s": "eccentric TUT",
                 "mean_ecc_duration_s": "mean eccentric duration"}
PROGRESS_METRICS = ("tut", "duration", "force", "tempo", "asymmetry")
"""Panels of the progress figure, in order; `bandlog progress --metric` picks among these."""


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 3.5)) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").add_subplot()


def _tidy(ax: Axes, title: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def _no_data(ax: Axes, title: str) -> Axes:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#888888")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _date_axis(ax: Axes, by: str) -> None:
    """Dates on x as '02 Nov' (with the year when the range spans years); weekly charts tick on Mondays."""
    low, high = ax.get_xlim()
    locator: mdates.DateLocator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    if by == "week":
        weeks = max(1, int((high - low) / 7))
        locator = mdates.WeekdayLocator(byweekday=mdates.MO, interval=max(1, -(-weeks // 8)))
        ax.set_xlabel("week starting", fontsize=9)
    same_year = mdates.num2date(low).year == mdates.num2date(high).year
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b" if same_year else "%d %b %Y"))


def _legend(ax: Axes, **kwargs: object) -> None:
    """Legends sit outside the plot on the right, so they never cover data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8, **kwargs)


# --- one session -------------------------------------------------------------------------------

SET_GAP_S = 10.0
"""Blank time drawn between sets whose clocks restart, so they sit side by side on one axis."""


def set_offsets_s(samples: pd.DataFrame) -> dict[int, float]:
    """Seconds to add to each set's times so sets follow each other; 0 where a set's clock runs on."""
    if "set" not in samples or samples.empty:
        return {0: 0.0}
    offsets: dict[int, float] = {}
    previous_end = -np.inf
    for set_index, rows in samples.groupby("set", sort=True):
        start, end = float(rows["t_s"].min()), float(rows["t_s"].max())
        offset = 0.0 if start > previous_end else previous_end + SET_GAP_S - start
        offsets[int(set_index)] = offset
        previous_end = end + offset
    return offsets


def stitch_sets(samples: pd.DataFrame, reps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies of the samples and reps tables with set times shifted by set_offsets_s (one time axis)."""
    offsets = set_offsets_s(samples)
    sample_shift = samples["set"].map(offsets).fillna(0.0) if "set" in samples else 0.0
    samples = samples.assign(t_s=samples["t_s"] + sample_shift)
    if "set" in reps and not reps.empty:
        rep_shift = reps["set"].map(offsets).fillna(0.0)
        times = ("start_s", "end_s", "ecc_start_s", "ecc_end_s")
        reps = reps.assign(**{c: pd.to_numeric(reps[c], errors="coerce") + rep_shift for c in times if c in reps})
    return samples, reps


def _float(value: object) -> float:
    """A table cell as a float, NaN for None or anything that is not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")



def plot_force(samples: pd.DataFrame, reps: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Band force over time, each eccentric phase shaded in its tempo colour and labelled with its duration."""
    ax = _axes(ax)
    title = "Band force with eccentric phases"
    if samples.empty or "force_n" not in samples or samples["force_n"].isna().all():
        return _no_data(ax, title)
    ax.plot(samples["t_s"], samples["force_n"], color="#333333", lw=0.9)
    low, high = float(samples["force_n"].min()), float(samples["force_n"].max())
    ax.set_ylim(min(0.0, low), high + 0.15 * (high - min(0.0, low)))  # headroom for the duration labels
    _shade_reps(ax, reps, label=True)
    _tidy(ax, title, "force (N)")
    ax.set_xlabel("time (s)")
    return ax


def plot_knee(t_s: np.ndarray, values: np.ndarray, reps: pd.DataFrame, kind: str = "angle", ax: Axes | None = None) -> Axes:
    """Knee angle (kind='angle', deg) or angular rate (kind='rate', deg/s) with the eccentric phases shaded."""
    if kind not in ("angle", "rate"):
        raise ConfigError(f"knee chart kind must be 'angle' or 'rate', not {kind!r}")
    ax = _axes(ax)
    ax.plot(t_s, values, color="#5a3d8a", lw=0.9)
    _shade_reps(ax, reps, label=False)
    if kind == "angle":
        _tidy(ax, "Knee flexion angle", "angle (deg)")
    else:
        _tidy(ax, "Knee angular rate", "rate (deg/s)")
    ax.set_xlabel("time (s)")
    return ax


def _shade_reps(ax: Axes, reps: pd.DataFrame, label: bool) -> None:
    """Each eccentric in its tempo colour; a cycle without one hatched grey from start_s to end_s."""
    for rep in reps.itertuples(index=False):
        ecc_start_s, ecc_end_s = _float(rep.ecc_start_s), _float(rep.ecc_end_s)
        if np.isfinite(ecc_start_s) and np.isfinite(ecc_end_s):
            colour = TEMPO_COLOURS.get(str(rep.tempo), "#999999")
            ax.axvspan(ecc_start_s, ecc_end_s, color=colour, alpha=0.25, lw=0)
            text, middle_s = f"{_float(rep.ecc_duration_s):.1f} s", (ecc_start_s + ecc_end_s) / 2
        else:
            start_s, end_s = _float(rep.start_s), _float(getattr(rep, "end_s", None))
            if not (np.isfinite(start_s) and np.isfinite(end_s)):
                continue
            ax.axvspan(start_s, end_s, facecolor="none", edgecolor=TEMPO_COLOURS[NO_TEMPO], hatch=NO_ECCENTRIC_HATCH,
                       alpha=0.6, lw=0)
            text, middle_s = no_eccentric_label(getattr(rep, "flags", "")), (start_s + end_s) / 2
        if label:
            ax.text(
                middle_s, 0.97, text, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=8,
                color="#222222",
            )


def plot_rep_durations(reps: pd.DataFrame, target_ecc_s: float, ax: Axes | None = None) -> Axes:
    """Eccentric duration per rep as bars coloured by tempo class, against the target +- 20 % band."""
    ax = _axes(ax)
    title = f"Eccentric duration per rep (target {target_ecc_s:g} s)"
    if reps.empty:
        return _no_data(ax, title)
    x = np.arange(1, len(reps) + 1)
    durations = pd.to_numeric(reps["ecc_duration_s"], errors="coerce").to_numpy(dtype=float)
    timed = np.isfinite(durations)
    colours = [TEMPO_COLOURS.get(str(t), "#999999") for t in reps["tempo"]]
    ax.bar(x[timed], durations[timed], color=[c for c, t in zip(colours, timed) if t], width=0.7, alpha=0.9, zorder=2)
    flags = reps["flags"].to_numpy() if "flags" in reps else np.full(len(reps), "")
    for position, flag_cell in zip(x[~timed], flags[~timed]):
        ax.axvspan(position - 0.35, position + 0.35, facecolor="none", edgecolor=TEMPO_COLOURS[NO_TEMPO],
                   hatch=NO_ECCENTRIC_HATCH, lw=0, zorder=1)
        ax.text(position, 0.04, no_eccentric_label(flag_cell), transform=ax.get_xaxis_transform(), rotation=90,
                ha="center", va="bottom", fontsize=7.5, color="#444444", zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})
    _target_band(ax, target_ecc_s)
    ax.set_xticks(x, _rep_labels(reps))
    ax.set_xlabel("rep")
    handles = [Patch(color=TEMPO_COLOURS[t], label=t) for t in TEMPO_CLASSES]
    if not timed.all():
        handles.append(Patch(facecolor="none", edgecolor=TEMPO_COLOURS[NO_TEMPO], hatch=NO_ECCENTRIC_HATCH,
                             label="no eccentric"))
    handles.append(Patch(color=TARGET_COLOUR, alpha=0.15, label=f"target ±{ADHERENCE_TOLERANCE:.0%}"))
    _legend(ax, handles=handles)
    _tidy(ax, title, "eccentric (s)")
    return ax


def _rep_labels(reps: pd.DataFrame) -> list[str]:
    if "set" not in reps or reps["set"].nunique() <= 1:
        return [str(int(r)) for r in reps["rep"]]
    return [f"{int(s) + 1}.{int(r)}" for s, r in zip(reps["set"], reps["rep"])]


def _target_band(ax: Axes, target_ecc_s: float) -> None:
    low, high = target_ecc_s * (1 - ADHERENCE_TOLERANCE), target_ecc_s * (1 + ADHERENCE_TOLERANCE)
    ax.axhspan(low, high, color=TARGET_COLOUR, alpha=0.12, lw=0, zorder=0)
    ax.axhline(target_ecc_s, color=TARGET_COLOUR, ls="--", lw=1, zorder=3)


def session_figure(
    samples: pd.DataFrame,
    reps: pd.DataFrame,
    target_ecc_s: float,
    knee: tuple[np.ndarray, np.ndarray, str] | None = None,
    title: str = "",
) -> Figure:
    """Force (and knee angle or rate when `knee` = (t_s, values, kind) is given) over time, then the rep bars."""
    rows = 3 if knee is not None else 2
    fig = Figure(figsize=(10, 2.6 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, 1, height_ratios=[1.2] * (rows - 1) + [1.0])
    plot_force(samples, reps, ax=axes[0])
    if knee is not None:
        plot_knee(knee[0], knee[1], reps, kind=knee[2], ax=axes[1])
        axes[1].sharex(axes[0])
    plot_rep_durations(reps, target_ecc_s, ax=axes[-1])
    if title:
        fig.suptitle(chart_text(title), fontsize=12)
    return fig


# --- progress over weeks -----------------------------------------------------------------------


def _by_leg(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    order = ["left", "right", "unknown"]
    legs = sorted(table["leg"].unique(), key=lambda leg: order.index(leg) if leg in order else len(order))
    return [(leg, table[table["leg"] == leg]) for leg in legs]


def _leg_series(ax: Axes, table: pd.DataFrame, x_col: str, y_col: str, bars: bool = False, ls: str = "-", label_suffix: str = "") -> None:
    """One colour per leg: side-by-side bars (weekly volume) or lines with markers (open for ls != '-')."""
    legs = _by_leg(table)
    for i, (leg, rows) in enumerate(legs):
        colour = LEG_COLOURS.get(leg, LEG_COLOURS["unknown"])
        label = chart_text(f"{leg}{label_suffix}")
        if bars:
            offset = pd.Timedelta(days=(i - (len(legs) - 1) / 2) * 2.2)
            ax.bar(rows[x_col] + offset, rows[y_col], width=2.0, color=colour, label=label)
        else:
            face = colour if ls == "-" else "white"
            ax.plot(rows[x_col], rows[y_col], ls=ls, marker="o", ms=4, color=colour, mfc=face, label=label)


def plot_tut(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Eccentric time under tension (TUT_ecc, s) per session or per week, per leg."""
    ax = _axes(ax)
    title = f"Eccentric time under tension per {by}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "tut_ecc_s", bars=by == "week")
    _legend(ax)
    ax.set_ylim(bottom=0)
    _tidy(ax, title, "TUT_ecc (s)")
    _date_axis(ax, by)
    return ax


def plot_ecc_duration(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None) -> Axes:
    """Mean eccentric duration (s) per session or week and leg, against the target +- 20 % band."""
    ax = _axes(ax)
    title = f"Mean eccentric duration per {by} vs target ±{ADHERENCE_TOLERANCE:.0%}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    target = table.groupby(x_col)["target_ecc_s"].mean().sort_index()
    ax.fill_between(target.index, target * (1 - ADHERENCE_TOLERANCE), target * (1 + ADHERENCE_TOLERANCE),
                    step="mid", color=TARGET_COLOUR, alpha=0.12, lw=0, label="target band")
    ax.step(target.index, target, where="mid", color=TARGET_COLOUR, ls="--", lw=1, label="target")
    _leg_series(ax, table, x_col, "mean_ecc_duration_s")
    ax.set_ylim(bottom=0)
    _legend(ax)
    _tidy(ax, title, "eccentric (s)")
    _date_axis(ax, by)
    return ax


def plot_force_trend(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None) -> Axes:
    """Peak force (solid) and mean eccentric force (dashed) in N, per session or week and leg."""
    ax = _axes(ax)
    title = f"Peak and mean eccentric force per {by}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "peak_force_n", label_suffix=" peak")
    _leg_series(ax, table, x_col, "mean_force_n", ls="--", label_suffix=" mean")
    _legend(ax)
    _tidy(ax, title, "force (N)")
    _date_axis(ax, by)
    return ax


def plot_tempo_mix(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Reps per tempo class (slow / moderate / fast), stacked, per session or week (legs shown together)."""
    ax = _axes(ax)
    title = f"Reps per tempo class per {by}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    counts = table.groupby(x_col)[list(TEMPO_COUNT_COLUMNS.values())].sum().sort_index()
    width = 5.0 if by == "week" else 0.8
    bottom = np.zeros(len(counts))
    for tempo, column in TEMPO_COUNT_COLUMNS.items():
        ax.bar(counts.index, counts[column], width=width, bottom=bottom, color=TEMPO_COLOURS[tempo], label=tempo)
        bottom += counts[column].to_numpy(dtype=float)
    _legend(ax)
    _tidy(ax, title, "reps")
    _date_axis(ax, by)
    return ax


def plot_asymmetry(sessions: pd.DataFrame, metric: str = "peak_force_n", ax: Axes | None = None) -> Axes:
    """Weekly left/right asymmetry (%) of `metric`; formula: trends.ASYMMETRY_FORMULA (Bishop % difference)."""
    ax = _axes(ax)
    title = f"Left/right asymmetry per week, {METRIC_LABELS.get(metric, metric)}"
    table = weekly_asymmetry(sessions, metric) if not sessions.empty else pd.DataFrame()
    if table.empty:
        return _no_data(ax, title + ": needs both legs in a week")
    colours = [LEG_COLOURS["left"] if v >= 0 else LEG_COLOURS["right"] for v in table["asymmetry_pct"]]
    ax.bar(table["week"], table["asymmetry_pct"], width=5.0, color=colours)
    ax.axhline(0, color="#333333", lw=0.8)
    for level in (-10, 10):
        ax.axhline(level, color=TARGET_COLOUR, ls=":", lw=0.8)
    limit = max(15.0, float(np.nanmax(np.abs(table["asymmetry_pct"]))) * 1.2)
    ax.set_ylim(-limit, limit)
    ax.text(0.01, 0.97, "left stronger ↑", transform=ax.transAxes, va="top", fontsize=8, color=LEG_COLOURS["left"])
    ax.text(0.01, 0.03, "right stronger ↓", transform=ax.transAxes, va="bottom", fontsize=8, color=LEG_COLOURS["right"])
    _tidy(ax, title, "asymmetry (%)")
    _date_axis(ax, "week")
    ax.set_xlabel(f"week starting  ·  {ASYMMETRY_FORMULA} (dotted: ±10 %)", fontsize=8)
    return ax


def progress_figure(sessions: pd.DataFrame, by: str = "week", metrics: Sequence[str] = PROGRESS_METRICS, title: str = "") -> Figure:
    """The progress panels named in `metrics` (see PROGRESS_METRICS), stacked with a shared date axis."""
    unknown = [m for m in metrics if m not in PROGRESS_METRICS]
    if unknown or not metrics:
        raise ConfigError(f"unknown progress metric {unknown or metrics!r}; choose from {', '.join(PROGRESS_METRICS)}")
    fig = Figure(figsize=(10, 3.0 * len(metrics) + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(metrics), 1))
    for ax, metric in zip(axes, metrics):
        progress_chart(metric, sessions, by, ax=ax)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def progress_chart(metric: str, sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """One progress panel by name ('tut', 'duration', 'force', 'tempo', 'asymmetry')."""
    if metric == "tut":
        return plot_tut(sessions, by, ax=ax)
    if metric == "duration":
        return plot_ecc_duration(sessions, by, ax=ax)
    if metric == "force":
        return plot_force_trend(sessions, by, ax=ax)
    if metric == "tempo":
        return plot_tempo_mix(sessions, by, ax=ax)
    if metric == "asymmetry":
        return plot_asymmetry(sessions, ax=ax)
    raise ConfigError(f"unknown progress metric {metric!r}; choose from {', '.join(PROGRESS_METRICS)}")
