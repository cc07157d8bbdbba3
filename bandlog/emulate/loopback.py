"""A GattLink wired straight to a twin on a virtual clock: no BLE stack, no sleeping.

Unit tests and benchmarks of device conversations and decoders run through this in milliseconds of
real time. It enforces what a GATT server would (characteristic exists, has the property used,
notifications only after subscribing) so a profile that passes here is not relying on slack. The
full BLE path (Bumble + bleak) is emulate/stack.py and sources/ble.py.
"""

from __future__ import annotations

import asyncio
from collections import deque

from bandlog.core.errors import ConfigError, ProtocolError
from bandlog.core.link import Notification
from bandlog.emulate.twins.base import NOTIFY, WRITE, WRITE_WITHOUT_RESPONSE, CharSpec, Outgoing, PeripheralTwin


class LoopbackLink:
    """GattLink on a twin. `now_s` is the virtual device/host clock; next_notification advances it."""

    def __init__(self, twin: PeripheralTwin, step_s: float = 0.005, *, mtu_size: int = 23) -> None:
        if step_s <= 0:
            raise ConfigError(f"step_s must be positive, got {step_s}")
        self.twin = twin
        self.step_s = step_s
        self._mtu_size = mtu_size
        self._steps = 0
        self._queue: deque[Notification] = deque()
        self._subscribed: set[str] = set()
        self.writes: list[tuple[str, bytes, bool]] = []
        """Every write the central made (char, data, with response), for tests to inspect."""

    @property
    def now_s(self) -> float:
        return self._steps * self.step_s

    @property
    def mtu_size(self) -> int:
        return self._mtu_size

    def _char(self, char_uuid: str) -> CharSpec:
        for service in self.twin.services:
            for char in service.characteristics:
                if char.uuid.lower() == char_uuid.lower():
                    return char
        raise ProtocolError(f"{self.twin.name} has no characteristic {char_uuid}")

    def _deliver(self, outgoing: list[Outgoing]) -> None:
        for item in outgoing:
            if item.char_uuid.lower() in self._subscribed:
                self._queue.append(Notification(item.char_uuid.lower(), bytes(item.payload), self.now_s))

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        char = self._char(char_uuid)
        needed = WRITE if response else WRITE_WITHOUT_RESPONSE
        if needed not in char.properties:
            raise ProtocolError(f"{char_uuid} does not accept {needed}")
        if len(data) > self._mtu_size - 3:
            raise ProtocolError(f"a {len(data)}-byte write exceeds the ATT MTU of {self._mtu_size}")
        self.writes.append((char.uuid, bytes(data), response))
        self._deliver(self.twin.on_write(char.uuid, bytes(data), self.now_s))

    async def read(self, char_uuid: str) -> bytes:
        return self.twin.read(self._char(char_uuid).uuid)

    async def subscribe(self, char_uuid: str) -> None:
        char = self._char(char_uuid)
        if NOTIFY not in char.properties:
            raise ProtocolError(f"{char_uuid} does not notify")
        self._subscribed.add(char.uuid.lower())
        self._deliver(self.twin.on_subscribe(char.uuid, True, self.now_s))

    async def next_notification(self, timeout_s: float) -> Notification:
        deadline = self._steps + max(0, round(timeout_s / self.step_s))
        while not self._queue:
            if self._steps >= deadline:
                raise ProtocolError(f"no notification from {self.twin.name} within {timeout_s} s")
            self._steps += 1
            self._deliver(self.twin.poll(self.now_s))
        await asyncio.sleep(0)
        return self._queue.popleft()

    def advance(self, seconds: float) -> None:
        """Let device time pass without reading; what the twin sends meanwhile stays queued."""
        for _ in range(round(seconds / self.step_s)):
            self._steps += 1
            self._deliver(self.twin.poll(self.now_s))

    def send_low_battery_warning(self) -> None:
        self._deliver(self.twin.low_battery_warning())

    def disconnect(self) -> None:
        """Drop the link: the twin stops and forgets subscriptions; queued notifications are lost."""
        self.twin.on_disconnect(self.now_s)
        self._subscribed.clear()
        self._queue.clear()
