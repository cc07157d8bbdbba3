"""What arrives from one live sensor: notifications decoded onto one time line, every loss counted.

Sans I/O: BleSession (ble_session.py) reads the link and hands each batch of notifications to
`_receive`; this decodes them, dates lost notifications from arrival times for sensors timed by
sample index (ArrivalLossFinder), places the samples on the session's continuous time line
(Timeline, a Gap after a reconnect), and counts every dropped, damaged and skipped thing, so the
user sees it in the LinkStatus. Kept apart from the connection's lifecycle (scan, connect,
reconnect, stop), which is the session's; what a link still holds when it ends comes out of `_flush`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from bandlog.core.errors import DecodeError
from bandlog.core.link import Notification
from bandlog.core.pipeline import Gap, SourceItem
from bandlog.core.samples import SampleBlock
from bandlog.devices.base import (
    DAMAGED_PACKETS,
    DROPPED_PACKETS,
    SKIPPED_SAMPLES,
    TRIMMED_PACKETS,
    DeviceNotice,
    StreamDecoder,
)
from bandlog.sources.timeline import ArrivalLossFinder, Timeline

logger = logging.getLogger(__name__)


class Reception:
    """The receiving half of a live session: decoder, loss finder, time line and their counts."""

    def __init__(self, device_name: str) -> None:
        self.device_name = device_name
        self.dropped = 0
        self.corrupted = 0
        self.skipped = 0
        self.trimmed = 0
        self.battery_percent: float | None = None
        self._message = ""
        self._decoder: StreamDecoder | None = None
        self._timeline = Timeline()
        self._finder: ArrivalLossFinder | None = None
        """For sensors timed by sample index: finds lost notifications from arrival times."""
        self._held: SampleBlock | None = None
        """Samples the finder holds until their dating is settled."""
        self._in_bad_run = False
        self._damage_credit = 0
        """Damaged packets counted but not yet followed by a placed sample: the gap they leave in the
        sample counter or the time line is the same packet, so it is not counted again as dropped."""
        self._sample_after_damage = True

    def _receive(self, notifications: list[Notification]) -> list[SourceItem]:
        """These notifications' blocks and Gaps on the continuous time line (what the loss finder
        still dates is held back)."""
        blocks = self._decode(notifications)
        if not blocks:
            return []
        block = SampleBlock.concat(blocks)
        if self._finder is None:
            return self._place(block, notifications[0].t_host_s, notifications[-1].t_host_s)
        held = block if self._held is None else SampleBlock.concat([self._held, block])
        host_s = held.t_host_s if held.t_host_s is not None else np.full(len(held), notifications[-1].t_host_s)
        released = self._finder.feed(block.t_s, host_s[len(held) - len(block):])
        self._held = held.slice(released.count, len(held))
        self._count_found(released.lost)
        if not released.count:
            return []
        out = replace(held.slice(0, released.count), t_s=released.t_device_s)
        return self._place(out, float(host_s[0]), float(host_s[released.count - 1]))

    def _count_found(self, lost: int) -> None:
        """Lost notifications the finder dated: counted as dropped and logged, so the user sees them."""
        if lost:
            self.dropped += lost
            logger.warning("%d notification(s) from %s never arrived (found from arrival times)", lost, self.device_name)

    def _flush(self) -> list[SourceItem]:
        """The link ended: what the decoder and the loss finder still hold, placed (nothing is lost unseen)."""
        blocks: list[SampleBlock] = []
        if self._decoder is not None:
            output = self._decoder.flush()
            blocks.extend(b for b in output.blocks if len(b))
            for notice in output.notices:
                self._on_notice(notice)
        if self._finder is not None and self._held is not None and len(self._held):
            released = self._finder.flush()
            self._count_found(released.lost)
            blocks.insert(0, replace(self._held, t_s=released.t_device_s))
        self._held = None
        if not blocks:
            return []
        block = SampleBlock.concat(blocks)
        host_s = block.t_host_s if block.t_host_s is not None else np.zeros(len(block))
        return self._place(block, float(host_s[0]), float(host_s[-1]))

    def _decode(self, notifications: list[Notification]) -> list[SampleBlock]:
        assert self._decoder is not None
        blocks: list[SampleBlock] = []
        for notification in notifications:
            try:
                output = self._decoder.feed(notification)
            except DecodeError as error:
                # A damaged packet spans several notifications (fragments that cannot be placed
                # until the decoder resynchronises): a run of failures counts as one bad packet.
                if not self._in_bad_run:
                    self.corrupted += 1
                    self._damage_credit += 1
                    self._sample_after_damage = False
                    logger.warning("skipped a bad packet from %s: %s", self.device_name, error)
                else:
                    logger.debug("skipped the rest of a bad packet: %s", error)
                self._in_bad_run = True
                continue
            self._in_bad_run = False
            blocks.extend(block for block in output.blocks if len(block))
            self._sample_after_damage = self._sample_after_damage or any(len(b) for b in output.blocks)
            for notice in output.notices:
                self._on_notice(notice)
        return blocks

    def _on_notice(self, notice: DeviceNotice) -> None:
        if "battery" in notice.kind and notice.value is not None:
            self.battery_percent = float(notice.value)
        if notice.kind in ("dropped", DROPPED_PACKETS) and notice.value is not None:
            self._count_dropped(int(notice.value))
        if notice.kind == DAMAGED_PACKETS and notice.value is not None:
            self.corrupted += int(notice.value)
        if notice.kind == SKIPPED_SAMPLES and notice.value is not None:
            self.skipped += int(notice.value)
        if notice.kind == TRIMMED_PACKETS and notice.value is not None:
            self.trimmed += int(notice.value)
        if "low" in notice.kind:
            self._message = notice.message or "battery low"
        logger.info("%s says %s: %s %s", self.device_name, notice.kind, notice.message, "" if notice.value is None else notice.value)

    def _place(self, block: SampleBlock, first_host_s: float, last_host_s: float) -> list[SourceItem]:
        """Shift device time onto the session time line; a Gap first after a reconnect."""
        placed = self._timeline.place(block.t_s, first_host_s, last_host_s)
        if self._finder is None and not (self._decoder is not None and self._decoder.counts_lost):
            self._count_dropped(placed.jumps)  # each jump is at least one lost notification
        if self._sample_after_damage:
            self._damage_credit = 0
        gap: list[SourceItem] = [] if placed.gap is None else [Gap(*placed.gap)]
        return [*gap, replace(block, t_s=placed.t_s)]

    def _count_dropped(self, packets: int) -> None:
        """Packets missing from the stream, less those already counted as damaged."""
        credit = min(self._damage_credit, packets)
        self._damage_credit -= credit
        self.dropped += packets - credit
