"""`read_log(path)`: any log bandlog understands, recognised by its content, never by its file name.

Formats are tried in a fixed order, most specific first: bandlog's own (first line
`# bandlog_schema: N`), a Tindeq export (`time,weight`), a Vernier export (`Run 1: Time (s)`), then a
generic CSV with a time column and unit-named channels.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Protocol

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.io import csv_log, generic_csv, tindeq_export, vernier_export
from bandlog.io.logdata import LogData
from bandlog.io.schema import SCHEMA_KEY, meta_from_header, parse_header_line
from bandlog.io.textfile import TextFile, read_text


class ForeignFormat(Protocol):
    """What each foreign-export module provides (a module satisfies a Protocol: no class needed)."""

    @property
    def FORMAT(self) -> str: ...

    def looks_like(self, text: TextFile) -> bool: ...

    def read(self, text: TextFile) -> LogData: ...


FOREIGN: tuple[ForeignFormat, ...] = (tindeq_export, vernier_export, generic_csv)
"""Tried in this order, most specific first."""

EXPECTED = (
    "expected a bandlog log (first line '# bandlog_schema: N'), a Tindeq export (header 'time,weight'), "
    "a Vernier Graphical Analysis export (columns like 'Run 1: Time (s)'), or a CSV with a time column "
    "(t_s, time_s, time, timestamp) and unit-named channels such as force_n, acc_x_ms2, gyro_x_dps"
)


def is_bandlog(text: TextFile) -> bool:
    first = text.first_content_line()
    return first is not None and text.head[first].replace(" ", "").startswith(f"#{SCHEMA_KEY}:")


def detect_format(text: TextFile) -> str:
    """The name of the format `text` is in; LogFormatError saying what was expected otherwise."""
    if is_bandlog(text):
        return "bandlog"
    for module in FOREIGN:
        if module.looks_like(text):
            return module.FORMAT
    raise LogFormatError(f"{text.path} is not a log bandlog can read: {EXPECTED}")


def read_meta(path: str | os.PathLike[str]) -> RecordingMeta | None:
    """A bandlog log's metadata from its header alone (the samples are not read, so a folder of long
    recordings is checked fast); None for a foreign export, which has no such header. A file bandlog
    cannot read raises its one-sentence LogFormatError."""
    text = read_text(Path(path))
    if not is_bandlog(text):
        return None
    header = itertools.takewhile(lambda line: line.startswith("#") or not line.strip(), text.head)
    return meta_from_header([item for item in map(parse_header_line, header) if item is not None], str(path))


def read_log(path: str | os.PathLike[str]) -> LogData:
    """Read a log (bandlog's own or a foreign export) into samples in bandlog units plus metadata.

    Raises LogFormatError, with one sentence, for a missing, empty, unreadable or unrecognised file
    and for bad rows (naming their line numbers).
    """
    text = read_text(Path(path))
    fmt = detect_format(text)
    if fmt == "bandlog":
        return csv_log.read_bandlog(text)
    reader = {m.FORMAT: m for m in FOREIGN}[fmt]
    return reader.read(text)
