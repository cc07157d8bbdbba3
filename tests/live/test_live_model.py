"""The live model: bounded buffers, eccentric spans from events, the timer and the tick cue."""

from __future__ import annotations

import os

os.environ["MPLBACKEND"] = "Agg"

import numpy as np
import pytest
from live_simset import rep_events, run_set

from bandlog.core.events import EccentricEnded, EccentricStarted, RepRejected
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap
from bandlog.core.samples import SampleBlock
from bandlog.live.cue import CueSchedule, LiveCue
from bandlog.live.cue_player import BEL, BellPlayer, terminal_bell
from bandlog.live.model import LiveModel, SpanOutcome, TimerState
from bandlog.live.ring import RingBuffer, decimate_keep
from bandlog.live.sink import LiveSink


def feed_until(model: LiveModel, t_end_s: float, t_start_s: float = 0.0, rate_hz: float = 100.0) -> None:
    t_s = np.arange(round(t_start_s * rate_hz), round(t_end_s * rate_hz) + 1) / rate_hz
    model.add_samples(SampleBlock(t_s=t_s, force_n=np.ones_like(t_s)))


def test_ring_buffer_keeps_the_newest_rows_in_order_across_wraparound() -> None:
    ring = RingBuffer(capacity=8, n_values=1)
    for start in range(0, 20, 3):
        t = np.arange(start, start + 3, dtype=float)
        ring.extend(t, t.reshape(-1, 1) * 10)
    t_s, values = ring.all()
    assert t_s.tolist() == [13, 14, 15, 16, 17, 18, 19, 20]
    assert values[:, 0].tolist() == [130, 140, 150, 160, 170, 180, 190, 200]
    assert ring.rows_total == 21
    t_s, _ = ring.since(17.5)
    assert t_s.tolist() == [18, 19, 20]
    ring.extend(np.arange(100, 120, dtype=float), np.zeros((20, 1)))
    assert ring.all()[0].tolist() == list(range(112, 120))


def test_decimation_keeps_one_sample_per_bucket_across_blocks() -> None:
    t_s = np.arange(0, 200) / 200.0
    keep_a, bucket = decimate_keep(t_s[:100], 25.0, None)
    keep_b, _ = decimate_keep(t_s[100:], 25.0, bucket)
    assert int(keep_a.sum() + keep_b.sum()) == 25


def test_memory_stays_bounded_over_a_long_recording() -> None:
    model = LiveModel(capacity=4096, overview_capacity=1000)
    for k in range(60):
        feed_until(model, (k + 1) * 10.0 - 0.005, k * 10.0, rate_hz=200.0)
    assert model.samples_total == 60 * 2000
    assert len(model.force) == 4096
    assert len(model.force_overview) == 1000
    t_s, _ = model.force_window()
    assert t_s[-1] == pytest.approx(599.995)
    assert t_s[0] >= 599.995 - model.window_s


def test_spans_follow_the_detected_eccentrics_and_their_outcome() -> None:
    sink = LiveSink(LiveModel(), [])
    run_set(sink, n_reps=5, period_s=6.0)
    model = sink.model
    expected = [e for e in rep_events(5, 6.0) if isinstance(e, EccentricEnded)]
    assert model.eccentrics_detected == 5
    assert [(s.start_s, s.end_s) for s in model.spans] == [(e.ecc_start_s, e.t_s) for e in expected]
    assert all(s.outcome is SpanOutcome.COMPLETED for s in model.spans)
    assert model.rep_count == 5 and model.ended
    assert model.summary is not None and model.summary.tut_ecc_s == pytest.approx(15.0)


def test_rejected_rep_marks_and_closes_its_open_span() -> None:
    model = LiveModel()
    feed_until(model, 2.0)
    model.add_events([EccentricStarted(t_s=1.0, detected_at_s=1.2)])
    assert model.open_span() is not None
    model.add_events([RepRejected(t_s=0.5, reason="too short", detected_at_s=2.0)])
    span = model.spans[-1]
    assert (span.end_s, span.outcome) == (2.0, SpanOutcome.REJECTED)
    assert model.rejected == 1 and model.rep_count == 0
    assert "rejected" not in model.last_rep_label()


