"""bandlog's own CSV log: the writer sink and the reader (format defined in bandlog.io.schema).

The writer is built to survive a crash: samples are appended as text lines and flushed + fsync'd at
least every `flush_interval_s`, so a process killed with SIGKILL loses at most that much, and the
reader drops a half-written last line instead of failing.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Sink, Tare, tared
from bandlog.core.results import RepMetrics, SetRating, SetSummary
from bandlog.core.samples import THIGH_CHANNELS, SampleBlock
from bandlog.core.status import LinkStatus, link_summary
from bandlog.core.version import __version__
from bandlog.io.logdata import LogData, build_samples
from bandlog.io.rows import UNTERMINATED, read_rows
from bandlog.io.schema import (
    HOST_TIME_COLUMN,
    LOG_COLUMNS,
    READABLE_SCHEMAS,
    SCHEMA_KEY,
    THIGH_LOG_COLUMNS,
    TIME_COLUMN,
    format_float,
    gap_line,
    header_lines,
    link_line,
    log_columns,
    meta_from_header,
    parse_gap_line,
    parse_header_line,
    parse_rating_line,
    rating_line,
)
from bandlog.io.textfile import HEAD_LINES, TextFile

log = logging.getLogger(__name__)

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the directory does not exist",
    errno.EEXIST: "the file already exists (bandlog never overwrites a log)",
}


def write_error_reason(error: OSError) -> str:
    """Why a write failed, in words that end a sentence ('the disk is full', ...)."""
    return _REASONS.get(error.errno or 0, error.strerror or str(error))


def open_new(path: Path) -> IO[str]:
    """Create the parent directory if needed and open a new file; never overwrite an existing log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "x", encoding="utf-8", newline="")


