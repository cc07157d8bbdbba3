"""Replay a log as if its sensor were streaming now: the same items, in the same order, as a live source.

Yields the RecordingMeta, then SampleBlocks of about `block_s` of device time, the log's Gap items at
the point in the stream where the link dropped, and a LinkStatus(REPLAYING) about once a second of
device time, ending with LinkStatus(ENDED). With `speed` the stream is paced against the device
clock (1.0 = real time, 10.0 = ten times faster); with speed=None it runs as fast as possible and is
exactly what `bandlog.app.api.analyze` uses, so replaying and analysing a log cannot disagree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.pipeline import Gap, SourceItem
from bandlog.core.results import SetRating
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus

if TYPE_CHECKING:
    from bandlog.io.logdata import LogData

STATUS_EVERY_S = 1.0
MAX_BLOCKS = 2.0**62
"""Block numbers are clipped here so that absurd times (a corrupt 1e308 s) still index as int64."""


def split_points(t_s: np.ndarray, block_s: float, gaps: list[Gap]) -> tuple[np.ndarray, dict[int, list[Gap]]]:
    """Sample indices at which blocks start (every `block_s` of device time, and at every gap).

    Returns (boundaries including 0 and n, {index: gaps to emit before the sample at index}).
    """
    n = len(t_s)
    if n == 0:
        return np.array([0]), {0: list(gaps)} if gaps else {}
    with np.errstate(over="ignore", invalid="ignore"):  # times near +-1e308 overflow to inf: one block past the end
        grid = np.floor(np.minimum((t_s - t_s[0]) / block_s, MAX_BLOCKS)).astype(np.int64)
    cuts = set((np.flatnonzero(np.diff(grid)) + 1).tolist())
    at: dict[int, list[Gap]] = {}
    for gap in gaps:
        index = int(np.searchsorted(t_s, gap.start_s, side="right"))
        at.setdefault(index, []).append(gap)
        cuts.add(index)
    bounds = np.array(sorted(cuts | {0, n}))
    return bounds, at


def ratings_for_set(log: LogData, block: SampleBlock) -> list[SetRating]:
    """The set ratings given during this set (all of them when the log has one set), in time order."""
    if log.n_sets <= 1 or len(block) == 0:
        return sorted(log.ratings, key=lambda r: r.t_s)
    t0, t1 = float(block.t_s[0]), float(block.t_s[-1])
    return sorted((r for r in log.ratings if t0 <= r.t_s <= t1), key=lambda r: r.t_s)


def gaps_for_set(log: LogData, block: SampleBlock) -> list[Gap]:
    """The gaps that fall inside this set (all of them when the log has one set)."""
    if log.n_sets <= 1:
        return sorted(log.gaps, key=lambda g: g.start_s)
    t0, t1 = float(block.t_s[0]), float(block.t_s[-1])
    return sorted((g for g in log.gaps if t0 <= g.start_s <= t1), key=lambda g: g.start_s)


async def replay_source(
    log: LogData,
    set_index: int = 0,
    speed: float | None = None,
    block_s: float = 0.1,
) -> AsyncIterator[SourceItem]:
    """Stream one set of `log` as pipeline items (see the module docstring)."""
    if speed is not None and not speed > 0:
        raise ConfigError(f"replay speed must be positive, not {speed}")
    if not block_s > 0:
        raise ConfigError(f"replay block length must be positive, not {block_s} s")
    sets = log.sets()
    if sets and not 0 <= set_index < len(sets):
        raise ConfigError(f"{log.path.name} has {len(sets)} set(s); there is no set {set_index + 1}")
    if not sets and set_index != 0:
        raise ConfigError(f"{log.path.name} has no samples, so no set {set_index + 1}")
    block = sets[set_index] if sets else SampleBlock(t_s=np.empty(0))
    stream = log.meta.stream
    device = (stream.name or stream.model) if stream is not None else ""
    device = device or log.path.name
    where = f"{log.path.name}, set {set_index + 1} of {max(len(sets), 1)}"

    yield log.meta
    yield LinkStatus(LinkState.REPLAYING, device=device, message=f"replaying {where}")
    bounds, gaps_at = split_points(block.t_s, block_s, gaps_for_set(log, block))
    ratings = ratings_for_set(log, block)  # each comes after the samples up to its time, as it did live
    start_wall = time.monotonic()
    t_first = float(block.t_s[0]) if len(block) else 0.0
    status_due = t_first + STATUS_EVERY_S
    last_status_t, last_status_total, total = t_first, 0, 0
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        for gap in gaps_at.get(start, ()):
            yield gap
        piece = block.slice(start, stop)
        t_end = float(piece.t_s[-1])
        if speed is not None:
            delay = start_wall + (t_end - t_first) / speed - time.monotonic()
            await asyncio.sleep(max(0.0, delay))
        else:
            await asyncio.sleep(0)
        yield piece
        while ratings and ratings[0].t_s <= t_end:
            yield ratings.pop(0)
        total += len(piece)
        if t_end >= status_due:
            span = t_end - last_status_t
            rate = (total - last_status_total) / span if span > 0 else None
            yield LinkStatus(LinkState.REPLAYING, device=device, samples_per_s=rate, samples_total=total, message=f"replaying {where}")
            status_due = t_end + STATUS_EVERY_S
            last_status_t, last_status_total = t_end, total
    for gap in gaps_at.get(len(block), ()):
        yield gap
    for rating in ratings:  # given after the last sample
        yield rating
    yield LinkStatus(LinkState.ENDED, device=device, samples_total=total, message=f"replayed {where}")
