"""Plain bleak API calls against the emulated world: the backend must behave like a real one."""

from __future__ import annotations

import asyncio
import time

import pytest
from ble_toy import CONTROL_UUID, DATA_UUID, INFO_UUID, SERVICE_UUID, START, STOP, ToyTwin
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError

from bandlog.emulate.faults import Faults
from bandlog.emulate.stack import emulated_sensors


async def test_discover_reports_name_rssi_and_service_uuids() -> None:
    async with emulated_sensors([ToyTwin(), ToyTwin(name="Toy 0002")]) as world:
        seen = await BleakScanner.discover(0.3, return_adv=True, backend=world.backends[0])
    by_name = {adv.local_name: (device, adv) for device, adv in seen.values()}
    assert set(by_name) == {"Toy 0001", "Toy 0002"}
    device, adv = by_name["Toy 0001"]
    assert adv.service_uuids == [SERVICE_UUID]  # de-duplicated despite the repeated scan response
    assert isinstance(adv.rssi, int) and -100 < adv.rssi < 0
    assert device.name == "Toy 0001"


async def test_service_filter_drops_other_advertisers() -> None:
    async with emulated_sensors([ToyTwin()]) as world:
        other = await BleakScanner.discover(
            0.2, service_uuids=["0000ffff-0000-1000-8000-00805f9b34fb"], backend=world.backends[0]
        )
        mine = await BleakScanner.discover(0.2, service_uuids=[SERVICE_UUID], backend=world.backends[0])
    assert other == [] and len(mine) == 1


async def test_gatt_read_write_notify_round_trip() -> None:
    twin = ToyTwin()
    async with emulated_sensors([twin], speed=10) as world:
        device = await BleakScanner.find_device_by_name("Toy 0001", timeout=2.0, backend=world.backends[0])
        assert device is not None
        received: list[bytes] = []
        async with BleakClient(device, backend=world.backends[1]) as client:
            assert client.mtu_size == 23
            control = client.services.get_characteristic(CONTROL_UUID)
            assert control is not None and set(control.properties) == {"write", "write-without-response"}
            data = client.services.get_characteristic(DATA_UUID)
            assert data is not None and data.properties == ["notify"]
            assert [d.uuid for d in data.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
            assert await client.read_gatt_char(INFO_UUID) == b"toy-fw-1"
            await client.start_notify(DATA_UUID, lambda _c, payload: received.append(bytes(payload)))
            await client.write_gatt_char(CONTROL_UUID, bytes([START]), response=True)
            await asyncio.sleep(0.2)
            await client.stop_notify(DATA_UUID)
            count = len(received)
            await asyncio.sleep(0.1)
            assert len(received) == count  # unsubscribed: nothing more arrives
            await client.write_gatt_char(CONTROL_UUID, bytes([STOP]), response=False)
            await asyncio.sleep(0.05)
    assert twin.commands == [START, STOP]
    assert count > 10 and all(len(p) == 18 and p[0] == 0x01 for p in received)


async def test_unsupported_operations_answer_att_errors() -> None:
    async with emulated_sensors([ToyTwin()]) as world, BleakClient("D0:BA:4D:00:01:01", backend=world.backends[1], timeout=2.0) as client:
        with pytest.raises(BleakGATTProtocolError):
            await client.read_gatt_char(DATA_UUID)  # notify-only
            with pytest.raises(BleakGATTProtocolError):
                await client.write_gatt_char(INFO_UUID, b"x", response=True)  # read-only


async def test_unsolicited_disconnect_calls_back_and_reconnect_works() -> None:
    lost = asyncio.Event()
    async with emulated_sensors([ToyTwin()], speed=10, faults={"toy": Faults(disconnect_at_s=(0.5,))}) as world:
        client = BleakClient("D0:BA:4D:00:01:01", lambda _c: lost.set(), backend=world.backends[1], timeout=2.0)
        await client.connect()
        await asyncio.wait_for(lost.wait(), 2.0)
        assert not client.is_connected
        await client.connect()  # the peripheral advertises again
        assert client.is_connected
        await client.disconnect()
        await asyncio.sleep(0.05)
        assert world.peripheral("toy").connection is None
        assert world.peripheral("toy").connections_total == 2


async def test_a_requested_disconnect_calls_back_too_as_bluez_does() -> None:
    """bleak's disconnected callback fires for every disconnect on BlueZ (bleak #314); the twin stack
    does too, so a test sees what a real adapter makes bandlog do on its own disconnects."""
    called = asyncio.Event()
    async with emulated_sensors([ToyTwin()]) as world:
        client = BleakClient("D0:BA:4D:00:01:01", lambda _c: called.set(), backend=world.backends[1], timeout=2.0)
        await client.connect()
        await client.disconnect()
        await asyncio.wait_for(called.wait(), 2.0)


async def test_connect_to_absent_device_times_out_and_leaves_no_pending_connection() -> None:
    async with emulated_sensors([ToyTwin()]) as world:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await BleakClient("D0:BA:4D:00:09:09", backend=world.backends[1], timeout=0.3).connect()
        assert time.monotonic() - started < 2.0
        async with BleakClient("D0:BA:4D:00:01:01", backend=world.backends[1], timeout=2.0) as client:
            assert client.is_connected
