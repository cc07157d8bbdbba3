"""Sans-I/O twins of each supported sensor: what the device would answer and stream, as bytes.

One module per device, each exposing its twin class as TWIN. The Bumble glue (emulate/stack.py)
puts any twin on a virtual BLE link; tests can also drive a twin directly.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from bandlog.emulate.twins.base import PeripheralTwin


@cache
def twin_registry() -> dict[str, type[PeripheralTwin]]:
    """Every emulated twin, keyed by the device profile key it imitates."""
    found: dict[str, type[PeripheralTwin]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        twin = getattr(module, "TWIN", None)
        if twin is not None:
            found[twin.profile_key] = twin
    return dict(sorted(found.items()))
