"""CPU share of the whole record pipeline at 100 Hz over the emulated BLE link.

    python bench/record_cpu.py [--seconds 20]

Runs `session.record_stream` exactly as `bandlog record --emulate --view none` does (emulated
GDX-FOR at 100 Hz in real time, bleak client over Bumble, detector, metrics, CSV log) and reports
process CPU time / wall time. The emulated peripheral and the virtual controllers run in the same
process, so the same run is repeated with a baseline pipeline that only drains the stream (no
detector, no log): the difference is what bandlog's own pipeline costs. Floor: the pipeline (full
minus baseline) under 10 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bandlog.meta import RecordingMeta
from bandlog.pipeline import PipelineResult
from bandlog.session import RecordRequest, emulated_twins, record_stream
from bandlog.sim import random_spec, simulate_session

FLOOR_PIPELINE_SHARE = 0.10


async def drain_only(request: RecordRequest, motion: object) -> int:
    """Baseline: the same emulated link and BLE client, samples received and dropped."""
    from bandlog.emulate.stack import emulated_sensors
    from bandlog.sources.ble import stream

    n = 0
    async with emulated_sensors(emulated_twins(lambda: motion), speed=1.0) as world:  # type: ignore[arg-type,return-value]
        async for item in stream(request.target, meta=request.meta, backends=world.backends, duration_s=request.duration_s):
            n += len(item) if hasattr(item, "t_s") else 0
    return n


def cpu_share(run: "callable[[], object]") -> tuple[float, float, object]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return cpu / wall, wall, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="device seconds to record (real time)")
    args = parser.parse_args(argv)
    motion = simulate_session(random_spec(3, n_sets=1, reps_per_set=12, colour="green", strands=2))
    with tempfile.TemporaryDirectory() as folder:
        request = RecordRequest("gdx-for", Path(folder) / "bench.csv", RecordingMeta(), duration_s=args.seconds)
        base_share, base_wall, n_base = cpu_share(lambda: asyncio.run(drain_only(request, motion)))
        full_share, full_wall, result = cpu_share(lambda: asyncio.run(record_stream(request, motion=motion, speed=1.0)))
    assert isinstance(result, PipelineResult)
    pipeline_share = full_share - base_share
    print(f"recorded {result.samples_total} samples ({args.seconds:g} s at 100 Hz), {len(result.reps)} reps")
    print(f"baseline (emulator + BLE client, drain only): {base_share * 100:5.1f} % of one core over {base_wall:.1f} s ({n_base} samples)")
    print(f"full record pipeline (+ detector, metrics, log): {full_share * 100:5.1f} % of one core over {full_wall:.1f} s")
    print(f"bandlog pipeline alone: {pipeline_share * 100:5.1f} % of one core (floor < {FLOOR_PIPELINE_SHARE * 100:.0f} %); full/baseline = {full_share / base_share:.2f}x")
    return 0 if pipeline_share < FLOOR_PIPELINE_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
