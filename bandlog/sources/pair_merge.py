"""Merge a force stream and an IMU stream into one stream on the IMU's time line. Sans-I/O.

Each IMU sample gets the force interpolated at the matching force-clock time (ClockAligner.force_time),
held until that force has arrived (line_merge.LineMerger). The detector needs every block to carry the
same channels, so a merged sample exists only where both devices have data: where there is no force to
interpolate - the force sensor is reconnecting, or lost more than MAX_HOLE_S of samples - the IMU
samples are dropped and a Gap on the merged time line says so; likewise force samples without IMU
samples around them (the IMU reconnecting) have nothing to be merged onto and appear as the IMU's Gap.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from bandlog.core.pipeline import Gap, SourceItem
from bandlog.core.samples import SampleBlock
from bandlog.sources.clock_sync import ClockAligner
from bandlog.sources.line_merge import LineMerger

logger = logging.getLogger(__name__)

MAX_HOLE_S = 0.5
"""Force samples further apart than this are not interpolated across (the detector's dropout bound)."""
ALIGN_WAIT_S = 60.0
"""IMU seconds held while waiting for reps to align on, before falling back to host arrival times."""
FORCE_KEEP_S = 2.0
"""Force seconds kept before the oldest held IMU sample (interpolation needs a sample either side)."""
FORCE_LOST = "force sensor link lost"


class PairMerger(LineMerger):
    """Feed force and IMU items in arrival order; `release()` returns merged items ready to go."""

    partner = "force"
    align_wait_s = ALIGN_WAIT_S
    keep_s = FORCE_KEEP_S
    unaligned_warning = "no reps to align the clocks on yet: force placed by host arrival times (tens of ms off)"
    aligner: ClockAligner

    def __init__(self, aligner: ClockAligner | None = None) -> None:
        super().__init__(aligner or ClockAligner())
        self.dropped_imu_samples = 0

    # the force pair's names for LineMerger's partner (force) and line (IMU)

    def add_force(self, block: SampleBlock) -> None:
        self.add_partner(block)

    def add_imu(self, block: SampleBlock) -> None:
        self.add_line(block)

    def force_gap(self, gap: Gap) -> list[SourceItem]:
        """The force device reconnected: release what the old segment covers, then start a new one."""
        return self.partner_gap(gap)

    def imu_gap(self, gap: Gap) -> list[SourceItem]:
        """The IMU reconnected: what is still held from before cannot get force any more."""
        return self.line_gap(gap)

    def needs_force(self) -> bool:
        """Held IMU samples are waiting for force that has not arrived yet (and would be released)."""
        return self.needs_partner()

    # -- LineMerger ---------------------------------------------------------------------------

    def _partner_values(self, block: SampleBlock) -> np.ndarray:
        assert block.force_n is not None  # the aligner refused the block otherwise
        return block.force_n[:, None]

    def _merged(self, block: SampleBlock, values: np.ndarray) -> SampleBlock:
        return replace(block, force_n=values[:, 0])

    def _max_hole_s(self, partner_t: np.ndarray) -> float:
        return MAX_HOLE_S

    def _missing(self, block: SampleBlock) -> list[SourceItem]:
        self._open_gap(float(block.t_s[0]), FORCE_LOST)
        self.dropped_imu_samples += len(block)
        return []

    def _without_partner(self, reason: str) -> list[SourceItem]:
        held = self._take_held()
        if held is not None:
            self._open_gap(float(held.t_s[0]), reason)
            self.dropped_imu_samples += len(held)
            logger.info("merged stream: %d IMU samples without force dropped (%s)", len(held), reason)
        return []
