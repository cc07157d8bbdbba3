"""How fast the live view draws, and what feeding it costs the recording.

    python bench/live_view.py [--frames 300] [--seconds 10]

1. Frames per second of the matplotlib view under Agg, 200 Hz force + knee angle, a full 20 s
   window, one new block per frame: N blitted frames (restore_region + draw_artist + blit) against
   the baseline measured in the same run, N full `canvas.draw()` redraws of the same figure.
   Floor: >= 30 frames/s blitted.
2. CPU share (process CPU time / wall time) of feeding a 100 Hz stream (10-sample blocks, knee
   kinematics, rep events) through the sink + model in real time, without drawing; plus the cost per
   block when fed as fast as possible.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["MPLBACKEND"] = "Agg"

import numpy as np

from bandlog.core.events import EccentricEnded, EccentricStarted, Event, RepStarted
from bandlog.core.motion import PeriodicMotion
from bandlog.core.pipeline import Kinematics
from bandlog.core.status import LinkState, LinkStatus
from bandlog.live.cue import LiveCue
from bandlog.live.model import LiveModel
from bandlog.live.mpl_view import MplView
from bandlog.live.sink import LiveSink

PERIOD_S = 6.0


def events_between(t0_s: float, t1_s: float) -> list[Event]:
    """Events a detector would emit for the periodic motion, detected within (t0, t1]."""
    out: list[Event] = []
    for k in range(int(t0_s // PERIOD_S) - 1, int(t1_s // PERIOD_S) + 1):
        start = k * PERIOD_S
        for event in (RepStarted(start + 0.1, start + 0.3),
                      EccentricStarted(start + PERIOD_S / 2, start + PERIOD_S / 2 + 0.2),
                      EccentricEnded(start + PERIOD_S, start + PERIOD_S / 2, start + PERIOD_S + 0.2)):
            if t0_s < event.detected_at_s <= t1_s:
                out.append(event)
    return out


class Stream:
    """Blocks of the periodic motion at rate_hz, with the knee kinematics a detector would attach."""

    def __init__(self, rate_hz: float, block_n: int) -> None:
        self.motion = PeriodicMotion(period_s=PERIOD_S)
        self.rate_hz, self.block_n, self.index = rate_hz, block_n, 0

    def feed(self, sink: LiveSink) -> None:
        t_s = np.arange(self.index, self.index + self.block_n) / self.rate_hz
        self.index += self.block_n
        block = self.motion.sample(t_s)
        sink.on_samples(block)
        angle = np.degrees(np.arctan2(block.acc_ms2[:, 0], block.acc_ms2[:, 2]))  # type: ignore[index]
        sink.on_kinematics(Kinematics(t_s, angle, block.gyro_dps[:, 1]))  # type: ignore[index]
        events = events_between(float(t_s[0]) - 1.0 / self.rate_hz, float(t_s[-1]))
        if events:
            sink.on_events(events)


def draw_rates(frames: int) -> tuple[float, float, int]:
    """(blitted fps, full-redraw fps, full redraws during the blitted run)."""
    model = LiveModel()
    view = MplView(model, fps=1e6)
    sink = LiveSink(model, [])  # feed without drawing; frames are driven below
    sink.on_status(LinkStatus(LinkState.STREAMING, samples_per_s=200.0))
    stream = Stream(200.0, 7)  # ~1/30 s of data per frame
    while stream.index < 25 * 200:  # fill the 20 s window, settle the y limits
        stream.feed(sink)
    view.draw_live()
    redraws_before = view.full_redraws
    t0 = time.perf_counter()
    for _ in range(frames):
        stream.feed(sink)
        view.draw_live()
    blit_s = time.perf_counter() - t0
    blit_redraws = view.full_redraws - redraws_before

    for artist in view._animated:  # the baseline: the same artists drawn by a plain full redraw
        artist.set_animated(False)
    t0 = time.perf_counter()
    for _ in range(frames):
        stream.feed(sink)
        view.update_artists()
        for pool in view._span_pools.values():
            for patch in pool:
                patch.set_animated(False)
        view.figure.canvas.draw()
    full_s = time.perf_counter() - t0
    return frames / blit_s, frames / full_s, blit_redraws


def feed_cost(seconds: float) -> tuple[float, float, float]:
    """(CPU share in real time, microseconds per block as fast as possible, stream s per CPU s)."""
    rate_hz, block_n = 100.0, 10
    sink = LiveSink(LiveModel(), [], cue=LiveCue())
    stream = Stream(rate_hz, block_n)
    blocks = int(seconds * rate_hz / block_n)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(blocks):
        stream.feed(sink)
        delay = wall0 + (i + 1) * block_n / rate_hz - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    fast = LiveSink(LiveModel(), [], cue=LiveCue())
    stream = Stream(rate_hz, block_n)
    n_fast = 20000
    cpu0 = time.process_time()
    for _ in range(n_fast):
        stream.feed(fast)
    cpu_s = time.process_time() - cpu0
    return share, cpu_s / n_fast * 1e6, n_fast * block_n / rate_hz / cpu_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per drawing run")
    parser.add_argument("--seconds", type=float, default=10.0, help="real-time feeding run length")
    args = parser.parse_args()

    blit_fps, full_fps, redraws = draw_rates(args.frames)
    print(f"matplotlib (Agg), 200 Hz force + knee, 20 s window, {args.frames} frames each")
    print(f"  blitted frames/s          {blit_fps:8.1f}   (full redraws during run: {redraws})")
    print(f"  full canvas.draw frames/s {full_fps:8.1f}   (baseline, same run)")
    print(f"  ratio blit / full         {blit_fps / full_fps:8.2f}x")
    print(f"  floor >= 30 frames/s      {'PASS' if blit_fps >= 30.0 else 'FAIL'}")
    share, block_us, realtime_factor = feed_cost(args.seconds)
    print(f"model + sink, 100 Hz in 10-sample blocks, no drawing, {args.seconds:.0f} s real time")
    print(f"  CPU share                 {100 * share:8.2f} % of one core")
    print(f"  cost per block            {block_us:8.1f} us   ({realtime_factor:,.0f}x real time)")
    return 0 if blit_fps >= 30.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
