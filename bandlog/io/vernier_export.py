"""Vernier Graphical Analysis (and Logger Pro) CSV exports, e.g. from a Go Direct force/IMU sensor.

Columns are named `<run>: <quantity> (<unit>)`, such as `Run 1: Time (s)`, `Run 1: Force (N)`,
`Run 1: X-axis acceleration (m/s²)`, `Run 1: X-axis gyro (rad/s)`; Logger Pro names the live run
`Latest`. Several runs sit side by side and shorter runs are padded with empty cells. Each run
becomes its own set. Units are converted to bandlog's (N, m/s², °/s); unknown columns are ignored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import FORCE_CHANNEL, StreamInfo
from bandlog.io.logdata import LogData, build_samples, estimate_rate_hz
from bandlog.io.rows import read_rows, split_cells
from bandlog.io.schema import DPS_PER_RADS, N_PER_KGF, N_PER_LBF, STANDARD_GRAVITY_MS2
from bandlog.io.textfile import TextFile

log = logging.getLogger(__name__)

FORMAT = "vernier"
_COLUMN_RE = re.compile(r"^\s*(?P<run>[^:]+?)\s*:\s*(?P<quantity>[^()]+?)\s*\((?P<unit>[^()]*)\)\s*$")
_AXIS_RE = re.compile(r"\b([xyz])(?:[- ]?axis)?\b", re.IGNORECASE)

_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "min": 60.0}
_FORCE_UNITS = {"n": 1.0, "kn": 1000.0, "lb": N_PER_LBF, "lbf": N_PER_LBF, "kg": N_PER_KGF, "kgf": N_PER_KGF}
_ACC_UNITS = {"m/s²": 1.0, "m/s^2": 1.0, "m/s2": 1.0, "g": STANDARD_GRAVITY_MS2}
_GYRO_UNITS = {"rad/s": DPS_PER_RADS, "°/s": 1.0, "deg/s": 1.0}


@dataclass(frozen=True)
class _Column:
    index: int
    name: str
    """The bandlog name: 't_s' or one of FRAME_CHANNELS."""
    scale: float


def looks_like(text: TextFile) -> bool:
    first = text.first_content_line()
    if first is None:
        return False
    return any(_is_time(cell) for cell in split_cells(text.head[first]))


def _is_time(cell: str) -> bool:
    match = _COLUMN_RE.match(cell)
    return match is not None and match.group("quantity").strip().lower() == "time"


def read(text: TextFile) -> LogData:
    where = str(text.path)
    first = text.first_content_line()
    if first is None:
        raise LogFormatError(f"{where} is empty")
    header = split_cells(text.head[first])
    runs = _runs(header, where)
    used = [c.index for columns in runs.values() for c in columns]
    repairs: dict[str, int] = {}
    values, line_numbers = read_rows(text, first + 1, header, where, use=used, repairs=repairs)
    position = {index: k for k, index in enumerate(used)}

    pieces: list[dict[str, np.ndarray]] = []
    lines_parts, labels = [], []
    for run_number, columns in enumerate(runs.values()):
        with np.errstate(over="ignore"):  # a huge value overflows to inf, which build_samples counts as missing
            block = {c.name: values[:, position[c.index]] * c.scale for c in columns}
        present = ~np.isnan(np.column_stack(list(block.values()))).all(axis=1)  # padding rows are all empty
        pieces.append({name: column[present] for name, column in block.items()})
        lines_parts.append(line_numbers[present])
        labels.append(np.full(int(present.sum()), run_number))
    names = {name for piece in pieces for name in piece} - {"t_s"}
    samples = build_samples(
        np.concatenate([piece["t_s"] for piece in pieces]),
        {name: np.concatenate([p.get(name, np.full(len(p["t_s"]), np.nan)) for p in pieces]) for name in names},
        where,
        np.concatenate(lines_parts),
        set_labels=np.concatenate(labels),
        repairs=repairs,
    )
    channels = tuple(name for name in samples.columns if name in names)
    stream = StreamInfo(
        profile="",
        model="Vernier sensor",
        sample_rate_hz=estimate_rate_hz(pieces[0]["t_s"]),
        channels=channels,
        extra={"runs": " | ".join(runs)},
    )
    return LogData(text.path, FORMAT, RecordingMeta(stream=stream), samples, [], repairs)


def _runs(header: list[str], where: str) -> dict[str, list[_Column]]:
    """Columns bandlog understands, grouped by run name in file order; each run has its time first."""
    runs: dict[str, list[_Column]] = {}
    for index, cell in enumerate(header):
        match = _COLUMN_RE.match(cell)
        if match is None:
            log.debug("%s: ignoring column %r", where, cell)
            continue
        column = _understand(index, match.group("quantity"), match.group("unit").strip(), cell, where)
        if column is not None:
            runs.setdefault(match.group("run"), []).append(column)
    for run, columns in runs.items():
        if not any(c.name == "t_s" for c in columns):
            raise LogFormatError(f"{where}: run '{run}' has data columns but no '{run}: Time (s)' column")
        if len(columns) == 1:
            raise LogFormatError(f"{where}: run '{run}' has no force, acceleration or gyro column bandlog understands")
        columns.sort(key=lambda c: c.name != "t_s")
    return runs


def _understand(index: int, quantity: str, unit: str, cell: str, where: str) -> _Column | None:
    q = quantity.lower()
    if q == "time":
        return _Column(index, "t_s", _scale(_TIME_UNITS, unit, cell, where))
    if "force" in q:
        return _Column(index, FORCE_CHANNEL, _scale(_FORCE_UNITS, unit, cell, where))
    axis = _AXIS_RE.search(quantity)
    if axis is None:
        log.debug("%s: ignoring column %r", where, cell)
        return None
    a = axis.group(1).lower()
    if "accel" in q:
        return _Column(index, f"acc_{a}_ms2", _scale(_ACC_UNITS, unit, cell, where))
    if "gyro" in q or "angular velocity" in q:
        return _Column(index, f"gyro_{a}_dps", _scale(_GYRO_UNITS, unit, cell, where))
    log.debug("%s: ignoring column %r", where, cell)
    return None


def _scale(units: dict[str, float], unit: str, cell: str, where: str) -> float:
    try:
        return units[unit.lower()]
    except KeyError:
        known = ", ".join(units)
        raise LogFormatError(f"{where}: column '{cell}' is in {unit!r}, which bandlog cannot convert; expected one of {known}") from None
