"""One emulated sensor on the virtual link: a Bumble peripheral that serves a twin's GATT layout.

The twin holds the protocol (pure, clocked by `now_s`); this module is the I/O around it: it turns
the twin's services into a Bumble GATT server, routes writes and CCCD changes to the twin, runs a
ticker that polls the twin for streaming notifications, advertises again after every disconnect,
and injects the faults a test asks for. What Bumble needs from the twin's declared layout (and
where its server is stricter or laxer than a device) is gatt_layout.py. Imported lazily: bumble is
loaded only when emulating.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

from bumble import att, gatt, hci
from bumble.device import Connection, Device

from bandlog.core.samples import SampleBlock
from bandlog.emulate.faults import Faults
from bandlog.emulate.gatt_layout import advertising_data, bumble_properties, guard_write_kinds
from bandlog.emulate.twins.base import (
    NOTIFY,
    READ,
    Outgoing,
    PeripheralTwin,
)

logger = logging.getLogger(__name__)

TICK_S = 0.004
"""Real seconds between twin polls; the twin decides what is due, so this only sets burst size."""
ADVERTISING_INTERVAL_MS = 20.0
LINK_LOSS_REASON = hci.HCI_CONNECTION_TIMEOUT_ERROR
"""What a central sees when a device walks out of range: supervision timeout."""
MAX_TICK_WORK_S = 0.05
"""Real seconds one tick may spend generating and sending; beyond that the device clock is held back."""
MIN_ADVANCE_S = 0.002
MAX_BACKLOG_S = 0.5
"""Real seconds a device may fall behind its clock, catching up later, before the clock is held back."""
SLOW_WARNING_S = 1.0
"""Real seconds' worth of device time held back before the user is told the emulation runs slower."""

POWER_CHECK_S = 0.02
"""Real seconds between asking a twin that can switch itself off whether it is still on."""


@runtime_checkable
class SwitchesItselfOff(Protocol):
    """A twin whose device powers itself off (the Progressor after 10 idle minutes): while it says it is
    off, the peripheral drops the link and does not advertise; when it is on again, it advertises."""

    def powered_on(self, now_s: float) -> bool: ...


TruthListener = Callable[[list[tuple[SampleBlock, bool]]], None]
"""Called with the blocks one send carried, each with whether a drop or corruption hit it (when the
twin made one block per notification; otherwise a fault marks every block of the send)."""


