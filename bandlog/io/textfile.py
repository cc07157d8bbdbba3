"""Reading a log file as numbered text lines, in bounded chunks, and turning its data rows into floats.

Every reader goes through here, so every format gets the same guarantees:

- a missing, unreadable, binary or empty file is one sentence (LogFormatError);
- memory stays bounded by the samples, not by the text: the file is streamed in chunks of about
  CHUNK_BYTES and a line longer than MAX_LINE_CHARS is refused (so `/dev/zero` or a 1 GB line is a
  sentence, not a MemoryError);
- UTF-8 (with or without BOM), UTF-16 and UTF-32 with a BOM, and Windows-1252 are read; line endings
  may be LF, CRLF or a lone CR (old Mac exports, stray CRs), as Python's universal newlines read them;
- a non-numeric cell is reported with its line number (never turned into NaN); `nan`, `inf`,
  `-inf` and empty cells are read as NaN/inf and left to `build_samples` to count as missing;
- a truncated last line (a recording killed mid-write) is dropped with a warning instead of failing.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from bandlog.errors import LogFormatError

log = logging.getLogger(__name__)

MAX_REPORTED_ROWS = 5
MAX_LINE_CHARS = 64 * 1024
"""No CSV row bandlog reads is anywhere near this long; a longer line is corruption, not data."""
CHUNK_BYTES = 1 << 20
MIN_READ_BYTES = 4096
PEEK_BYTES = 64 * 1024
"""Bytes looked at to tell UTF-8 from Windows-1252 when there is no BOM."""
HEAD_LINES = 256
"""Lines read up front to recognise the format and read header blocks (bandlog's is ~20 lines)."""
NA_VALUES = ["", "nan", "NaN", "NAN", "-nan", "+nan", "-NaN"]
UNTERMINATED = "unterminated last line dropped"

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class Chunk:
    """Consecutive lines of a file, joined by '\\n' (no line end after the last), and the 1-based
    number of the first. Kept as one string: a list of lines costs several times the text."""

    text: str
    count: int
    """How many lines `text` holds."""
    first_number: int
    final: bool
    """True for the file's last chunk."""
    terminated: bool
    """For the final chunk: whether the file's last line ended with a newline."""

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n") if self.count else []

    def without_first(self, skip: int) -> "Chunk":
        """The same chunk less its first `skip` lines."""
        if skip >= self.count:
            return Chunk("", 0, self.first_number + self.count, self.final, self.terminated)
        rest = self.text.split("\n", skip)[-1] if skip else self.text
        return Chunk(rest, self.count - skip, self.first_number + skip, self.final, self.terminated)


@dataclass(frozen=True)
class TextFile:
    """An opened log: its first lines (to recognise the format and read headers) and its encoding.

    The rest is read on demand with `chunks`, so a large log is never held as text all at once.
    """

    path: Path
    head: list[str]
    """The first HEAD_LINES lines (all of them for a short file)."""
    head_is_whole: bool
    """True when `head` is the whole file."""
    ends_with_newline: bool
    """Only meaningful when head_is_whole; streaming readers learn it from the final Chunk."""
    encoding: str
    offset: int
    """Bytes of BOM to skip."""

    def first_content_line(self) -> int | None:
        """Index of the first non-blank line of the head, None if there is none."""
        return next((i for i, line in enumerate(self.head) if line.strip()), None)

    def chunks(self, start: int = 0) -> Iterator[Chunk]:
        """The file's lines from 0-based index `start` on, in chunks of about CHUNK_BYTES."""
        return _stream(self.path, self.encoding, self.offset, skip=start)


def _open(path: Path) -> io.BufferedReader:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise LogFormatError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise LogFormatError(f"{path} is a directory, not a log file") from None
    except PermissionError:
        raise LogFormatError(f"cannot read {path}: permission denied") from None
    except OSError as error:
        raise LogFormatError(f"cannot read {path}: {error.strerror or error}") from None


def _read(file: io.BufferedReader, path: Path, size: int) -> bytes:
    try:
        return file.read(size)
    except IsADirectoryError:
        raise LogFormatError(f"{path} is a directory, not a log file") from None
    except OSError as error:
        raise LogFormatError(f"cannot read {path}: {error.strerror or error}") from None


def _encoding(first: bytes) -> tuple[str, int]:
    """(codec, BOM length): a BOM decides; otherwise UTF-8 if the start decodes as UTF-8, else Windows-1252."""
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name, len(bom)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first, final=False)
    except UnicodeDecodeError:
        return "cp1252", 0
    return "utf-8", 0


