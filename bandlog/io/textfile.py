"""Reading a log file as numbered lines, in bounded chunks, and turning its data rows into floats.

Every reader goes through here, so every format gets the same guarantees:

- a missing, unreadable, binary or empty file is one sentence (LogFormatError);
- memory stays bounded by the samples, not by the text: the file is read into one reused buffer of at
  most CHUNK_BYTES (and an eighth of a file over SMALL_FILE_BYTES) and a line longer than MAX_LINE_CHARS
  is refused (so `/dev/zero` or a 1 GB line is a sentence, not a MemoryError);
- UTF-8 (with or without BOM), UTF-16 and UTF-32 with a BOM, and Windows-1252 are read; line endings
  may be LF, CRLF or a lone CR (old Mac exports, stray CRs), as Python's universal newlines read them;
- a non-numeric cell is reported with its line number (never turned into NaN); `nan`, `inf`,
  `-inf` and empty cells are read as NaN/inf and left to `build_samples` to count as missing;
- a truncated last line (a recording killed mid-write) is dropped with a warning instead of failing.

Reading costs little more than `pandas.read_csv` on the same file (bench/log_io.py): a chunk's bytes
go to pandas' C parser as they were read (UTF-8 or ASCII text is never decoded), checked by a few
vectorised passes over the bytes (line ends, commas, the rare comment or blank line), and parsed
PARSE_ROWS rows at a time straight into the columns. Only when pandas refuses a chunk is it read line
by line in Python, to name the bad line and cell.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import logging
import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from bandlog.core.errors import LogFormatError

log = logging.getLogger(__name__)

MAX_REPORTED_ROWS = 5
MAX_LINE_CHARS = 64 * 1024
"""No CSV row bandlog reads is anywhere near this long; a longer line is corruption, not data."""
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS
"""The most UTF-8 bytes a line of MAX_LINE_CHARS characters can take."""
CHUNK_BYTES = 8 << 20
"""Bytes read at a time from a long log: large enough that pandas' per-call cost vanishes."""
SHARE_OF_FILE = 8
"""A chunk is at most 1/SHARE_OF_FILE of the file (but see SMALL_FILE_BYTES): its buffers (the text and
pandas' tokens, several times the text) then stay small beside the file whatever its size."""
SMALL_FILE_BYTES = 2 << 20
"""A file up to this size is read in one chunk (one pandas call; its buffers are a few MB at most)."""
PARSE_ROWS = 16384
"""Rows pandas parses at a time, straight into the columns: its buffers for a piece (the tokens, several
times the text, and the column arrays) stay small and are reused. Sized for a whole chunk instead, they
were mapped afresh from the OS and page-faulted for every chunk: 60,000 faults for the 1 h log, half
as much again as the parsing itself (bench/log_io.py prints the faults of both readers)."""
MIN_READ_BYTES = 4096
TRANSCODED_READ_BYTES = 64 * 1024
"""Bytes read at a time from a UTF-16/32 file: its text is held three times over while it is decoded
(the raw bytes, the str, the UTF-8), so reads stay small; such files are short exports."""
PEEK_BYTES = 64 * 1024
"""Bytes looked at to tell UTF-8 from Windows-1252 when there is no BOM, and read for the head."""
HEAD_LINES = 256
"""Lines read up front to recognise the format and read header blocks (bandlog's is ~20 lines)."""
NA_VALUES = ["", "nan", "NaN", "NAN", "-nan", "+nan", "-NaN"]
UNTERMINATED = "unterminated last line dropped"
_ASCII_SUPERSETS = ("utf-8", "cp1252")
"""Encodings whose bytes are read as they are: ASCII text in them is already UTF-8."""

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NEWLINE, _COMMA, _HASH = 10, 44, 35
_LENGTH_BLOCK = MAX_LINE_CHARS // 2
"""Any run of more than MAX_LINE_CHARS bytes holds a whole aligned block of half that."""
SCAN_BYTES = 32 * _LENGTH_BLOCK
"""Bytes counted at a time (a multiple of _LENGTH_BLOCK, so blocks stay aligned)."""


