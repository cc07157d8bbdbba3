"""LogData: what any log file, bandlog's own or a foreign export, reads into.

Every reader hands its columns to `build_samples`, so irregular time is handled one way for all
formats:

- a row identical to the row before it (a repeated notification or export glitch) is dropped;
- time running backwards starts a new set (a new run, or the device clock restarting);
- several different samples at one timestamp (coarse export timestamps) keep their file order and
  are nudged apart, spread evenly up to the next distinct time, so time always increases in a set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from bandlog.errors import LogFormatError
from bandlog.meta import RecordingMeta
from bandlog.pipeline import Gap
from bandlog.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SampleBlock
from bandlog.schema import FRAME_CHANNELS, HOST_TIME_COLUMN, SET_COLUMN, TIME_COLUMN

log = logging.getLogger(__name__)


@dataclass
class LogData:
    """One log file's samples and metadata, in bandlog units, whatever format it came in."""

    path: Path
    format: str
    """'bandlog', 'tindeq', 'vernier' or 'generic'."""
    meta: RecordingMeta
    samples: pd.DataFrame
    """t_s, force_n, acc_*_ms2, gyro_*_dps (+ t_host_s if the file has it) and `set` (int, 0-based)."""
    gaps: list[Gap] = field(default_factory=list)

    @property
    def n_sets(self) -> int:
        return int(self.samples[SET_COLUMN].max()) + 1 if len(self.samples) else 0

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
            values = part[list(names)].to_numpy(dtype=np.float64)
            return None if np.isnan(values).all() else values

        force = channel((FORCE_CHANNEL,))
        host = channel((HOST_TIME_COLUMN,)) if HOST_TIME_COLUMN in part else None
        return SampleBlock(
            t_s=part[TIME_COLUMN].to_numpy(dtype=np.float64),
            force_n=None if force is None else force[:, 0],
            acc_ms2=channel(ACC_CHANNELS),
            gyro_dps=channel(GYRO_CHANNELS),
            t_host_s=None if host is None else host[:, 0],
        )


def build_samples(
    t_s: np.ndarray,
    channels: Mapping[str, np.ndarray],
    where: str,
    line_numbers: np.ndarray,
    t_host_s: np.ndarray | None = None,
    set_labels: np.ndarray | None = None,
) -> pd.DataFrame:
    """The LogData.samples frame from parsed columns (bandlog units), with the time rules above.

    `channels` maps FRAME_CHANNELS names to arrays; missing names become NaN columns. `set_labels`
    (any values) start a new set wherever they change.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    bad_time = np.flatnonzero(~np.isfinite(t_s))
    if len(bad_time):
        lines = ", ".join(str(line_numbers[i]) for i in bad_time[:5])
        raise LogFormatError(f"{where}: missing or non-finite time at line {lines}; every sample needs a time")
    columns: dict[str, np.ndarray] = {TIME_COLUMN: t_s}
    if t_host_s is not None:
        columns[HOST_TIME_COLUMN] = np.asarray(t_host_s, dtype=np.float64)
    for name in FRAME_CHANNELS:
        columns[name] = np.asarray(channels[name], dtype=np.float64) if name in channels else np.full(n, np.nan)
    labels = None if set_labels is None else np.asarray(set_labels)

    keep = _not_repeated(columns, labels)
    if not keep.all():
        log.info("%s: dropped %d rows identical to the row before", where, int((~keep).sum()))
        columns = {k: v[keep] for k, v in columns.items()}
        labels = None if labels is None else labels[keep]
        t_s = columns[TIME_COLUMN]

    new_set = np.zeros(len(t_s), dtype=bool)
    if len(t_s) > 1:
        new_set[1:] = np.diff(t_s) < 0
        if labels is not None:
            new_set[1:] |= labels[1:] != labels[:-1]
    set_ids = np.cumsum(new_set)
    columns[TIME_COLUMN] = _nudge_ties(t_s, set_ids, where)
    frame = pd.DataFrame(columns)
    frame[SET_COLUMN] = set_ids.astype(np.int64)
    return frame


def _not_repeated(columns: Mapping[str, np.ndarray], labels: np.ndarray | None) -> np.ndarray:
    n = len(columns[TIME_COLUMN])
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep
    same = np.ones(n - 1, dtype=bool)
    for values in columns.values():
        a, b = values[1:], values[:-1]
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    if labels is not None:
        same &= labels[1:] == labels[:-1]
    keep[1:] = ~same
    return keep


def _nudge_ties(t_s: np.ndarray, set_ids: np.ndarray, where: str) -> np.ndarray:
    """Spread runs of equal times evenly toward the next distinct time in the same set."""
    if len(t_s) < 2:
        return t_s
    tied = (np.diff(t_s) == 0) & (set_ids[1:] == set_ids[:-1])
    if not tied.any():
        return t_s
    t_s = t_s.copy()
    steps = np.diff(t_s)
    typical_dt = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1e-3
    i, n, nudged = 0, len(t_s), 0
    while i < n - 1:
        if not tied[i]:
            i += 1
            continue
        j = i
        while j < n - 1 and tied[j]:
            j += 1
        # t_s[i..j] are equal; the next distinct time bounds the spread
        has_next = j + 1 < n and set_ids[j + 1] == set_ids[i]
        span = (t_s[j + 1] - t_s[i]) if has_next else typical_dt
        count = j - i + 1
        t_s[i : j + 1] = t_s[i] + span * np.arange(count) / count
        nudged += count - 1
        i = j + 1
    log.info("%s: nudged %d samples that shared a timestamp with the sample before", where, nudged)
    return t_s


def estimate_rate_hz(t_s: np.ndarray) -> float | None:
    """The typical sample rate (1 / median positive step) for formats that do not state one."""
    steps = np.diff(np.asarray(t_s, dtype=np.float64))
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else None
