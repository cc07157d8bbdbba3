"""Merge a force stream and an IMU stream into one stream on the IMU's time line. Sans-I/O.

The detector needs every block to carry the same channels, so a merged sample exists only where both
devices have data: each IMU sample gets the force interpolated at the matching force-clock time
(ClockAligner.force_time). IMU samples wait (are held) until the force covering them has arrived,
which adds only the force device's delivery latency. Where there is no force to interpolate - the
force sensor is reconnecting, or lost more than MAX_HOLE_S of samples - the IMU samples are dropped
and a Gap on the merged time line says so; likewise force samples without IMU samples around them
(the IMU reconnecting) have nothing to be merged onto and appear as the IMU's Gap. A sample held
longer than HOLD_MAX_S with no force in sight is given up as part of a Gap, so memory stays bounded.

Until the aligner is confident (its first fine measurement, about two reps in), everything is held:
releasing earlier would put force on the IMU time line by host arrival times, tens of ms off. If no
reps come within ALIGN_WAIT_S, the held samples go out aligned by host arrival times after all.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from bandlog.core.pipeline import Gap, SourceItem
from bandlog.core.samples import SampleBlock
from bandlog.sources.clock_sync import ClockAligner

logger = logging.getLogger(__name__)

MAX_HOLE_S = 0.5
"""Force samples further apart than this are not interpolated across (the detector's dropout bound)."""
HOLD_MAX_S = 6.0
"""IMU seconds a sample may wait for its force; longer than a stalled link takes to be declared lost."""
ALIGN_WAIT_S = 60.0
"""IMU seconds held while waiting for reps to align on, before falling back to host arrival times."""
FORCE_KEEP_S = 2.0
"""Force seconds kept before the oldest held IMU sample (interpolation needs a sample either side)."""


@dataclass
class _PendingGap:
    start_s: float
    reason: str


class PairMerger:
    """Feed force and IMU items in arrival order; `release()` returns merged items ready to go."""

    def __init__(self, aligner: ClockAligner | None = None) -> None:
        self.aligner = aligner or ClockAligner()
        self.samples_out = 0
        self.dropped_imu_samples = 0
        self._held: deque[SampleBlock] = deque()
        self._force_t: deque[np.ndarray] = deque()
        self._force_v: deque[np.ndarray] = deque()
        self._force_segment_start_s: float | None = None
        self._last_out_s: float | None = None
        self._gap: _PendingGap | None = None
        self._fallback_logged = False

    # -- input -------------------------------------------------------------------------------

    def add_force(self, block: SampleBlock) -> None:
        if len(block) == 0:
            return
        self.aligner.feed_force(block)
        assert block.force_n is not None
        if self._force_segment_start_s is None:
            self._force_segment_start_s = float(block.t_s[0])
        self._force_t.append(block.t_s)
        self._force_v.append(block.force_n)

    def add_imu(self, block: SampleBlock) -> None:
        if len(block) == 0:
            return
        self.aligner.feed_imu(block)
        self._held.append(block)

    def force_gap(self, gap: Gap) -> list[SourceItem]:
        """The force device reconnected: release what the old segment covers, then start a new one."""
        out = self.release(segment_end=True)
        self.aligner.new_force_segment()
        self._force_segment_start_s = None
        self._force_t.clear()
        self._force_v.clear()
        logger.info("force sensor back after %.2f s without samples", gap.end_s - gap.start_s)
        return out

    def imu_gap(self, gap: Gap) -> list[SourceItem]:
        """The IMU reconnected: what is still held from before cannot get force any more."""
        out = self.release(segment_end=True)
        self._drop_held("motion sensor link lost")
        self._open_gap(gap.start_s, "motion sensor link lost")
        self.aligner.new_imu_segment()
        return out

    # -- output ------------------------------------------------------------------------------

    def needs_force(self) -> bool:
        """Held IMU samples are waiting for force that has not arrived yet (and would be released)."""
        if not self._held or not self.aligner.ready or not self.aligner.confident:
            return False
        if not self._force_t:  # what arrived so far was all too old for them
            return True
        return float(self.aligner.force_time(self._held[-1].t_s[-1])) > float(self._force_t[-1][-1])

    def release(self, final: bool = False, segment_end: bool = False) -> list[SourceItem]:
        """Merged blocks and Gaps for every held IMU sample that can be settled now, in time order.

        final: the recording is over, so samples still waiting for force never get it.
        segment_end: a link was lost, so its segment is settled now, aligned or not (held samples
        used to be dropped instead: a link loss before the first reps emptied the whole log).
        """
        settle = final or segment_end
        if not self._held or not self.aligner.ready:
            if final:
                self._drop_held("recording ended before the force arrived")
            return []
        held = SampleBlock.concat(list(self._held))
        if not self.aligner.confident and not settle and held.t_s[-1] - held.t_s[0] < ALIGN_WAIT_S:
            return []
        if not self.aligner.confident and not self._fallback_logged:
            self._fallback_logged = True
            logger.warning("no reps to align the clocks on yet: force placed by host arrival times (tens of ms off)")
        force_t, force_v = self._force()
        wanted = self.aligner.force_time(held.t_s)
        status = self._coverage(wanted, force_t, held.t_s, settle)
        settled = len(status) if np.all(status != WAIT) else int(np.argmax(status == WAIT))
        out: list[SourceItem] = []
        start = 0
        while start < settled:
            kind = status[start]
            stop = start + 1
            while stop < settled and status[stop] == kind:
                stop += 1
            if kind == COVERED:
                out += self._emit(held.slice(start, stop), np.interp(wanted[start:stop], force_t, force_v))
            else:
                self._open_gap(float(held.t_s[start]), "force sensor link lost")
                self.dropped_imu_samples += stop - start
            start = stop
        self._held.clear()
        if settled < len(held):
            self._held.append(held.slice(settled, len(held)))
        self._trim_force()
        if final:
            self._close_trailing_gap(float(held.t_s[-1]))
        return out

    # -- internals ---------------------------------------------------------------------------

    def _force(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._force_t:
            return np.empty(0), np.empty(0)
        if len(self._force_t) > 1:
            t, v = np.concatenate(list(self._force_t)), np.concatenate(list(self._force_v))
            self._force_t, self._force_v = deque([t]), deque([v])
        return self._force_t[0], self._force_v[0]

    def _coverage(self, wanted: np.ndarray, force_t: np.ndarray, imu_t: np.ndarray, final: bool) -> np.ndarray:
        """COVERED, MISSING (settled as a gap) or WAIT (force may still come) for each held sample."""
        status = np.full(len(wanted), MISSING, dtype=np.int8)
        if len(force_t):
            after = np.searchsorted(force_t, wanted, side="left")
            inside = (after > 0) & (after < len(force_t))
            exact = (after < len(force_t)) & (force_t[np.minimum(after, len(force_t) - 1)] == wanted)
            lo = force_t[np.clip(after - 1, 0, len(force_t) - 1)]
            hi = force_t[np.clip(after, 0, len(force_t) - 1)]
            status[(inside & (hi - lo <= MAX_HOLE_S)) | exact] = COVERED
            beyond = wanted > force_t[-1]
        else:
            beyond = np.ones(len(wanted), dtype=bool)
        waiting = beyond & (imu_t >= imu_t[-1] - HOLD_MAX_S) & (not final)
        status[waiting] = WAIT
        return status

    def _emit(self, block: SampleBlock, force_n: np.ndarray) -> list[SourceItem]:
        out: list[SourceItem] = []
        if self._gap is not None:
            out.append(Gap(self._gap.start_s, float(block.t_s[0]), self._gap.reason))
            logger.info("merged stream: %s from %.2f to %.2f s", self._gap.reason, self._gap.start_s, block.t_s[0])
            self._gap = None
        out.append(replace(block, force_n=force_n))
        self.samples_out += len(block)
        self._last_out_s = float(block.t_s[-1])
        return out

    def _open_gap(self, first_missing_s: float, reason: str) -> None:
        """Samples are missing from first_missing_s on; before the first merged sample that is no gap
        (the merged recording simply starts where both devices have data)."""
        if self._gap is None and self._last_out_s is not None:
            self._gap = _PendingGap(self._last_out_s, reason)

    def _drop_held(self, reason: str) -> None:
        dropped = sum(len(b) for b in self._held)
        if dropped:
            self._open_gap(float(self._held[0].t_s[0]), reason)
            self.dropped_imu_samples += dropped
            logger.info("merged stream: %d IMU samples without force dropped (%s)", dropped, reason)
        self._held.clear()

    def _close_trailing_gap(self, last_s: float) -> None:
        if self._gap is not None:
            logger.info("merged stream ends with %s from %.2f to %.2f s", self._gap.reason, self._gap.start_s, last_s)
            self._gap = None

    def _trim_force(self) -> None:
        force_t, force_v = self._force()
        if not len(force_t):
            return
        oldest_s = float(self._held[0].t_s[0]) if self._held else self._last_out_s
        if oldest_s is None:
            return
        keep_from = np.searchsorted(force_t, float(self.aligner.force_time(oldest_s)) - FORCE_KEEP_S)
        if keep_from == len(force_t):  # all of it lies before what the held samples need
            self._force_t.clear()
            self._force_v.clear()
        elif keep_from > 0:
            self._force_t, self._force_v = deque([force_t[keep_from:]]), deque([force_v[keep_from:]])


COVERED, MISSING, WAIT = 0, 1, 2
