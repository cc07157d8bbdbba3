"""Software tare: the force offset measured over the first still second of a stream.

Used when a device cannot zero itself. The user sits still with the band slack at the start; the
mean force over the first one-second window that is still, at rest level, is the offset
subtracted from every sample. "Still" must tolerate real sensors (load-cell noise up to ~0.5 N,
gyro bias up to ~10 deg/s), so it is judged by spread, not by absolute level. "At rest level"
means no higher than the lowest force seen so far: a still second after the leg has moved may be a
hold at the top of a rep with the band stretched, and taring there would make every rest read tens
of newtons below zero. Pure computation, fed blocks.
"""

from __future__ import annotations

import logging

import numpy as np

from bandlog.core.samples import SampleBlock

logger = logging.getLogger(__name__)

WINDOW_S = 1.0
MAX_FORCE_SD_N = 0.6
"""Force standard deviation allowed within the window: sensor noise is 0.05-0.5 N, a pull is tens of N."""
MAX_GYRO_SPREAD_DPS = 6.0
"""Largest deviation of the gyro from its own window median (bias cancels out; tremor and noise stay small)."""
MAX_GYRO_BIAS_DPS = 15.0
"""A steady gyro reading above this is a turning leg, not bias (turn-on bias is up to ~10 deg/s)."""
MAX_ABOVE_REST_N = 2.0
"""A still window counts only if its mean is within this of the lowest force seen so far (the rest level)."""
REST_PERCENTILE = 2.0
"""The rest level is this low percentile of the force so far (a single noisy minimum would be too low)."""
SEARCH_LIMIT_S = 5.0
"""Give up (no tare) if no still second appears within this much device time."""


class SoftwareTare:
    """Feed blocks until `done`; then `offset_n` is the tare (None when no still second was found)."""

    def __init__(self, window_s: float = WINDOW_S, search_limit_s: float = SEARCH_LIMIT_S) -> None:
        self.window_s = window_s
        self.search_limit_s = search_limit_s
        self.offset_n: float | None = None
        self.done = False
        self._blocks: list[SampleBlock] = []
        self._next_stop = 0
        """Window ends before this index were judged already; their verdict cannot change."""

    def feed(self, block: SampleBlock) -> bool:
        """Add samples; True once the tare is decided (found, or given up)."""
        if self.done or len(block) == 0:
            return self.done
        if block.force_n is None:
            logger.warning("software tare skipped: this stream carries no force channel")
            self.done = True
            return True
        self._blocks.append(block)
        samples = SampleBlock.concat(self._blocks)
        offset_n, self._next_stop = first_still_mean(samples, self.window_s, self._next_stop)
        elapsed_s = float(samples.t_s[-1] - samples.t_s[0])
        if offset_n is not None:
            logger.info("software tare: %.3f N (mean of the first still second)", offset_n)
            self.offset_n = offset_n
            self.done = True
        elif elapsed_s >= self.search_limit_s:
            logger.warning("software tare skipped: no still second in the first %.1f s of the stream", elapsed_s)
            self.done = True
        return self.done


def first_still_mean(samples: SampleBlock, window_s: float, first_stop: int = 0) -> tuple[float | None, int]:
    """(mean force of the first still window at rest level ending at or after first_stop, or None;
    the index to resume from when more samples arrive). Each verdict depends only on samples up to
    the window's end, so resuming gives the same answer as rescanning."""
    t = samples.t_s
    force = samples.force_n
    assert force is not None
    gyro = samples.gyro_dps
    start = int(np.searchsorted(t, t[first_stop] - window_s, side="left")) if first_stop < len(t) else 0
    for stop in range(first_stop, len(t)):
        while t[stop] - t[start] > window_s:
            start += 1
        if t[stop] - t[start] < 0.95 * window_s:
            continue
        window = slice(start, stop + 1)
        if float(np.std(force[window])) > MAX_FORCE_SD_N:
            continue
        if gyro is not None:
            centre = np.median(gyro[window], axis=0)
            spread = np.linalg.norm(gyro[window] - centre, axis=1)
            if float(np.max(spread)) > MAX_GYRO_SPREAD_DPS or float(np.linalg.norm(centre)) > MAX_GYRO_BIAS_DPS:
                continue
        mean_n = float(np.mean(force[window]))
        if mean_n - float(np.percentile(force[: stop + 1], REST_PERCENTILE)) > MAX_ABOVE_REST_N:
            continue
        return mean_n, stop
    return None, len(t)
