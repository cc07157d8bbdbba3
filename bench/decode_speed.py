"""Decoder throughput for the GDX-FOR and Progressor streams, one command:

    python bench/decode_speed.py [--seconds 600]

Records what each twin sends for `--seconds` of device time (over LoopbackLink, no BLE), then times
bandlog's decoder on those notifications against a naive baseline measured in the same run: a
per-value struct.unpack loop that joins fragments by the length byte and appends to lists (what
Vernier's and Tindeq's example clients do) and does no validation or resync. Prints samples/s,
the ratio to the baseline and the margin over real time.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import time
from typing import Any

from bandlog.core.link import Notification
from bandlog.devices.base import DeviceProfile
from bandlog.devices.gdx_for import GdxForProfile
from bandlog.devices.progressor import ProgressorProfile
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.base import PeripheralTwin
from bandlog.emulate.twins.gdx_for import GdxForTwin
from bandlog.emulate.twins.progressor import ProgressorTwin


async def record(profile: DeviceProfile, twin: PeripheralTwin, seconds: float) -> tuple[list[Notification], object]:
    link = LoopbackLink(twin)
    info = await profile.start(link)
    started_s = link.now_s
    notifications = []
    while link.now_s - started_s < seconds:
        notifications.append(await link.next_notification(1.0))
    return notifications, info


def naive_gdx(notifications: list[Notification]) -> int:
    buffer, values = b"", []
    for n in notifications:
        buffer += n.payload
        if len(buffer) >= 2 and len(buffer) == buffer[1]:
            if buffer[0] == 0x20 and buffer[4] == 0x06:
                channels = bin(struct.unpack("<H", buffer[5:7])[0]).count("1")
                for i in range(buffer[7] * channels):
                    values.append(struct.unpack("<f", buffer[9 + 4 * i : 13 + 4 * i])[0])
            buffer = b""
    return len(values) // 7


def naive_progressor(notifications: list[Notification]) -> int:
    kg, us = [], []
    for n in notifications:
        if n.payload[0] == 1:
            for i in range(2, 2 + n.payload[1], 8):
                w, t = struct.unpack("<fI", n.payload[i : i + 8])
                kg.append(w * 9.80665)
                us.append(t)
    return len(kg)


def timed(fn, *args) -> tuple[float, int]:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        count = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="device time to record per sensor")
    args = parser.parse_args()
    cases = [
        ("gdx-for (7 ch, 100 Hz)", GdxForProfile(), GdxForTwin(), naive_gdx, 100.0),
        ("progressor (80 Hz)", ProgressorProfile(), ProgressorTwin(), naive_progressor, 80.0),
    ]
    for label, profile, twin, naive, rate_hz in cases:
        notifications, info = asyncio.run(record(profile, twin, args.seconds))

        def ours(items: list[Notification], profile: Any = profile, info: Any = info) -> int:
            decoder = profile.new_decoder(info)
            return sum(len(b) for n in items for b in decoder.feed(n).blocks)

        t_ours, n_ours = timed(ours, notifications)
        t_naive, n_naive = timed(naive, notifications)
        print(f"{label}: {len(notifications)} notifications, {n_ours} samples (baseline {n_naive})")
        print(f"  bandlog  {n_ours / t_ours:12,.0f} samples/s  ({n_ours / t_ours / rate_hz:,.0f}x real time)")
        print(f"  baseline {n_naive / t_naive:12,.0f} samples/s  -> bandlog/baseline speed ratio {t_naive / t_ours:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
