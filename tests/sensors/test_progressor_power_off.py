"""The Progressor switches itself off after 10 minutes without measuring (protocols.md 1.1): the twin
models it, a session's continuous stream keeps it on (also across a reconnect), and a unit that is
gone is reported with what to do."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner

from bandlog.core.errors import ConnectionLostError, DeviceNotFoundError
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus
from bandlog.devices.progressor import CONTROL_UUID, DATA_UUID, ProgressorProfile
from bandlog.emulate.faults import Faults
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.progressor import IDLE_POWER_OFF_S, ProgressorTwin
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import find_device, scan

START, STOP = b"\x65", b"\x66"
BATTERY = b"\x6f"
SLEEP = b"\x6e"


def test_twin_switches_off_after_ten_idle_minutes_and_the_button_wakes_it() -> None:
    twin = ProgressorTwin()
    twin.on_subscribe(DATA_UUID, True, 0.0)
    assert IDLE_POWER_OFF_S == 600.0
    assert twin.powered_on(599.9) and twin.on_write(CONTROL_UUID, BATTERY, 599.9)
    assert twin.on_write(CONTROL_UUID, BATTERY, 600.0) == [] and not twin.powered_on(600.0)
    assert twin.power_offs == 1
    twin.on_write(CONTROL_UUID, START, 601.0)  # ignored: it is off
    assert not twin.streaming and twin.poll(700.0) == [] and not twin.powered_on(2000.0)
    twin.press_button()
    assert twin.powered_on(2000.0) and twin.on_write(CONTROL_UUID, BATTERY, 2000.0)
    assert twin.powered_on(2599.9) and not twin.powered_on(2600.0)  # the idle time counts from the wake
    assert twin.power_offs == 2


def test_twin_stays_on_while_measuring_and_counts_idle_from_the_stop() -> None:
    twin = ProgressorTwin()
    twin.on_subscribe(DATA_UUID, True, 0.0)
    twin.on_write(CONTROL_UUID, START, 500.0)
    for t_s in range(501, 1300, 100):  # 13 minutes of streaming
        assert twin.poll(float(t_s)) and twin.powered_on(float(t_s))
    twin.on_write(CONTROL_UUID, STOP, 1300.0)
    assert twin.powered_on(1899.0) and not twin.powered_on(1900.0)
    assert twin.power_offs == 1


def test_twin_connected_but_not_measuring_also_switches_off() -> None:
    """The conservative reading of protocols.md 1.1: connected and subscribed, but not measuring."""
    twin = ProgressorTwin()
    twin.on_subscribe(DATA_UUID, True, 0.0)
    twin.on_write(CONTROL_UUID, START, 0.0)
    twin.on_disconnect(100.0)  # the link dropped: the unit stops measuring there
    assert twin.powered_on(699.0) and not twin.powered_on(700.0)


async def test_an_idle_connected_unit_drops_the_link_and_stops_advertising() -> None:
    twin = ProgressorTwin(idle_power_off_s=2.0)
    async with emulated_sensors([twin], speed=20) as world:
        device = await BleakScanner.find_device_by_name(twin.name, timeout=2.0, backend=world.backends[0])
        assert device is not None
        dropped = asyncio.Event()
        client = BleakClient(device, backend=world.backends[1], disconnected_callback=lambda _c: dropped.set())
        await client.connect()
        await asyncio.wait_for(dropped.wait(), 2.0)  # 2 s of device time at 20x: 0.1 s
        assert not client.is_connected and twin.power_offs == 1
        assert await scan(0.3, backends=world.backends) == []
        twin.press_button()
        found = await scan(0.5, backends=world.backends)
    assert [d.profile for d in found] == ["progressor"]


async def test_a_recording_keeps_it_on_also_across_a_reconnect() -> None:
    """Streaming continuously, and restarting the measurement as soon as the link is back, never
    leaves the unit idle for long (the reconnect here takes ~0.2 s of device time): with a 4 s
    power-off, 8 s with a link loss lose nothing to it."""
    twin = ProgressorTwin(idle_power_off_s=4.0)
    async with emulated_sensors([twin], speed=10, faults={"progressor": Faults(disconnect_at_s=(3.0,))}) as world:
        items = [item async for item in stream("progressor", backends=world.backends, duration_s=8.0, tare=False)]
        peripheral = world.peripheral("progressor")
        assert twin.power_offs == 0 and peripheral.connections_total == 2
        assert isinstance(items[-1], LinkStatus) and items[-1].reconnects == 1
        assert sum(len(i) for i in items if isinstance(i, SampleBlock)) >= 8.0 * 80 - 80 * 1.0
        # after the recording the unit is idle: 4 s later it is gone, and the user is told why and what to do
        await asyncio.sleep(0.8)
        with pytest.raises(DeviceNotFoundError) as error:
            await find_device("progressor", timeout_s=0.3, backends=world.backends)
    assert twin.power_offs == 1
    assert str(error.value).endswith("; " + ProgressorProfile.wake_hint)


@pytest.mark.parametrize("target", ["progressor", "Progressor_9999", "PROGRESSOR"])
async def test_not_found_carries_the_wake_hint_when_the_target_names_a_progressor(target: str) -> None:
    async with emulated_sensors([]) as world:
        with pytest.raises(DeviceNotFoundError) as error:
            await find_device(target, timeout_s=0.2, backends=world.backends)
    assert "press its button to wake it, then record again" in str(error.value)


@pytest.mark.parametrize("target", ["gdx-for", "D0:BA:4D:00:01:01"])
async def test_not_found_has_no_wake_hint_for_other_targets(target: str) -> None:
    async with emulated_sensors([]) as world:
        with pytest.raises(DeviceNotFoundError) as error:
            await find_device(target, timeout_s=0.2, backends=world.backends)
    assert "button" not in str(error.value)


async def test_a_unit_that_switches_off_mid_recording_ends_it_with_the_wake_hint() -> None:
    """The link drops because the unit went off (here: told to sleep, as it does by itself when idle);
    reconnecting fails, and the error says what to do rather than only that the link is gone."""
    twin = ProgressorTwin()
    received = 0
    async with emulated_sensors([twin], speed=10) as world:
        with pytest.raises(ConnectionLostError) as error:
            async for item in stream("progressor", backends=world.backends, tare=False, reconnect_timeout_s=1.0):
                received += len(item) if isinstance(item, SampleBlock) else 0
                if received >= 80 and not twin.asleep:
                    twin.on_write(CONTROL_UUID, SLEEP, 0.0)
    assert twin.asleep and received >= 80
    message = str(error.value)
    assert message.startswith("lost the link to") and message.endswith("; " + ProgressorProfile.wake_hint)
