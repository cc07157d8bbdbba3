"""How fast the PASCO PS-3202 can be polled over the emulated link, one command:

    python bench/pasco_rate.py [--seconds 4] [--latency-ms 3]

The public PASCO protocol only answers one-shot reads, so the sample rate is set by round trips.
Streams `--seconds` at speed 1 (real time: the emulated device clock is the wall clock) through
bandlog.sources.ble.stream over Bumble + bleak, and prints samples/s for bandlog's pipelined
polling against the baseline measured in the same run: one read at a time (force, then accel,
then gyro, each waiting for its answer), which is what PASCO's library does minus the fixed 50 ms
it sleeps after every read (~6 samples/s). Both reply routings are measured: each sensor answering
on its own service, and every answer on the device service 0. The twin processes one read per
`--latency-ms`. Bumble's virtual link has no connection interval, so real-radio rates are lower.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bandlog.core.samples import SampleBlock
from bandlog.devices import registry
from bandlog.devices.base import StreamOptions
from bandlog.devices.pasco import PascoProfile
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.pasco import PascoTwin
from bandlog.sources.ble import stream

KEY = PascoProfile.key


class OneAtATime(PascoProfile):
    def __init__(self, options: StreamOptions | None = None) -> None:
        super().__init__(options, pipelined=False)


async def rate(profile: type[PascoProfile], *, device_service: bool, seconds: float, latency_s: float) -> tuple[float, str]:
    """Samples per wall second streamed, and the poll plan used."""
    registry()[KEY] = profile
    twin = PascoTwin(reply_latency_s=latency_s, replies_on_device_service=device_service)
    samples, plan, started_s = 0, "", time.perf_counter()
    async with emulated_sensors([twin], speed=1.0) as world:
        async for item in stream(KEY, tare=False, backends=world.backends, duration_s=seconds):
            if isinstance(item, SampleBlock):
                samples += len(item)
            elif getattr(item, "stream", None) is not None:
                plan, started_s = item.stream.extra["poll_plan"], time.perf_counter()  # streaming from here
        wall_s = time.perf_counter() - started_s
    return samples / wall_s, plan


async def main(seconds: float, latency_s: float) -> None:
    print(f"PASCO polling over the emulated link, speed 1, {seconds:g} s each, {latency_s * 1e3:g} ms per read on the device")
    try:
        for device_service in (False, True):
            routing = "replies on service 0" if device_service else "replies on own service"
            base, base_plan = await rate(OneAtATime, device_service=device_service, seconds=seconds, latency_s=latency_s)
            fast, fast_plan = await rate(PascoProfile, device_service=device_service, seconds=seconds, latency_s=latency_s)
            print(f"  {routing:24s} one at a time ({base_plan}): {base:6.1f}/s   "
                  f"pipelined ({fast_plan}): {fast:6.1f}/s   ratio {fast / base:4.2f}x")
    finally:
        registry()[KEY] = PascoProfile


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--latency-ms", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.latency_ms / 1e3))
