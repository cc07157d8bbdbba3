"""LogData: what any log file, bandlog's own or a foreign export, reads into.

Every reader hands its columns to `build_samples`, so irregular data is handled one way for all
formats, in a few vectorised passes (linear in the file whatever its times), and every repair is
counted in `LogData.repairs` so the user sees it:

- a row without a finite time is dropped (a file where over a quarter of rows have none is refused);
- an empty, `nan` or infinite cell in a channel the set measures is a missing sample (NaN), counted;
- a row identical to the row before it (a repeated notification or export glitch) is dropped;
- a real restart starts a new set: time goes back and then runs forward for RESTART_MIN_SAMPLES
  rows and RESTART_MIN_S (or to the end of the file or run), still behind where it was after those
  rows, as a new run or a device clock restart does; so a set is never a handful of stray rows;
- rows before a restart into a full-length run that are too few to be a set (under
  RESTART_MIN_SAMPLES rows or RESTART_MIN_S: a few samples left over from an earlier test) are
  dropped and counted, not made an empty set;
- any other row that is behind the time already reached (one stray or shuffled row) is dropped and
  counted; a file with more than a quarter of its rows out of order is refused in one sentence;
- several different samples at one timestamp (coarse export timestamps) keep their file order and
  are nudged apart, spread evenly up to the next distinct time, so time always increases in a set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap
from bandlog.core.results import SetRating
from bandlog.core.samples import (
    ACC_CHANNELS,
    FORCE_CHANNEL,
    GYRO_CHANNELS,
    THIGH_ACC_CHANNELS,
    THIGH_CHANNELS,
    THIGH_GYRO_CHANNELS,
    SampleBlock,
)
from bandlog.io.schema import FRAME_CHANNELS, HOST_TIME_COLUMN, SET_COLUMN, TIME_COLUMN

log = logging.getLogger(__name__)


@dataclass
class LogData:
    """One log file's samples and metadata, in bandlog units, whatever format it came in."""

    path: Path
    format: str
    """'bandlog', 'tindeq', 'vernier' or 'generic'."""
    meta: RecordingMeta
    samples: pd.DataFrame
    """t_s, force_n, acc_*_ms2, gyro_*_dps (+ t_host_s if the file has it, + the THIGH_CHANNELS if it has a thigh IMU) and `set` (int, numbered from 1 like reps, as everywhere a set is named)."""
    gaps: list[Gap] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)
    """What the reader had to repair, e.g. {'out-of-order rows dropped': 2}; empty for a clean file."""
    ratings: list[SetRating] = field(default_factory=list)
    """The user's set ratings (RPE, pain), from `# rating:` lines, in file order."""

    @property
    def n_sets(self) -> int:
        return int(self.samples[SET_COLUMN].max()) if len(self.samples) else 0

    def sets(self) -> list[SampleBlock]:
        """One SampleBlock per set, in order; a channel the set never measured is None."""
        set_ids = self.samples[SET_COLUMN].to_numpy()
        bounds = np.flatnonzero(np.diff(set_ids)) + 1
        starts = np.concatenate([[0], bounds]) if len(set_ids) else np.empty(0, dtype=np.int64)
        stops = np.concatenate([bounds, [len(set_ids)]]) if len(set_ids) else np.empty(0, dtype=np.int64)
        return [self._block(int(a), int(b)) for a, b in zip(starts, stops)]

    def _block(self, start: int, stop: int) -> SampleBlock:
        part = self.samples.iloc[start:stop]

        def channel(names: tuple[str, ...]) -> np.ndarray | None:
            if names[0] not in part:  # t_host_s or the thigh IMU, in a file without them
                return None
            values = part[list(names)].to_numpy(dtype=np.float64)
            return None if np.isnan(values).all() else values

        force = channel((FORCE_CHANNEL,))
        host = channel((HOST_TIME_COLUMN,))
        return SampleBlock(
            t_s=part[TIME_COLUMN].to_numpy(dtype=np.float64),
            force_n=None if force is None else force[:, 0],
            acc_ms2=channel(ACC_CHANNELS),
            gyro_dps=channel(GYRO_CHANNELS),
            t_host_s=None if host is None else host[:, 0],
            thigh_acc_ms2=channel(THIGH_ACC_CHANNELS),
            thigh_gyro_dps=channel(THIGH_GYRO_CHANNELS),
        )


