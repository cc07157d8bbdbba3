"""What the index's band columns say across sessions, in sentences for `sessions` and the report.

Three things, from the plain session records (oldest first) the index gives: each band label's curve
drift (bandlog.progress.band_wear), the move-up suggestion per leg (bandlog.progress.band_move_up),
and what the torques shown had to assume (bandlog.progress.band_geometry), with how many sessions.
No pandas: a warm `bandlog sessions` never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from bandlog.progress.band_curve import BandCurve
from bandlog.progress.band_move_up import DEFAULT_SESSIONS, move_up
from bandlog.progress.band_wear import BandDrift, band_drift
from bandlog.progress.index_rows import sql_value

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def band_drifts(records: Sequence[Mapping[str, Any]]) -> list[BandDrift]:
    """One drift per band label (and exercise) that has a fitted curve in at least one session."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        if isinstance(record.get("band"), str) and isinstance(record.get("band_curve"), str):
            groups.setdefault((str(record.get("exercise") or ""), str(record["band"])), []).append(record)
    out = []
    for (_exercise, label), rows in sorted(groups.items()):
        first = date.fromisoformat(str(rows[0]["date"])[:10])
        days = [float((date.fromisoformat(str(r["date"])[:10]) - first).days) for r in rows]
        curves = [c.extension if (c := BandCurve.from_json(r["band_curve"])) else None for r in rows]
        out.append(band_drift(label, days, curves))
    return out


def torque_notes(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """'torque in 5 of 12 sessions: torque assumes ...': each assumption once, with its count."""
    with_torque = [r for r in records if sql_value(r.get("peak_torque_n_m")) is not None]
    counts: dict[str, int] = {}
    for record in with_torque:
        note_text = record.get("torque_note")
        for note in filter(None, note_text.split("; ") if isinstance(note_text, str) else []):
            counts[note] = counts.get(note, 0) + 1
    return [f"in {n} of {len(with_torque)} sessions with a torque, {note}" for note, n in counts.items()]


def band_report_parts(sessions: pd.DataFrame, move_up_sessions: int = DEFAULT_SESSIONS,
                      anonymise: bool = False) -> tuple[list[str], list[Figure]]:
    """The report's band part from a DataFrame of index sessions: the notes, then the torque trend and
    each band label's curves as figures; nothing when no session has a band curve or a torque.
    `anonymise`: days and weeks numbered on the date axis, sessions numbered in the curves' legend."""
    from matplotlib.figure import Figure

    from bandlog.progress.anonymise import relabel_date_axis
    from bandlog.progress.band_plots import plot_band_curves, plot_torque_trend

    if "band_curve" not in sessions or not (sessions["band_curve"].notna().any() or sessions["peak_torque_n_m"].notna().any()):
        return [], []
    figures, samples = [], []
    if sessions["peak_torque_n_m"].notna().any():
        figures.append(Figure(figsize=(10, 3.6), layout="constrained"))
        ax = plot_torque_trend(sessions, figures[-1].add_subplot())
        if anonymise:
            relabel_date_axis(ax, sessions["date"].min(), sessions["week"].min())
    for band in sorted(sessions.loc[sessions["band_curve"].notna(), "band"].dropna().unique()):
        figures.append(Figure(figsize=(10, 3.6), layout="constrained"))
        plot_band_curves(sessions, band, figures[-1].add_subplot(), numbered=anonymise)
        latest = sessions[(sessions["band"] == band) & sessions["band_curve"].notna()].iloc[-1]
        curve = BandCurve.from_json(latest["band_curve"])
        when = "" if anonymise else f" on {str(latest['date'])[:10]}"
        if curve is not None:
            samples.append(f"{band}, the curve of its latest session{when}: {curve.describe()}")
    return band_notes(sessions.to_dict("records"), move_up_sessions) + samples, figures


def band_notes(records: Sequence[Mapping[str, Any]], move_up_sessions: int = DEFAULT_SESSIONS) -> list[str]:
    """Every band sentence for these sessions: wear verdicts, move-up suggestions, torque assumptions."""
    wear = [d.sentence() for d in band_drifts(records)]
    up = [m.sentence for m in move_up(records, move_up_sessions)]
    return wear + up + torque_notes(records)
