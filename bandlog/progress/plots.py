"""Charts of one session and of progress over weeks.

Every function reads metrics tables (the analyze table, the session index) and never re-runs
detection. Each takes `ax=None` and returns the axes it drew on (multi-panel ones return a Figure);
none calls plt.show(). New figures are plain `matplotlib.figure.Figure`s, not pyplot figures, so a
long-running process or a test that draws hundreds of charts leaks nothing; Jupyter still shows
a returned Figure inline.
"""

from __future__ import annotations

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
from bandlog.core.results import FAST_UNDER_S, NO_TEMPO
from bandlog.core.text_safety import chart_text
from bandlog.detect.explain import no_eccentric_label
from bandlog.progress.index import ADHERENCE_TOLERANCE, adheres, target_band_s
from bandlog.progress.trends import ASYMMETRY_FORMULA, TEMPO_COUNT_COLUMNS, WEEK_DAYS, by_grouping, weekly_asymmetry

LEG_COLOURS = {"left": "#1f6fb4", "right": "#e07b00", "unknown": "#7f7f7f"}
"""Left is always blue and right always orange, in every chart."""
TEMPO_COLOURS = {"slow": "#2a9d55", "moderate": "#f0b429", "fast": "#d1495b", NO_TEMPO: "#8c8c8c"}
"""The tempo classes of bandlog.core.results.tempo_class, used where reps are counted per class (the tempo mix)."""
TEMPO_LABELS = {"slow": "slow (at or over the target)", "moderate": f"moderate ({FAST_UNDER_S:g} s up to the target)",
                "fast": f"fast (under {FAST_UNDER_S:g} s)"}
"""Legend words for the tempo classes: what each one means (bandlog.core.results.tempo_class)."""
TARGET_CLASSES = ("short", "on_target", "long")
"""Where one eccentric falls against the target band (see target_class)."""
TARGET_COLOURS = {"short": "#d1495b", "on_target": "#2a9d55", "long": "#4c78a8", NO_TEMPO: "#8c8c8c"}
"""Colours of single reps in a session's charts: green is exactly 'inside the grey target band'."""
NO_ECCENTRIC_HATCH = "//"
"""A cycle without an eccentric (tempo 'none') is drawn hatched grey over its whole cycle, not dropped."""
TARGET_COLOUR = "#444444"
METRIC_LABELS = {"peak_force_n": "peak force (the week's best)", "mean_force_n": "mean eccentric force",
                 "tut_ecc_s": "eccentric time under tension", "mean_ecc_duration_s": "mean eccentric duration"}
"""Words for the weekly columns of bandlog.progress.trends.weekly (never the column names themselves)."""
PARTIAL_GID = "partial-week"
"""gid of every artist that draws the week still running (hollow bars and markers, its label)."""
PARTIAL_HATCH = "////"
ESTIMATED_NOTE = "eccentric timings estimated from force alone (no motion sensor)"
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


def _legend(ax: Axes, extra: Sequence[Artist] = (), **kwargs: object) -> None:
    """Legends sit outside the plot on the right, so they never cover data. Without `handles`: the
    labelled artists, then `extra` proxy handles (e.g. from _mark_partial_weeks)."""
    if "handles" not in kwargs:
        kwargs["handles"] = [*ax.get_legend_handles_labels()[0], *extra]
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8, **kwargs)


# --- one session -------------------------------------------------------------------------------

SET_GAP_S = 10.0
"""Blank time drawn between sets whose clocks restart, so they sit side by side on one axis."""


def set_offsets_s(samples: pd.DataFrame) -> dict[int, float]:
    """Seconds to add to each set's times so sets follow each other; 0 where a set's clock runs on."""
    if "set" not in samples or samples.empty:
        return {1: 0.0}
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


def target_class(ecc_duration_s: float | None, target_ecc_s: float) -> str:
    """'on_target' inside target +- ADHERENCE_TOLERANCE (the grey band, and the same test as the index's
    adherence), else 'short' or 'long'; NO_TEMPO without an eccentric. Charts colour reps by this, so
    the band and the colours never disagree about what "on target" means."""
    duration_s = _float(ecc_duration_s)
    if not np.isfinite(duration_s):
        return NO_TEMPO
    if adheres(duration_s, target_ecc_s):
        return "on_target"
    return "short" if duration_s < target_ecc_s else "long"


def target_class_labels(target_ecc_s: float) -> dict[str, str]:
    """Legend words for each target class, with this target's band in seconds."""
    low, high = target_band_s(target_ecc_s)
    return {"short": f"shorter than the band (under {low:.1f} s)", "on_target": f"in the target band ({low:.1f}–{high:.1f} s)",
            "long": f"longer than the band (over {high:.1f} s)"}


