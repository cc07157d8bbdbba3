"""The matplotlib front end under Agg: what it shades, the timer colour, blitting, the PNG snapshot."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_simset import run_set
from matplotlib.colors import to_rgba

from bandlog.core.events import EccentricEnded, EccentricStarted
from bandlog.core.pipeline import Pipeline, Sink
from bandlog.core.samples import SampleBlock
from bandlog.live.model import LiveModel, TimerState
from bandlog.live.mpl_view import TIMER_COLOURS, MplView
from bandlog.live.sink import LiveSink


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class RealTime(Sink):
    """Placed before the live sink: a block is handled when it arrives (its device time) or, if the
    pipeline is still busy drawing, as soon as it is free; the fake wall clock follows."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.offset_s: float | None = None

    def on_samples(self, block: SampleBlock) -> None:
        t_end = float(block.t_s[-1])
        if self.offset_s is None:
            self.offset_s = self.clock.t - t_end
        self.clock.t = max(self.clock.t, t_end + self.offset_s)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def realtime_window() -> tuple[MplView, LiveSink, FakeClock]:
    clock = FakeClock()
    model = LiveModel()
    view = MplView(model, fps=30.0, clock=clock)
    return view, LiveSink(model, [view]), clock


def run_realtime(sink: LiveSink, clock: FakeClock, **kwargs: Any) -> Pipeline:
    """The simulated set, arriving in real time on the fake clock."""
    return run_set([RealTime(clock), sink], **kwargs)


def test_live_shading_matches_the_eccentrics_in_the_window() -> None:
    view, sink, clock = realtime_window()
    run_realtime(sink, clock, n_reps=5, period_s=6.0, block_n=50, finish=False, until_s=22.0)
    view.draw_live()
    # window 2..22 s: eccentrics 3-6, 9-12, 15-18 closed, 21- open
    assert len(sink.model.spans_in_window()) == 4
    spans = view.shaded_spans()
    assert len(spans) == 4
    now_s = sink.model.now_s
    starts = sorted(round(p.get_x() + now_s, 2) for p in spans)
    assert starts == [3.0, 9.0, 15.0, 21.0]
    assert view.pacer.frames_drawn >= 44  # one per 0.5 s block: data arrives slower than 30 fps
    assert view.full_redraws <= 12, "the scrolling view must blit, not redraw everything each frame"


def test_final_view_shades_every_detected_eccentric(tmp_path: Path) -> None:
    model = LiveModel()
    view = MplView(model)
    sink = LiveSink(model, [view], snapshot=tmp_path / "set.png")
    run_set(sink, n_reps=5, period_s=6.0)
    assert sink.model.eccentrics_detected == 5
    assert len(view.shaded_spans()) == 5
    texts = " ".join(t.get_text() for t in view.ax_info.texts)
    assert "reps 5" in texts and "TUT eccentric 15.0 s" in texts
    cells = {cell.get_text().get_text() for cell in view.ax_info.tables[0].get_celld().values()}
    assert {"rep", "ecc s", "5", "3.0", "slow"} <= cells
    assert png_size(tmp_path / "set.png") == (1100, 600)
    assert sink.snapshot_error is None


def test_timer_colour_changes_when_the_eccentric_passes_the_target() -> None:
    model = LiveModel(target_ecc_s=3.0)
    view = MplView(model, fps=1000.0)

    def feed(t_from: float, t_to: float) -> None:
        t_s = np.arange(round(t_from * 100), round(t_to * 100) + 1) / 100.0
        model.add_samples(SampleBlock(t_s=t_s, force_n=np.full(t_s.shape, 20.0)))

    feed(0.0, 10.2)
    model.add_events([EccentricStarted(t_s=10.0, detected_at_s=10.2)])
    view.draw_live()
    assert view.timer_colour() == to_rgba(TIMER_COLOURS[TimerState.RUNNING])
    feed(10.21, 12.95)
    view.draw_live()
    before = view.timer_colour()
    assert view.timer_text.get_text() == "eccentric: 2.9 s / target 3.0 s"
    feed(12.96, 13.05)
    view.draw_live()
    after = view.timer_colour()
    assert before != after
    assert after == to_rgba(TIMER_COLOURS[TimerState.RUNNING_PAST_TARGET])
    model.add_events([EccentricStarted(t_s=20.0, detected_at_s=20.2),
                      EccentricEnded(t_s=21.0, ecc_start_s=20.0, detected_at_s=21.2)])
    feed(13.06, 21.2)
    view.draw_live()
    assert view.timer_colour() == to_rgba(TIMER_COLOURS[TimerState.DONE_SHORT])


