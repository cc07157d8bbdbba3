"""Charts of one session: band force and knee over time with each eccentric shaded, and the rep bars.

Each eccentric is coloured by where it falls against the target band (target_class), the same test
as the index's adherence. The conventions every chart keeps (ax=None, no pyplot, no re-detection)
are in bandlog.progress.chart_style; progress over weeks is bandlog.progress.trend_plots.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bandlog.core.errors import ConfigError
from bandlog.core.results import ADHERENCE_TOLERANCE, NO_TEMPO, adheres
from bandlog.core.text_safety import chart_text
from bandlog.detect.exercises import DEFAULT_KEY, ExerciseProfile, exercise_profile
from bandlog.detect.explain import no_eccentric_label
from bandlog.progress.band_session import settled_after
from bandlog.progress.chart_style import TARGET_COLOUR, TEMPO_COLOURS, axes_for, legend, no_data, tidy
from bandlog.progress.index_rows import target_band_s

TARGET_CLASSES = ("short", "on_target", "long")
"""Where one eccentric falls against the target band (see target_class)."""
TARGET_COLOURS = {"short": "#d1495b", "on_target": "#2a9d55", "long": "#4c78a8", NO_TEMPO: "#8c8c8c"}
"""Colours of single reps in a session's charts: green is exactly 'inside the grey target band'."""
NO_ECCENTRIC_HATCH = "//"
"""A cycle without an eccentric (tempo 'none') is drawn hatched grey over its whole cycle, not dropped."""
ESTIMATED_NOTE = "eccentric timings estimated from force alone (no motion sensor)"

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
        return float(value)  # type: ignore[arg-type]  # anything may come: what float() refuses is NaN below
    except (TypeError, ValueError):
        return float("nan")



def plot_force(samples: pd.DataFrame, reps: pd.DataFrame, target_ecc_s: float, ax: Axes | None = None) -> Axes:
    """Band force over time, each eccentric phase shaded by where it falls against the target band
    (target_class) and labelled with its duration; timings from force alone say they are estimated."""
    ax = axes_for(ax)
    title = "Band force with eccentric phases"
    if samples.empty or "force_n" not in samples or samples["force_n"].isna().all():
        return no_data(ax, title)
    ax.plot(samples["t_s"], samples["force_n"], color="#333333", lw=0.9)
    low, high = float(samples["force_n"].min()), float(samples["force_n"].max())
    ax.set_ylim(min(0.0, low), high + 0.15 * (high - min(0.0, low)))  # headroom for the duration labels
    classes = _shade_reps(ax, reps, target_ecc_s, label=True)
    tidy(ax, title, "band force (N)")
    ax.set_xlabel("time (s)")
    if estimated_timings(reps):
        ax.set_title(ESTIMATED_NOTE, loc="right", fontsize=8, color="#a03030")
    elif len(reps) and "peak_force_n" in reps and pd.to_numeric(reps["peak_force_n"], errors="coerce").isna().all():
        ax.set_title(NO_BAND_NOTE, loc="right", fontsize=8, color="#a03030")
    handles = _class_handles(target_ecc_s, classes)
    if handles:
        legend(ax, handles=handles, title="eccentric phase", title_fontsize=8)
    return ax


NO_BAND_NOTE = "no band tension in any rep: the load cell's zero only"
"""Over the force panel when every rep was done without a band (an exercise whose band is optional)."""
def plot_knee(t_s: np.ndarray, values: np.ndarray, reps: pd.DataFrame, target_ecc_s: float, kind: str = "angle",
              ax: Axes | None = None, profile: ExerciseProfile | None = None) -> Axes:
    """Knee angle (kind='angle', deg) or angular rate (kind='rate', deg/s) with the eccentric phases shaded;
    the stretch before the estimate exists is hatched and says why. `profile`: the exercise (default
    the reverse curl), whose angle_label names the angle (a planted shank's turn is not knee flexion)
    and whose lead_in_reason says why it starts late."""
    if kind not in ("angle", "rate"):
        raise ConfigError(f"knee chart kind must be 'angle' or 'rate', not {kind!r}")
    profile = profile or exercise_profile(DEFAULT_KEY)
    angle_label = profile.angle_label
    ax = axes_for(ax)
    t_s, values = np.asarray(t_s, dtype=float), np.asarray(values, dtype=float)
    learned = kind == "angle" and profile.pose != "planted"  # a planted shank's angle is its turn from the start: nothing learned
    settling = _settling_mask(t_s, values, reps) if learned else np.zeros(len(t_s), dtype=bool)
    ax.plot(t_s, np.where(settling, np.nan, values), color="#5a3d8a", lw=0.9)
    if settling.any():  # one sample on into the settled line, so the two join
        ax.plot(t_s, np.where(settling | np.concatenate([[False], settling[:-1]]), values, np.nan), color=SETTLING_COLOUR, lw=0.9)
    _shade_reps(ax, reps, target_ecc_s, label=False)
    if kind == "angle":
        tidy(ax, angle_label[:1].upper() + angle_label[1:], f"{angle_label} (°)")
    else:
        tidy(ax, "Knee angular rate", "knee angular rate (°/s)")
    ax.set_xlabel("time (s)")
    notes = [note for note in (_knee_lead_ins(ax, t_s, values, kind, profile.lead_in_reason), _settling_note(t_s, settling)) if note]
    if notes:  # wrapped: one line of a long reason ran off the figure's edge
        ax.set_xlabel("\n".join(["time (s)", *(line for note in notes for line in textwrap.wrap(note, NOTE_WIDTH_CHARS))]), fontsize=8)
    return ax