def estimated_timings(reps: pd.DataFrame) -> bool:
    """True when any eccentric in `reps` was timed from force alone (the rep's `estimated` flag)."""
    return "estimated" in reps and bool(reps["estimated"].fillna(False).astype(bool).any())


def _class_handles(target_ecc_s: float, classes: set[str]) -> list[Patch]:
    labels = target_class_labels(target_ecc_s)
    return [Patch(color=TARGET_COLOURS[c], alpha=0.6, label=labels[c]) for c in TARGET_CLASSES if c in classes]


def _float(value: object) -> float:
    """A table cell as a float, NaN for None or anything that is not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")



def plot_force(samples: pd.DataFrame, reps: pd.DataFrame, target_ecc_s: float, ax: Axes | None = None) -> Axes:
    """Band force over time, each eccentric phase shaded by where it falls against the target band
    (target_class) and labelled with its duration; timings from force alone say they are estimated."""
    ax = _axes(ax)
    title = "Band force with eccentric phases"
    if samples.empty or "force_n" not in samples or samples["force_n"].isna().all():
        return _no_data(ax, title)
    ax.plot(samples["t_s"], samples["force_n"], color="#333333", lw=0.9)
    low, high = float(samples["force_n"].min()), float(samples["force_n"].max())
    ax.set_ylim(min(0.0, low), high + 0.15 * (high - min(0.0, low)))  # headroom for the duration labels
    classes = _shade_reps(ax, reps, target_ecc_s, label=True)
    _tidy(ax, title, "band force (N)")
    ax.set_xlabel("time (s)")
    if estimated_timings(reps):
        ax.set_title(ESTIMATED_NOTE, loc="right", fontsize=8, color="#a03030")
    handles = _class_handles(target_ecc_s, classes)
    if handles:
        _legend(ax, handles=handles, title="eccentric phase", title_fontsize=8)
    return ax


KNEE_LEAD_IN_REASON = "the sensor first learns its resting reading and which way the knee bends"
"""Why the knee trace starts late: the detector's estimate (detect/axis.py) needs the gyro bias, the
knee's turning axis and its flexion direction, found from a still moment and the first movement."""


def plot_knee(t_s: np.ndarray, values: np.ndarray, reps: pd.DataFrame, target_ecc_s: float, kind: str = "angle",
              ax: Axes | None = None) -> Axes:
    """Knee angle (kind='angle', deg) or angular rate (kind='rate', deg/s) with the eccentric phases shaded;
    the stretch before the estimate exists is hatched and says why (KNEE_LEAD_IN_REASON)."""
    if kind not in ("angle", "rate"):
        raise ConfigError(f"knee chart kind must be 'angle' or 'rate', not {kind!r}")
    ax = _axes(ax)
    ax.plot(t_s, values, color="#5a3d8a", lw=0.9)
    _shade_reps(ax, reps, target_ecc_s, label=False)
    if kind == "angle":
        _tidy(ax, "Knee flexion angle", "knee flexion angle (°)")
    else:
        _tidy(ax, "Knee angular rate", "knee angular rate (°/s)")
    ax.set_xlabel("time (s)")
    _knee_lead_ins(ax, np.asarray(t_s, dtype=float), np.asarray(values, dtype=float), kind)
    return ax


def _knee_lead_ins(ax: Axes, t_s: np.ndarray, values: np.ndarray, kind: str) -> None:
    """Hatch every stretch where the knee estimate does not exist yet (the start of each set), and say
    from when it exists and why under the panel (the x label, so it never covers the trace)."""
    missing = ~np.isfinite(values)
    if len(t_s) < 2 or not missing.any():
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]  # runs [start, end) of missing values
    for start, end in zip(starts, ends):
        until_s = float(t_s[min(end, len(t_s) - 1)])
        ax.axvspan(float(t_s[start]), until_s, facecolor="none", edgecolor="#aaaaaa", hatch="..", lw=0, zorder=0)
    noun = "knee angle" if kind == "angle" else "knee rate"
    if ends[0] >= len(t_s):
        note = f"no {noun} in this recording: it ended before the sensor had learned its resting reading and the bend"
    else:
        again = " (and again at each new set)" if len(starts) > 1 else ""
        note = f"no {noun} before {float(t_s[ends[0]]):.1f} s{again}, while {KNEE_LEAD_IN_REASON}"
    ax.set_xlabel(f"time (s)\nhatched: {note}", fontsize=8)


