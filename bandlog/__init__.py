"""bandlog: eccentric hamstring work from a BLE force/IMU sensor on a resistance band."""

from __future__ import annotations

from bandlog.errors import BandlogError as BandlogError

__version__ = "0.1.0"

TYPE_CHECKING = False
"""typing.TYPE_CHECKING without importing typing (a tenth of `bandlog --help`): type checkers take
any TYPE_CHECKING as true. bandlog.commands modules use the same line for the same reason."""
if TYPE_CHECKING:
    from typing import Any

    from bandlog.api import analyze as analyze
    from bandlog.api import read_log as read_log

_LAZY = {"read_log": "bandlog.api", "analyze": "bandlog.api"}
__all__ = ["BandlogError", "analyze", "read_log", "__version__"]


def __dir__() -> list[str]:
    """The lazy API too, so `dir(bandlog)` and completion show read_log and analyze."""
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    """Load the API (pandas, numpy) on first use, so `import bandlog` and `bandlog --help` stay light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bandlog' has no attribute {name!r}")