RESTART_MIN_SAMPLES = 10
RESTART_MIN_S = 1.0
"""How long time must run forward after a backward step (rows and seconds) for a restart, a new set."""
MAX_DISORDERED_FRACTION = 0.25
"""Above this share of rows without a time or out of order, a file is refused rather than repaired."""

NO_TIME = "rows without a valid time dropped"
MISSING = "missing or non-finite values read as missing"
REPEATED = "rows identical to the one before dropped"
OUT_OF_ORDER = "out-of-order rows dropped"
NUDGED = "timestamps nudged apart"
LEFTOVER = "leftover rows before a time restart dropped"


def build_samples(
    t_s: np.ndarray,
    channels: Mapping[str, np.ndarray],
    where: str,
    line_numbers: np.ndarray,
    t_host_s: np.ndarray | None = None,
    set_labels: np.ndarray | None = None,
    repairs: dict[str, int] | None = None,
) -> pd.DataFrame:
    """The LogData.samples frame from parsed columns (bandlog units), with the rules above.

    `channels` maps FRAME_CHANNELS names, and THIGH_CHANNELS names for a file with a thigh IMU, to
    arrays; missing names become NaN columns (the thigh's only when one of them is given, so a file
    without a thigh IMU has no thigh columns). `set_labels` (any values) start a new set wherever
    they change. Repairs are added to `repairs`.
    """
    counts: dict[str, int] = {} if repairs is None else repairs
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    columns: dict[str, np.ndarray] = {TIME_COLUMN: t_s}
    if t_host_s is not None:
        columns[HOST_TIME_COLUMN] = _finite_or_nan(t_host_s)
    for name in _channel_names(channels):
        columns[name] = _finite_or_nan(channels[name]) if name in channels else np.full(n, np.nan)
    labels = np.zeros(n, dtype=np.int64) if set_labels is None else _label_codes(set_labels)

    timed = np.isfinite(t_s)
    if not timed.all():
        bad = np.flatnonzero(~timed)
        if len(bad) > MAX_DISORDERED_FRACTION * n:
            lines = ", ".join(str(line_numbers[i]) for i in bad[:5])
            raise LogFormatError(f"{where}: missing or non-finite time at line {lines}; every sample needs a time")
        log.warning("%s: dropped %d rows without a valid time (first at line %d)", where, len(bad), line_numbers[bad[0]])
        _add(counts, NO_TIME, len(bad))
        columns, labels = _keep(columns, labels, timed)

    keep = _not_repeated(columns, labels)
    if not keep.all():
        log.info("%s: dropped %d rows identical to the row before", where, int((~keep).sum()))
        _add(counts, REPEATED, int((~keep).sum()))
        columns, labels = _keep(columns, labels, keep)

    columns, set_ids = _order(columns, labels, where, counts)
    columns[TIME_COLUMN] = _nudge_ties(columns[TIME_COLUMN], set_ids, where, counts)
    _add(counts, MISSING, _missing(columns, set_ids))
    frame = pd.DataFrame(columns, copy=False)  # one block per column: gathering them in one costs a full copy
    frame[SET_COLUMN] = set_ids + 1  # set numbers count from 1, like rep numbers
    return frame


def _channel_names(channels: Mapping[str, np.ndarray]) -> tuple[str, ...]:
    """The channel columns of the samples frame: FRAME_CHANNELS, and THIGH_CHANNELS if any is given."""
    return (*FRAME_CHANNELS, *THIGH_CHANNELS) if any(name in channels for name in THIGH_CHANNELS) else FRAME_CHANNELS


