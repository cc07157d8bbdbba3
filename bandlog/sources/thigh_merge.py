"""Put a thigh IMU's readings on the shank IMU's samples, one time line. Sans-I/O.

Each shank sample gets the thigh's acceleration and rotation rate interpolated (per axis, linearly)
at the matching thigh-clock time (ThighAligner.thigh_time), held until those thigh samples have
arrived (line_merge.LineMerger). Unlike a force sensor's gap, a thigh gap costs the shank nothing:
the shank samples go out with their thigh cells NaN, counted in `missing_samples`, and the detector
takes the thigh's turn as unknown there (bandlog.detect.thigh). No thigh reading is invented across
more than MAX_HOLE_INTERVALS of the thigh's own sample interval (one lost notification is bridged,
two in a row are not).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.pipeline import SourceItem
from bandlog.core.samples import SampleBlock
from bandlog.sources.line_merge import LineMerger
from bandlog.sources.thigh_sync import ThighAligner

logger = logging.getLogger(__name__)

MAX_HOLE_INTERVALS = 2.5
"""Thigh samples further apart than this many of its sample intervals are not interpolated across."""
ALIGN_WAIT_S = 30.0
"""Shank seconds held while waiting for a movement to align on, before falling back to host arrival
times: a standing set's first rep comes well within it; a seated thigh never aligns (thigh_sync.py),
and its live view should not wait a whole minute for that."""
THIGH_KEEP_S = 2.0
"""Thigh seconds kept before the oldest held shank sample (interpolation needs a sample either side)."""
RECENT_INTERVALS = 64
"""Newest thigh sample intervals whose median is its sample interval."""
THIGH_COLUMNS = 6
"""acc x, y, z then gyro x, y, z."""


class ThighMerger(LineMerger):
    """Feed thigh blocks (`add_partner`) and shank blocks (`add_line`) in arrival order, their Gaps to
    `partner_gap` / `line_gap`; `release()` returns shank blocks carrying the thigh's readings."""

    partner = "thigh"
    align_wait_s = ALIGN_WAIT_S
    keep_s = THIGH_KEEP_S
    unaligned_warning = ("the thigh has not turned with the shank yet (no standing reps): its readings placed by host "
                         "arrival times (tens of ms off)")
    aligner: ThighAligner

    def __init__(self, aligner: ThighAligner | None = None) -> None:
        super().__init__(aligner or ThighAligner())
        self.missing_samples = 0
        """Shank samples given out with no thigh reading (NaN thigh cells)."""

    def _partner_values(self, block: SampleBlock) -> np.ndarray:
        if block.acc_ms2 is None or block.gyro_dps is None:
            raise ConfigError("the thigh sensor's samples carry no acceleration or no gyro channel: it must be an IMU")
        return np.concatenate([block.acc_ms2, block.gyro_dps], axis=1)

    def _merged(self, block: SampleBlock, values: np.ndarray) -> SampleBlock:
        return replace(block, thigh_acc_ms2=values[:, :3], thigh_gyro_dps=values[:, 3:])

    def _max_hole_s(self, partner_t: np.ndarray) -> float:
        if len(partner_t) < 3:
            return 0.0  # no interval known yet: only a sample at the very instant counts
        return MAX_HOLE_INTERVALS * float(np.median(np.diff(partner_t[-RECENT_INTERVALS - 1 :])))

    def _missing(self, block: SampleBlock) -> list[SourceItem]:
        self.missing_samples += len(block)
        return self._emit(block, np.full((len(block), THIGH_COLUMNS), np.nan))

    def _without_partner(self, reason: str) -> list[SourceItem]:
        held = self._take_held()
        if held is None:
            return []
        logger.info("merged stream: %d shank samples without thigh readings (%s)", len(held), reason)
        return self._missing(held)
