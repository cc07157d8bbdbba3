"""What the BLE path costs, and how fast the emulated link can run, one command:

    python bench/ble_link.py [--seconds 20]

Streams `--seconds` of device time from the emulated GDX-FOR at 100 Hz (7 channels, 3 rows per
packet, fragmented into 20-byte notifications) through bandlog.sources.ble.stream over Bumble +
bleak, at several speed-ups, and reports wall time, achieved speed-up and CPU microseconds per
sample. The baseline, measured in the same run, is the same twin, profile and decoder over
LoopbackLink (no BLE stack): the ratio is the price of the Bumble/bleak layers per sample. The
emulated peripheral and its virtual controller run in the same process, so their cost is included.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bandlog.core.errors import DecodeError
from bandlog.core.samples import SampleBlock
from bandlog.devices.base import StreamOptions
from bandlog.devices.gdx_for import GdxForProfile
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.gdx_for import GdxForTwin
from bandlog.sources.ble import stream

OPTIONS = StreamOptions(sample_rate_hz=100.0)


async def loopback_baseline(seconds: float) -> tuple[int, float]:
    """Samples decoded and CPU seconds for the pure twin -> profile -> decoder path."""
    twin = GdxForTwin()
    link = LoopbackLink(twin, step_s=0.01)
    profile = GdxForProfile(OPTIONS)
    started = time.process_time()
    decoder = profile.new_decoder(await profile.start(link))
    samples = 0
    while samples < seconds * 100:
        try:
            output = decoder.feed(await link.next_notification(1.0))
        except DecodeError:
            continue
        samples += sum(len(b) for b in output.blocks)
    return samples, time.process_time() - started


async def over_ble(seconds: float, speed: float) -> tuple[int, float, float]:
    """Samples, wall seconds and CPU seconds for the same stream over Bumble + bleak."""
    samples = 0
    async with emulated_sensors([GdxForTwin()], speed=speed) as world:
        wall, cpu = time.perf_counter(), time.process_time()
        async for item in stream("gdx-for", options=OPTIONS, tare=False, backends=world.backends, duration_s=seconds):
            if isinstance(item, SampleBlock):
                samples += len(item)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return samples, wall, cpu


async def main(seconds: float) -> None:
    base_n, base_cpu = await loopback_baseline(seconds)
    base_us = 1e6 * base_cpu / base_n
    print(f"baseline (LoopbackLink, no BLE): {base_n} samples, {base_us:.1f} us CPU/sample")
    print(f"{'speed':>6} {'samples':>8} {'wall s':>7} {'achieved x':>10} {'us CPU/sample':>14} {'vs baseline':>11}")
    for speed in (1.0, 10.0, 40.0):
        run_s = min(seconds, 5.0) if speed == 1.0 else seconds
        n, wall_s, cpu_s = await over_ble(run_s, speed)
        us = 1e6 * cpu_s / n
        print(f"{speed:>6g} {n:>8d} {wall_s:>7.2f} {run_s / wall_s:>10.1f} {us:>14.1f} {us / base_us:>10.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="device seconds per run (default 20)")
    asyncio.run(main(parser.parse_args().seconds))
