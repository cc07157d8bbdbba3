"""The PS-3202 on the real code path: bleak -> Bumble virtual radio -> twin, at real speed.

The rate a polled sensor reaches depends on the link's round trips, so these run at speed 1 (the
emulated device clock is real time) and check the rate and the values end to end.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import PeriodicMotion
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.core.status import LinkStatus
from bandlog.devices.pasco import MEASURE_ROUNDS
from bandlog.emulate.faults import Faults
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.pasco import PascoTwin
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import scan

MOTION = PeriodicMotion(period_s=2.0, peak_force_n=40.0)
FIRST = 1 + MEASURE_ROUNDS
MIN_RATE_HZ = 25.0
"""Well below the ~65-70 Hz reached on an idle machine, so a loaded test runner still passes."""


def sent(twin: PascoTwin, channel: str) -> np.ndarray:
    return np.concatenate([getattr(b, channel) for b in twin.sent_samples if getattr(b, channel) is not None])


async def test_scan_finds_the_sensor_by_name() -> None:
    async with emulated_sensors([PascoTwin(name="Force Accel 987-654>4")]) as world:
        found = await scan(0.3, backends=world.backends)
    assert [(d.name, d.profile) for d in found] == [("Force Accel 987-654>4", "pasco-force-accel")]


async def test_three_seconds_at_real_speed_carry_what_the_twin_measured() -> None:
    twin = PascoTwin(MOTION)
    async with emulated_sensors([twin], speed=1.0) as world:
        items = [i async for i in stream("pasco-force-accel", backends=world.backends, duration_s=3.0, tare=False)]
    info = items[0].stream
    assert isinstance(info, StreamInfo) and info.extra["poll_plan"] == "force+accel+gyro"
    assert float(info.extra["poll_rate_hz"]) >= MIN_RATE_HZ
    got = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    rate_hz = len(got) / 3.0
    assert rate_hz >= MIN_RATE_HZ
    n = len(got)
    np.testing.assert_array_equal(got.force_n, sent(twin, "force_n")[FIRST : FIRST + n])
    np.testing.assert_array_equal(got.acc_ms2, sent(twin, "acc_ms2")[FIRST : FIRST + n])
    np.testing.assert_array_equal(got.gyro_dps, sent(twin, "gyro_dps")[FIRST : FIRST + n])
    # host time follows the device's sampling instants (both real time here) to within a round trip
    device_t_s = np.concatenate([b.t_s for b in twin.sent_samples if b.force_n is not None])[FIRST : FIRST + n]
    lag_s = got.t_s - device_t_s
    assert np.percentile(np.abs(lag_s - np.median(lag_s)), 90) < 0.01
    status = items[-1]
    assert isinstance(status, LinkStatus) and status.samples_total == n and status.dropped_packets == 0


async def test_lost_answers_are_counted_and_polling_carries_on() -> None:
    twin = PascoTwin(MOTION)
    faults = {"pasco-force-accel": Faults(drop_fraction=0.02, seed=3)}
    async with emulated_sensors([twin], speed=1.0, faults=faults) as world:
        items = [i async for i in stream("pasco-force-accel", backends=world.backends, duration_s=2.5, tare=False)]
        dropped_answers = world.peripheral("pasco-force-accel").dropped_total
    got = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    status = items[-1]
    assert dropped_answers > 0 and status.dropped_packets > 0
    assert status.dropped_packets <= dropped_answers  # one lost round per lost answer at most
    assert len(got) >= 0.5 * MIN_RATE_HZ * 2.5
    assert np.isin(got.force_n, sent(twin, "force_n")).all()  # every value is one the sensor sent
    assert np.all(np.diff(got.t_s) > 0)


async def test_a_fast_world_keeps_the_polled_sensor_in_real_time() -> None:
    """Its samples are dated by this computer, whose clock an emulation cannot speed up: in a world at
    8x the twin still runs at 1x (emulate.stack.twin_speed), so each value is dated when it was measured
    (at 8x its clock would run 7 s ahead of the host's every second, and every rep read 8x too fast)."""
    twin = PascoTwin(MOTION)
    async with emulated_sensors([twin], speed=8.0) as world:
        items = [i async for i in stream("pasco-force-accel", backends=world.backends, duration_s=2.0, tare=False)]
    got = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    device_t_s = np.concatenate([b.t_s for b in twin.sent_samples if b.force_n is not None])[FIRST : FIRST + len(got)]
    lag_s = got.t_s - device_t_s
    assert len(got) >= MIN_RATE_HZ and np.ptp(lag_s) < 0.1


def test_recording_a_host_dated_sensor_says_it_runs_in_real_time() -> None:
    from bandlog.app.session import emulation_speed

    speed, said = emulation_speed(8.0, ["pasco-force-accel", None])
    assert speed == 1.0 and said is not None and "PS-3202" in said and "--speed 8 ignored" in said
    assert emulation_speed(8.0, [PascoTwin.default_name])[0] == 1.0  # by its advertised name too
    assert emulation_speed(8.0, ["gdx-for", "witmotion"]) == (8.0, None)
    assert emulation_speed(1.0, ["sig-force"]) == (1.0, None)
