"""The four sensors on the real code path: bleak -> Bumble virtual radio -> twin, found by scan, streamed."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from bandlog.core.motion import PeriodicMotion
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.devices import registry
from bandlog.devices import witmotion as wm
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins import twin_registry
from bandlog.emulate.twins.bandlog_open import BandlogOpenTwin
from bandlog.emulate.twins.sig_force import SigForceTwin
from bandlog.emulate.twins.thingy52 import Thingy52Twin
from bandlog.emulate.twins.witmotion import WitMotionTwin
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import scan

MOTION = PeriodicMotion(period_s=2.0, peak_force_n=40.0)
KEYS = ("witmotion", "thingy52", "sig-force", "bandlog-open")


def test_registries_hold_a_profile_and_a_twin_per_sensor() -> None:
    for key in KEYS:
        profile, twin = registry()[key], twin_registry()[key]
        assert profile.key == twin.profile_key == key
        example = twin()
        assert registry()[key].matches(example.name, example.advertised_service_uuids)


async def test_scan_tells_the_four_sensors_apart() -> None:
    twins = [WitMotionTwin(), Thingy52Twin(), SigForceTwin(), BandlogOpenTwin()]
    async with emulated_sensors(twins) as world:
        found = await scan(0.5, backends=world.backends)
    assert sorted(d.profile for d in found) == sorted(KEYS)


@pytest.mark.parametrize(
    ("twin", "speed"),
    [
        (WitMotionTwin(MOTION), 10.0),
        (Thingy52Twin(MOTION), 10.0),
        # its t_s is host arrival time, which does not speed up with the emulated device clock
        (SigForceTwin(MOTION, rate_hz=50.0), 1.0),
        (BandlogOpenTwin(MOTION, rate_hz=100), 10.0),
    ],
    ids=list(KEYS),
)
async def test_three_seconds_over_the_virtual_radio(twin, speed: float, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(wm, "COMMAND_GAP_S", 0.0)
    async with emulated_sensors([twin], speed=speed) as world:
        items = [i async for i in stream(twin.profile_key, backends=world.backends, duration_s=3.0, tare=False)]
    info = items[0].stream
    assert isinstance(info, StreamInfo) and info.profile == twin.profile_key
    got = SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])
    truth = SampleBlock.concat(twin.sent_samples)
    rate_hz = info.sample_rate_hz or twin.rate_hz
    assert len(got) > 0.9 * 3.0 * rate_hz
    assert np.median(np.diff(got.t_s)) == pytest.approx(1.0 / rate_hz, rel=0.2)
    for channel in ("force_n", "acc_ms2", "gyro_dps"):
        sent_values = getattr(truth, channel)
        if sent_values is None:
            assert getattr(got, channel) is None
        else:
            np.testing.assert_array_equal(getattr(got, channel), sent_values[: len(got)])


def test_a_profile_says_whether_it_reads_the_host_clock_as_its_constructor_does() -> None:
    """The session hands `clock=` to a profile that declares reads_host_clock (raw capture records the
    readings): the declaration and the constructor must agree, or a capture would miss them."""
    for key, profile in registry().items():
        takes_clock = "clock" in inspect.signature(profile).parameters
        assert profile.reads_host_clock == takes_clock, key
