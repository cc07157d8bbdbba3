"""Reading a log file as numbered lines, in bounded chunks (its data rows become floats in io/rows.py).

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

A chunk's bytes are kept as they were read (UTF-8 or ASCII text is never decoded), with the
vectorised facts the row parser needs (line ends, commas), so reading costs little more than
`pandas.read_csv` on the same file (bench/log_io.py).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from bandlog.core.errors import LogFormatError

log = logging.getLogger(__name__)

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
MIN_READ_BYTES = 4096
TRANSCODED_READ_BYTES = 64 * 1024
"""Bytes read at a time from a UTF-16/32 file: its text is held three times over while it is decoded
(the raw bytes, the str, the UTF-8), so reads stay small; such files are short exports."""
PEEK_BYTES = 64 * 1024
"""Bytes looked at to tell UTF-8 from Windows-1252 when there is no BOM, and read for the head."""
HEAD_LINES = 256
"""Lines read up front to recognise the format and read header blocks (bandlog's is ~20 lines)."""
_ASCII_SUPERSETS = ("utf-8", "cp1252")
"""Encodings whose bytes are read as they are: ASCII text in them is already UTF-8."""

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
NEWLINE_BYTE, COMMA_BYTE, HASH_BYTE = 10, 44, 35
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
        return np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == NEWLINE_BYTE)

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
        return decode_text(self.data[begin:end]).split("\n")

    def line(self, index: int) -> str:
        return self.lines(index, index + 1)[0]

    def without_first(self, skip: int) -> Chunk:
        """The same chunk less its first `skip` lines."""
        if not skip:
            return self
        if skip >= self.count:
            return Chunk(b"", 0, 0, 0, 0, self.first_number + self.count, self.final, True)
        begin = self.begin + int(self.ends[skip - 1]) + 1
        commas = self.commas - self.buffer.count(b",", self.begin, begin)
        return Chunk(self.buffer, begin, self.end, self.count - skip, commas, self.first_number + skip, self.final, self.terminated)


def decode_text(data: bytes | bytearray | memoryview) -> str:
    """Bytes of a chunk as text; a byte that is not UTF-8 becomes U+FFFD, and the parse names its line."""
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
            if not final and end - cut > MAX_LINE_CHARS and len(decode_text(memoryview(data)[cut:end])) > MAX_LINE_CHARS:
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
        commas += int(np.count_nonzero(np.equal(part, COMMA_BYTE, out=found)))
        newlines += int(np.count_nonzero(np.equal(part, NEWLINE_BYTE, out=found)))
        blocks = len(part) // _LENGTH_BLOCK
        gapless = gapless or not found[: blocks * _LENGTH_BLOCK].reshape(blocks, _LENGTH_BLOCK).any(axis=1).all()
    terminated = not final or not size or data[-1] == NEWLINE_BYTE
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