def _add(counts: dict[str, int], key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """The values as floats with infinities made NaN; the array itself (not a copy) when it has none."""
    values = np.asarray(values, dtype=np.float64)
    infinite = np.isinf(values)
    return np.where(infinite, np.nan, values) if infinite.any() else values


def _label_codes(labels: np.ndarray) -> np.ndarray:
    """Set labels as integers that change exactly where the labels do (NaN labels equal each other)."""
    labels = np.asarray(labels)
    if len(labels) < 2:
        return np.zeros(len(labels), dtype=np.int64)
    a, b = labels[1:], labels[:-1]
    same = a == b
    if labels.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return np.concatenate([[0], np.cumsum(~same)]).astype(np.int64)


def _keep(columns: dict[str, np.ndarray], labels: np.ndarray, keep: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    return {k: v[keep] for k, v in columns.items()}, labels[keep]


def _not_repeated(columns: Mapping[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    t = columns[TIME_COLUMN]
    keep = np.ones(len(t), dtype=bool)
    rows = np.flatnonzero(t[1:] == t[:-1]) + 1  # an identical row has its time too: only these can be
    if not len(rows):
        return keep
    same = labels[rows] == labels[rows - 1]
    for values in columns.values():
        a, b = values[rows], values[rows - 1]
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    keep[rows[same]] = False
    return keep


def _order(
    columns: dict[str, np.ndarray], labels: np.ndarray, where: str, counts: dict[str, int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Split into sets at label changes and real restarts; drop rows out of time order (see the module doc)."""
    t = columns[TIME_COLUMN]
    n = len(t)
    if n < 2:
        return columns, np.zeros(n, dtype=np.int64)
    if not ((t[1:] < t[:-1]) & (labels[1:] == labels[:-1])).any():  # the usual file: nothing to drop or split
        set_ids = np.zeros(n, dtype=np.int64)
        set_ids[1:] = np.cumsum(labels[1:] != labels[:-1])
        return columns, set_ids
    stray = _strays(t, labels)
    if stray.any():
        columns, labels = _keep(columns, labels, ~stray)
        t = columns[TIME_COLUMN]
    m = len(t)
    label_change = np.zeros(m, dtype=bool)
    label_change[1:] = labels[1:] != labels[:-1]
    restart = _restarts(t, label_change)
    new_segment = label_change | restart
    segment = np.cumsum(new_segment)
    reached = pd.Series(t).groupby(segment).cummax().to_numpy()
    leftover = _leftovers(t, new_segment, restart)
    behind = (t < reached) & ~leftover
    dropped = int(stray.sum() + behind.sum())
    if dropped > MAX_DISORDERED_FRACTION * n:
        raise LogFormatError(
            f"{where}: {dropped} of {n} rows are out of time order, too many to be a recording with a few stray "
            "rows; sort the rows by time (or give each run its own set) and read it again"
        )
    if dropped:
        log.warning("%s: dropped %d rows whose time was behind the rows before them", where, dropped)
        _add(counts, OUT_OF_ORDER, dropped)
    if leftover.any():
        log.warning("%s: dropped %d leftover rows before a time restart, too few to be a set", where, int(leftover.sum()))
        _add(counts, LEFTOVER, int(leftover.sum()))
    gone = behind | leftover
    if gone.any():
        columns, labels = _keep(columns, labels, ~gone)
        segment = segment[~gone]
    set_ids = np.zeros(len(segment), dtype=np.int64)
    set_ids[1:] = np.cumsum(segment[1:] != segment[:-1])
    return columns, set_ids


def _strays(t: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Single rows out of line with both neighbours, which agree with each other (a corrupt time)."""
    n = len(t)
    stray = np.zeros(n, dtype=bool)
    if n < 3:
        return stray
    before, here, after = t[:-2], t[1:-1], t[2:]
    same = (labels[:-2] == labels[1:-1]) & (labels[1:-1] == labels[2:])
    stray[1:-1] = same & (before <= after) & ((here < before) | (here > after))
    # the first row of a run, ahead of an orderly rest
    first = np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]]))
    first = first[first + 2 < n]
    ok = (labels[first] == labels[first + 1]) & (labels[first + 1] == labels[first + 2])
    stray[first] |= ok & (t[first] > t[first + 1]) & (t[first + 1] <= t[first + 2])
    return stray


def _restarts(t: np.ndarray, label_change: np.ndarray) -> np.ndarray:
    """Rows where time went back and then ran forward, still behind, for long enough to be a new run."""
    m = len(t)
    back = np.zeros(m, dtype=bool)
    back[1:] = (t[1:] < t[:-1]) & ~label_change[1:]
    steps = np.flatnonzero(back)
    restart = np.zeros(m, dtype=bool)
    if not len(steps):
        return restart
    breaks = np.flatnonzero(back | label_change)
    ends = np.append(breaks, m)[np.searchsorted(breaks, steps, side="right")]  # where each forward run stops
    length = ends - steps
    reaches_end = np.isin(ends, np.append(np.flatnonzero(label_change), m))
    last = np.minimum(steps + RESTART_MIN_SAMPLES, ends) - 1
    span_s = t[ends - 1] - t[steps]
    long_enough = ((length >= RESTART_MIN_SAMPLES) & (span_s >= RESTART_MIN_S)) | (reaches_end & (length >= 2))
    restart[steps] = long_enough & (t[last] < t[steps - 1])
    return restart


def _leftovers(t: np.ndarray, new_segment: np.ndarray, restart: np.ndarray) -> np.ndarray:
    """Rows of a segment cut off by a restart into a full-length run, itself under RESTART_MIN_SAMPLES
    rows or RESTART_MIN_S: a few samples left over from before the clock restarted, not a set."""
    m = len(t)
    starts = np.concatenate([[0], np.flatnonzero(new_segment)])
    rows = np.diff(np.append(starts, m))
    with np.errstate(over="ignore"):  # hostile times (+-1e308) give an infinite span: not leftovers
        span_s = np.maximum.reduceat(t, starts) - t[starts]
    short = (rows < RESTART_MIN_SAMPLES) | (span_s < RESTART_MIN_S)
    before_restart = np.append(restart[starts[1:]], False)
    next_short = np.append(short[1:], True)
    return np.repeat(short & before_restart & ~next_short, rows)


def _nudge_ties(t_s: np.ndarray, set_ids: np.ndarray, where: str, counts: dict[str, int]) -> np.ndarray:
    """Spread runs of equal times evenly toward the next distinct time in the same set (vectorised)."""
    n = len(t_s)
    if n < 2:
        return t_s
    tied = np.zeros(n, dtype=bool)
    tied[1:] = (t_s[1:] == t_s[:-1]) & (set_ids[1:] == set_ids[:-1])
    if not tied.any():
        return t_s
    steps = np.diff(t_s)[set_ids[1:] == set_ids[:-1]]
    if not (steps > 0).any():
        raise LogFormatError(f"{where}: all {n} samples have the same time ({float(t_s[0])!r} s); bandlog needs times that advance")
    typical_dt = float(np.median(steps[steps > 0]))
    starts = np.flatnonzero(~tied)
    group = np.cumsum(~tied) - 1
    size = np.diff(np.append(starts, n))
    has_next = np.append(set_ids[starts[1:]] == set_ids[starts[:-1]], False)
    next_t = np.append(t_s[starts[1:]], np.nan)
    span = np.where(has_next, next_t - t_s[starts], typical_dt)
    position = np.arange(n) - starts[group]
    nudged = t_s[starts][group] + span[group] * position / size[group]
    log.info("%s: nudged %d samples that shared a timestamp with the sample before", where, int(tied.sum()))
    _add(counts, NUDGED, int(tied.sum()))
    return np.where(tied, nudged, t_s)


def _missing(columns: Mapping[str, np.ndarray], set_ids: np.ndarray) -> int:
    """Empty or non-finite cells in channels a set measures (a channel a set never measured is not missing)."""
    if not len(set_ids):
        return 0
    total = 0
    for name in _channel_names(columns):
        missing = np.isnan(columns[name])
        if missing.all() or not missing.any():  # never measured, or nothing missing
            continue
        measured = np.bincount(set_ids, weights=~missing) > 0
        total += int((missing & measured[set_ids]).sum())
    return total


def estimate_rate_hz(t_s: np.ndarray) -> float | None:
    """The typical sample rate (1 / median positive step) for formats that do not state one."""
    steps = np.diff(np.asarray(t_s, dtype=np.float64))
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else None