def _shade_reps(ax: Axes, reps: pd.DataFrame, target_ecc_s: float, label: bool) -> set[str]:
    """Each eccentric in its target_class colour; a cycle without one hatched grey from start_s to end_s.
    Returns the classes drawn (for the legend)."""
    drawn: set[str] = set()
    for rep in reps.itertuples(index=False):
        ecc_start_s, ecc_end_s = _float(rep.ecc_start_s), _float(rep.ecc_end_s)
        if np.isfinite(ecc_start_s) and np.isfinite(ecc_end_s):
            kind = target_class(rep.ecc_duration_s, target_ecc_s)
            drawn.add(kind)
            ax.axvspan(ecc_start_s, ecc_end_s, color=TARGET_COLOURS[kind], alpha=0.25, lw=0)
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
    return drawn


def plot_rep_durations(reps: pd.DataFrame, target_ecc_s: float, ax: Axes | None = None) -> Axes:
    """Eccentric duration per rep as bars coloured by target_class: green exactly when the bar ends
    inside the grey target +- 20 % band."""
    ax = _axes(ax)
    title = f"Eccentric duration per rep (target {target_ecc_s:g} s)"
    if reps.empty:
        return _no_data(ax, title)
    x = np.arange(1, len(reps) + 1)
    durations = pd.to_numeric(reps["ecc_duration_s"], errors="coerce").to_numpy(dtype=float)
    timed = np.isfinite(durations)
    colours = [TARGET_COLOURS[target_class(d, target_ecc_s)] for d in durations]
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
    labels = target_class_labels(target_ecc_s)
    handles = [Patch(color=TARGET_COLOURS[c], label=labels[c]) for c in TARGET_CLASSES]
    if not timed.all():
        handles.append(Patch(facecolor="none", edgecolor=TEMPO_COLOURS[NO_TEMPO], hatch=NO_ECCENTRIC_HATCH,
                             label="no eccentric"))
    handles.append(Patch(color=TARGET_COLOUR, alpha=0.15, label=f"target band: {target_ecc_s:g} s ±{ADHERENCE_TOLERANCE:.0%}"))
    _legend(ax, handles=handles)
    ylabel = "eccentric duration (s)"
    if estimated_timings(reps):
        title += ", " + ESTIMATED_NOTE
        ylabel = "eccentric duration, estimated (s)"
    _tidy(ax, title, ylabel)
    return ax


def _rep_labels(reps: pd.DataFrame) -> list[str]:
    if "set" not in reps or reps["set"].nunique() <= 1:
        return [str(int(r)) for r in reps["rep"]]
    return [f"{int(s)}.{int(r)}" for s, r in zip(reps["set"], reps["rep"])]


def _target_band(ax: Axes, target_ecc_s: float) -> None:
    low, high = target_band_s(target_ecc_s)
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
    plot_force(samples, reps, target_ecc_s, ax=axes[0])
    if knee is not None:
        plot_knee(knee[0], knee[1], reps, target_ecc_s, kind=knee[2], ax=axes[1])
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


def _partial(table: pd.DataFrame) -> pd.Series:
    """True for weekly rows of the week still running (trends.weekly's week_days < 7); never for sessions."""
    if "week_days" not in table:
        return pd.Series(False, index=table.index)
    return pd.to_numeric(table["week_days"], errors="coerce").fillna(WEEK_DAYS) < WEEK_DAYS


def _mark_partial_weeks(ax: Axes, table: pd.DataFrame, x_col: str, bars: bool) -> list[Artist]:
    """Say on the chart which week is still running and how many of its days are in: a label over it,
    and the legend handle for its hollow style (returned), so a low weekly sum never reads as a drop."""
    partial = table[_partial(table)]
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
        partial = _partial(rows)
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


