"""The unaligned start of a merged recording, kept on disk per device (bandlog.io.pair_journal)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bandlog.io.csv_log import CsvLogSink
from bandlog.io.pair_journal import PairJournal, journal_path


class DeviceJournal(PairJournal):
    """A PairJournal with a part for each device a recording has: PairJournal keeps a force and an
    IMU part; a recording with a thigh IMU also has NAME-unaligned-thigh.csv (and perhaps no force)."""

    def __init__(self, log_path: Path, main_log: CsvLogSink, roles: Sequence[str]) -> None:
        super().__init__(log_path, main_log)
        self.paths = {role: journal_path(log_path, role) for role in roles}
        self._sinks = {role: CsvLogSink(path) for role, path in self.paths.items()}
