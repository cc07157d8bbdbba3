"""A log's data rows turned into floats, chunk by chunk (the chunks come from io/textfile.py).

A chunk's bytes go to pandas' C parser as they were read, checked by a few vectorised passes over
the bytes (commas, the rare comment or blank line), and parsed PARSE_ROWS rows at a time straight
into the columns. Only when pandas refuses a chunk is it read line by line in Python, to name the bad
line and cell: a non-numeric cell is reported with its line number (never turned into NaN); `nan`,
`inf`, `-inf` and empty cells are read as NaN/inf and left to `build_samples` to count as missing; a
truncated last line (a recording killed mid-write) is dropped and counted instead of failing.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from bandlog.core.errors import LogFormatError
from bandlog.io.textfile import COMMA_BYTE, HASH_BYTE, NEWLINE_BYTE, Chunk, TextFile, decode_text

log = logging.getLogger(__name__)

MAX_REPORTED_ROWS = 5
PARSE_ROWS = 16384
"""Rows pandas parses at a time, straight into the columns: its buffers for a piece (the tokens, several
times the text, and the column arrays) stay small and are reused. Sized for a whole chunk instead, they
were mapped afresh from the OS and page-faulted for every chunk: 60,000 faults for the 1 h log, half
as much again as the parsing itself (bench/log_io.py prints the faults of both readers)."""
NA_VALUES = ["", "nan", "NaN", "NAN", "-nan", "+nan", "-NaN"]
UNTERMINATED = "unterminated last line dropped"


def split_cells(line: str) -> list[str]:
    """One CSV line's cells, honouring quotes only when there are any (the common case is fast)."""
    if '"' in line:
        try:
            return next(csv.reader([line]), [""])
        except csv.Error:  # an unbalanced quote: read the cells as plain text, the parse names them
            return line.split(",")
    return line.split(",")


