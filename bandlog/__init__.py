"""bandlog: eccentric hamstring work from a BLE force/IMU sensor on a resistance band."""

from __future__ import annotations

from bandlog.core.errors import BandlogError as BandlogError
from bandlog.core.version import __version__ as __version__

TYPE_CHECKING = False
"""typing.TYPE_CHECKING without importing typing (a tenth of `bandlog --help`): type checkers take
any TYPE_CHECKING as true. bandlog.cli.commands modules use the same line for the same reason."""
if TYPE_CHECKING:
    from typing import Any

    from bandlog.app.api import analyze as analyze
    from bandlog.app.api import read_log as read_log

_LAZY = {"read_log": "bandlog.app.api", "analyze": "bandlog.app.api"}
__all__ = ["BandlogError", "__version__", "analyze", "read_log"]


def __dir__() -> list[str]:
    """The lazy API too, so `dir(bandlog)` and completion show read_log and analyze."""
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    """Load the API (pandas, numpy) on first use, so `import bandlog` and `bandlog --help` stay light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bandlog' has no attribute {name!r}")
