"""Registry of supported sensors: every module in this package that defines PROFILE.

Adding a sensor means adding one module here (and its emulated twin); nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from functools import cache

from bandlog.core.errors import ConfigError
from bandlog.devices.base import DeviceProfile


@cache
def registry() -> dict[str, type[DeviceProfile]]:
    """All profiles by key, discovered from this package's modules."""
    found: dict[str, type[DeviceProfile]] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        profile = getattr(module, "PROFILE", None)
        if profile is not None:
            found[profile.key] = profile
    return dict(sorted(found.items()))


def get_profile(key: str) -> type[DeviceProfile]:
    try:
        return registry()[key]
    except KeyError:
        known = ", ".join(registry()) or "none"
        raise ConfigError(f"unknown device profile {key!r}; known profiles: {known}") from None


def match_advertisement(name: str | None, service_uuids: Sequence[str] = ()) -> type[DeviceProfile] | None:
    """The profile whose device this advertisement belongs to, or None."""
    for profile in registry().values():
        if profile.matches(name, service_uuids):
            return profile
    return None