def test_slow_drawing_skips_frames_never_samples() -> None:
    view, sink, clock = realtime_window()
    original = view.draw_live

    def slow_draw() -> None:
        original()
        clock.t += 0.25  # a draw that takes 7.5 frame slots at 30 fps

    view.draw_live = slow_draw  # type: ignore[method-assign]
    pipeline = run_realtime(sink, clock, n_reps=3, period_s=6.0, block_n=2, finish=False)
    model = sink.model
    assert pipeline.samples_total == model.samples_total == model.force.rows_total == 1850
    assert model.force.last_t_s() == pytest.approx(18.49)
    assert model.rep_count == 3 and model.eccentrics_detected == 3
    pacer = view.pacer
    assert pacer.frames_skipped >= 6 * pacer.frames_drawn
    blocks = 1850 // 2
    assert 10 < pacer.frames_drawn < blocks / 10


def test_fast_drawing_keeps_the_target_rate_without_skipping() -> None:
    view, sink, clock = realtime_window()
    run_realtime(sink, clock, n_reps=1, period_s=6.0, block_n=2, finish=False)
    duration_s = 6.49
    assert view.pacer.frames_skipped == 0
    assert view.pacer.frames_drawn == pytest.approx(duration_s * 30.0, rel=0.1)


def test_without_knee_estimates_the_view_says_so_and_still_draws_force() -> None:
    view, sink, clock = realtime_window()
    run_realtime(sink, clock, n_reps=1, period_s=6.0, finish=False)
    # the reverse curl's angle_label; one rep only, so its angle still settles (LiveModel.angle_settling)
    assert view.ax_knee.get_ylabel() == "knee flexion angle (deg; settling)"
    rate_only = LiveModel()
    rate_view = MplView(rate_only)
    run_set(LiveSink(rate_only, [rate_view]), n_reps=1, with_angle=False, finish=False)
    rate_view.draw_live()
    assert rate_view.ax_knee.get_ylabel() == "angular velocity (deg/s)"
    assert len(rate_view.force_line.get_xdata()) > 100


def test_a_window_without_a_gui_toolkit_is_one_sentence_not_a_silent_agg(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With a display but no toolkit (no tkinter), matplotlib fell back to Agg with a warning and
    the recording went on with no live view at all."""
    import pytest

    import bandlog.live as live
    from bandlog.core.errors import ConfigError

    monkeypatch.setattr(live, "display_available", lambda env=None, platform=None: True)
    monkeypatch.setattr(live, "_interactive_backend_loaded", lambda: False)
    with pytest.raises(ConfigError, match="no GUI toolkit"):
        live.make_live_sink(kind="window")
    assert live.make_live_sink(kind="auto").views[0].__class__.__name__ == "TuiView"  # auto still picks the terminal


def test_a_knee_angle_dipping_under_zero_does_not_stretch_the_axis_far_below() -> None:
    """While the window filled, a knee angle falling back to -2 deg doubled the range downwards: the
    axis reached -200 deg for a trace between 0 and 105 (seen in a real window under Xvfb)."""
    import matplotlib.pyplot as plt

    from bandlog.live.axis_limits import fit_ylim

    _, ax = plt.subplots()
    ax.set_ylim(0.0, 20.0)
    rise = np.linspace(25.0, 105.0, 50)
    for values in (rise[:1], rise, np.concatenate([rise, np.linspace(105.0, -2.0, 80)])):
        fit_ylim(ax, values, 20.0, may_shrink=False, room_below=False)
    low, high = ax.get_ylim()
    assert -30.0 <= low <= -2.0 and high >= 105.0
    plt.close("all")