class EmulatedPeripheral:
    """A twin served by a Bumble device. Create and start it inside the running event loop."""

    def __init__(self, twin: PeripheralTwin, device: Device, *, speed: float = 1.0, faults: Faults | None = None) -> None:
        self.twin = twin
        self.device = device
        self.speed = speed
        self.faults = faults or Faults()
        self.connection: Connection | None = None
        self.connections_total = 0
        self.dropped_total = 0
        self.corrupted_total = 0
        self._loop = asyncio.get_running_loop()
        self._t0: float | None = None
        self._rng = random.Random(self.faults.seed)
        self._pending_disconnects = sorted(self.faults.disconnect_at_s)
        self._pending_corruptions = sorted(self.faults.corrupt_at_s)
        self._next_disconnect_s = self.faults.disconnect_every_s
        self._next_corrupt_s = self.faults.corrupt_every_s
        self.truth_listener: TruthListener | None = None
        """Set by a check that must see every sample sent (bench/soak.py); the twin keeps only the last ones."""
        self._unreported: list[SampleBlock] = []
        twin.sent_samples.listeners.append(self._unreported.append)
        self.held_back_s = 0.0
        """Device seconds the clock was held back because this machine could not keep up."""
        self._advance_cap_s = math.inf
        self._polled_s = 0.0
        self._low_battery_due = self.faults.low_battery_at_s
        self._characteristics: dict[str, gatt.Characteristic] = {}
        self._properties_by_handle: dict[int, frozenset[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._power_watch: asyncio.Task[None] | None = None
        self._closing = False
        self._corrupt_next_send = False

    # -- clock -------------------------------------------------------------------------------

    def now_s(self) -> float:
        """Device time: zero until the first connection, then (loop time - t0) * speed."""
        if self._t0 is None:
            return 0.0
        return (self._loop.time() - self._t0) * self.speed

    # -- set-up ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._build_gatt()
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        await self._advertise()
        if isinstance(self.twin, SwitchesItselfOff):
            self._power_watch = asyncio.create_task(self._watch_power(self.twin), name=f"power {self.twin.name}")

    async def stop(self) -> None:
        self._closing = True
        if self._unreported.append in self.twin.sent_samples.listeners:
            self.twin.sent_samples.listeners.remove(self._unreported.append)
        background = [t for t in (self._ticker, self._power_watch) if t is not None]
        for task in [*background, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *background, return_exceptions=True)
        if self.connection is not None:
            await self._disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
        await self.device.stop_advertising()

    def _build_gatt(self) -> None:
        services = []
        declared: list[tuple[gatt.Characteristic, frozenset[str]]] = []
        for service in self.twin.services:
            characteristics = []
            for spec in service.characteristics:
                characteristic: gatt.Characteristic[bytes] = gatt.Characteristic(
                    spec.uuid,
                    bumble_properties(spec.properties),
                    gatt.Characteristic.Permissions.READABLE | gatt.Characteristic.Permissions.WRITEABLE,
                    gatt.CharacteristicValue(read=self._reader(spec.uuid, spec.properties), write=self._writer(spec.uuid)),
                )
                if NOTIFY in spec.properties:
                    characteristic.on(characteristic.EVENT_SUBSCRIPTION, self._subscription_handler(spec.uuid))
                self._characteristics[spec.uuid.lower()] = characteristic
                characteristics.append(characteristic)
                declared.append((characteristic, spec.properties))
            services.append(gatt.Service(service.uuid, characteristics))
        self.device.add_services(services)
        for characteristic, properties in declared:
            self._properties_by_handle[characteristic.handle] = properties
        self.device.gatt_server.max_mtu = att.ATT_DEFAULT_MTU
        guard_write_kinds(self.device.gatt_server, self._properties_by_handle, self.twin.name)

    async def _advertise(self) -> None:
        if self._closing or (isinstance(self.twin, SwitchesItselfOff) and not self.twin.powered_on(self.now_s())):
            return
        await self.device.start_advertising(
            advertising_data=advertising_data(self.twin.name, self.twin.advertised_service_uuids),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    # -- GATT handlers -----------------------------------------------------------------------

    def _reader(self, uuid: str, properties: frozenset[str]) -> Callable[[Connection], bytes]:
        def read(_connection: Connection) -> bytes:
            if READ not in properties:
                raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)
            try:
                return self.twin.read(uuid)
            except KeyError:
                raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED) from None

        return read

    def _writer(self, uuid: str) -> Callable[[Connection, bytes], Awaitable[None]]:
        async def write(_connection: Connection, value: bytes) -> None:
            try:
                replies = self.twin.on_write(uuid, bytes(value), self.now_s())
            except Exception:  # a twin bug must answer an ATT error, not hang the central
                logger.exception("%s: twin failed on a write to %s", self.twin.name, uuid)
                raise att.ATT_Error(att.ErrorCode.UNLIKELY_ERROR) from None
            await self._send(replies, streaming=False)

        return write

    def _subscription_handler(self, uuid: str) -> Callable[[att.Bearer, bool, bool], None]:
        def on_subscription(_bearer: att.Bearer, notify_enabled: bool, _indicate_enabled: bool) -> None:
            replies = self.twin.on_subscribe(uuid, notify_enabled, self.now_s())
            if replies:
                self._spawn(self._send(replies, streaming=False))

        return on_subscription

    # -- connection lifecycle ----------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if self._t0 is None:
            self._t0 = self._loop.time()
        self.connection = connection
        self.connections_total += 1
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_while_connected(), name=f"ticker {self.twin.name}")
        logger.info("%s: connected (device time %.3f s)", self.twin.name, self.now_s())
        connection.on(connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason))

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self.connection is connection:
            self.connection = None
        logger.info("%s: disconnected (reason 0x%02X, device time %.3f s)", self.twin.name, reason, self.now_s())
        self.twin.on_disconnect(self.now_s())
        if not self._closing:
            self._spawn(self._advertise())

    async def _disconnect(self, reason: int) -> None:
        connection = self.connection
        if connection is None:
            return
        try:
            await asyncio.wait_for(self.device.disconnect(connection, reason), timeout=2.0)
        except (TimeoutError, hci.HCI_Error) as error:
            logger.warning("%s: disconnect did not complete cleanly: %s", self.twin.name, error)

    async def _watch_power(self, twin: SwitchesItselfOff) -> None:
        """A device that switched itself off vanishes: its link drops as if out of range (supervision
        timeout) and it stops advertising; once it is on again (its button) it advertises again."""
        off = False
        while not self._closing:
            await asyncio.sleep(POWER_CHECK_S)
            if not twin.powered_on(self.now_s()):
                if not off:
                    logger.info("%s: switched off at device time %.3f s", self.twin.name, self.now_s())
                off = True
                if self.connection is not None:
                    await self._disconnect(LINK_LOSS_REASON)
                if self.device.is_advertising:
                    await self.device.stop_advertising()
            elif off:  # woken: advertise again (while it was off, nothing else did)
                off = False
                logger.info("%s: switched on at device time %.3f s", self.twin.name, self.now_s())
                await self._advertise()

    # -- streaming ---------------------------------------------------------------------------

    async def _tick_while_connected(self) -> None:
        """Poll the twin every TICK_S while a central is connected (idle peripherals cost nothing)."""
        while self.connection is not None:
            await asyncio.sleep(TICK_S)
            if self.connection is not None:
                started = self._loop.time()
                covered_s = await self._tick()
                self._pace(self._loop.time() - started, covered_s)

    def _clock_for_tick(self) -> float:
        """Device time to poll up to: now, unless that is more than this machine managed last time.

        Each tick sends everything due, so a loop that cannot process speed x rate samples per
        second would get ever bigger bursts, block the loop (and Ctrl-C) and never catch up
        (`record --speed 20 --rate 1000` hung). Instead a tick covers at most what the last one
        managed: the device falls behind its clock and catches up when the machine is less busy, as
        a real sensor's notifications reach a busy host late but dated right. Only a backlog beyond
        MAX_BACKLOG_S is given up by holding the device clock back: the emulation runs slower than
        asked, skips nothing, and says so once. (Holding the clock back at every slow tick made a
        briefly starved loop look like lost samples to a stream timed by sample index, and moved
        one device of a pair against the other.)
        """
        now_s = self.now_s()
        target_s = min(now_s, self._polled_s + self._advance_cap_s)
        excess_s = now_s - target_s - MAX_BACKLOG_S * self.speed
        if excess_s > 0 and self._t0 is not None:
            before = self.held_back_s
            self.held_back_s += excess_s
            self._t0 += excess_s / self.speed
            if before < SLOW_WARNING_S * self.speed <= self.held_back_s:
                logger.warning(
                    "emulated %s cannot keep up at %g times real time on this machine: it runs slower, skipping nothing",
                    self.twin.name, self.speed,
                )
        return target_s

    def _pace(self, busy_s: float, covered_s: float) -> None:
        """Shrink the device time one tick may cover when the tick took too long; grow it back after."""
        if math.isnan(covered_s):
            return
        if busy_s > MAX_TICK_WORK_S:
            self._advance_cap_s = max(covered_s / 2, MIN_ADVANCE_S)
        elif busy_s < MAX_TICK_WORK_S / 4 and math.isfinite(self._advance_cap_s):
            self._advance_cap_s *= 1.25

    def _periodic_due(self, now_s: float) -> tuple[bool, bool]:
        """(disconnect now, corrupt now) from the periodic faults; each moves on by its period."""
        disconnect = self._next_disconnect_s is not None and now_s >= self._next_disconnect_s
        if disconnect:
            assert self._next_disconnect_s is not None and self.faults.disconnect_every_s is not None
            self._next_disconnect_s += self.faults.disconnect_every_s
        corrupt = self._next_corrupt_s is not None and now_s >= self._next_corrupt_s
        if corrupt:
            assert self._next_corrupt_s is not None and self.faults.corrupt_every_s is not None
            self._next_corrupt_s += self.faults.corrupt_every_s
        return disconnect, corrupt

    async def _tick(self) -> float:
        """Poll and send what is due; the device seconds this tick covered (NaN if it cut the link)."""
        now_s = self._clock_for_tick()
        covered_s, self._polled_s = max(now_s - self._polled_s, 0.0), now_s
        disconnect_now = bool(self._pending_disconnects) and now_s >= self._pending_disconnects[0]
        if disconnect_now:
            now_s = self._pending_disconnects.pop(0)
        periodic_disconnect, periodic_corrupt = self._periodic_due(now_s)
        self._corrupt_next_send = self._corrupt_next_send or periodic_corrupt  # lands on the next batch sent
        disconnect_now = disconnect_now or periodic_disconnect
        if self._low_battery_due is not None and now_s >= self._low_battery_due:
            self._low_battery_due = None
            logger.info("%s: sending low-battery warning", self.twin.name)
            await self._send(self.twin.low_battery_warning(), streaming=False)
        await self._send(self.twin.poll(now_s), streaming=True, now_s=now_s)
        if disconnect_now and self.connection is not None:
            logger.info("%s: injected link loss at device time %.3f s", self.twin.name, now_s)
            await self._drain(self.connection)
            await self._disconnect(LINK_LOSS_REASON)
            return math.nan  # a tick that waits for the link to go says nothing about keeping up
        return covered_s

    async def _drain(self, connection: Connection) -> None:
        """Let notifications already handed to Bumble's host reach the air first.

        Otherwise Bumble flushes its ACL queue on disconnect, and the test's truth (what the twin
        sent) would include packets that never left: the drop fault is the way to lose packets.
        """
        queue = self.device.host.le_acl_packet_queue or self.device.host.acl_packet_queue
        if queue is None:
            return
        with contextlib.suppress(ValueError, asyncio.TimeoutError):
            await asyncio.wait_for(queue.drain(connection.handle), 1.0)

    async def _send(self, outgoing: list[Outgoing], *, streaming: bool, now_s: float | None = None) -> None:
        sent, self._unreported[:] = list(self._unreported), []
        connection = self.connection
        if connection is None or not outgoing:
            self._report(sent, [bool(outgoing)] * len(outgoing))  # a batch due with no link is lost
            return
        hit = [False] * len(outgoing)
        corrupt_count = self._corruptions_due(now_s, len(outgoing)) if streaming else 0
        # several due in one send (a tick that covered a second or more on a busy machine) land on
        # notifications spread over it, each its own packet, rather than one
        corrupt_at = {i * len(outgoing) // corrupt_count for i in range(corrupt_count)} if corrupt_count else set()
        for index, item in enumerate(outgoing):
            payload = item.payload
            if streaming and self.faults.drop_fraction > 0 and self._rng.random() < self.faults.drop_fraction:
                self.dropped_total += 1
                hit[index] = True
                continue
            characteristic = self._characteristics.get(item.char_uuid.lower())
            if characteristic is None:
                logger.warning("%s: twin notified unknown characteristic %s", self.twin.name, item.char_uuid)
                continue
            if index in corrupt_at:
                payload = (self.faults.corrupt or self.twin.damage)(payload)
                hit[index] = True
                # counted only when it reaches a client: after the client stopped listening, Bumble
                # sends nothing, and a busy machine's twin may stream on a while before it is told
                if self._subscribed(connection, characteristic):
                    self.corrupted_total += 1
                    logger.info("%s: corrupted a notification at device time %.3f s", self.twin.name, now_s)
            if len(payload) > connection.att_mtu - 3:
                logger.warning("%s: %d-byte notification exceeds the ATT MTU and is truncated", self.twin.name, len(payload))
            await self.device.notify_subscriber(connection, characteristic, payload)
        self._report(sent, hit)

    def _subscribed(self, connection: Connection, characteristic: gatt.Characteristic[Any]) -> bool:
        """Whether the client has notifications of this characteristic switched on (its CCCD)."""
        cccd = self.device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle)
        return cccd is not None and len(cccd) == 2 and cccd[0] & 0x01 == 1

    def _corruptions_due(self, now_s: float | None, notifications: int) -> int:
        """How many of this send's notifications are damaged: timed, periodic and random corruptions."""
        timed = [t for t in self._pending_corruptions if now_s is not None and t <= now_s]
        self._pending_corruptions = self._pending_corruptions[len(timed):]
        due = len(timed) + int(self._corrupt_next_send)
        self._corrupt_next_send = False
        if not due and self.faults.corrupt_fraction > 0:
            due = int(self._rng.random() < 1.0 - (1.0 - self.faults.corrupt_fraction) ** notifications)
        return min(due, notifications)

    def _report(self, blocks: list[SampleBlock], hit: list[bool]) -> None:
        if self.truth_listener is None or not blocks:
            return
        if len(blocks) != len(hit):  # not one block per notification: a fault taints the whole send
            hit = [any(hit)] * len(blocks)
        self.truth_listener(list(zip(blocks, hit)))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
