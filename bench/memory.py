"""Memory of a long emulated recording: does the RSS stay flat after the first minutes?

    python bench/memory.py [--minutes 120] [--speed 40] [--device gdx-for] [--view tui|model|none] [--no-trace]

Runs what `bandlog record --emulate --device gdx-for --tui` runs (session.record_stream: every
supported sensor emulated on a Bumble link, bleak client, BleSession with the tare, Pipeline with
the Analyzer, CSV log sink, live-view sink), faster than real time, for one long set of many
simulated sets. The resident memory (RSS) is sampled at every emulated minute. Prints the RSS at
WARM_MIN and at the end, the growth after WARM_MIN, the growth per emulated hour (least-squares
slope over the samples after WARM_MIN), and the 10 source lines holding most of what was allocated
after WARM_MIN and is still alive at the end (tracemalloc, started at WARM_MIN).

tracemalloc slows Python's allocations (~2-3x) and its own tables count in the RSS: they are printed
apart (`tracemalloc's own`) and subtracted from the figures marked "net". --no-trace measures
without it (the figure to quote). Exits 1 when the net growth after WARM_MIN is over GROWTH_BOUND_MB (issue 13: a 2 h
recording grows by at most 20 MB after its first 10 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import linecache
import logging
import math
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Sink
from bandlog.core.samples import SampleBlock

WARM_MIN = 10.0
GROWTH_BOUND_MB = 20.0
TOP = 10


def _rss_mb() -> float:
    """bench/soak.py's rss_mb (one definition)."""
    spec = importlib.util.spec_from_file_location("bandlog_bench_soak", Path(__file__).with_name("soak.py"))
    assert spec is not None and spec.loader is not None
    soak = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = soak
        spec.loader.exec_module(soak)
    return float(soak.rss_mb())


@dataclass
class MemoryProbe(Sink):
    """A pipeline sink noting the RSS at each emulated minute; with `trace`, tracemalloc runs from
    the warm-up minute on, so what it still holds at the end is what was allocated after the warm-up
    and never freed (no snapshot is kept in between to inflate the RSS)."""

    warm_min: float = WARM_MIN
    trace: bool = True
    motion_mb: float = math.nan
    """What simulating the whole movement took before the recording (the emulated sensors play it)."""
    minutes: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    trace_mb: list[float] = field(default_factory=list)
    """tracemalloc's own memory at each sample (0 before the warm-up or without tracing)."""
    end_snapshot: tracemalloc.Snapshot | None = None
    _next_min: float = 1.0
    _last_min: float = 0.0

    def on_samples(self, block: SampleBlock) -> None:
        if not len(block):
            return
        t_min = self._last_min = float(block.t_s[-1]) / 60
        while t_min >= self._next_min:
            self._sample(self._next_min)
            if self._next_min == self.warm_min and self.trace:
                tracemalloc.start(1)
            self._next_min += 1.0

    def close(self) -> None:
        if self.minutes and self._last_min > self.minutes[-1]:  # the end, between two whole minutes
            self._sample(round(self._last_min, 2))
        if tracemalloc.is_tracing() and self.end_snapshot is None:
            self.end_snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            tracemalloc.stop()

    def _sample(self, minute: float) -> None:
        self.minutes.append(minute)
        self.rss_mb.append(_rss_mb())
        self.trace_mb.append(tracemalloc.get_tracemalloc_memory() / 2**20 if tracemalloc.is_tracing() else 0.0)


@dataclass(frozen=True)
class MemoryFigures:
    warm_mb: float
    end_mb: float
    growth_mb: float
    per_hour_mb: float
    trace_end_mb: float

    @property
    def net_growth_mb(self) -> float:
        """Growth after the warm-up without tracemalloc's own tables."""
        return self.growth_mb - self.trace_end_mb


def figures(probe: MemoryProbe) -> MemoryFigures:
    """RSS at the warm-up minute and at the end, the growth between, and its slope per hour."""
    minutes, rss = np.array(probe.minutes), np.array(probe.rss_mb)
    net = rss - np.array(probe.trace_mb)
    after = minutes >= probe.warm_min
    if not after.any():
        raise SystemExit(f"the recording ended before its minute {probe.warm_min:g}: nothing to compare")
    first, last = int(np.flatnonzero(after)[0]), len(rss) - 1
    slope = float(np.polyfit(minutes[after], net[after], 1)[0]) * 60 if after.sum() > 1 else math.nan
    return MemoryFigures(float(rss[first]), float(rss[last]), float(rss[last] - rss[first]), slope, probe.trace_mb[last])