def _stream(path: Path, encoding: str, offset: int, chunk_bytes: int = CHUNK_BYTES, skip: int = 0) -> Iterator[Chunk]:
    """Decode and split the file chunk by chunk, leaving out the first `skip` lines; LogFormatError for
    binary data or an endless line. Each chunk's text is the only copy kept alive while it is used."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    number = 1
    carry = ""
    with _open(path) as file:
        left = _regular_size(file)
        _read(file, path, offset)
        while True:
            # read() allocates the size asked for: ask for no more than the file holds (a small log stays small)
            data = _read(file, path, chunk_bytes if left is None else max(MIN_READ_BYTES, min(chunk_bytes, left)))
            if left is not None:
                left -= len(data)
            final = not data
            text = decoder.decode(data, final=final)
            del data
            text = carry + text if carry else text
            if "\x00" in text:
                raise LogFormatError(f"{path} is not a text CSV file (it contains binary data)")
            if not final and text.endswith("\r"):  # keep a CR whose LF may open the next chunk
                text, carry = text[:-1], "\r"
            else:
                carry = ""
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if final:
                terminated = text.endswith("\n") or not text
                count = text.count("\n") if terminated else text.count("\n") + 1
                text = text[:-1] if text.endswith("\n") else text
                _check_lengths(text, number, path)
                chunk = _skipped(Chunk(text, count, number, True, terminated), skip)
                del text
                yield chunk
                return
            cut = text.rfind("\n")
            if cut < 0:
                carry, text = text + carry, ""
            else:
                carry = text[cut + 1 :] + carry
                text = text[:cut]
            if len(carry) > MAX_LINE_CHARS:
                raise _too_long(path, number + (text.count("\n") + 1 if cut >= 0 else 0))
            if cut >= 0:
                _check_lengths(text, number, path)
                count = text.count("\n") + 1
                chunk, text = Chunk(text, count, number, False, True), ""
                number += count
                taken = min(skip, count)
                skip -= taken
                if taken < count:
                    chunk = _skipped(chunk, taken)
                    yield chunk
                del chunk


def _skipped(chunk: Chunk, skip: int) -> Chunk:
    return chunk.without_first(skip) if skip else chunk


def _regular_size(file: io.BufferedReader) -> int | None:
    """Bytes in a regular file (None for a pipe or device, which are read in full chunks)."""
    try:
        status = os.fstat(file.fileno())
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _check_lengths(text: str, first_number: int, path: Path) -> None:
    if len(text) > MAX_LINE_CHARS:
        lengths = list(map(len, text.split("\n")))
        if max(lengths) > MAX_LINE_CHARS:
            raise _too_long(path, first_number + next(i for i, n in enumerate(lengths) if n > MAX_LINE_CHARS))


def _too_long(path: Path, number: int) -> LogFormatError:
    return LogFormatError(
        f"{path}: line {number} is longer than {MAX_LINE_CHARS // 1024} KB, so it is not a row of a log "
        "(the file is corrupt or not a CSV log)"
    )


def read_text(path: Path) -> TextFile:
    """Open a log and read its first lines; one sentence for a missing, empty, binary or directory path."""
    encoding, offset = _encoding(_peek(path))
    head: list[str] = []
    whole, terminated = False, True
    for chunk in _stream(path, encoding, offset, PEEK_BYTES):
        room = HEAD_LINES - len(head)
        head.extend(chunk.lines if chunk.count <= room else chunk.text.split("\n", room)[:room])
        if chunk.final and chunk.count <= room:
            whole, terminated = True, chunk.terminated
        if len(head) >= HEAD_LINES or chunk.final:
            break
    if whole and not any(line.strip() for line in head):
        raise LogFormatError(f"{path} is empty: a log needs a header row and samples")
    return TextFile(path, head, whole, terminated, encoding, offset)


def _peek(path: Path) -> bytes:
    """The file's first bytes, enough to recognise its encoding."""
    with _open(path) as file:
        left = _regular_size(file)
        return _read(file, path, PEEK_BYTES if left is None else max(MIN_READ_BYTES, min(PEEK_BYTES, left)))


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
    1-based line numbers of the rows kept).
    """
    use = list(range(len(columns))) if use is None else list(use)
    values: list[np.ndarray] = []
    numbers: list[np.ndarray] = []
    for chunk in text.chunks(start):
        if not chunk.count:
            continue
        kept_before = len(comments) if comments is not None else 0
        rows, line_numbers = _data_rows(chunk, keep_comment, comments)
        cut_off = chunk.final and not chunk.terminated
        last_number = chunk.first_number + chunk.count - 1
        if cut_off and len(line_numbers) and line_numbers[-1] == last_number:
            cut = rows.rfind("\n")
            last = rows[cut + 1 :]
            if last_line == "drop" or (last_line == "if_broken" and _is_broken(last, columns, use)):
                log.warning("%s: dropped the incomplete last line %d (the recording was cut off)", where, line_numbers[-1])
                rows, line_numbers = (rows[:cut] if cut >= 0 else ""), line_numbers[:-1]
                if repairs is not None:
                    repairs[UNTERMINATED] = 1  # a file has one last line, whoever noticed it first
        elif cut_off and last_line == "drop" and comments is not None and len(comments) > kept_before:
            last = chunk.text[chunk.text.rfind("\n") + 1 :]
            if comments[-1] == last:  # a comment line cut off (a gap line without its end): not kept
                log.warning("%s: dropped the incomplete last line %d (the recording was cut off)", where, last_number)
                comments.pop()
                if repairs is not None:
                    repairs[UNTERMINATED] = 1
        if len(line_numbers):
            values.append(parse_numeric(rows, line_numbers, columns, where, use))
            numbers.append(line_numbers)
    if not values:
        return np.empty((0, len(use))), np.empty(0, dtype=np.int64)
    return np.concatenate(values), np.concatenate(numbers)


def _data_rows(chunk: Chunk, keep_comment: Callable[[str], bool] | None, comments: list[str] | None) -> tuple[str, np.ndarray]:
    """The chunk's non-blank, non-comment lines (joined by '\\n') and their line numbers.

    A chunk of plain rows, the usual case, is passed on as it is, without splitting it into lines.
    """
    text = chunk.text
    maybe_blank = not text or text[0] in " \t\n" or text[-1] in " \t\n" or "\n\n" in text or "\n " in text or "\n\t" in text
    if not maybe_blank and not text.startswith("#") and "\n#" not in text:
        return text, chunk.first_number + np.arange(chunk.count, dtype=np.int64)
    kept, numbers = [], []
    for index, line in enumerate(chunk.lines):
        if line.startswith("#"):
            if keep_comment is not None and comments is not None and keep_comment(line):
                comments.append(line)
        elif line.strip():
            kept.append(line)
            numbers.append(chunk.first_number + index)
    return "\n".join(kept), np.asarray(numbers, dtype=np.int64)


def parse_numeric(rows: str, line_numbers: np.ndarray, columns: Sequence[str], where: str, use: Sequence[int]) -> np.ndarray:
    """Parse data rows (joined by '\\n') into an (n, len(use)) float array; LogFormatError naming bad rows or cells.

    Only the `use` columns are converted; a row with the wrong number of cells is an error.
    """
    ncols = len(columns)
    quoted = '"' in rows
    data = b"" if quoted else rows.encode("utf-8")
    widths = np.array([len(split_cells(line)) for line in rows.split("\n")]) if quoted else _cell_counts(data)
    wrong = np.flatnonzero(widths != ncols)
    if len(wrong):
        shown = ", ".join(f"line {line_numbers[i]} has {widths[i]}" for i in wrong[:MAX_REPORTED_ROWS])
        more = f" (and {len(wrong) - MAX_REPORTED_ROWS} more)" if len(wrong) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: rows with the wrong number of cells: {shown}{more}; expected {ncols} ({','.join(columns)})")
    if quoted:  # quotes may hide commas: the csv module splits, Python converts (only foreign exports quote)
        return _parse_slowly(rows.split("\n"), line_numbers, columns, use, where)
    import pandas as pd

    try:
        frame = pd.read_csv(  # from bytes: pandas re-encodes a StringIO through a large buffer
            io.BytesIO(data), header=None, low_memory=False, names=list(range(ncols)), usecols=list(use), dtype="float64",
            keep_default_na=False, na_values=NA_VALUES, skip_blank_lines=False, engine="c", quoting=csv.QUOTE_NONE,
        )
        values = frame[list(use)].to_numpy(dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        return _parse_slowly(rows.split("\n"), line_numbers, columns, use, where)
    if len(values) != len(line_numbers):  # pandas saw other row breaks than we did; trust the line split
        return _parse_slowly(rows.split("\n"), line_numbers, columns, use, where)
    return values


def _cell_counts(text: bytes) -> np.ndarray:
    """Cells per line, counted on the bytes in one pass."""
    data = np.frombuffer(text, dtype=np.uint8)
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
                shown = cell if len(cell) <= 40 else cell[:37] + "..."
                bad.append(f"line {number} ({name}={shown!r})")
    if bad:
        more = f" and {len(bad) - MAX_REPORTED_ROWS} more" if len(bad) > MAX_REPORTED_ROWS else ""
        raise LogFormatError(f"{where}: non-numeric cells at {', '.join(bad[:MAX_REPORTED_ROWS])}{more}; expected numbers or empty cells")
    return values
