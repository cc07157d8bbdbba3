"""The band's charts for the report: knee torque over the weeks, and one band's curve session by session.

Torque is what the band asks of the hamstrings, whatever its colour, so unlike force it can be
compared across bands; the curves of one band label overlaid, oldest pale to newest dark, show a
physiotherapist at a glance whether the band still pulls as it did (band_wear puts a number on it).
Plot functions take an `ax`, like the other charts (chart_style).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bandlog.core.text_safety import chart_text
from bandlog.progress.band_curve import BandCurve
from bandlog.progress.chart_style import legend, tidy
from bandlog.progress.trend_plots import LEG_COLOURS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def plot_torque_trend(sessions: pd.DataFrame, ax: Axes) -> Axes:
    """Each session's peak and mean eccentric knee torque (N m) by date, per leg."""
    import pandas as pd

    for leg, rows in sessions.groupby(sessions["leg"].fillna("unknown"), sort=True):
        peak = pd.to_numeric(rows["peak_torque_n_m"], errors="coerce")
        mean = pd.to_numeric(rows["mean_torque_n_m"], errors="coerce")
        colour = LEG_COLOURS.get(str(leg), LEG_COLOURS["unknown"])
        ax.plot(rows["date"], peak, "o-", color=colour, label=f"{leg}: peak")
        ax.plot(rows["date"], mean, "s--", color=colour, alpha=0.6, label=f"{leg}: mean eccentric")
    tidy(ax, "Knee torque the band asked for", "knee torque (N m)")
    if ax.get_legend_handles_labels()[0]:
        legend(ax)
    return ax


def plot_band_curves(sessions: pd.DataFrame, band: str, ax: Axes, numbered: bool = False) -> Axes:
    """The eccentric branch of `band`'s curve in each of its sessions, oldest palest, over each fitted
    range; labelled by date, or `numbered` (session 1, 2...: an anonymised report shows no dates)."""
    rows = sessions[(sessions["band"] == band) & sessions["band_curve"].notna()]
    shades = np.linspace(0.25, 1.0, max(len(rows), 1))
    for number, (shade, (_, row)) in enumerate(zip(shades, rows.iterrows(), strict=False), start=1):
        curve = BandCurve.from_json(row["band_curve"])
        if curve is None or curve.extension is None:
            continue
        ext = curve.extension
        angle = np.linspace(ext.lo_deg, ext.hi_deg, 60)
        leg = f" {row['leg']}" if isinstance(row.get("leg"), str) else ""
        label = (f"session {number}" if numbered else str(row["date"])[:10]) + leg
        ax.plot(angle, ext.force_n(angle), color=(0.1, 0.3, 0.6, float(shade)), label=label)
    ax.set_xlabel("shank below horizontal (deg)")
    tidy(ax, f"{chart_text(band)}: the band's curve, session by session (newest darkest)", "band force while extending (N)")
    if len(rows) <= 12 and ax.get_legend_handles_labels()[0]:
        legend(ax)
    return ax
