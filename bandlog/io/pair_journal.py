"""The first seconds of a paired recording, kept on disk until its clocks are aligned.

A paired recording (force from one sensor, motion from another, perhaps a second IMU on the thigh)
writes nothing to its log until the partners' clocks are aligned on the shank IMU's, about two reps in
and up to a minute (sources/pair_merge.py, thigh_merge.py): a kill in that time would lose every
sample. So until then each device's own items also go to a log of that device alone, next to the main
one: `NAME-unaligned-force.csv`, `NAME-unaligned-imu.csv`, `NAME-unaligned-thigh.csv` (the devices
the recording has), ordinary bandlog logs flushed as often as the main log. Once the main log holds on disk the merged
samples that cover them, both are deleted; after a kill (or a failed recording) they stay, and every
verb reads them like any other log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Sink, SourceItem, Tare
from bandlog.core.results import RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkStatus
from bandlog.io.csv_log import CsvLogSink

log = logging.getLogger(__name__)

ROLES = ("force", "imu")
PART_KEY = "paired_part"
"""The `extra` key naming which device of a paired recording a journal holds."""


def journal_path(log_path: Path, role: str) -> Path:
    return log_path.with_name(f"{log_path.stem}-unaligned-{role}{log_path.suffix}")


class PairJournal(Sink):
    """Give it each device's items (`write`) and put it in the pipeline after the main log's sink.

    The merged RecordingMeta reaching the pipeline means the clocks are aligned: the journal stops
    taking items, and deletes its files once the main log has written samples up to the last IMU
    time it holds (or the recording ended cleanly).
    """

    def __init__(self, log_path: Path, main_log: CsvLogSink, flush_interval_s: float = 0.5, roles: Sequence[str] = ROLES) -> None:
        """`roles`: the devices the recording has (bandlog.sources.pair's role names)."""
        self.log_path = log_path
        self.main_log = main_log
        self.paths = {role: journal_path(log_path, role) for role in roles}
        self._sinks = {role: CsvLogSink(path, flush_interval_s) for role, path in self.paths.items()}
        self._started: set[str] = set()
        self._aligned = False
        self._imu_last_t_s: float | None = None
        self._merged_seen = 0
        self._covering_count: int | None = None
        """How many merged samples the main log must have on disk to cover the journal."""
        self.discarded = False

    def write(self, role: str, item: SourceItem) -> None:
        """One device's item, as its own stream gave it (ignored once the clocks are aligned)."""
        if self._aligned or self.discarded:
            return
        sink = self._sinks[role]
        if isinstance(item, RecordingMeta):
            if role in self._started:
                return  # a reconnect repeats the device's meta; its log keeps the first
            self._started.add(role)
            note = f"the {role} sensor's part of the paired recording {self.log_path.name}, before its clocks were aligned"
            sink.on_start(replace(item, notes="; ".join(n for n in (item.notes, note) if n),
                                  extra={**item.extra, PART_KEY: role}))
        elif role not in self._started:
            return  # nothing before the device's meta (a status while connecting)
        elif isinstance(item, SampleBlock):
            sink.on_samples(item)
            if role == "imu" and len(item):
                self._imu_last_t_s = float(item.t_s[-1])
        elif isinstance(item, Gap):
            sink.on_gap(item)
        elif isinstance(item, Tare):
            sink.on_tare(item)
        elif isinstance(item, LinkStatus):
            sink.on_status(item)

    # --- Sink interface (the merged pipeline) -----------------------------------------------
    def on_start(self, meta: RecordingMeta) -> None:
        """The merged recording starts: the clocks are aligned, the journal is complete."""
        self._aligned = True
        for sink in self._sinks.values():
            sink.close()

    def on_samples(self, block: SampleBlock) -> None:
        before, self._merged_seen = self._merged_seen, self._merged_seen + len(block)
        if self._covering_count is None and self._imu_last_t_s is not None:
            covering = np.flatnonzero(block.t_s >= self._imu_last_t_s)
            if len(covering):
                self._covering_count = before + int(covering[0]) + 1
        self._discard_when_covered()

    def on_status(self, status: LinkStatus) -> None:
        self._discard_when_covered()

    def on_end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        """A clean end: the main log has been flushed (it comes first in the pipeline)."""
        if self._aligned and self.main_log.samples_written:
            self._discard()

    def close(self) -> None:
        for sink in self._sinks.values():
            sink.close()

    def _discard_when_covered(self) -> None:
        if self._covering_count is not None and self.main_log.samples_written >= self._covering_count:
            self._discard()

    def _discard(self) -> None:
        if self.discarded:
            return
        self.discarded = True
        self.close()
        for path in self.paths.values():
            try:
                path.unlink(missing_ok=True)
            except OSError as error:  # kept, not lost: the user sees a second log, not a missing one
                log.warning("could not delete %s, the unaligned start of %s: %s", path, self.log_path.name, error)