def top_growth(probe: MemoryProbe, count: int = TOP) -> list[str]:
    """The source lines holding the most memory allocated after the warm-up and still alive at the end."""
    if probe.end_snapshot is None:
        return []
    stats = probe.end_snapshot.statistics("lineno")
    lines = [f"  {sum(s.size for s in stats) / 2**20:8.3f} MB {sum(s.count for s in stats):8d} blocks  in all"]
    for stat in stats[:count]:
        frame = stat.traceback[0]
        code = linecache.getline(frame.filename, frame.lineno).strip()
        where = os.path.relpath(frame.filename) if frame.filename.startswith(os.getcwd()) else frame.filename
        lines.append(f"  {stat.size / 2**20:8.3f} MB {stat.count:8d} blocks  {where}:{frame.lineno}  {code[:70]}")
    return lines


def live_sink(view: str, target_ecc_s: float) -> Sink | None:
    """The live-view sink `bandlog record` adds: the terminal dashboard (drawn into /dev/null), the
    model alone, or none."""
    if view == "none":
        return None
    from rich.console import Console

    from bandlog.live.cue import LiveCue
    from bandlog.live.model import LiveModel
    from bandlog.live.sink import LiveSink
    from bandlog.live.tui import TuiView

    model = LiveModel(target_ecc_s=target_ecc_s)
    views = []
    if view == "tui":
        console = Console(file=open(os.devnull, "w"), force_terminal=True, width=100, height=40)  # noqa: SIM115 (lives as long as the view)
        views.append(TuiView(model, console=console))
    return LiveSink(model, views, cue=LiveCue())


def record(minutes: float, speed: float, device: str, view: str, seed: int, trace: bool, folder: Path) -> tuple[MemoryProbe, object, float]:
    """One emulated recording of `minutes` through session.record_stream; (probe, result, wall s)."""
    from bandlog.app.session import RecordRequest, record_stream
    from bandlog.sim import random_spec, simulate_session

    duration_s = minutes * 60
    before_mb = _rss_mb()
    motion = simulate_session(random_spec(seed, n_sets=max(1, math.ceil(duration_s / 150))))
    meta = RecordingMeta()
    probe = MemoryProbe(trace=trace, motion_mb=_rss_mb() - before_mb)
    sinks: list[Sink] = [probe]
    view_sink = live_sink(view, meta.target_ecc_s)
    if view_sink is not None:
        sinks.insert(0, view_sink)
    request = RecordRequest(device, folder / "memory.csv", meta, duration_s=duration_s)
    started = time.monotonic()
    result = asyncio.run(record_stream(request, sinks, motion=motion, speed=speed))
    wall_s = time.monotonic() - started
    probe.close()
    return probe, result, wall_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="emulated minutes (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=40.0, help="times faster than real time (default: %(default)s)")
    parser.add_argument("--device", default="gdx-for", help="emulated profile recorded (default: %(default)s)")
    parser.add_argument("--view", choices=("tui", "model", "none"), default="tui",
                        help="live view: the terminal dashboard drawn into /dev/null, its model only, or none (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-trace", action="store_true", help="no tracemalloc (RSS only, full speed)")
    args = parser.parse_args(argv)
    if args.minutes <= WARM_MIN:
        parser.error(f"--minutes must be over the {WARM_MIN:g}-minute warm-up")
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bandlog-memory-") as scratch:
        probe, result, wall_s = record(args.minutes, args.speed, args.device, args.view, args.seed, not args.no_trace, Path(scratch))
    f = figures(probe)
    hours = (probe.minutes[-1] - probe.minutes[probe.minutes.index(WARM_MIN)]) / 60
    print(f"{args.device}, {args.minutes:g} emulated min at {args.speed:g}x in {wall_s:.0f} s wall "
          f"({result.samples_total} samples, {len(result.reps)} reps, {len(result.gaps)} gaps), view {args.view}, "
          f"tracemalloc {'off' if args.no_trace else 'on'}")
    print("RSS by emulated minute (MB): " + " ".join(f"{m:g}:{r:.0f}" for m, r in zip(probe.minutes, probe.rss_mb) if m % 10 == 0 or m == probe.minutes[-1]))
    print(f"RSS at minute {WARM_MIN:g}: {f.warm_mb:.1f} MB (of which {probe.motion_mb:.0f} MB the simulated movement the emulated "
          f"sensors play, made before the recording); at the end (minute {probe.minutes[-1]:g}): {f.end_mb:.1f} MB")
    print(f"growth after minute {WARM_MIN:g}: {f.growth_mb:+.1f} MB over {hours:.2f} h (tracemalloc's own {f.trace_end_mb:+.1f} MB; "
          f"net {f.net_growth_mb:+.1f} MB, bound {GROWTH_BOUND_MB:g} MB)")
    print(f"growth per emulated hour (net, slope after minute {WARM_MIN:g}): {f.per_hour_mb:+.1f} MB/h")
    top = top_growth(probe)
    if top:
        print(f"allocated after minute {WARM_MIN:g} and still held at the end (tracemalloc, top {TOP} lines):")
        print("\n".join(top))
    return 0 if f.net_growth_mb <= GROWTH_BOUND_MB else 1


if __name__ == "__main__":
    sys.exit(main())