def test_timer_states_around_the_target() -> None:
    model = LiveModel(target_ecc_s=3.0)
    assert model.timer().state is TimerState.IDLE
    feed_until(model, 10.2)
    model.add_events([EccentricStarted(t_s=10.0, detected_at_s=10.2)])
    feed_until(model, 12.9, 10.21)
    assert model.timer().state is TimerState.RUNNING
    assert model.timer().label() == "eccentric: 2.9 s / target 3.0 s"
    feed_until(model, 13.1, 12.91)
    assert model.timer().state is TimerState.RUNNING_PAST_TARGET
    model.add_events([EccentricEnded(t_s=13.5, ecc_start_s=10.0, detected_at_s=13.7)])
    assert model.timer().state is TimerState.DONE_ON_TARGET
    model.add_events([EccentricStarted(t_s=20.0, detected_at_s=20.2),
                      EccentricEnded(t_s=21.5, ecc_start_s=20.0, detected_at_s=21.7)])
    assert model.timer().state is TimerState.DONE_SHORT
    assert model.timer().elapsed_s == pytest.approx(1.5)


def test_recording_target_replaces_the_default() -> None:
    model = LiveModel(target_ecc_s=3.0)
    model.start(RecordingMeta(target_ecc_s=4.5))
    assert model.timer().target_s == 4.5


def test_gap_breaks_the_plotted_line() -> None:
    model = LiveModel()
    feed_until(model, 1.0)
    model.add_gap(Gap(start_s=1.0, end_s=3.0))
    feed_until(model, 4.0, 3.0)
    _, force_n = model.force_window()
    assert np.isnan(force_n).sum() == 1
    assert "gaps 1" in model.link_label()


def test_metronome_ticks_once_per_whole_second_of_each_eccentric() -> None:
    model = LiveModel()
    metronome = CueSchedule()
    feed_until(model, 5.2)
    model.add_events([EccentricStarted(t_s=5.0, detected_at_s=5.2)])
    ticks = []
    for k in range(1, 36):
        feed_until(model, 5.2 + k * 0.1, 5.2 + k * 0.1)
        ticks.append(len(metronome.update(model)))
    assert sum(ticks) == 3  # at 1, 2 and 3 s of the eccentric (now = 8.7 s); the 3rd is the 3 s target's chime
    model.add_events([EccentricEnded(t_s=8.8, ecc_start_s=5.0, detected_at_s=9.0)])
    feed_until(model, 12.0, 9.0)
    assert metronome.update(model) == []
    model.add_events([EccentricStarted(t_s=11.0, detected_at_s=11.2)])
    assert len(metronome.update(model)) == 1
    assert metronome.counts() == {"tick": 3, "target": 1}


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.written = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.written += text
        return len(text)

    def flush(self) -> None:
        pass


def test_bell_rings_only_on_a_terminal_and_not_when_quiet() -> None:
    assert terminal_bell(FakeTerminal(tty=False)) is None  # type: ignore[arg-type]
    terminal = FakeTerminal(tty=True)
    ring = terminal_bell(terminal)  # type: ignore[arg-type]
    assert ring is not None
    sink = LiveSink(LiveModel(), [], cue=LiveCue(BellPlayer(ring)))
    run_set(sink, n_reps=2, period_s=6.0)
    assert terminal.written == BEL * 6  # 3 s eccentrics: ticks at 1, 2 s and the target at 3 s, each rep
    quiet = LiveCue(None)
    run_set(LiveSink(LiveModel(), [], cue=quiet), n_reps=2, period_s=6.0)
    assert quiet.played == 0 and quiet.schedule.counts() == {"tick": 4, "target": 2}
