"""Any CSV with a header row naming a time column and channels by quantity AND unit.

Time: `t_s`, `time_s`, `time`, `timestamp`, `t`, `seconds` (seconds) or `t_ms`, `time_ms`,
`timestamp_ms` (milliseconds). Channels: `force_n`, `force_kg`/`force_kgf`, `force_lb`/`force_lbf`/
`force_lbs`; `acc_x_ms2` or `acc_x_g` (also `accel_`); `gyro_x_dps` or `gyro_x_rads` (`rad_s`); a
second IMU on the thigh as the same acc/gyro names prefixed `thigh_` (`thigh_acc_x_ms2`).
Names are matched case-insensitively after folding `Force (N)` to `force_n`, `m/s^2` to `ms2`,
`°/s` to `dps` and `rad/s` to `rads`. Optional `t_host_s` and `set` columns are kept; other columns
are ignored. A channel named without a unit (`force`, `acc_x`) is refused rather than guessed.
Lines starting with '#' are comments.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import StreamInfo
from bandlog.io.logdata import LogData, build_samples, estimate_rate_hz
from bandlog.io.rows import read_rows, split_cells
from bandlog.io.schema import DPS_PER_RADS, HOST_TIME_COLUMN, N_PER_KGF, N_PER_LBF, SET_COLUMN, STANDARD_GRAVITY_MS2
from bandlog.io.textfile import TextFile

log = logging.getLogger(__name__)

FORMAT = "generic"
TIME_COLUMNS = {
    "t_s": 1.0, "time_s": 1.0, "time": 1.0, "timestamp": 1.0, "t": 1.0, "seconds": 1.0, "timestamp_s": 1.0,
    "t_ms": 1e-3, "time_ms": 1e-3, "timestamp_ms": 1e-3,
}
_FORCE = {"n": 1.0, "kg": N_PER_KGF, "kgf": N_PER_KGF, "lb": N_PER_LBF, "lbf": N_PER_LBF, "lbs": N_PER_LBF}
_ACC = {"ms2": 1.0, "g": STANDARD_GRAVITY_MS2}
_GYRO = {"dps": 1.0, "deg_s": 1.0, "rads": DPS_PER_RADS, "rad_s": DPS_PER_RADS}
_CHANNEL_RE = re.compile(r"^(thigh_)?(force|acc|accel|gyro)(?:_([xyz]))?(?:_(.+))?$")


def normalise(name: str) -> str:
    """Fold a column title to snake case with bandlog unit spellings: 'Force (N)' -> 'force_n'."""
    folded = name.strip().lower()
    for old, new in (("m/s²", "ms2"), ("m/s^2", "ms2"), ("m/s2", "ms2"), ("°/s", "dps"), ("deg/s", "dps"), ("rad/s", "rads")):
        folded = folded.replace(old, new)
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def _header(text: TextFile) -> tuple[int, list[str]] | None:
    for index, line in enumerate(text.head):
        if line.strip() and not line.startswith("#"):
            return index, [normalise(cell) for cell in split_cells(line)]
    return None


def looks_like(text: TextFile) -> bool:
    found = _header(text)
    return found is not None and any(name in TIME_COLUMNS for name in found[1])


def read(text: TextFile) -> LogData:
    where = str(text.path)
    found = _header(text)
    if found is None:
        raise LogFormatError(f"{where} has no header row")
    header_index, names = found
    plan = _plan(names, where)
    used = list(plan)
    repairs: dict[str, int] = {}
    values, line_numbers = read_rows(text, header_index + 1, names, where, use=used, keep_comment=None, repairs=repairs)
    with np.errstate(over="ignore"):  # a huge value overflows to inf, which build_samples counts as missing
        columns = {plan[index][0]: values[:, k] * plan[index][1] for k, index in enumerate(used)}
    del values
    t_s = columns.pop("t_s")
    host = columns.pop(HOST_TIME_COLUMN, None)
    labels = columns.pop(SET_COLUMN, None)
    samples = build_samples(t_s, columns, where, line_numbers, t_host_s=host, set_labels=labels, repairs=repairs)
    rate = estimate_rate_hz(samples["t_s"].to_numpy())
    stream = StreamInfo(profile="", model="", sample_rate_hz=rate, channels=tuple(sorted(columns)))
    return LogData(text.path, FORMAT, RecordingMeta(stream=stream), samples, [], repairs)


def _plan(names: list[str], where: str) -> dict[int, tuple[str, float]]:
    """{column index: (bandlog name, scale to bandlog units)} for every column bandlog uses."""
    plan: dict[int, tuple[str, float]] = {}
    time_index = next((i for i, n in enumerate(names) if n in TIME_COLUMNS), None)
    if time_index is None:
        raise LogFormatError(f"{where}: no time column; name one t_s, time_s, time or timestamp")
    plan[time_index] = ("t_s", TIME_COLUMNS[names[time_index]])
    for index, name in enumerate(names):
        if index == time_index:
            continue
        if name in (HOST_TIME_COLUMN, SET_COLUMN):
            plan[index] = (name, 1.0)
            continue
        match = _CHANNEL_RE.match(name)
        if match is None or (match.group(1) and match.group(2) == "force"):  # a thigh IMU measures no force
            log.debug("%s: ignoring column %r", where, name)
            continue
        thigh, quantity, axis, unit = match.groups()
        channel, scale = _channel(quantity, axis, unit, name, where)
        target = (f"{thigh or ''}{channel}", scale)
        if target[0] in {n for n, _ in plan.values()}:
            raise LogFormatError(f"{where}: two columns give {target[0]}; keep one")
        plan[index] = target
    if not {n for n, _ in plan.values()} - {"t_s", HOST_TIME_COLUMN, SET_COLUMN}:
        raise LogFormatError(
            f"{where}: no channel columns; expected force_n/force_kg/force_lb, acc_x_ms2/acc_x_g or gyro_x_dps/gyro_x_rads"
        )
    return plan


def _channel(quantity: str, axis: str | None, unit: str | None, name: str, where: str) -> tuple[str, float]:
    if quantity == "force":
        if axis is not None or unit not in _FORCE:
            raise LogFormatError(f"{where}: column {name!r} needs a unit bandlog knows: force_n, force_kg or force_lb")
        return "force_n", _FORCE[unit]
    table, prefix, suffix, examples = (
        (_ACC, "acc", "ms2", "acc_x_ms2 or acc_x_g") if quantity in ("acc", "accel") else (_GYRO, "gyro", "dps", "gyro_x_dps or gyro_x_rads")
    )
    if axis is None or unit not in table:
        raise LogFormatError(f"{where}: column {name!r} needs an axis and a unit bandlog knows, like {examples}")
    return f"{prefix}_{axis}_{suffix}", table[unit]

