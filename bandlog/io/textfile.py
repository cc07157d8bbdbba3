"""Reading a log file as numbered text lines, and turning its data rows into floats.

Every reader goes through here, so every format gets the same guarantees: a missing or unreadable
file is one sentence, a non-numeric cell is reported with its line number (never turned into NaN),
and a truncated last line (a recording killed mid-write) is dropped with a warning instead of failing.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from bandlog.errors import LogFormatError

log = logging.getLogger(__name__)

MAX_REPORTED_ROWS = 5


@dataclass(frozen=True)
class TextFile:
    """A file's lines (line endings removed) and whether its last line was terminated."""

    path: Path
    lines: list[str]
    ends_with_newline: bool

    def first_content_line(self) -> int | None:
        """Index of the first non-blank line, None for a blank file."""
        return next((i for i, line in enumerate(self.lines) if line.strip()), None)


def read_text(path: Path) -> TextFile:
    """Read a whole file as text (UTF-8, else Windows-1252 as older Vernier exports use)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LogFormatError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise LogFormatError(f"{path} is a directory, not a log file") from None
    except PermissionError:
        raise LogFormatError(f"cannot read {path}: permission denied") from None
    except OSError as error:
        raise LogFormatError(f"cannot read {path}: {error.strerror or error}") from None
    if not data.strip():
        raise LogFormatError(f"{path} is empty: a log needs a header row and samples")
    if b"\x00" in data:
        raise LogFormatError(f"{path} is not a text CSV file (it contains binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    return TextFile(path, [line.rstrip("\r") for line in lines], ends_with_newline)


def split_cells(line: str) -> list[str]:
    """One CSV line's cells, honouring quotes only when there are any (the common case is fast)."""
    if '"' in line:
        return next(csv.reader([line]))
    return line.split(",")


def data_lines(lines: Sequence[str], start: int) -> tuple[list[str], list[int]]:
    """The lines from index `start` on that are not '#' comments, with their 1-based line numbers."""
    numbers = [i + 1 for i in range(start, len(lines)) if not lines[i].startswith("#")]
    return [lines[n - 1] for n in numbers], numbers


def parse_numeric(
    lines: Sequence[str],
    numbers: Sequence[int],
    columns: Sequence[str],
    where: str,
    tolerate_last: bool = False,
    use: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse data lines into an (n, len(use)) float array; empty cells become NaN, blank lines are skipped.

    `numbers` are the lines' 1-based line numbers in the file; `use` picks the column indices to
    parse (default all), other cells are not looked at. A used cell that is neither empty nor a
    number, or a row with the wrong number of cells, raises LogFormatError naming the lines. With
    `tolerate_last` the last row may be broken (a file cut off mid-write): it is dropped with a
    warning instead. Returns (values, line_numbers) for the rows kept.
    """
    ncols = len(columns)
    use = list(range(ncols)) if use is None else list(use)
    keep = [i for i, line in enumerate(lines) if line.strip()]
    if len(keep) != len(lines):
        lines, numbers = [lines[i] for i in keep], [numbers[i] for i in keep]
    if lines and tolerate_last and _is_broken(lines[-1], columns, use):
        log.warning("%s: dropped the incomplete last line %d", where, numbers[-1])
        lines, numbers = lines[:-1], numbers[:-1]
    line_numbers = np.asarray(numbers, dtype=np.int64)
    if not lines:
        return np.empty((0, len(use))), line_numbers
    text = "\n".join(lines)
    widths = _cell_counts(text, lines)
    wrong = np.flatnonzero(widths != ncols)
    if len(wrong):
        shown = ", ".join(f"line {line_numbers[i]} has {widths[i]}" for i in wrong[:MAX_REPORTED_ROWS])
        more = f" (and {len(wrong) - MAX_REPORTED_ROWS} more)" if len(wrong) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: rows with the wrong number of cells: {shown}{more}; expected {ncols} ({','.join(columns)})")
    import pandas as pd

    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, names=list(range(ncols)), usecols=use, dtype="float64",
            keep_default_na=False, na_values=[""], skip_blank_lines=False,
        )
        values = frame[use].to_numpy(dtype=np.float64)
    except ValueError:
        values = _parse_slowly(lines, line_numbers, columns, use, where)
    return values, line_numbers


def _cell_counts(text: str, lines: Sequence[str]) -> np.ndarray:
    """Cells per line; counted on the bytes in one pass unless quotes make it a job for csv."""
    if '"' in text:
        return np.array([len(split_cells(line)) for line in lines])
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    commas = np.flatnonzero(data == ord(","))
    ends = np.append(np.flatnonzero(data == ord("\n")), len(data))
    return np.diff(np.searchsorted(commas, ends), prepend=0) + 1


def _is_broken(text: str, columns: Sequence[str], use: Sequence[int]) -> bool:
    """True when a row has the wrong number of cells or a used cell that is not a number."""
    cells = split_cells(text)
    if len(cells) != len(columns):
        return True
    for j in use:
        if cells[j].strip():
            try:
                float(cells[j])
            except ValueError:
                return True
    return False


def _parse_slowly(
    lines: Sequence[str], numbers: np.ndarray, columns: Sequence[str], use: Sequence[int], where: str
) -> np.ndarray:
    """Cell by cell, so the bad cells can be named by line; pandas' fast path does not say where."""
    values = np.empty((len(lines), len(use)))
    bad: list[str] = []
    for i, (number, text) in enumerate(zip(numbers.tolist(), lines)):
        cells = split_cells(text)
        for j, column in enumerate(use):
            name, cell = columns[column], cells[column].strip()
            if not cell:
                values[i, j] = np.nan
                continue
            try:
                values[i, j] = float(cell)
            except ValueError:
                bad.append(f"line {number} ({name}={cell!r})")
    if bad:
        more = f" and {len(bad) - MAX_REPORTED_ROWS} more" if len(bad) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: non-numeric cells at {', '.join(bad[:MAX_REPORTED_ROWS])}{more}; expected numbers or empty cells")
    return values
