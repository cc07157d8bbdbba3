"""The live view with rows that have no eccentric (isometric pulls) and rejected candidates."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

from io import StringIO
from pathlib import Path

from live_simset import rejection, run_set
from rich.console import Console

from bandlog.core.events import EccentricStarted, RepCompleted
from bandlog.core.results import NO_TEMPO, RepMetrics
from bandlog.live.model import LiveModel, SpanOutcome, TimerState
from bandlog.live.mpl_view import CYCLE_GID, MplView
from bandlog.live.sink import LiveSink
from bandlog.live.tui import render


def text_of(model: LiveModel) -> str:
    console = Console(record=True, width=200, file=StringIO())
    console.print(render(model))
    return console.export_text()


def isometric_row(rep: int, start_s: float, end_s: float) -> RepMetrics:
    return RepMetrics(
        rep=rep, start_s=start_s, end_s=end_s, ecc_start_s=None, ecc_end_s=None, ecc_duration_s=None,
        tut_tension_s=end_s - start_s, peak_force_n=45.0, mean_ecc_force_n=None, ecc_impulse_ns=None, rom_deg=4.0,
        mean_ecc_velocity_dps=None, peak_ecc_velocity_dps=None, tempo=NO_TEMPO, stalls=0,
        flags="isometric;no_eccentric;truncated", estimated=False,
    )


def test_dashboard_names_the_isometric_rep_and_its_flags_while_live() -> None:
    model = LiveModel()
    run_set(LiveSink(model, []), n_reps=5, isometric=frozenset({3}), finish=False, until_s=18.5)
    assert model.rep_count == 3 and model.last_rep().ecc_duration_s is None
    assert model.eccentrics_detected == 2  # the isometric rep opened no eccentric span
    text = text_of(model)
    assert "last rep #3: isometric pull, no eccentric, peak 40 N, ROM 5 deg" in text
    assert model.timer().state is TimerState.DONE_ON_TARGET  # still rep 2's eccentric, not the pull


def test_final_dashboard_shows_dashes_the_footnote_and_the_flag_legend() -> None:
    model = LiveModel()
    run_set(LiveSink(model, []), n_reps=5, isometric=frozenset({3}), extra_events=(rejection(13.0), rejection(25.0, "data_gap")))
    text = text_of(model)
    row = next(line for line in text.splitlines() if line.strip().startswith("│ 3") or " 3 │" in line[:12])
    assert "--" in row and NO_TEMPO in row and "isometric, no_eccentric" in row
    assert "set: 5 reps (4 with an eccentric)" in text
    assert "2 candidates not counted as reps: 1 movement too small for a rep, 1 a hole in the data" in text
    assert "isometric: force held near its peak" in text


def test_an_open_span_is_closed_as_no_eccentric_when_the_row_says_so() -> None:
    model = LiveModel()
    model.add_events([EccentricStarted(t_s=3.0, detected_at_s=3.2)])
    model.add_events([RepCompleted(isometric_row(1, 0.5, 5.0), detected_at_s=5.3)])
    (span,) = model.spans
    assert (span.end_s, span.outcome) == (5.0, SpanOutcome.NO_ECCENTRIC)
    assert model.timer().state is TimerState.IDLE
    assert model.last_rep_label() == "last rep #1: isometric pull, no eccentric, peak 45 N, ROM 4 deg [truncated]"


def test_window_draws_the_isometric_rep_live_and_hatches_its_cycle_at_the_end(tmp_path: Path) -> None:
    model = LiveModel()
    view = MplView(model)
    sink = LiveSink(model, [view], snapshot=tmp_path / "set.png")
    pipeline = run_set(sink, n_reps=5, period_s=6.0, isometric=frozenset({3}), extra_events=(rejection(13.0),),
                       finish=False, until_s=18.5)
    view.draw_live()
    assert "isometric pull, no eccentric" in view.last_rep_text.get_text()
    pipeline.finish()
    cycles = [p for p in view.ax_force.patches if p.get_gid() == CYCLE_GID]
    assert len(cycles) == 1 and cycles[0].get_hatch() == "//"
    cells = {cell.get_text().get_text() for cell in view.ax_info.tables[0].get_celld().values()}
    assert {"3*", "--", NO_TEMPO} <= cells
    texts = " ".join(t.get_text() for t in view.ax_info.texts)
    assert "4 with an eccentric" in texts and "rejected 1" in texts and "*3: isometric, no_eccentric" in texts
    assert (tmp_path / "set.png").stat().st_size > 0 and sink.snapshot_error is None

