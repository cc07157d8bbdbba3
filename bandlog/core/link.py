"""The seam between a device profile's protocol conversation and whatever carries the bytes.

Device profiles talk to a GattLink; `sources/ble.py` implements it over bleak (real adapters, or
the emulated Bumble stack through a bleak backend). Profiles therefore never import bleak, and the
same conversation code runs against real and emulated sensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Notification:
    """One GATT notification as it arrived: characteristic, bytes, host arrival time."""

    char_uuid: str
    payload: bytes
    t_host_s: float


class GattLink(Protocol):
    """What a device profile may do with a connected peripheral."""

    @property
    def mtu_size(self) -> int: ...

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        """Write to a characteristic, with or without an ATT write response."""

    async def read(self, char_uuid: str) -> bytes:
        """Read a characteristic's value."""

    async def subscribe(self, char_uuid: str) -> None:
        """Enable notifications; they queue up for next_notification()."""

    async def next_notification(self, timeout_s: float) -> Notification:
        """The oldest queued notification; raises bandlog.core.errors.ProtocolError after timeout_s."""
