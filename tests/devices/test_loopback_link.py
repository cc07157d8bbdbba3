"""LoopbackLink enforces what a GATT server would, on a virtual clock."""

from __future__ import annotations

import pytest

from bandlog.core.errors import ConfigError, ProtocolError
from bandlog.devices.progressor import CONTROL_UUID, DATA_UUID
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.progressor import ProgressorTwin


async def test_gatt_rules_are_enforced() -> None:
    link = LoopbackLink(ProgressorTwin())
    with pytest.raises(ProtocolError, match="no characteristic"):
        await link.write("0000ffe9-0000-1000-8000-00805f9a34fb", b"\x65", response=True)
    with pytest.raises(ProtocolError, match="does not accept write"):
        await link.write(DATA_UUID, b"\x65", response=True)
    with pytest.raises(ProtocolError, match="does not notify"):
        await link.subscribe(CONTROL_UUID)
    with pytest.raises(ProtocolError, match="exceeds the ATT MTU"):
        await link.write(CONTROL_UUID, bytes(21), response=False)
    with pytest.raises(ConfigError):
        LoopbackLink(ProgressorTwin(), step_s=0)


async def test_notifications_need_a_subscription_and_time_is_virtual() -> None:
    twin = ProgressorTwin()
    link = LoopbackLink(twin, step_s=0.01)
    await link.write(CONTROL_UUID, b"\x6b", response=True)
    with pytest.raises(ProtocolError, match=r"within 0\.3 s"):
        await link.next_notification(0.3)
    assert link.now_s == pytest.approx(0.3)
    await link.subscribe(DATA_UUID.upper())
    await link.write(CONTROL_UUID, b"\x6b", response=True)
    first = await link.next_notification(0.3)
    assert first.char_uuid == DATA_UUID and first.t_host_s == pytest.approx(0.3)
    await link.write(CONTROL_UUID, b"\x65", response=True)
    data = await link.next_notification(1.0)
    assert data.payload[0] == 1 and data.t_host_s == pytest.approx(0.31)  # sent at the first poll
    assert (await link.read(CONTROL_UUID)) == b""
