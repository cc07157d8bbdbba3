"""Where `bandlog check` keeps what it found about each sensor: one JSON file per device address.

`<data dir>/sensors/<address>.json` holds every check of that sensor (newest last) and the force
correction now in force. Recording reads it by address, so a sensor checked once is corrected in
every later recording. A damaged file is never skipped quietly: recording that sensor would then
go back to the wrong sign or gain without a word, so it is refused with the file's name and the fix.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bandlog.core.calibration import ForceCalibration
from bandlog.core.errors import BandlogError, ConfigError, LogFormatError, LogWriteError
from bandlog.io.csv_log import write_error_reason

FORMAT = "bandlog-sensor-check"
FORMAT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def sensors_dir(home: Path) -> Path:
    return home / "sensors"


def check_file(home: Path, address: str) -> Path:
    """The file for one sensor: its address with ':' (and anything a file name cannot hold) as '-'."""
    if not address.strip():
        raise ConfigError("a sensor check is stored per device address, and this device reported none")
    return sensors_dir(home) / f"{_UNSAFE.sub('-', address.strip()).upper()}.json"


def load_calibration(home: Path, address: str) -> ForceCalibration | None:
    """The force correction stored for the sensor at `address`; None when it was never checked, or
    when its check found nothing to correct."""
    if not address.strip():
        return None
    path = check_file(home, address)
    record = _read(path)
    if record is None or record.get("calibration") is None:
        return None
    try:
        found = record["calibration"]
        calibration = ForceCalibration(scale=float(found["scale"]), source=str(found["source"]))
    except (KeyError, TypeError, ValueError, BandlogError) as error:
        raise LogFormatError(_damaged(path, f"its calibration entry is unreadable ({error})")) from None
    return None if calibration.is_identity else calibration


def save_check(
    home: Path, *, address: str, profile: str, model: str, check: Mapping[str, Any], calibration: ForceCalibration | None
) -> Path:
    """Add one check to the sensor's file and make `calibration` the one in force (None: keep the
    stored one, e.g. a check of a motion-only sensor); written whole or not at all."""
    path = check_file(home, address)
    record = _read(path) or {"format": FORMAT, "version": FORMAT_VERSION, "address": address, "checks": []}
    record.update(profile=profile, model=model)
    record["checks"] = [*record.get("checks", []), dict(check)]
    if calibration is not None:
        record["calibration"] = {"scale": calibration.scale, "source": calibration.source}
    text = json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n"
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except OSError as error:
        raise LogWriteError(f"cannot store the sensor check in {path}: {write_error_reason(error)}") from error
    return path


def _read(path: Path) -> dict[str, Any] | None:
    """The sensor's record, None when there is none yet; a damaged one is an error (never ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LogFormatError(_damaged(path, f"it cannot be read ({error.strerror or error})")) from error
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise LogFormatError(_damaged(path, f"it is not JSON ({error.msg}, line {error.lineno})")) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(record.get("checks", []), list):
        raise LogFormatError(_damaged(path, "it is not a bandlog sensor check"))
    if record.get("version") != FORMAT_VERSION:
        raise LogFormatError(_damaged(path, f"it is version {record.get('version')!r}; this bandlog reads version {FORMAT_VERSION}"))
    return record


def _damaged(path: Path, why: str) -> str:
    return (f"the sensor check file {path} is damaged: {why}; move it away, then run `bandlog check` "
            "on that sensor again")
