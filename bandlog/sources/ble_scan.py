"""Finding supported sensors by their advertisements: `scan` lists them, `find_device` waits for one.

Its own module so that the live source (ble.py) and its session (ble_session.py) both import it
and not each other. bleak is imported inside the functions so `bandlog --help` stays fast.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bandlog.core.errors import DeviceNotFoundError
from bandlog.devices import match_advertisement, registry
from bandlog.devices.base import DeviceProfile

Backends = tuple[Any, Any]
"""(BaseBleakScanner subclass, BaseBleakClient subclass), e.g. EmulatedWorld.backends; None = the OS stack."""


@dataclass(frozen=True)
class FoundDevice:
    """A supported sensor seen in a scan."""

    name: str
    address: str
    rssi: int | None
    profile: str


async def scan(timeout_s: float = 5.0, *, backends: Backends | None = None) -> list[FoundDevice]:
    """Supported sensors advertising within timeout_s, strongest signal first."""
    from bleak import BleakScanner

    from bandlog.sources.ble_errors import scan_errors

    with scan_errors():
        seen = await BleakScanner.discover(timeout_s, return_adv=True, backend=_scanner(backends))
    found = []
    for device, adv in seen.values():
        name = adv.local_name or device.name
        profile = match_advertisement(name, adv.service_uuids)
        if profile is not None:
            found.append(FoundDevice(name or "", device.address, adv.rssi, profile.key))
    found.sort(key=lambda d: -(d.rssi if d.rssi is not None else -999))
    return found


async def find_device(target: str, *, timeout_s: float, backends: Backends | None) -> tuple[Any, str]:
    """The first advertiser matching target (name, address, or profile key): (BLEDevice, profile key)."""
    from bleak import BleakScanner

    from bandlog.sources.ble_errors import scan_errors

    wanted = target.strip()
    by_kind = wanted.lower() in registry()
    seen: dict[str, str] = {}
    found: asyncio.Future[tuple[Any, str]] = asyncio.get_running_loop().create_future()

    def on_advertisement(device: Any, adv: Any) -> None:
        name = adv.local_name or device.name or ""
        profile = match_advertisement(name, adv.service_uuids)
        if profile is None or found.done():
            return
        seen[device.address] = f"{name} ({profile.key})"
        if (
            (by_kind and profile.key == wanted.lower())
            or name == wanted
            or device.address.lower() == wanted.lower()
        ):
            found.set_result((device, profile.key))

    with scan_errors():
        async with BleakScanner(on_advertisement, backend=_scanner(backends)):
            try:
                return await asyncio.wait_for(asyncio.shield(found), timeout_s)
            except TimeoutError:
                pass
    others = ", ".join(sorted(seen.values())) or "no supported sensor at all"
    message = f"no sensor matching {target!r} found within {timeout_s:g} s (seen: {others})"
    raise DeviceNotFoundError(with_wake_hint(message, profile_named(wanted)))


def profile_named(target: str) -> type[DeviceProfile] | None:
    """The profile a target names by its key or by its device's advertised name; None for an address
    or a name no profile claims."""
    return registry().get(target.lower()) or match_advertisement(target)


def with_wake_hint(message: str, profile: type[DeviceProfile] | None) -> str:
    """message, plus the profile's hint when its device switches itself off (why it may be gone, what to do)."""
    hint = profile.wake_hint if profile is not None else ""
    return f"{message}; {hint}" if hint else message


def _scanner(backends: Backends | None) -> Any:
    return None if backends is None else backends[0]