@dataclass(frozen=True)
class Chunk:
    """Consecutive lines of a file as UTF-8 bytes with '\\n' line ends, and the 1-based number of the first.

    Kept as a span of one bytes buffer: a list of lines costs several times the text. Where each line
    ends is found only when asked for (a chunk of plain rows never needs it). The buffer may be the
    reader's, reused: a chunk is valid until the next one is read.
    """

    buffer: bytes | bytearray
    begin: int
    end: int
    """The chunk is buffer[begin:end]."""
    count: int
    """How many lines the chunk holds."""
    commas: int
    """How many commas it holds (a CSV row of n cells has n - 1)."""
    first_number: int
    final: bool
    """True for the file's last chunk."""
    terminated: bool
    """For the final chunk: whether the file's last line ended with a newline."""

    @property
    def data(self) -> memoryview:
        return memoryview(self.buffer)[self.begin : self.end]

    @property
    def size(self) -> int:
        return self.end - self.begin

    def contains(self, sub: bytes) -> bool:
        """Whether `sub` occurs in the chunk (a memchr-fast search, no copy)."""
        return self.buffer.find(sub, self.begin, self.end) >= 0

    @cached_property
    def ends(self) -> np.ndarray:
        """Offsets from `begin` of the '\\n' that ends each line (the final chunk's last line may have none)."""
        return np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == _NEWLINE)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, stop) byte offsets of every line, without its '\\n'."""
        stops = self.ends if self.terminated else np.append(self.ends, self.size)
        starts = np.empty(len(stops), dtype=np.int64)
        starts[:1] = 0
        starts[1:] = stops[:-1] + 1
        return starts, stops

    def lines(self, first: int = 0, stop: int | None = None) -> list[str]:
        """Lines `first` to `stop` (all by default) as text."""
        stop = self.count if stop is None else min(stop, self.count)
        if first >= stop:
            return []
        begin = 0 if first == 0 else int(self.ends[first - 1]) + 1
        end = int(self.ends[stop - 1]) if stop <= len(self.ends) else self.size
        return _decode(self.data[begin:end]).split("\n")

    def line(self, index: int) -> str:
        return self.lines(index, index + 1)[0]

    def without_first(self, skip: int) -> "Chunk":
        """The same chunk less its first `skip` lines."""
        if not skip:
            return self
        if skip >= self.count:
            return Chunk(b"", 0, 0, 0, 0, self.first_number + self.count, self.final, True)
        begin = self.begin + int(self.ends[skip - 1]) + 1
        commas = self.commas - self.buffer.count(b",", self.begin, begin)
        return Chunk(self.buffer, begin, self.end, self.count - skip, commas, self.first_number + skip, self.final, self.terminated)


def _decode(data: bytes | bytearray | memoryview) -> str:
    return str(data, "utf-8", errors="replace")  # straight from the buffer, no bytes copy


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


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """An OS error while reading `path` as the log's one-sentence error."""
    try:
        yield
    except IsADirectoryError:
        raise LogFormatError(f"{path} is a directory, not a log file") from None
    except OSError as error:
        raise LogFormatError(f"cannot read {path}: {error.strerror or error}") from None


def _read(file: io.BufferedReader, path: Path, size: int) -> bytes:
    with _reading(path):
        return file.read(size)


def _readinto(file: io.BufferedReader, path: Path, into: memoryview) -> int:
    with _reading(path):
        return file.readinto(into)


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


