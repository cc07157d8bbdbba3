"""A virtual BLE world: Bumble controllers on one in-memory LocalLink, one central, one peripheral
per emulated twin.

    async with emulated_sensors([GdxForTwin()], speed=20) as world:
        async for item in stream("gdx-for", backends=world.backends):
            ...

`world.backends` is the (scanner class, client class) pair bleak takes as `backend=`, so the code
path under test is the real one: bleak -> GattLink -> device profile. Everything is created inside
the running loop (Bumble controllers need it). Bumble is imported only here and in emulate/*.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING

from bumble import hci
from bumble.controller import Controller
from bumble.device import Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from bandlog.core.errors import ConfigError
from bandlog.emulate.faults import Faults
from bandlog.emulate.peripheral import EmulatedPeripheral
from bandlog.emulate.twins.base import PeripheralTwin

if TYPE_CHECKING:
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.scanner import BaseBleakScanner

logger = logging.getLogger(__name__)

CENTRAL_ADDRESS = "C0:BA:4D:00:00:01"


def peripheral_address(index: int) -> str:
    """Random static addresses (top two bits set), stable per twin position."""
    return f"D0:BA:4D:00:01:{index + 1:02X}"


def twin_speed(twin: PeripheralTwin, speed: float) -> float:
    """The speed a twin's device clock runs at: the world's, or 1 for a sensor whose samples are dated by
    the host (DeviceProfile.dated_by_host), since the host's clock does not run faster with the world's
    (its samples would read `speed` times too fast: every rep too small and too quick)."""
    from bandlog.devices import registry

    profile = registry().get(twin.profile_key)
    return 1.0 if profile is not None and profile.dated_by_host() else speed


class EmulatedWorld:
    """The running virtual link; hand `backends` to bleak (or to bandlog.sources.ble)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.link = LocalLink()
        self.central_controller = Controller("central", link=self.link, public_address=CENTRAL_ADDRESS)
        self.central = Device(
            name="bandlog-central",
            address=hci.Address(CENTRAL_ADDRESS),
            host=Host(self.central_controller, AsyncPipeSink(self.central_controller)),
        )
        self.peripherals: list[EmulatedPeripheral] = []
        self.connect_lock = asyncio.Lock()
        self._scan_users = 0
        self._scan_lock = asyncio.Lock()
        self._backends: tuple[type[BaseBleakScanner], type[BaseBleakClient]] | None = None

    @property
    def backends(self) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        """(scanner class, client class) bound to this world, for bleak's `backend=`."""
        if self._backends is None:
            from bandlog.emulate.bleak_backend import make_backends

            self._backends = make_backends(self)
        return self._backends

    def peripheral(self, name_or_key: str) -> EmulatedPeripheral:
        """The peripheral whose twin has this name or profile key."""
        for peripheral in self.peripherals:
            if name_or_key in (peripheral.twin.name, peripheral.twin.profile_key):
                return peripheral
        raise KeyError(name_or_key)

    async def add(self, twin: PeripheralTwin, faults: Faults | None = None) -> EmulatedPeripheral:
        if faults is not None:
            twin.misread_force(faults.force_gain)
        index = len(self.peripherals)
        address = peripheral_address(index)
        controller = Controller(f"peripheral-{index}", link=self.link, public_address=address)
        device = Device(name=twin.name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))
        peripheral = EmulatedPeripheral(twin, device, speed=twin_speed(twin, self.speed), faults=faults)
        await peripheral.start()
        self.peripherals.append(peripheral)
        return peripheral

    async def start(self) -> None:
        await self.central.power_on()

    async def stop(self) -> None:
        for connection in list(self.central.connections.values()):
            await self._drop(connection)
        for peripheral in self.peripherals:
            await peripheral.stop()
        if self.central.is_scanning:
            await self.central.stop_scanning()

    # -- shared central: scanning is reference counted, connecting is serialised --------------

    async def acquire_scanning(self) -> None:
        async with self._scan_lock:
            self._scan_users += 1
            if self._scan_users == 1:
                await self.central.start_scanning(filter_duplicates=False)

    async def release_scanning(self) -> None:
        async with self._scan_lock:
            self._scan_users = max(0, self._scan_users - 1)
            if self._scan_users == 0 and self.central.is_scanning:
                await self.central.stop_scanning()

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection:
        """Connect the central to a peripheral, never hanging past timeout_s.

        Bumble's connect waits forever for an advertiser that is gone; when our bound expires we
        also clear the controller's pending connection, and drop a connection that completed in
        the same instant, so a later attempt starts clean.
        """
        async with self.connect_lock:
            try:
                return await asyncio.wait_for(self.central.connect(address, timeout=None), timeout_s)
            except (TimeoutError, asyncio.CancelledError):
                self.central_controller.pending_le_connection = None
                self.central.le_connecting = False
                for connection in list(self.central.connections.values()):
                    if connection.peer_address == address:
                        await self._drop(connection)
                raise

    async def _drop(self, connection: Connection) -> None:
        with contextlib.suppress(asyncio.TimeoutError, hci.HCI_Error):
            await asyncio.wait_for(
                self.central.disconnect(connection, hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), timeout=2.0
            )


@contextlib.asynccontextmanager
async def emulated_sensors(
    twins: Sequence[PeripheralTwin],
    *,
    speed: float = 1.0,
    faults: Mapping[str, Faults] | None = None,
) -> AsyncIterator[EmulatedWorld]:
    """Start a virtual BLE world with one advertising peripheral per twin; stop it on exit.

    speed scales every device clock (speed=20 streams 20x faster than real time). faults maps a
    twin's name or profile key to the Faults to inject on that peripheral.
    """
    if speed <= 0:
        raise ConfigError(f"emulation speed must be positive, got {speed}")
    faults = dict(faults or {})
    known = {t.name for t in twins} | {t.profile_key for t in twins}
    if unknown := sorted(set(faults) - known):
        raise ConfigError(f"faults given for unknown emulated sensors: {', '.join(unknown)}")
    bumble_log = logging.getLogger("bumble")
    if bumble_log.level == logging.NOTSET:  # the virtual link's teardown chatter is not the user's news
        bumble_log.setLevel(logging.ERROR)
    world = EmulatedWorld(speed)
    try:
        await world.start()
        for twin in twins:
            await world.add(twin, faults.get(twin.name) or faults.get(twin.profile_key))
        logger.info("emulated sensors up: %s", ", ".join(t.name for t in twins) or "none")
        yield world
    finally:
        await world.stop()
