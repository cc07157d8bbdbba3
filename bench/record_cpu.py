"""CPU share of bandlog's own recording stages at 100 Hz, over a bare BLE subscriber on the same link.

    python bench/record_cpu.py [--seconds 20] [--pairs 3]

Each pair runs two recordings of the same emulated GDX-FOR at 100 Hz, in real time, in the same
emulated world (every supported sensor advertising on a Bumble link, bleak client), one after the
other in fresh event loops:

- full: `session.record_stream` exactly as `bandlog record --emulate --view none` runs it (scan,
  connect, the device's start conversation, decoding, the time line, tare, detector, metrics, CSV
  log);
- bare: the same scan, connect and start conversation, then every notification discarded in the
  bleak callback (no decoding, no queue) for the same device time.

The emulated peripheral and the virtual controllers run in this process, so each side's CPU time
over its wall time includes them; the difference within a pair is what bandlog's own stages add.
Pairs alternate which side runs first (the machine is shared: load drifts), and the median of the
pairs' differences is the figure. Floor: under 10 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bandlog.app.session import RecordRequest, emulated_twins, record_stream
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import MotionSource
from bandlog.core.pipeline import PipelineResult
from bandlog.sim import random_spec, simulate_session
from bandlog.sources.ble_link import BleakLink

FLOOR_PIPELINE_SHARE = 0.10
DEVICE = "gdx-for"
CONNECT_TIMEOUT_S = 10.0


class DiscardingLink(BleakLink):
    """A BleakLink that, once `discarding`, counts each notification and drops it in the callback."""

    discarding = False
    notifications = 0

    def _on_notification(self, characteristic: Any, data: bytearray) -> None:
        if self.discarding:
            self.notifications += 1
            return
        super()._on_notification(characteristic, data)


async def bare_subscriber(motion: MotionSource, seconds: float) -> int:
    """Scan, connect and start the sensor as bandlog does, then discard its notifications for
    `seconds`; returns how many arrived."""
    from bleak import BleakClient

    from bandlog.devices import registry
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.sources.ble_scan import find_device

    async with emulated_sensors(emulated_twins(lambda: motion), speed=1.0) as world:
        device, key = await find_device(DEVICE, timeout_s=CONNECT_TIMEOUT_S, backends=world.backends)
        client = BleakClient(device, timeout=CONNECT_TIMEOUT_S, backend=world.backends[1])
        await client.connect()
        link = DiscardingLink(client, time.monotonic())
        profile = registry()[key]()
        try:
            await profile.start(link)
            link.discarding = True
            link.drain()
            await asyncio.sleep(seconds)
            link.discarding = False
            await profile.stop(link)
        finally:
            link.closing = True
            await client.disconnect()
        return link.notifications


@dataclass(frozen=True)
class Run:
    share: float
    """Process CPU seconds per wall second (1.0 = one core busy)."""
    wall_s: float
    what: str


def timed(run: Callable[[], object], describe: Callable[[Any], str]) -> Run:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Run(cpu / wall, wall, describe(result))


def full_run(motion: MotionSource, seconds: float, folder: Path, index: int) -> Run:
    request = RecordRequest(DEVICE, folder / f"full-{index}.csv", RecordingMeta(), duration_s=seconds)

    def describe(result: PipelineResult) -> str:
        return f"{result.samples_total} samples, {len(result.reps)} reps"

    return timed(lambda: asyncio.run(record_stream(request, motion=motion, speed=1.0)), describe)


def bare_run(motion: MotionSource, seconds: float) -> Run:
    return timed(lambda: asyncio.run(bare_subscriber(motion, seconds)), lambda n: f"{n} notifications discarded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="device seconds per recording, real time (default: %(default)s)")
    parser.add_argument("--pairs", type=int, default=3, help="full/bare pairs, alternating order (default: %(default)s, at least 3)")
    args = parser.parse_args(argv)
    if args.pairs < 3:
        parser.error("--pairs must be at least 3 (the figure is a median of pairs)")
    motion = simulate_session(random_spec(3, n_sets=1, reps_per_set=12, colour="green", strands=2))
    differences = []
    with tempfile.TemporaryDirectory() as scratch:
        full_run(motion, 2.0, Path(scratch), -1)  # imports and first-use costs, outside the figures
        for index in range(args.pairs):
            if index % 2 == 0:
                full, bare = full_run(motion, args.seconds, Path(scratch), index), bare_run(motion, args.seconds)
            else:
                bare, full = bare_run(motion, args.seconds), full_run(motion, args.seconds, Path(scratch), index)
            differences.append(full.share - bare.share)
            first = "full first" if index % 2 == 0 else "bare first"
            print(f"pair {index + 1} ({first}): full {full.share * 100:5.1f} % of a core over {full.wall_s:.1f} s ({full.what}); "
                  f"bare {bare.share * 100:5.1f} % over {bare.wall_s:.1f} s ({bare.what}); "
                  f"bandlog adds {differences[-1] * 100:+5.1f} %", flush=True)
    median = statistics.median(differences)
    print(f"bandlog's own stages (decode, time line, tare, detector, metrics, log) at 100 Hz: median {median * 100:+.1f} % of one core "
          f"over {args.pairs} pairs (range {min(differences) * 100:+.1f} to {max(differences) * 100:+.1f} %; floor < {FLOOR_PIPELINE_SHARE * 100:.0f} %)")
    return 0 if median < FLOOR_PIPELINE_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