NOTE_WIDTH_CHARS = 110
"""Characters a line of the notes under the knee panel may take (8 pt, the figure 10 in wide)."""
SETTLING_COLOUR = "#c3b6dc"
"""The knee angle while the sensor still learns the shank's direction: drawn lighter."""


def _settling_mask(t_s: np.ndarray, values: np.ndarray, reps: pd.DataFrame) -> np.ndarray:
    """Samples whose angle exists but still settles: from each start of the estimate to the start of the
    second rep ending after it (the first one's end without a second), the samples the band curve
    leaves out for the same reason (bandlog.progress.band_session.settled_after). The shank's direction
    in the sensor is learned from the first rep's flexion; before it settles the angle can jump by tens
    of degrees (the demo's climbs in steps through its first flexion)."""
    known = np.isfinite(values)
    mask = np.zeros(len(t_s), dtype=bool)
    if reps.empty or "start_s" not in reps or "end_s" not in reps:
        return mask
    begins, _ = _runs(known)
    ordered = reps.sort_values("start_s")
    for begin in begins:
        after = ordered[pd.to_numeric(ordered["end_s"], errors="coerce") > t_s[begin]]
        if "set" in after and not after.empty:
            after = after[after["set"] == after["set"].iloc[0]]
        until_s = settled_after(list(zip((_float(v) for v in after["start_s"]), (_float(v) for v in after["end_s"]), strict=True)))
        mask |= known & (t_s >= t_s[begin]) & (t_s < until_s)
    return mask


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of True in `mask`, each [start, end) in samples."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return edges[::2], edges[1::2]


def _settling_note(t_s: np.ndarray, settling: np.ndarray) -> str | None:
    """What the lighter line is, under the panel (None without one)."""
    if not settling.any():
        return None
    starts, ends = _runs(settling)
    until_s = float(t_s[ends[0] - 1])  # the first run's last sample
    again = " and again in each new set" if len(starts) > 1 else ""
    return (f"lighter: the angle while the sensor learns the shank's direction from the first rep (to {until_s:.1f} s{again}); "
            "it may be degrees off")


def _knee_lead_ins(ax: Axes, t_s: np.ndarray, values: np.ndarray, kind: str, reason: str) -> str | None:
    """Hatch every stretch where the knee estimate does not exist yet (the start of each set), and
    return what to say under the panel (the x label, so it never covers the trace) of from when it
    exists and why (None when it exists throughout)."""
    missing = ~np.isfinite(values)
    if len(t_s) < 2 or not missing.any():
        return None
    starts, ends = _runs(missing)
    for start, end in zip(starts, ends):
        until_s = float(t_s[min(end, len(t_s) - 1)])
        ax.axvspan(float(t_s[start]), until_s, facecolor="none", edgecolor="#aaaaaa", hatch="..", lw=0, zorder=0)
    noun = "knee angle" if kind == "angle" else "knee rate"
    if ends[0] >= len(t_s):
        note = f"no {noun} in this recording: it ended before the sensor had learned its resting reading and the bend"
    else:
        again = " (and again at each new set)" if len(starts) > 1 else ""
        note = f"no {noun} before {float(t_s[ends[0]]):.1f} s{again}, while {reason}"
    return f"hatched: {note}"


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
    ax = axes_for(ax)
    title = f"Eccentric duration per rep (target {target_ecc_s:.3g} s)"
    if reps.empty:
        return no_data(ax, title)
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
    handles.append(Patch(color=TARGET_COLOUR, alpha=0.15, label=f"target band: {target_ecc_s:.3g} s ±{ADHERENCE_TOLERANCE:.0%}"))
    legend(ax, handles=handles)
    ylabel = "eccentric duration (s)"
    if estimated_timings(reps):
        title += ", " + ESTIMATED_NOTE
        ylabel = "eccentric duration, estimated (s)"
    tidy(ax, title, ylabel)
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
    profile: ExerciseProfile | None = None,
) -> Figure:
    """Force (and knee angle or rate when `knee` = (t_s, values, kind) is given) over time, then the rep bars;
    `profile` as plot_knee takes it."""
    rows = 3 if knee is not None else 2
    fig = Figure(figsize=(10, 2.6 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, 1, height_ratios=[1.2] * (rows - 1) + [1.0])
    plot_force(samples, reps, target_ecc_s, ax=axes[0])
    if knee is not None:
        plot_knee(knee[0], knee[1], reps, target_ecc_s, kind=knee[2], ax=axes[1], profile=profile)
        axes[1].sharex(axes[0])
    plot_rep_durations(reps, target_ecc_s, ax=axes[-1])
    if title:
        fig.suptitle(chart_text(title), fontsize=12)
    return fig

