"""What every chart of bandlog.progress shares: the frame of a panel, its legend, and the common colours.

Every chart function (one session's in bandlog.progress.plots, progress over weeks in
bandlog.progress.trend_plots) reads metrics tables (the analyze table, the session index) and never
re-runs detection. Each takes `ax=None` and returns the axes it drew on (multi-panel ones return a
Figure); none calls plt.show(). New figures are plain `matplotlib.figure.Figure`s, not pyplot figures,
so a long-running process or a test that draws hundreds of charts leaks nothing; Jupyter still shows
a returned Figure inline. Kept in one place so both kinds of chart look and behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bandlog.core.results import NO_TEMPO

TEMPO_COLOURS = {"slow": "#2a9d55", "moderate": "#f0b429", "fast": "#d1495b", NO_TEMPO: "#8c8c8c"}
"""The tempo classes of bandlog.core.results.tempo_class, used where reps are counted per class (the tempo mix)."""
TARGET_COLOUR = "#444444"


def axes_for(ax: Axes | None, size: tuple[float, float] = (8.0, 3.5)) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").add_subplot()


def tidy(ax: Axes, title: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def no_data(ax: Axes, title: str, message: str = "no data") -> Axes:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#888888")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def legend(ax: Axes, extra: Sequence[Artist] = (), **kwargs: object) -> None:
    """Legends sit outside the plot on the right, so they never cover data. Without `handles`: the
    labelled artists, then `extra` proxy handles (e.g. from _mark_partial_weeks)."""
    if "handles" not in kwargs:
        kwargs["handles"] = [*ax.get_legend_handles_labels()[0], *extra]
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8, **kwargs)

