"""The live view warns, with what to change, as soon as a rep's force clipped at the sensor's range,
and keeps saying so in the final summary (the terminal dashboard and the matplotlib window alike)."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

from dataclasses import replace
from io import StringIO

from live_simset import rep_events
from rich.console import Console

from bandlog.core.events import RepCompleted
from bandlog.core.results import SetSummary
from bandlog.detect.explain import SATURATION_HINT
from bandlog.live.model import LiveModel
from bandlog.live.mpl_view import MplView
from bandlog.live.tui import render


def saturating(events: list, reps: set[int]) -> list:
    """The events with the given reps' rows flagged saturated."""
    return [replace(e, metrics=replace(e.metrics, flags="saturated")) if isinstance(e, RepCompleted) and e.metrics.rep in reps
            else e for e in events]


def text_of(model: LiveModel) -> str:
    console = Console(record=True, width=110, file=StringIO())
    console.print(render(model))
    return console.export_text()


def test_the_warning_appears_with_the_first_clipped_rep_and_stays_to_the_end() -> None:
    model = LiveModel()
    events = saturating(rep_events(3, period_s=6.0), {2})
    first_rep_end = next(i for i, e in enumerate(events) if isinstance(e, RepCompleted)) + 1
    model.add_events(events[:first_rep_end])
    assert model.saturated_reps == 0 and model.saturation_label() == "" and SATURATION_HINT not in text_of(model)
    model.add_events(events[first_rep_end:])
    assert model.saturated_reps == 1
    assert model.saturation_label() == f"force clipped at the sensor's range in 1 rep: use {SATURATION_HINT}"
    assert "in 1 rep: use a lighter band" in " ".join(text_of(model).split())
    view = MplView(model)
    view.frame()
    assert SATURATION_HINT in view.last_rep_text.get_text()
    reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
    model.end(SetSummary(reps=3, tut_ecc_s=9.0, tut_tension_s=9.0, mean_ecc_duration_s=3.0, peak_force_n=40.0, mode="force+imu"), reps)
    assert model.saturated_reps == 1 and "in 1 rep: use a lighter band" in " ".join(text_of(model).split())
    view.frame()
    assert SATURATION_HINT in view.last_rep_text.get_text()
    view.close()
