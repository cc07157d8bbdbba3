"""Where bandlog keeps its data: BANDLOG_HOME, else the user's data folder."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path


def data_home(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory (not created here): --data-dir, then $BANDLOG_HOME, then the OS default."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("BANDLOG_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "bandlog"


def recordings_dir(home: Path) -> Path:
    return home / "recordings"


def new_recording_path(home: Path, device_key: str, now: datetime | None = None) -> Path:
    """A fresh, sortable file name such as recordings/2026-11-28T221530_gdx-for.csv."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%dT%H%M%S")
    return recordings_dir(home) / f"{stamp}_{device_key}.csv"
