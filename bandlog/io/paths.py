"""Where bandlog keeps its data: --data-dir, BANDLOG_HOME, else the user's data folder; the demo's
own folder beside it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from bandlog.core.errors import ConfigError, LogWriteError

log = logging.getLogger(__name__)


def data_home(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory (not created here): --data-dir, then $BANDLOG_HOME, then the OS default.

    An empty variable means unset (as the XDG spec says), never the working directory.
    """
    if override:
        return Path(override).expanduser()
    env = os.environ.get("BANDLOG_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = _env_folder("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = _env_folder("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return base / "bandlog"


def _env_folder(name: str) -> Path | None:
    """An absolute folder from the environment; None when unset or empty. A relative one is ignored
    with a warning, as the XDG base directory spec asks, so the data never lands in the working
    directory."""
    value = os.environ.get(name, "")
    if not value:
        return None
    if not os.path.isabs(value):
        log.warning("ignored %s=%s: it is not an absolute path", name, value)
        return None
    return Path(value)


def demo_home(home: Path) -> Path:
    """The demo's own folder, a sibling of the data directory `home` named `<name>-demo`
    (`~/.local/share/bandlog-demo`), so made-up sessions never mix with real history."""
    home = Path(os.path.abspath(home))
    return home.parent / f"{home.name or 'bandlog'}-demo"


def recordings_dir(home: Path) -> Path:
    return home / "recordings"


def new_recording_path(home: Path, device_key: str, now: datetime | None = None) -> Path:
    """A fresh, sortable file name such as recordings/2026-11-28T221530_gdx-for.csv."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%dT%H%M%S")
    return recordings_dir(home) / f"{stamp}_{device_key}.csv"


def check_new_output(path: Path, what: str, *, overwrite: bool) -> None:
    """Refuse, in one sentence, to replace an existing file unless `overwrite` (`--force`), before any
    work is done; bandlog never overwrites a file by default, as `record` never overwrites a log."""
    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder; give the {what} a file name")
    if path.exists() and not overwrite:
        raise LogWriteError(f"cannot write the {what} {path}: the file already exists (add --force to overwrite it)")


def unused_path(path: Path) -> Path:
    """`path`, or the first of NAME-2.EXT, NAME-3.EXT... that does not exist: for default output names."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def write_output(path: Path, what: str, write: Callable[[BinaryIO], object], *, overwrite: bool = False) -> Path:
    """Create `path` (and its folder) and fill it with `write`; an existing file is kept unless
    `overwrite`, even if it appeared since `check_new_output`. Failures are one LogWriteError sentence."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LogWriteError(f"cannot write the {what} {path}: cannot create its folder ({error.strerror or error})") from error
    try:
        with open(path, "wb" if overwrite else "xb") as handle:
            try:
                write(handle)
            except BaseException:
                path.unlink()  # no half-written file left behind to block the next try
                raise
    except FileExistsError as error:
        raise LogWriteError(f"cannot write the {what} {path}: the file already exists (bandlog does not overwrite it)") from error
    except OSError as error:
        raise LogWriteError(f"cannot write the {what} {path}: {error.strerror or error}") from error
    return path