class _Source:
    """A file's text as bytes, one read at a time, appended to what the last chunk left over (its
    unfinished line). UTF-8 and Windows-1252 files are read into one reused buffer as they are (a
    fresh buffer per read costs more in page faults than parsing); UTF-16/32 are decoded to UTF-8."""

    def __init__(self, file: io.BufferedReader, path: Path, encoding: str, chunk_bytes: int) -> None:
        self.file, self.path = file, path
        self.read_bytes = max(chunk_bytes, MIN_READ_BYTES)
        left = _regular_size(file)
        if left is not None:  # a small log gets a small buffer
            left -= file.tell()
            share = max(left // SHARE_OF_FILE, SMALL_FILE_BYTES)
            self.read_bytes = max(MIN_READ_BYTES, min(self.read_bytes, share, left + 1))
        self.decoder = None if encoding in _ASCII_SUPERSETS else codecs.getincrementaldecoder(encoding)(errors="replace")
        self.buffer: bytes | bytearray = bytearray(self.read_bytes) if self.decoder is None else b""
        self.kept = 0

    def fill(self) -> tuple[bytes | bytearray, int, bool]:
        """(buffer, bytes of text in it, whether the file has ended): the leftover, then the next read."""
        if self.decoder is not None:  # the buffer holds just the leftover
            raw = _read(self.file, self.path, min(self.read_bytes, TRANSCODED_READ_BYTES))
            self.buffer += self.decoder.decode(raw, final=not raw).encode("utf-8", errors="replace")
            self.kept = len(self.buffer)
            return self.buffer, self.kept, not raw
        assert isinstance(self.buffer, bytearray)
        if self.kept == len(self.buffer):  # a line longer than the buffer (up to MAX_LINE_BYTES): a new buffer, not a resize
            self.buffer = self.buffer[: self.kept] + bytearray(self.read_bytes)
        got = _readinto(self.file, self.path, memoryview(self.buffer)[self.kept :])
        self.kept += got
        return self.buffer, self.kept, not got

    def keep(self, cut: int) -> None:
        """Keep the text from `cut` on (an unfinished line) for the next fill."""
        rest = self.kept - cut
        if isinstance(self.buffer, bytearray):
            self.buffer[:rest] = self.buffer[cut : self.kept]
        else:
            self.buffer = self.buffer[cut:]
        self.kept = rest


def _stream(path: Path, encoding: str, offset: int, chunk_bytes: int | None = None, skip: int = 0) -> Iterator[Chunk]:
    """The file's lines from 0-based index `skip` on, a chunk of about `chunk_bytes` (CHUNK_BYTES) at a
    time, as UTF-8 with '\\n' line ends; LogFormatError for binary data or an endless line."""
    number = 1
    with _open(path) as file:
        _read(file, path, offset)
        source = _Source(file, path, encoding, CHUNK_BYTES if chunk_bytes is None else chunk_bytes)
        scratch = np.empty(max(_LENGTH_BLOCK, min(SCAN_BYTES, source.read_bytes) // _LENGTH_BLOCK * _LENGTH_BLOCK), dtype=bool)
        while True:
            data, end, final = source.fill()
            if data.find(b"\x00", 0, end) >= 0:
                raise LogFormatError(f"{path} is not a text CSV file (it contains binary data)")
            has_cr = data.find(b"\r", 0, end) >= 0
            cut = end if final else _after_last_line(data, end, has_cr)
            text, size = _normalised(data, cut, has_cr, encoding == "cp1252")
            chunk, gapless = _chunk(text, size, number, final, scratch)
            if gapless:
                _check_lengths(chunk, path)
            number += chunk.count
            if not final and end - cut > MAX_LINE_CHARS and len(_decode(memoryview(data)[cut:end])) > MAX_LINE_CHARS:
                raise _too_long(path, number)
            taken = min(skip, chunk.count)
            skip -= taken
            if final or taken < chunk.count:
                yield chunk.without_first(taken)
            del chunk
            if final:
                return
            source.keep(cut)


def _after_last_line(data: bytes | bytearray, end: int, has_cr: bool) -> int:
    """Offset just past the last complete line end in data[:end] (0 if none)."""
    limit = end - 1 if has_cr and data[end - 1] == 13 else end  # a CR whose LF may come with the next read
    cut = data.rfind(b"\n", 0, limit) + 1
    return max(cut, data.rfind(b"\r", 0, limit) + 1) if has_cr else cut


def _normalised(data: bytes | bytearray, cut: int, has_cr: bool, cp1252: bool) -> tuple[bytes | bytearray, int]:
    """(buffer, length): data[:cut] with universal newlines turned into '\\n' and Windows-1252 text into
    UTF-8; `data` itself when nothing needs changing, the common case."""
    if has_cr:
        data = bytes(memoryview(data)[:cut]).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = len(data)
    if cp1252 and np.frombuffer(data, dtype=np.uint8, count=cut).max(initial=0) >= 0x80:
        data = bytes(memoryview(data)[:cut]).decode("cp1252", errors="replace").encode("utf-8")
        cut = len(data)
    return data, cut


def _chunk(buffer: bytes | bytearray, size: int, number: int, final: bool, scratch: np.ndarray) -> tuple[Chunk, bool]:
    """The chunk of buffer[:size], and whether it has an aligned block of _LENGTH_BLOCK bytes without a
    line end (which any line over MAX_LINE_CHARS covers). Counted SCAN_BYTES at a time in `scratch`:
    a fresh bool per byte for each chunk would cost more in page faults and memory than the counting."""
    data = np.frombuffer(buffer, dtype=np.uint8, count=size)
    commas = newlines = 0
    gapless = False
    for begin in range(0, size, len(scratch)):
        part = data[begin : begin + len(scratch)]
        found = scratch[: len(part)]
        commas += int(np.count_nonzero(np.equal(part, _COMMA, out=found)))
        newlines += int(np.count_nonzero(np.equal(part, _NEWLINE, out=found)))
        blocks = len(part) // _LENGTH_BLOCK
        gapless = gapless or not found[: blocks * _LENGTH_BLOCK].reshape(blocks, _LENGTH_BLOCK).any(axis=1).all()
    terminated = not final or not size or data[-1] == _NEWLINE
    chunk = Chunk(buffer, 0, size, newlines + (0 if terminated else 1), commas, number, final, bool(terminated))
    return chunk, gapless


def _regular_size(file: io.BufferedReader) -> int | None:
    """Bytes in a regular file (None for a pipe or device, which are read in full chunks)."""
    try:
        status = os.fstat(file.fileno())
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _check_lengths(chunk: Chunk, path: Path) -> None:
    """LogFormatError naming the first line over MAX_LINE_CHARS."""
    starts, stops = chunk.bounds()
    for index in np.flatnonzero(stops - starts > MAX_LINE_CHARS).tolist():
        if len(chunk.line(index)) > MAX_LINE_CHARS:
            raise _too_long(path, chunk.first_number + index)


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
        head.extend(chunk.lines(0, room))
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
                comments.extend(line for line in (_decode(chunk.data[a : b - 1]) for a, b in spans) if keep_comment(line))
            pieces = _between(chunk, spans)
        else:
            rows, comment = _data_lines(chunk, keep_comment, comments)
        last = chunk.count - 1
        if chunk.final and not chunk.terminated:
            if rows[last]:
                if last_line == "drop" or (last_line == "if_broken" and _is_broken(chunk.line(last), columns, use)):
                    rows[last] = False
                    _dropped_last(where, chunk.first_number + last, repairs)
            elif last_line == "drop" and comment[last] and comments is not None and len(comments) > kept_before:
                if comments[-1] == chunk.line(last):  # a comment line cut off (a gap line without its end): not kept
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
        if at > begin and buffer[at - 1] != _NEWLINE:  # a '#' inside a row: pandas will judge the cell
            at = buffer.find(b"#", at + 1, end)
            continue
        line += int(np.count_nonzero(data[counted:at] == _NEWLINE))
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
    comment = first == _HASH
    rows = ~comment
    maybe_blank = np.flatnonzero((first <= 32) | (first >= 0x80))  # whitespace or control, or not ASCII
    for index in maybe_blank.tolist():
        if first[index] == _NEWLINE or not chunk.line(index).strip():
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
    commas = np.flatnonzero(np.frombuffer(chunk.data, dtype=np.uint8) == _COMMA)
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