class CsvLogSink(Sink):
    """Writes one recording to a bandlog CSV log as it streams (see bandlog.io.schema for the layout).

    Whether the log has thigh IMU columns is decided once per recording: by the channels the stream
    declares (meta.stream.channels) when it declares any, else by the first block, the column header
    row waiting for it (a gap, rating or close before any block decides: none). A later block
    without thigh readings leaves those cells empty, never zeros. A block WITH thigh readings
    reaching a log without thigh columns is refused, before any of it is written, with a
    LogWriteError: the header cannot hold them, and writing the rest of the block would drop them
    without a word (a count would still leave a log lacking what the detector's sway correction
    needs); the log written so far stays whole and readable.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        flush_interval_s: float = 0.5,
        *,
        opener: Callable[[Path], IO[str]] = open_new,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.samples_written = 0
        self._opener = opener
        self._clock = clock
        self._file: IO[str] | None = None
        self._pending: list[str] = []
        self._pending_samples = 0
        self._last_flush_s = clock()
        self._closed = False
        self._failed: LogWriteError | None = None
        self._meta: RecordingMeta | None = None
        self._link: LinkStatus | None = None
        """The last link status, closing the log as a `# link:` line."""
        self._untared: list[SampleBlock | str] | None = None
        """Rows and gap lines written while a software tare is searched for, to re-tare when it comes."""
        self._thigh: bool | None = None
        """Whether the log has thigh columns; None until decided (the column header row not out yet)."""

    # --- Sink interface -------------------------------------------------------------------
    def on_start(self, meta: RecordingMeta) -> None:
        """Open the file and write the metadata header, and the column header row if the stream
        declares its channels (else the first block decides it)."""
        if self._file is not None:
            raise LogWriteError(f"{self.path} is already recording; one CsvLogSink writes one recording")
        if not meta.start_utc:
            meta = _with_start_now(meta)
        self._meta = meta
        try:
            self._file = self._opener(self.path)
        except OSError as error:
            self._fail(error)
        self._pending.extend(header_lines(meta, __version__))
        declared = meta.stream.channels if meta.stream is not None else ()
        if declared:
            self._columns(any(name in THIGH_CHANNELS for name in declared))
        self._flush()

    def on_samples(self, block: SampleBlock) -> None:
        self._check_writable()
        has_thigh = block.thigh_acc_ms2 is not None or block.thigh_gyro_dps is not None
        if has_thigh and self._thigh is False:
            raise LogWriteError(
                f"cannot write thigh IMU readings to the log {self.path}: it has no thigh columns (its stream did "
                "not declare them, or its first block had none); the block was not written"
            )
        self._pending.extend(format_rows(block, self._columns(has_thigh)))
        self._pending_samples += len(block)
        if self._untared is not None:
            self._untared.append(block)
        self._maybe_flush()

    def on_gap(self, gap: Gap) -> None:
        self._check_writable()
        self._columns(False)
        line = gap_line(gap.start_s, gap.end_s, gap.reason)
        self._pending.append(line)
        if self._untared is not None:
            self._untared.append(line)
        self._flush()

    def on_tare(self, tare: Tare) -> None:
        """Search started: keep the raw rows. Offset found: rewrite the log with them tared.

        The rewrite goes to a new file that then atomically replaces the log, so a crash at any
        moment leaves either the untared log (empty tare_offset_n: consistent) or the tared one.
        """
        if self._file is None or self._failed is not None:
            return
        if not tare.decided:
            self._untared = []
            return
        kept, self._untared = self._untared or [], None
        if tare.offset_n is None or self._meta is None:
            return
        self._meta = replace(self._meta, tare_offset_n=tare.offset_n)
        lines = header_lines(self._meta, __version__)
        if self._thigh is not None:  # else no row or line is kept (each decides it): the first block still decides
            lines.append(",".join(log_columns(self._thigh)))
        samples = 0
        for item in kept:
            if isinstance(item, str):
                lines.append(item)
            else:
                lines.extend(format_rows(tared(item, tare.offset_n), bool(self._thigh)))
                samples += len(item)
        partial = self.path.with_name(self.path.name + ".tare")
        try:
            new_file = self._opener(partial)
        except OSError as error:
            self._fail(error)
        self._pending, self._pending_samples, self.samples_written = lines, samples, 0
        self._write_pending(new_file)
        try:
            os.replace(partial, self.path)
        except OSError as error:
            new_file.close()
            self._fail(error)
        old, self._file = self._file, new_file
        old.close()
        self._last_flush_s = self._clock()

    def on_status(self, status: LinkStatus) -> None:
        self._link = status
        if self._file is not None and self._failed is None:
            self._maybe_flush()

    def on_rating(self, rating: SetRating) -> None:
        """A set rating becomes a `# rating:` line where it was given, written at once."""
        self._check_writable()
        self._columns(False)
        line = rating_line(rating)
        self._pending.append(line)
        if self._untared is not None:
            self._untared.append(line)
        self._flush()

    def on_end(self, summary: SetSummary, reps: Sequence[RepMetrics]) -> None:
        if self._file is not None and self._failed is None:
            self._flush()

    def close(self) -> None:
        """Flush what is left and close; safe to call any number of times."""
        if self._closed:
            return
        self._closed = True
        file, self._file = self._file, None
        if file is None:
            return
        try:
            if self._failed is None:
                self._columns(False)  # a log without samples still ends its header with the column row
                if self._link is not None:
                    status = self._link
                    self._pending.append(link_line(status.dropped_packets, status.losses, status.corrupted_packets,
                                                   status.skipped_samples, status.reconnects, link_summary(status)))
                self._write_pending(file)
        finally:
            try:
                file.close()
            except OSError as error:
                log.debug("closing %s after a failure: %s", self.path, error)

    # --- internals --------------------------------------------------------------------------
    def _columns(self, thigh: bool) -> bool:
        """Whether the log has thigh columns; if not yet decided, `thigh` decides it and the column
        header row goes out (every sample row and comment line follows it)."""
        if self._thigh is None:
            self._thigh = thigh
            self._pending.append(",".join(log_columns(thigh)))
        return self._thigh

    def _check_writable(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._file is None:
            raise LogWriteError(f"{self.path}: samples arrived before on_start (or after close)")

    def _maybe_flush(self) -> None:
        if self._clock() - self._last_flush_s >= self.flush_interval_s:
            self._flush()

    def _flush(self) -> None:
        assert self._file is not None
        self._write_pending(self._file)
        self._last_flush_s = self._clock()

    def _write_pending(self, file: IO[str]) -> None:
        if not self._pending:
            return
        try:
            file.write("\n".join(self._pending) + "\n")
            file.flush()
            if hasattr(file, "fileno"):
                try:
                    fd = file.fileno()
                except (OSError, ValueError):
                    fd = None
                if fd is not None:
                    os.fsync(fd)
        except OSError as error:
            self._fail(error)
        self.samples_written += self._pending_samples
        self._pending.clear()
        self._pending_samples = 0

    def _fail(self, error: OSError) -> None:
        reason = write_error_reason(error)
        kept_n = _rows_on_disk(self.path) if self._file is not None else None
        kept_n = self.samples_written if kept_n is None else kept_n
        kept = f"; the {kept_n} samples written before are kept" if kept_n else ""
        self._failed = LogWriteError(f"cannot write the log {self.path}: {reason}{kept}")
        raise self._failed from error


def append_rating(path: str | os.PathLike[str], rating: SetRating) -> None:
    """Add a set rating given after the recording ended (the CLI asks for the last set's) to its log,
    as the `# rating:` line a live one would have written; the samples are not touched."""
    path = Path(path)
    try:
        with open(path, "a", encoding="utf-8", newline="") as file:
            file.write(rating_line(rating) + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise LogWriteError(f"cannot add the set rating to {path}: {write_error_reason(error)}") from error


def write_recording(
    path: str | os.PathLike[str], meta: RecordingMeta, block: SampleBlock, ratings: Sequence[SetRating] = ()
) -> None:
    """A whole recording written at once (simulated history, benchmarks) by the writer a live one
    uses; `ratings` (set ratings) follow the samples."""
    sink = CsvLogSink(path)
    try:
        sink.on_start(meta)
        sink.on_samples(block)
        for rating in ratings:
            sink.on_rating(rating)
    finally:
        sink.close()


def _rows_on_disk(path: Path) -> int | None:
    """Complete sample rows in the file as it is on disk (a failed write may have left part of a
    batch there), so the sentence after a write error gives the exact count; None if unreadable."""
    rows, header_seen = 0, False
    try:
        with open(path, "rb") as file:
            for line in file:
                if not line.endswith(b"\n") or line.startswith(b"#") or not line.strip():
                    continue
                if header_seen:
                    rows += 1
                header_seen = True
    except OSError:
        return None
    return rows


def _with_start_now(meta: RecordingMeta) -> RecordingMeta:
    return replace(meta, start_utc=datetime.now(UTC).isoformat(timespec="milliseconds"))


def format_rows(block: SampleBlock, thigh: bool) -> list[str]:
    """One CSV line per sample, columns in log_columns(thigh) order, full precision, empty where absent."""
    n = len(block)
    table = np.full((n, len(log_columns(thigh))), np.nan)
    table[:, 0] = block.t_s
    if block.t_host_s is not None:
        table[:, 1] = block.t_host_s
    if block.force_n is not None:
        table[:, 2] = block.force_n
    if block.acc_ms2 is not None:
        table[:, 3:6] = block.acc_ms2
    if block.gyro_dps is not None:
        table[:, 6:9] = block.gyro_dps
    if thigh and block.thigh_acc_ms2 is not None:
        table[:, 9:12] = block.thigh_acc_ms2
    if thigh and block.thigh_gyro_dps is not None:
        table[:, 12:15] = block.thigh_gyro_dps
    return [",".join(format_float(v) for v in row) for row in table.tolist()]


def read_bandlog(text: TextFile) -> LogData:
    """Read a bandlog log of any schema version this bandlog has written."""
    where = str(text.path)
    repairs: dict[str, int] = {}
    head = text.head
    if text.head_is_whole and not text.ends_with_newline and head and not _is_data(head, len(head) - 1):
        log.warning("%s: dropped the unterminated last line %d (the recording was cut off)", where, len(head))
        repairs[UNTERMINATED] = 1
        head = head[:-1]
    items: list[tuple[str, str]] = []
    header_index = None
    for index, line in enumerate(head):
        if line.startswith("#"):
            item = parse_header_line(line)
            if item is not None:
                items.append(item)
        elif line.strip():
            header_index = index
            break
    version = _schema_version(items, where)
    meta = meta_from_header(items, where)
    if header_index is None:
        if not text.head_is_whole:
            raise LogFormatError(f"{where}: no column header row in the first {HEAD_LINES} lines")
        log.info("%s has a header but no samples", where)
        empty = build_samples(np.empty(0), {}, where, np.empty(0, np.int64), np.empty(0), repairs=repairs)
        return LogData(text.path, "bandlog", meta, empty, [], repairs)
    columns = [c.strip() for c in head[header_index].split(",")]
    if version == 1 and columns not in (list(LOG_COLUMNS), list(THIGH_LOG_COLUMNS)):
        raise LogFormatError(
            f"{where}: line {header_index + 1} should be the column header {','.join(LOG_COLUMNS)} "
            f"(followed by {','.join(THIGH_CHANNELS)} in a log with a thigh IMU)"
        )
    comments: list[str] = []
    values, line_numbers = read_rows(
        text, header_index + 1, columns, where, last_line="drop",
        keep_comment=lambda line: line.startswith(("# gap", "# rating")), comments=comments, repairs=repairs,
    )
    gaps = [Gap(*gap) for gap in map(parse_gap_line, comments) if gap is not None]
    ratings = _ratings(comments, where, repairs)
    by_name = {name: values[:, i] for i, name in enumerate(columns)}
    del values
    t_s, t_host_s = by_name.pop(TIME_COLUMN), by_name.pop(HOST_TIME_COLUMN)
    samples = build_samples(t_s, by_name, where, line_numbers, t_host_s, repairs=repairs)  # by_name: the channels
    return LogData(text.path, "bandlog", meta, samples, gaps, repairs, ratings)


def _ratings(comments: list[str], where: str, repairs: dict[str, int]) -> list[SetRating]:
    """The log's set ratings; a damaged line is skipped, counted in the repairs and logged (the samples
    around it stay readable)."""
    ratings = []
    for line in comments:
        try:
            rating = parse_rating_line(line, where)
        except LogFormatError as error:
            log.warning("%s", error)
            repairs[DAMAGED_RATINGS] = repairs.get(DAMAGED_RATINGS, 0) + 1
            continue
        if rating is not None:
            ratings.append(rating)
    return ratings


DAMAGED_RATINGS = "damaged set rating lines skipped"


def _is_data(lines: list[str], index: int) -> bool:
    """True when lines[index] is a sample row (not a comment, not blank) below the column header."""
    line = lines[index]
    if line.startswith("#") or not line.strip():
        return False
    return any(not other.startswith("#") and other.strip() for other in lines[:index])


def _schema_version(items: list[tuple[str, str]], where: str) -> int:
    raw = dict(items).get(SCHEMA_KEY, "").strip()
    try:
        version = int(raw)
    except ValueError:
        raise LogFormatError(f"{where}: the '{SCHEMA_KEY}' header should be a whole number, not {raw!r}") from None
    if version not in READABLE_SCHEMAS:
        newest = max(READABLE_SCHEMAS)
        raise LogFormatError(
            f"{where} uses log schema {version}, but this bandlog reads schemas up to {newest}; upgrade bandlog"
        )
    return version
