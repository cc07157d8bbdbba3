"""GattLink over bleak, its GATT failures as bandlog errors (the OS stack's own: ble_errors.py).

Device profiles only see the GattLink protocol (bandlog.core.link); this is the one implementation for
live sensors. The same class serves real adapters and the emulated Bumble world: only the bleak
backend differs. Notifications are queued with their host arrival time on the session clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bleak import BleakClient
from bleak.exc import BleakError, BleakGATTProtocolError

from bandlog.core.errors import ConnectionLostError, ProtocolError
from bandlog.core.link import Notification

if TYPE_CHECKING:
    from bleak.backends.characteristic import BleakGATTCharacteristic

logger = logging.getLogger(__name__)

class BleakLink:
    """A connected BleakClient seen as a GattLink. `lost` is set when the link drops by itself."""

    def __init__(self, client: BleakClient, session_t0_s: float) -> None:
        self.client = client
        self.session_t0_s = session_t0_s
        self.lost = asyncio.Event()
        self.closing = False
        """Set before bandlog disconnects: bleak calls the disconnected callback for a requested
        disconnect too (BlueZ always has; bleak #314, #1807), which is not a lost link."""
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()

    @property
    def mtu_size(self) -> int:
        return int(self.client.mtu_size)

    @property
    def is_connected(self) -> bool:
        return self.client.is_connected and not self.lost.is_set()

    def mark_lost(self) -> None:
        if not self.lost.is_set():
            if self.closing:
                logger.debug("link to %s closed", self.client.address)
            else:
                logger.warning("link to %s lost", self.client.address)
            self.lost.set()

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        with self._errors(f"write to {char_uuid}"):
            await self.client.write_gatt_char(char_uuid, data, response=response)

    async def read(self, char_uuid: str) -> bytes:
        with self._errors(f"read of {char_uuid}"):
            return bytes(await self.client.read_gatt_char(char_uuid))

    async def subscribe(self, char_uuid: str) -> None:
        with self._errors(f"subscribe to {char_uuid}"):
            await self.client.start_notify(char_uuid, self._on_notification)

    def _on_notification(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        t_host_s = time.monotonic() - self.session_t0_s
        self._queue.put_nowait(Notification(characteristic.uuid, bytes(data), t_host_s))

    async def next_notification(self, timeout_s: float) -> Notification:
        """The oldest queued notification; ConnectionLostError once the link is gone and drained."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if self.lost.is_set():
            raise ConnectionLostError(f"link to {self.client.address} lost")
        get = asyncio.ensure_future(self._queue.get())
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({get, lost}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not get.done():
                get.cancel()
        if get in done:
            return get.result()
        if lost in done:
            raise ConnectionLostError(f"link to {self.client.address} lost")
        raise ProtocolError(f"no notification from {self.client.address} within {timeout_s:g} s")

    def drain(self) -> list[Notification]:
        """Every notification already queued, without waiting."""
        items = []
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except BleakGATTProtocolError as error:
            raise ProtocolError(f"{what} refused by {self.client.address}: {error.args[-1]}") from error
        except (TimeoutError, BleakError, EOFError, OSError) as error:
            if not self.client.is_connected:
                self.mark_lost()
                raise ConnectionLostError(f"link to {self.client.address} lost during {what}") from error
            raise ProtocolError(f"{what} failed on {self.client.address}: {error}") from error


async def connect(device: Any, *, backend: Any, timeout_s: float, session_t0_s: float) -> BleakLink:
    """Connect to a BLEDevice (or address) and wrap it; the link marks itself lost on disconnect."""
    link_holder: list[BleakLink] = []

    def on_disconnect(_client: BleakClient) -> None:
        if link_holder:
            link_holder[0].mark_lost()

    client = BleakClient(device, disconnected_callback=on_disconnect, timeout=timeout_s, backend=backend)
    await client.connect()
    link = BleakLink(client, session_t0_s)
    link_holder.append(link)
    return link
