"""Put a partner device's readings on the line device's samples, one time line. Sans-I/O.

The shared half of PairMerger (pair_merge.py: a force sensor's force on the shank IMU's samples) and
ThighMerger (thigh_merge.py: a thigh IMU's readings on them). The detector needs every block to carry
the same channels, so each line sample waits (is held) until the partner's samples around its instant
have arrived, then gets the partner's values interpolated at the matching partner-clock time
(clock_model.LineClock.partner_time): this adds only the partner's delivery latency. Where there is
nothing to interpolate - the partner is reconnecting, or lost more samples in a row than the subclass
bridges - the subclass settles the line samples its own way (`_missing`). A sample held longer than
HOLD_MAX_S with no partner sample in sight is settled that way too, so memory stays bounded.

Until the clock is confident (its first fine measurement, about two reps in), everything is held:
releasing earlier would put the partner on the line by host arrival times, tens of ms off. If no reps
come within the subclass's align_wait_s, the held samples go out aligned by host arrival times after all.
"""

from __future__ import annotations

import abc
import logging
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bandlog.core.pipeline import Gap, SourceItem
from bandlog.core.samples import SampleBlock
from bandlog.sources.clock_model import LineClock

logger = logging.getLogger(__name__)

HOLD_MAX_S = 6.0
"""Line seconds a sample may wait for its partner's; longer than a stalled link takes to be declared lost."""
LINE_LOST = "motion sensor link lost"
"""The Gap reason where the line device (the shank IMU) reconnected."""

COVERED, MISSING, WAIT = 0, 1, 2


@dataclass
class _PendingGap:
    start_s: float
    reason: str