def read_rows(
    text: TextFile,
    start: int,
    columns: Sequence[str],
    where: str,
    *,
    use: Sequence[int] | None = None,
    last_line: str = "if_broken",
    keep_comment: Callable[[str], bool] | None = None,
    comments: list[str] | None = None,
    repairs: dict[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse the data lines from index `start` on into an (n, len(use)) float array, chunk by chunk.

    Lines starting with '#' are comments (those `keep_comment` accepts go to `comments`); blank
    lines are skipped. `last_line` says what to do with an unterminated last line: 'drop' it
    (bandlog's own writer always ends a line, so one without an end was cut off), drop it only
    'if_broken', or 'keep' it. A dropped last line is counted in `repairs`. Returns (values,
    1-based line numbers of the rows kept); each column of the values is contiguous in memory.
    """
    use = list(range(len(columns))) if use is None else list(use)
    every = _all_used(columns, use)
    table = _Table(len(use), _file_size(text.path))
    numbers: list[np.ndarray] = []
    for chunk in text.chunks(start):
        if not chunk.count:
            continue
        kept_before = len(comments) if comments is not None else 0
        # The usual chunk: no comment, and as many commas as rows of len(columns) cells need. Then every
        # line is such a row, or one pandas refuses: a line short of commas (a blank one too) leaves
        # another with too many, and pandas refuses a row with too many cells when it reads them all.
        plain = every and not chunk.contains(b"#") and chunk.commas == (len(columns) - 1) * chunk.count
        pieces = None
        if plain:
            rows, comment = np.ones(chunk.count, dtype=bool), np.zeros(chunk.count, dtype=bool)
        elif every and (chunk.terminated or not chunk.final) and (found := _comment_lines(chunk, len(columns))) is not None:
            # The same with a few comment (gap) lines, found from their '#' bytes, not from every line's bounds
            indices, spans = found
            rows = np.ones(chunk.count, dtype=bool)
            rows[indices] = False
            comment, plain = ~rows, True
            if keep_comment is not None and comments is not None:
                comments.extend(line for line in (decode_text(chunk.data[a : b - 1]) for a, b in spans) if keep_comment(line))
            pieces = _between(chunk, spans)
        else:
            rows, comment = _data_lines(chunk, keep_comment, comments)
        last = chunk.count - 1
        if chunk.final and not chunk.terminated:
            if rows[last]:
                if last_line == "drop" or (last_line == "if_broken" and _is_broken(chunk.line(last), columns, use)):
                    rows[last] = False
                    _dropped_last(where, chunk.first_number + last, repairs)
            elif (
                last_line == "drop" and comment[last] and comments is not None and len(comments) > kept_before
                and comments[-1] == chunk.line(last)  # a comment line cut off (a gap line without its end): not kept
            ):
                comments.pop()
                _dropped_last(where, chunk.first_number + last, repairs)
        if rows.any():
            _parse(chunk, rows, comment, columns, where, use, plain, table, pieces)
            numbers.append(chunk.first_number + np.flatnonzero(rows))
    return table.values(), np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)


class _Table:
    """Float columns filled chunk by chunk into one array sized from the file, so each chunk's parsed
    arrays are freed at once (their memory reused for the next) rather than kept for a final join."""

    def __init__(self, ncols: int, file_bytes: int | None) -> None:
        self.file_bytes = file_bytes
        self.data = np.empty((ncols, 0))
        self.rows = 0
        self.bytes = 0

    def reserve(self, rows: int, chunk_bytes: int) -> None:
        """Room for a chunk of `rows` rows and `chunk_bytes` bytes, before its pieces are appended."""
        self.bytes += chunk_bytes
        if self.rows + rows > self.data.shape[1]:
            self._grow(self.rows + rows)

    def append(self, columns: list[np.ndarray]) -> None:
        n = len(columns[0]) if columns else 0
        if self.rows + n > self.data.shape[1]:
            self._grow(self.rows + n)
        for row, column in zip(self.data, columns):
            row[self.rows : self.rows + n] = column
        self.rows += n

    def _grow(self, need: int) -> None:
        """Room for the rows the rest of the file will hold at the rate seen so far (2 % more), or twice."""
        guess = 2 * need
        if self.file_bytes and self.bytes:
            guess = max(need, int(need * max(1.0, self.file_bytes / self.bytes) * 1.02) + 1)
        data = np.empty((len(self.data), guess))
        data[:, : self.rows] = self.data[:, : self.rows]
        self.data = data

    def values(self) -> np.ndarray:
        """(rows, columns), each column contiguous."""
        return self.data[:, : self.rows].T


def _file_size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _dropped_last(where: str, number: int, repairs: dict[str, int] | None) -> None:
    log.warning("%s: dropped the incomplete last line %d (the recording was cut off)", where, number)
    if repairs is not None:
        repairs[UNTERMINATED] = 1  # a file has one last line, whoever noticed it first


def _comment_lines(chunk: Chunk, ncols: int) -> tuple[list[int], list[tuple[int, int]]] | None:
    """(indices, byte spans with their '\\n') of a terminated chunk's lines that start with '#', when its
    other lines hold the commas of rows of `ncols` cells (else None, as when '#' is too common to visit).

    Found from the '#' bytes, counting line ends only up to the last comment: for the usual few gap
    lines far cheaper than every line's bounds (`Chunk.ends`). Blank lines need no looking for: like
    a short row, one leaves the commas short unless another row has too many, which pandas refuses.
    """
    buffer, begin, end = chunk.buffer, chunk.begin, chunk.end
    data = np.frombuffer(buffer, dtype=np.uint8, count=end)
    indices: list[int] = []
    spans: list[tuple[int, int]] = []
    line, counted, commas = 0, begin, 0
    visits = 1 + chunk.count // 8
    at = buffer.find(b"#", begin, end)
    while at >= 0:
        visits -= 1
        if not visits:
            return None
        if at > begin and buffer[at - 1] != NEWLINE_BYTE:  # a '#' inside a row: pandas will judge the cell
            at = buffer.find(b"#", at + 1, end)
            continue
        line += int(np.count_nonzero(data[counted:at] == NEWLINE_BYTE))
        stop = buffer.find(b"\n", at, end) + 1  # the chunk is terminated: every line has its '\n'
        indices.append(line)
        spans.append((at - begin, stop - begin))
        commas += buffer.count(b",", at, stop)
        line, counted = line + 1, stop
        at = buffer.find(b"#", stop, end)
    if chunk.commas - commas != (ncols - 1) * (chunk.count - len(indices)):
        return None
    return indices, spans


def _between(chunk: Chunk, spans: list[tuple[int, int]]) -> list[memoryview]:
    """The chunk's bytes around the given (start, stop) spans, as views."""
    view = chunk.data
    edges = [0, *(edge for span in spans for edge in span), chunk.size]
    return [view[a:b] for a, b in zip(edges[::2], edges[1::2]) if b > a]


def _data_lines(
    chunk: Chunk, keep_comment: Callable[[str], bool] | None, comments: list[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(which lines are data rows, which are comments), from each line's first byte; the comments
    `keep_comment` accepts are added to `comments`. Only lines that may be blank are looked at as text."""
    starts, _ = chunk.bounds()
    first = np.frombuffer(chunk.data, dtype=np.uint8)[starts]  # an empty line's first byte is its '\n'
    comment = first == HASH_BYTE
    rows = ~comment
    maybe_blank = np.flatnonzero((first <= 32) | (first >= 0x80))  # whitespace or control, or not ASCII
    for index in maybe_blank.tolist():
        if first[index] == NEWLINE_BYTE or not chunk.line(index).strip():
            rows[index] = False
    if keep_comment is not None and comments is not None:
        for index in np.flatnonzero(comment).tolist():
            line = chunk.line(index)
            if keep_comment(line):
                comments.append(line)
    return rows, comment


def _parse(
    chunk: Chunk, rows: np.ndarray, comment: np.ndarray, columns: Sequence[str], where: str, use: list[int], checked: bool,
    table: _Table, pieces: list[memoryview] | None = None,
) -> None:
    """Append the `use` columns of the chunk's data rows to `table`, by pandas' C parser over the bytes.

    What pandas does not check is checked first on the bytes (unless `checked`): every row has
    len(columns) cells (when all columns are used, the commas add up and pandas refuses a row with too
    many; otherwise they are counted per row). Quotes are not honoured by pandas here, so a quoted number
    fails like any bad cell. Anything pandas refuses is read line by line instead, which names the bad
    line (and reads quoted cells); what pandas had appended of the chunk is taken back first. `pieces`
    are the bytes of the data rows when the caller has them (else they are found from `rows`).
    """
    import pandas as pd

    ncols, nrows = len(columns), int(np.count_nonzero(rows))
    every = _all_used(columns, use)
    table.reserve(nrows, chunk.size)
    shortcut = checked
    if not checked:
        if every:
            commas = chunk.commas - sum(line.count(",") for line in _lines(chunk, np.flatnonzero(comment)))
            checked = commas == (ncols - 1) * nrows
        else:
            checked = bool((_cell_counts(chunk)[rows] == ncols).all())
    if not checked:
        table.append(_parse_lines(chunk, rows, columns, where, use))
        return
    start = table.rows
    try:
        with pd.read_csv(
            _Segments(_row_pieces(chunk, rows) if pieces is None else pieces), header=None, low_memory=False,
            names=list(range(ncols)), usecols=None if every else use, dtype="float64", keep_default_na=False,
            # every spelling of NaN holds an 'n' or 'N'; without one the empty cell is the only NA (pandas checks one faster)
            na_values=NA_VALUES if chunk.contains(b"n") or chunk.contains(b"N") else [""],
            skip_blank_lines=False, engine="c", quoting=csv.QUOTE_NONE, chunksize=PARSE_ROWS,
        ) as reader:
            for frame in reader:
                table.append([frame[j].to_numpy(dtype=np.float64) for j in use])
        if table.rows - start == nrows:
            return
    except (ValueError, pd.errors.ParserError):
        pass
    # pandas refused a row, or saw other row breaks than we did (trust the line split): line by line.
    # The caller's shortcut counted commas only, so a blank line may be among the rows: it is none.
    table.rows = start
    if shortcut:
        rows &= _data_lines(chunk, None, None)[0]
    table.append(_parse_lines(chunk, rows, columns, where, use))


def _all_used(columns: Sequence[str], use: Sequence[int]) -> bool:
    return sorted(use) == list(range(len(columns)))


def _lines(chunk: Chunk, indices: np.ndarray) -> list[str]:
    return [chunk.line(index) for index in indices.tolist()]


def _row_pieces(chunk: Chunk, rows: np.ndarray) -> list[memoryview]:
    """The runs of consecutive data lines of the chunk, as views of its buffer."""
    if rows.all():
        return [chunk.data]
    starts, stops = chunk.bounds()
    edges = np.flatnonzero(np.diff(rows.astype(np.int8), prepend=0, append=0))
    first, after = edges[::2], edges[1::2]
    ends = np.minimum(stops[after - 1] + 1, chunk.size)  # with the last line's '\n' where it has one
    view = chunk.data
    return [view[a:b] for a, b in zip(starts[first].tolist(), ends.tolist())]


class _Segments:
    """Pieces of a chunk (its data rows) as one binary file for pandas, read straight from the chunk's
    buffer (comment and blank lines are skipped, nothing is copied whole)."""

    def __init__(self, pieces: list[memoryview]) -> None:
        self._at = 0
        self._pieces = pieces[::-1]

    def read(self, size: int = -1) -> bytes:
        while self._pieces:
            piece = self._pieces[-1]
            if self._at < len(piece):
                stop = len(piece) if size is None or size < 0 else min(len(piece), self._at + size)
                out = bytes(piece[self._at : stop])
                self._at = stop
                return out
            self._pieces.pop()
            self._at = 0
        return b""

    def __iter__(self) -> Iterator[bytes]:  # pandas takes an object with read() and __iter__ for a file
        return iter(lambda: self.read(1 << 16), b"")


def _cell_counts(chunk: Chunk) -> np.ndarray:
    """Cells per line, counted on the bytes in one pass."""
    _, stops = chunk.bounds()
    commas = np.flatnonzero(np.frombuffer(chunk.data, dtype=np.uint8) == COMMA_BYTE)
    return np.diff(np.searchsorted(commas, stops), prepend=0) + 1


def _parse_lines(chunk: Chunk, rows: np.ndarray, columns: Sequence[str], where: str, use: Sequence[int]) -> list[np.ndarray]:
    """The slow path, line by line: LogFormatError naming rows with the wrong number of cells, then
    bad cells; the values if every cell turns out to be a number after all."""
    numbers = chunk.first_number + np.flatnonzero(rows)
    lines = _lines(chunk, np.flatnonzero(rows))
    ncols = len(columns)
    widths = np.array([len(split_cells(line)) for line in lines])
    wrong = np.flatnonzero(widths != ncols)
    if len(wrong):
        shown = ", ".join(f"line {numbers[i]} has {widths[i]}" for i in wrong[:MAX_REPORTED_ROWS])
        more = f" (and {len(wrong) - MAX_REPORTED_ROWS} more)" if len(wrong) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: rows with the wrong number of cells: {shown}{more}; expected {ncols} ({','.join(columns)})")
    return list(_parse_slowly(lines, numbers, columns, use, where).T)


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
                shown = cell if len(cell) <= 40 else cell[:37] + "..."
                bad.append(f"line {number} ({name}={shown!r})")
    if bad:
        more = f" and {len(bad) - MAX_REPORTED_ROWS} more" if len(bad) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: non-numeric cells at {', '.join(bad[:MAX_REPORTED_ROWS])}{more}; expected numbers or empty cells")
    return values
