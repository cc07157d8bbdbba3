"""Software tare: the force offset measured over the first still second of a stream.

Used when a device cannot zero itself. The user sits still with the band slack at the start; the
mean force over the first one-second window that is still (small force spread and, when an IMU is
present, a quiet gyro) is the offset subtracted from every sample. Pure computation, fed blocks.
"""

from __future__ import annotations

import logging

import numpy as np

from bandlog.samples import SampleBlock

logger = logging.getLogger(__name__)

WINDOW_S = 1.0
MAX_FORCE_SPREAD_N = 1.0
"""Peak-to-peak force allowed within the window: sensor noise is ~0.1 N, a band pull is tens of N."""
MAX_GYRO_DPS = 10.0
"""Largest gyro magnitude allowed in the window (a still leg reads a few deg/s of bias at most)."""
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
        self.offset_n, self._next_stop = _first_still_mean(samples, self.window_s, self._next_stop)
        elapsed_s = float(samples.t_s[-1] - samples.t_s[0])
        if self.offset_n is not None:
            logger.info("software tare: %.3f N (mean of the first still second)", self.offset_n)
            self.done = True
        elif elapsed_s >= self.search_limit_s:
            logger.warning("software tare skipped: no still second in the first %.1f s of the stream", elapsed_s)
            self.done = True
        return self.done


def _first_still_mean(samples: SampleBlock, window_s: float, first_stop: int) -> tuple[float | None, int]:
    """Mean force of the first still window ending at or after index first_stop; and where to resume."""
    t = samples.t_s
    force = samples.force_n
    assert force is not None
    gyro_norm = None if samples.gyro_dps is None else np.linalg.norm(samples.gyro_dps, axis=1)
    start = int(np.searchsorted(t, t[first_stop] - window_s, side="left")) if first_stop < len(t) else 0
    for stop in range(first_stop, len(t)):
        while t[stop] - t[start] > window_s:
            start += 1
        if t[stop] - t[start] < 0.95 * window_s:
            continue
        window = slice(start, stop + 1)
        if np.ptp(force[window]) > MAX_FORCE_SPREAD_N:
            continue
        if gyro_norm is not None and float(np.max(gyro_norm[window])) > MAX_GYRO_DPS:
            continue
        return float(np.mean(force[window])), stop
    return None, len(t)