class LineMerger(abc.ABC):
    """Feed partner and line items in arrival order; `release()` returns merged items ready to go."""

    partner: ClassVar[str]
    """The partner in log messages ('force', 'thigh')."""
    align_wait_s: ClassVar[float]
    """Line seconds held while waiting for reps to align on, before falling back to host arrival times."""
    keep_s: ClassVar[float]
    """Partner seconds kept before the oldest held line sample (interpolation needs a sample either side)."""
    unaligned_warning: ClassVar[str]
    """Logged once when the held samples go out aligned by host arrival times (align_wait_s passed)."""

    def __init__(self, aligner: LineClock) -> None:
        self.aligner = aligner
        self.samples_out = 0
        self._held: deque[SampleBlock] = deque()
        self._partner_t: deque[np.ndarray] = deque()
        self._partner_v: deque[np.ndarray] = deque()
        self._last_out_s: float | None = None
        self._gap: _PendingGap | None = None
        self._fallback_logged = False

    # -- what subclasses provide --------------------------------------------------------------

    @abc.abstractmethod
    def _partner_values(self, block: SampleBlock) -> np.ndarray:
        """The partner's readings to carry over, (n, k)."""

    @abc.abstractmethod
    def _merged(self, block: SampleBlock, values: np.ndarray) -> SampleBlock:
        """The line block with the partner's readings (n, k) at its samples."""

    @abc.abstractmethod
    def _max_hole_s(self, partner_t: np.ndarray) -> float:
        """Partner samples further apart than this are not interpolated across."""

    @abc.abstractmethod
    def _missing(self, block: SampleBlock) -> list[SourceItem]:
        """Line samples the partner has nothing for: what goes out instead (if anything), counted."""

    @abc.abstractmethod
    def _without_partner(self, reason: str) -> list[SourceItem]:
        """Settle every held sample without the partner's readings (a link lost before alignment,
        the end of a recording the partner never joined)."""

    # -- input -------------------------------------------------------------------------------

    def add_partner(self, block: SampleBlock) -> None:
        if len(block) == 0:
            return
        self.aligner.feed_partner(block)
        self._partner_t.append(block.t_s)
        self._partner_v.append(self._partner_values(block))

    def add_line(self, block: SampleBlock) -> None:
        """A line block: fed to the clock and held for merging."""
        self.feed_line(block)
        self.hold_line(block)

    def feed_line(self, block: SampleBlock) -> None:
        """A line block for the clock only (it reaches hold_line later, through another merger)."""
        if len(block):
            self.aligner.feed_line(block)

    def hold_line(self, block: SampleBlock) -> None:
        """A line block to merge, its samples already fed to the clock."""
        if len(block):
            self._held.append(block)

    def partner_gap(self, gap: Gap) -> list[SourceItem]:
        """The partner reconnected: release what the old segment covers, then start a new one."""
        out = self.release(segment_end=True)
        self.aligner.new_partner_segment()
        self._partner_t.clear()
        self._partner_v.clear()
        logger.info("%s sensor back after %.2f s without samples", self.partner, gap.end_s - gap.start_s)
        return out

    def line_gap(self, gap: Gap) -> list[SourceItem]:
        """The line device reconnected: what is still held from before cannot get the partner's readings any more."""
        out = self.release(segment_end=True)
        out += self._without_partner(LINE_LOST)
        self._open_gap(gap.start_s, LINE_LOST)
        self.aligner.new_line_segment()
        return out

    # -- output ------------------------------------------------------------------------------

    def needs_partner(self) -> bool:
        """Held line samples are waiting for partner samples that have not arrived yet (and would be released)."""
        if not self._held or not self.aligner.ready or not self.aligner.confident:
            return False
        if not self._partner_t:  # what arrived so far was all too old for them
            return True
        return float(self.aligner.partner_time(self._held[-1].t_s[-1])) > float(self._partner_t[-1][-1])

    def release(self, final: bool = False, segment_end: bool = False) -> list[SourceItem]:
        """Merged blocks and Gaps for every held line sample that can be settled now, in time order.

        final: the recording is over, so samples still waiting for the partner never get it.
        segment_end: a link was lost, so its segment is settled now, aligned or not (held samples
        used to be dropped instead: a link loss before the first reps emptied the whole log).
        """
        settle = final or segment_end
        if not self._held or not self.aligner.ready:
            return self._without_partner(f"recording ended before the {self.partner} arrived") if final else []
        if not self.aligner.confident and not settle and self._held[-1].t_s[-1] - self._held[0].t_s[0] < self.align_wait_s:
            return []
        held = SampleBlock.concat(list(self._held))
        if not self.aligner.confident and not self._fallback_logged:
            self._fallback_logged = True
            logger.warning(self.unaligned_warning)
        partner_t, partner_v = self._partner()
        wanted = self.aligner.partner_time(held.t_s)
        status = self._coverage(wanted, partner_t, held.t_s, settle)
        settled = len(status) if np.all(status != WAIT) else int(np.argmax(status == WAIT))
        out: list[SourceItem] = []
        start = 0
        while start < settled:
            kind = status[start]
            stop = start + 1
            while stop < settled and status[stop] == kind:
                stop += 1
            if kind == COVERED:
                at = wanted[start:stop]
                out += self._emit(held.slice(start, stop), np.stack([np.interp(at, partner_t, v) for v in partner_v.T], axis=1))
            else:
                out += self._missing(held.slice(start, stop))
            start = stop
        self._held.clear()
        if settled < len(held):
            self._held.append(held.slice(settled, len(held)))
        self._trim_partner()
        if final:
            self._close_trailing_gap(float(held.t_s[-1]))
        return out

    # -- internals ---------------------------------------------------------------------------

    def _partner(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._partner_t:
            return np.empty(0), np.empty((0, 0))
        if len(self._partner_t) > 1:
            t, v = np.concatenate(list(self._partner_t)), np.concatenate(list(self._partner_v))
            self._partner_t, self._partner_v = deque([t]), deque([v])
        return self._partner_t[0], self._partner_v[0]

    def _coverage(self, wanted: np.ndarray, partner_t: np.ndarray, line_t: np.ndarray, final: bool) -> np.ndarray:
        """COVERED, MISSING (settled by `_missing`) or WAIT (the partner's may still come) for each held sample."""
        status = np.full(len(wanted), MISSING, dtype=np.int8)
        if len(partner_t):
            after = np.searchsorted(partner_t, wanted, side="left")
            inside = (after > 0) & (after < len(partner_t))
            exact = (after < len(partner_t)) & (partner_t[np.minimum(after, len(partner_t) - 1)] == wanted)
            lo = partner_t[np.clip(after - 1, 0, len(partner_t) - 1)]
            hi = partner_t[np.clip(after, 0, len(partner_t) - 1)]
            status[(inside & (hi - lo <= self._max_hole_s(partner_t))) | exact] = COVERED
            beyond = wanted > partner_t[-1]
        else:
            beyond = np.ones(len(wanted), dtype=bool)
        waiting = beyond & (line_t >= line_t[-1] - HOLD_MAX_S) & (not final)
        status[waiting] = WAIT
        return status

    def _emit(self, block: SampleBlock, values: np.ndarray) -> list[SourceItem]:
        out: list[SourceItem] = []
        if self._gap is not None:
            out.append(Gap(self._gap.start_s, float(block.t_s[0]), self._gap.reason))
            logger.info("merged stream: %s from %.2f to %.2f s", self._gap.reason, self._gap.start_s, block.t_s[0])
            self._gap = None
        out.append(self._merged(block, values))
        self.samples_out += len(block)
        self._last_out_s = float(block.t_s[-1])
        return out

    def _open_gap(self, first_missing_s: float, reason: str) -> None:
        """Samples are missing from first_missing_s on; before the first merged sample that is no gap
        (the merged recording simply starts where both devices have data)."""
        if self._gap is None and self._last_out_s is not None:
            self._gap = _PendingGap(self._last_out_s, reason)

    def _take_held(self) -> SampleBlock | None:
        """Every held sample as one block (None if there are none), no longer held."""
        held = SampleBlock.concat(list(self._held)) if self._held else None
        self._held.clear()
        return held

    def _close_trailing_gap(self, last_s: float) -> None:
        if self._gap is not None:
            logger.info("merged stream ends with %s from %.2f to %.2f s", self._gap.reason, self._gap.start_s, last_s)
            self._gap = None

    def _trim_partner(self) -> None:
        partner_t, partner_v = self._partner()
        if not len(partner_t):
            return
        oldest_s = float(self._held[0].t_s[0]) if self._held else self._last_out_s
        if oldest_s is None:
            return
        keep_from = np.searchsorted(partner_t, float(self.aligner.partner_time(oldest_s)) - self.keep_s)
        if keep_from == len(partner_t):  # all of it lies before what the held samples need
            self._partner_t.clear()
            self._partner_v.clear()
        elif keep_from > 0:
            self._partner_t, self._partner_v = deque([partner_t[keep_from:]]), deque([partner_v[keep_from:]])
