"""The rich dashboard and make_live_sink's choice of front end."""

from __future__ import annotations

import os
import sys

os.environ["MPLBACKEND"] = "Agg"

from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from live_simset import run_set
from rich.console import Console
from rich.style import Style

from bandlog.core.errors import ConfigError
from bandlog.core.events import EccentricStarted
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus
from bandlog.live import display_available, make_live_sink
from bandlog.live.model import LiveModel, TimerState
from bandlog.live.mpl_view import MplView
from bandlog.live.sink import LiveSink
from bandlog.live.tui import TIMER_STYLES, TuiView, render, sparkline, timer_text


def text_of(model: LiveModel) -> str:
    console = Console(record=True, width=110, file=StringIO())
    console.print(render(model))
    return console.export_text()


def test_dashboard_carries_rep_count_timer_and_link_state() -> None:
    model = LiveModel()
    run_set(LiveSink(model, []), n_reps=5, finish=False, until_s=22.0)
    model.set_status(LinkStatus(LinkState.RECONNECTING, samples_per_s=98.5, dropped_packets=3,
                                corrupted_packets=1, reconnects=1, battery_percent=64))
    text = text_of(model)
    assert "reps 3" in text
    assert "eccentric: 1.0 s / target 3.0 s" in text
    assert "last rep #3: 3.0 s slow, peak 40 N, ROM 100 deg" in text
    link = next(line for line in text.splitlines() if "link:" in line)
    for part in ("reconnecting", "98 samples/s", "3 notifications lost", "corrupted 1", "reconnects 1", "battery 64 %"):
        assert part in link
    ecc_row = next(line for line in text.splitlines() if " ecc " in line)
    assert ecc_row.count("━") > 0
    assert len([run for run in ecc_row.split() if "━" in run]) == 4  # 3 closed eccentrics + the open one


def test_dashboard_timer_style_flips_at_the_target() -> None:
    model = LiveModel(target_ecc_s=3.0)
    t_s = np.arange(0, 1021) / 100.0
    model.add_samples(SampleBlock(t_s=t_s, force_n=np.zeros_like(t_s)))
    model.add_events([EccentricStarted(t_s=10.0, detected_at_s=10.2)])
    model.add_samples(SampleBlock(t_s=np.array([12.95]), force_n=np.zeros(1)))
    before = timer_text(model).style
    model.add_samples(SampleBlock(t_s=np.array([13.05]), force_n=np.zeros(1)))
    after = timer_text(model).style
    assert before == TIMER_STYLES[TimerState.RUNNING] and after == TIMER_STYLES[TimerState.RUNNING_PAST_TARGET]
    assert Style.parse(str(before)).bgcolor != Style.parse(str(after)).bgcolor


def test_final_dashboard_shows_the_rep_table_and_set_tut() -> None:
    model = LiveModel()
    run_set(LiveSink(model, []), n_reps=5)
    text = text_of(model)
    assert "reps 5" in text
    rows = [line for line in text.splitlines() if "slow" in line]
    assert len(rows) == 5
    assert "TUT eccentric 15.0 s" in text and "TUT tension 15.0 s" in text


def test_tui_view_draws_through_rich_live_and_ends_with_the_final_table() -> None:
    out = StringIO()
    console = Console(file=out, width=110, force_terminal=True, color_system=None)
    model = LiveModel()
    view = TuiView(model, fps=8.0, console=console)
    run_set(LiveSink(model, [view]), n_reps=2)
    printed = out.getvalue()
    assert view.pacer.frames_drawn >= 2
    assert "reps 2" in printed and "TUT eccentric 6.0 s" in printed


def test_sparkline_puts_the_peak_of_each_column_on_the_right_block() -> None:
    t_s = np.linspace(0.0, 9.99, 1000)
    values = np.where(t_s < 5.0, 0.0, 10.0)
    line = sparkline(t_s, values, 0.0, 10.0, 10)
    assert line == "▁▁▁▁▁█████"
    assert sparkline(t_s, np.full_like(t_s, np.nan), 0.0, 10.0, 4) == "    "


def test_display_detection() -> None:
    assert not display_available({"MPLBACKEND": "Agg", "DISPLAY": ":0"}, "linux")
    assert not display_available({}, "linux")
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert display_available({}, "darwin")


def test_make_live_sink_picks_front_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert [v.name for v in make_live_sink("auto").views] == ["tui"]
    window = make_live_sink("window")
    assert [type(v) for v in window.views] == [MplView]
    assert make_live_sink("none").views == []
    snap = make_live_sink("tui", snapshot=tmp_path / "s.png")
    assert [v.name for v in snap.views] == ["tui", "window"]
    assert snap.cue is not None and snap.cue.player is None  # not a terminal under pytest
    monkeypatch.setenv("MPLBACKEND", "")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        with pytest.raises(ConfigError, match="no display"):
            make_live_sink("window")


def test_snapshot_without_a_live_front_end(tmp_path: Path) -> None:
    sink = make_live_sink("none", snapshot=tmp_path / "final.png", quiet=True)
    run_set(sink, n_reps=2)
    assert sink.views[0].pacer.frames_drawn == 1  # only the final view was drawn
    assert (tmp_path / "final.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "gui"}, "unknown live view 'gui'"),
        ({"target_ecc_s": 0}, "must be positive"),
        ({"snapshot": "final.jpg"}, "must be a .png"),
        ({"snapshot": "/no/such/folder/final.png"}, "does not exist"),
    ],
)
def test_bad_options_are_one_sentence_config_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_live_sink(**kwargs)  # type: ignore[arg-type]


def test_a_failing_front_end_is_dropped_and_the_recording_goes_on() -> None:
    class Broken:
        name = "broken"

        def frame(self) -> bool:
            raise RuntimeError("window gone")

        def draw_final(self) -> None:
            raise AssertionError("dropped views are not drawn")

        def close(self) -> None:
            pass

        def stats(self) -> dict[str, float]:
            return {}

    model = LiveModel()
    sink = LiveSink(model, [Broken()])
    pipeline = run_set(sink, n_reps=2)
    assert sink.views == []
    assert model.samples_total == pipeline.samples_total and model.rep_count == 2