def plot_tut(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Eccentric time under tension (s) per session or per week, per leg; the running week hollow."""
    ax = _axes(ax)
    title = f"Eccentric time under tension per {by}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "tut_ecc_s", bars=by == "week")
    _legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=by == "week"))
    ax.set_ylim(bottom=0)
    _tidy(ax, title, "eccentric time under tension (s)")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_ecc_duration(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None) -> Axes:
    """Mean eccentric duration (s) per session or week and leg, against the target +- 20 % band."""
    ax = _axes(ax)
    title = f"Mean eccentric duration per {by} vs target ±{ADHERENCE_TOLERANCE:.0%}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    target = table.groupby(x_col)["target_ecc_s"].mean().sort_index()
    ax.fill_between(target.index, *target_band_s(target),
                    step="mid", color=TARGET_COLOUR, alpha=0.12, lw=0, label=f"target band (target ±{ADHERENCE_TOLERANCE:.0%})")
    ax.step(target.index, target, where="mid", color=TARGET_COLOUR, ls="--", lw=1, label="target")
    _leg_series(ax, table, x_col, "mean_ecc_duration_s")
    ax.set_ylim(bottom=0)
    _legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False))
    _tidy(ax, title, "mean eccentric duration (s)")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_force_trend(sessions: pd.DataFrame, by: str = "session", ax: Axes | None = None) -> Axes:
    """Peak force (solid, circles) and mean eccentric force (dashed, squares) in N, per session or week
    and leg; per week the peak is the week's best session peak (trends.weekly), the mean an average."""
    ax = _axes(ax)
    title = f"Peak and mean eccentric force per {by}"
    if by == "week":
        title = "Peak force (the week's best) and mean eccentric force (the week's average)"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    _leg_series(ax, table, x_col, "peak_force_n", label_suffix=" peak" + (", best" if by == "week" else ""))
    _leg_series(ax, table, x_col, "mean_force_n", ls="--", marker="s", label_suffix=" mean" + (", average" if by == "week" else ""))
    _legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=False))
    _tidy(ax, title, "force (N)")
    _date_axis(ax, by)
    return ax


def plot_tempo_mix(sessions: pd.DataFrame, by: str = "week", ax: Axes | None = None) -> Axes:
    """Reps per tempo class (TEMPO_LABELS), stacked, per session or week (legs shown together)."""
    ax = _axes(ax)
    title = f"Reps per tempo class per {by}"
    if sessions.empty:
        return _no_data(ax, title)
    table, x_col = by_grouping(sessions, by)
    counts = table.groupby(x_col)[list(TEMPO_COUNT_COLUMNS.values())].sum().sort_index()
    running = set(table.loc[_partial(table), x_col])
    width = 5.0 if by == "week" else 0.8
    bottom = np.zeros(len(counts))
    for tempo, column in TEMPO_COUNT_COLUMNS.items():
        bars = ax.bar(counts.index, counts[column], width=width, bottom=bottom, color=TEMPO_COLOURS[tempo],
                      label=TEMPO_LABELS[tempo])
        for x, bar in zip(counts.index, bars):
            if x in running:
                bar.set(facecolor="white", edgecolor=TEMPO_COLOURS[tempo], hatch=PARTIAL_HATCH, gid=PARTIAL_GID)
        bottom += counts[column].to_numpy(dtype=float)
    _legend(ax, extra=_mark_partial_weeks(ax, table, x_col, bars=True))
    _tidy(ax, title, "reps")
    _date_axis(ax, by)
    _estimated_note(ax, sessions)
    return ax


def plot_asymmetry(sessions: pd.DataFrame, metric: str = "peak_force_n", ax: Axes | None = None) -> Axes:
    """Weekly left/right asymmetry (%) of `metric`; formula: trends.ASYMMETRY_FORMULA (Bishop % difference)."""
    ax = _axes(ax)
    title = f"Left/right asymmetry per week, {METRIC_LABELS.get(metric, metric)}"
    table = weekly_asymmetry(sessions, metric) if not sessions.empty else pd.DataFrame()
    if table.empty:
        return _no_data(ax, title + ": needs both legs in a week")
    colours = [LEG_COLOURS["left"] if v >= 0 else LEG_COLOURS["right"] for v in table["asymmetry_pct"]]
    bars = ax.bar(table["week"], table["asymmetry_pct"], width=5.0, color=colours)
    for bar, colour, running in zip(bars, colours, _partial(table)):
        if running:
            bar.set(facecolor="white", edgecolor=colour, hatch=PARTIAL_HATCH, gid=PARTIAL_GID)
    partial_handles = _mark_partial_weeks(ax, table, "week", bars=True)
    ax.axhline(0, color="#333333", lw=0.8)
    for level in (-10, 10):
        ax.axhline(level, color=TARGET_COLOUR, ls=":", lw=0.8)
    limit = max(15.0, float(np.nanmax(np.abs(table["asymmetry_pct"]))) * 1.2)
    ax.set_ylim(-limit, limit)
    ax.text(0.01, 0.97, "left stronger ↑", transform=ax.transAxes, va="top", fontsize=8, color=LEG_COLOURS["left"])
    ax.text(0.01, 0.03, "right stronger ↓", transform=ax.transAxes, va="bottom", fontsize=8, color=LEG_COLOURS["right"])
    if partial_handles:
        _legend(ax, handles=partial_handles)
    _tidy(ax, title, "left/right difference (%)")
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
