"""The live session over the emulated world: samples, tare, reconnects, bad packets, clean stop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from ble_toy import START, STOP, StillThenPull, ToyTwin, sent_force

from bandlog.core.errors import ConnectionLostError, DeviceNotFoundError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Tare, tared
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus
from bandlog.emulate.faults import Faults
from bandlog.emulate.stack import emulated_sensors
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import scan

pytestmark = pytest.mark.usefixtures("toy_profile")


async def collect(source) -> list:
    return [item async for item in source]


def blocks_of(items: list) -> SampleBlock:
    return SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)])


class StrangerTwin(ToyTwin):
    """Same GATT, but it advertises neither a known name nor the toy service."""

    @property
    def advertised_service_uuids(self) -> tuple[str, ...]:
        return ()


async def test_scan_finds_only_supported_sensors() -> None:
    async with emulated_sensors([ToyTwin(), StrangerTwin(name="Unknown gadget")]) as world:
        found = await scan(0.3, backends=world.backends)
    assert [(d.name, d.profile) for d in found] == [("Toy 0001", "toy")]
    assert found[0].address == "D0:BA:4D:00:01:01" and found[0].rssi is not None


async def test_ten_seconds_at_100_hz_match_what_the_device_sent() -> None:
    twin = ToyTwin()
    async with emulated_sensors([twin], speed=20) as world:
        items = await collect(stream("Toy 0001", backends=world.backends, duration_s=10.0, tare=False))
    assert isinstance(items[0], RecordingMeta)
    assert items[0].stream is not None and items[0].stream.sample_rate_hz == 100.0 and items[0].start_utc
    samples = blocks_of(items)
    assert abs(len(samples) - 1000) <= 2
    np.testing.assert_array_equal(samples.force_n, sent_force(twin)[: len(samples)])
    np.testing.assert_allclose(samples.t_s, np.arange(len(samples)) / 100.0, atol=1e-6)
    assert samples.t_host_s is not None and np.all(np.diff(samples.t_host_s) >= 0)
    assert isinstance(items[-1], LinkStatus) and items[-1].state is LinkState.ENDED
    assert items[-1].samples_total == len(samples)
    assert twin.commands[-1] == STOP and world.peripheral("toy").connection is None


async def test_forced_disconnect_reconnects_with_a_short_gap_and_loses_nothing() -> None:
    twin = ToyTwin()
    faults = {"toy": Faults(disconnect_at_s=(5.0,))}
    async with emulated_sensors([twin], speed=5, faults=faults) as world:
        items = await collect(stream("toy", backends=world.backends, duration_s=9.0, tare=False))
        assert world.peripheral("toy").connections_total == 2
    gaps = [i for i in items if isinstance(i, Gap)]
    assert len(gaps) == 1 and 0 < gaps[0].end_s - gaps[0].start_s < 2.0
    first_start_s, second_start_s = twin.start_times_s
    assert gaps[0].start_s <= 5.0 - first_start_s < gaps[0].start_s + 0.02  # last sample before the drop
    # the new stream is placed where it really began on the device clock (host-measured gap)
    assert gaps[0].end_s == pytest.approx(second_start_s - first_start_s, abs=0.15)
    samples = blocks_of(items)
    assert np.all(np.diff(samples.t_s) > 0)  # one continuous, increasing time line
    steps = np.diff(samples.t_s)
    assert np.count_nonzero(steps > 0.011) == 1  # the only jump is the gap
    # everything the device sent before the drop arrived, and the new stream from its start
    np.testing.assert_array_equal(samples.force_n, sent_force(twin)[: len(samples)])
    assert [c for c in twin.commands if c in (START, STOP)].count(START) == 2
    statuses = [i for i in items if isinstance(i, LinkStatus)]
    assert any(s.state is LinkState.RECONNECTING for s in statuses)
    assert statuses[-1].reconnects == 1


async def test_corrupted_packets_are_counted_skipped_and_reported() -> None:
    twin = ToyTwin()
    faults = {"toy": Faults(corrupt_at_s=(1.0, 2.0, 3.0))}
    async with emulated_sensors([twin], speed=10, faults=faults) as world:
        items = await collect(stream("toy", backends=world.backends, duration_s=4.0, tare=False))
        assert world.peripheral("toy").corrupted_total == 3
    final = [i for i in items if isinstance(i, LinkStatus)][-1]
    assert final.corrupted_packets == 3
    samples = blocks_of(items)
    assert abs(len(samples) - (400 - 3 * 2)) <= 2  # three 2-sample packets skipped
    expected = sent_force(twin)
    assert set(np.round(samples.force_n, 4)) <= set(np.round(expected, 4))


async def test_dropped_notifications_and_low_battery_show_in_link_status() -> None:
    faults = {"toy": Faults(drop_fraction=0.05, seed=3, low_battery_at_s=1.0)}
    async with emulated_sensors([ToyTwin()], speed=10, faults=faults) as world:
        items = await collect(stream("toy", backends=world.backends, duration_s=4.0, tare=False))
        dropped = world.peripheral("toy").dropped_total
    final = [i for i in items if isinstance(i, LinkStatus)][-1]
    assert dropped > 3
    assert 0 < final.dropped_packets <= dropped  # adjacent drops merge into one jump
    assert final.battery_percent == 9.0
    assert any(isinstance(i, LinkStatus) and i.message == "battery low" for i in items)


async def test_software_tare_uses_the_first_still_second() -> None:
    twin = ToyTwin(StillThenPull(preload_n=5.0, still_s=2.0))
    async with emulated_sensors([twin], speed=10) as world:
        items = await collect(stream("toy", backends=world.backends, duration_s=4.0))
    meta, search = items[0], items[1]
    # the meta comes before the search, so a log exists from the first sample
    assert isinstance(meta, RecordingMeta) and meta.tare_offset_n is None
    assert search == Tare(decided=False)
    decided = next(i for i, item in enumerate(items) if isinstance(item, Tare) and item.decided)
    assert items[decided].offset_n == pytest.approx(5.0, abs=1e-5)
    raw, after = blocks_of(items[:decided]), blocks_of(items[decided:])
    assert 90 <= len(raw) <= 250  # the search's samples come as they arrive, untared
    np.testing.assert_allclose(raw.force_n, sent_force(twin)[: len(raw)], atol=1e-5)
    samples = SampleBlock.concat([tared(raw, items[decided].offset_n), after])
    assert len(samples) >= 398 and samples.t_s[0] == 0.0  # samples taken while taring are kept
    np.testing.assert_allclose(samples.force_n, sent_force(twin)[: len(samples)] - 5.0, atol=1e-5)


async def test_cancellation_stops_the_device_and_closes_the_link() -> None:
    twin = ToyTwin()
    async with emulated_sensors([twin], speed=5) as world:
        items: list = []

        async def consume() -> None:
            async for item in stream("toy", backends=world.backends, tare=False):
                items.append(item)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.wait_for(task, 5.0)  # returns normally: the caller can close its sinks
        assert not task.cancelled()
        await asyncio.sleep(0.05)
        assert twin.commands[-1] == STOP
        assert world.peripheral("toy").connection is None and not world.central.connections
    assert len(blocks_of(items)) > 0
    assert isinstance(items[-1], LinkStatus) and items[-1].message == "stopped by user"


async def test_gives_up_after_the_reconnect_window_having_yielded_everything() -> None:
    twin = ToyTwin()
    async with emulated_sensors([twin], speed=5, faults={"toy": Faults(disconnect_at_s=(1.0,))}) as world:
        items: list = []
        with pytest.raises(ConnectionLostError):
            async for item in stream("toy", backends=world.backends, tare=False, reconnect_timeout_s=0.6):
                items.append(item)
                if isinstance(item, LinkStatus) and item.state is LinkState.RECONNECTING:
                    await world.peripheral("toy").stop()  # gone for good: stops advertising
    samples = blocks_of(items)
    np.testing.assert_array_equal(samples.force_n, sent_force(twin))


async def test_no_reconnect_raises_after_the_last_sample() -> None:
    twin = ToyTwin()
    async with emulated_sensors([twin], speed=5, faults={"toy": Faults(disconnect_at_s=(1.0,))}) as world:
        items: list = []
        with pytest.raises(ConnectionLostError, match="reconnect is off"):
            async for item in stream("toy", backends=world.backends, tare=False, reconnect=False):
                items.append(item)
    assert len(blocks_of(items)) == len(sent_force(twin))


async def test_unknown_target_is_a_clear_error() -> None:
    async with emulated_sensors([ToyTwin()]) as world:
        with pytest.raises(DeviceNotFoundError, match="Toy 0001"):
            await collect(stream("Nonexistent", backends=world.backends, scan_timeout_s=0.3))


async def test_a_sensor_that_vanishes_after_the_scan_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from bandlog.sources import ble_session

    async with emulated_sensors([ToyTwin()]) as world:
        real_find = ble_session.find_device

        async def find_then_vanish(*args, **kwargs):
            found = await real_find(*args, **kwargs)
            await world.peripheral("toy").stop()  # powered off between scan and connect
            return found

        monkeypatch.setattr(ble_session, "find_device", find_then_vanish)
        monkeypatch.setattr(ble_session, "FIRST_CONNECT_WINDOW_S", 0.8)
        with pytest.raises(ConnectionLostError, match=r"could not connect to Toy 0001 within 0\.8 s"):
            await collect(stream("toy", backends=world.backends))
        assert not world.central.connections
