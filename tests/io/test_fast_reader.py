"""Issue 13, reader: the fast path (pandas' C parser over the bytes as read, checked by vectorised passes)
gives exactly what reading line by line gives, whatever the chunk boundaries; its shortcuts (a comma
total instead of per-row counts, an aligned-block test instead of every line's length) miss nothing;
and it holds less memory than before."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import SampleBlock
from bandlog.io import rows, textfile
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.logdata import MISSING
from bandlog.io.read import read_log
from bandlog.io.rows import UNTERMINATED
from bandlog.io.textfile import MAX_LINE_CHARS

READ_BYTES = 100_000
"""Bytes per read in the tests that cross chunk boundaries (see small_chunks)."""


def force_imu_log(path: Path, n: int, seed: int = 5) -> SampleBlock:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    block = SampleBlock(t_s=t, force_n=rng.normal(40, 10, n), acc_ms2=rng.normal(0, 3, (n, 3)),
                        gyro_dps=rng.normal(0, 30, (n, 3)), t_host_s=t + 1000.0)
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(notes="fast reader"))
    sink.on_samples(block)
    sink.close()
    return block


def use_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read READ_BYTES at a time, so a file of a few hundred KB crosses several chunk boundaries."""
    monkeypatch.setattr(textfile, "CHUNK_BYTES", READ_BYTES)
    monkeypatch.setattr(textfile, "SMALL_FILE_BYTES", 0)
    monkeypatch.setattr(textfile, "SHARE_OF_FILE", 1)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_chunks(monkeypatch)


def messy(path: Path, cr_at: int) -> None:
    """Rewrite a log with CRLF line ends, a CR at byte `cr_at` (a read boundary when it is
    READ_BYTES - 1), gap lines, blank and whitespace-only lines, and a cut-off last gap line."""
    lines = path.read_text().split("\n")[:-1]
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    rng = np.random.default_rng(1)
    for _ in range(12):
        at = int(rng.integers(header + 2, len(lines)))
        lines.insert(at, str(rng.choice(["# gap: start_s=1.5 end_s=2.5 reason=link lost", "", "   ", "\t", "\x0c"])))

    def render(pad: int) -> bytes:
        body = [*lines[: header + 1], "# " + "p" * pad, *lines[header + 1 :]]
        return ("\r\n".join(body) + "\r\n# gap: start_s=9.5 end").encode()

    shift = cr_at - render(0).rfind(b"\r", 0, cr_at + 1)  # padding that moves the CR before cr_at onto it
    data = render(shift)
    assert data[cr_at : cr_at + 2] == b"\r\n"
    path.write_bytes(data)


@pytest.mark.parametrize("boundary_offset", [-1, 0, 1])
def test_chunk_boundaries_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, boundary_offset: int) -> None:
    path = tmp_path / "rec.csv"
    block = force_imu_log(path, 6000)  # ~1 MB: ten reads of READ_BYTES
    messy(path, READ_BYTES - 1 + boundary_offset)
    whole = read_log(path)  # under SMALL_FILE_BYTES: one chunk
    use_small_chunks(monkeypatch)
    chunked = read_log(path)
    pd.testing.assert_frame_equal(chunked.samples, whole.samples)
    assert chunked.gaps == whole.gaps and len(whole.gaps) >= 1
    assert chunked.repairs == whole.repairs == {UNTERMINATED: 1}
    np.testing.assert_array_equal(whole.samples["t_s"], block.t_s)  # every sample, exactly
    np.testing.assert_array_equal(whole.samples["force_n"], block.force_n)


def test_a_blank_line_and_a_long_row_whose_commas_balance_are_still_found(tmp_path: Path, small_chunks: None) -> None:
    """The fast path counts commas per chunk, not per row: a blank line (no commas) and a row with
    one cell too many add up right, and pandas' refusal of the long row must send it the slow way."""
    path = tmp_path / "rec.csv"
    force_imu_log(path, 3000)
    lines = path.read_text().split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    lines[header + 40] = ""
    lines[header + 900] += ",7"
    lines[header + 2000] = lines[header + 2000].rsplit(",", 1)[0]  # one short row, in another chunk
    lines[header + 2002] += ",8"
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"wrong number of cells: line {header + 901} has 10\b"):
        read_log(path)
    lines[header + 900] = lines[header + 900][:-2]
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"line {header + 2001} has 8, line {header + 2003} has 10; expected 9"):
        read_log(path)


@pytest.mark.parametrize("char", ["x", "é", "€"])
@pytest.mark.parametrize("offset", [3, 777, 2500])
def test_line_length_limit_is_exact_wherever_the_line_sits(tmp_path: Path, small_chunks: None, char: str, offset: int) -> None:
    """A line of MAX_LINE_CHARS characters is read, one more is refused with its line number,
    wherever it sits against the aligned blocks the check looks at, and in characters, not bytes."""
    path = tmp_path / "rec.csv"
    force_imu_log(path, 3000)
    lines = path.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("t_s,")) + offset
    lines.insert(at, "# " + char * (MAX_LINE_CHARS - 2))
    path.write_text("\n".join(lines))
    assert len(read_log(path).samples) == 3000
    lines[at] += char
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"line {at + 1} is longer than 64 KB"):
        read_log(path)


@pytest.mark.parametrize("blank", ["\x0c", "\xa0", "\x0b", " \t "])
def test_whitespace_only_lines_are_blank_in_every_chunk(tmp_path: Path, small_chunks: None, blank: str) -> None:
    """A line of only whitespace (form feed, no-break space...) is a blank line wherever it is; the
    line-by-line reader skipped one only when another line of its chunk looked blank."""
    path = tmp_path / "rec.csv"
    force_imu_log(path, 3000)
    lines = path.read_text().split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    for at in (header + 1, header + 1500, len(lines) - 1):
        lines.insert(at, blank)
    path.write_text("\n".join(lines))
    log = read_log(path)
    assert len(log.samples) == 3000 and log.repairs == {}


def test_nan_spelled_out_in_a_late_chunk_is_a_missing_sample(tmp_path: Path, small_chunks: None) -> None:
    path = tmp_path / "rec.csv"
    force_imu_log(path, 3000)
    lines = path.read_text().split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    for k, spelled in enumerate(["nan", "NaN", "-nan", "inf"]):
        cells = lines[header + 2500 + k].split(",")
        cells[2] = spelled
        lines[header + 2500 + k] = ",".join(cells)
    path.write_text("\n".join(lines))
    log = read_log(path)
    assert np.isnan(log.samples["force_n"].to_numpy()[2499:2503]).all()
    assert log.repairs == {MISSING: 4}


def test_peak_memory_is_well_under_twice_the_file(tmp_path: Path) -> None:
    """The line-by-line reader peaked at 1.8x the file (traced allocations) on this log; the fast
    path reads into one reused buffer and fills the columns as it goes."""
    path = tmp_path / "big.csv"
    force_imu_log(path, 40_000)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        log = read_log(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(log.samples) == 40_000
    assert peak < 1.5 * size, f"peak {peak / size:.2f}x the file size"


def test_a_row_pandas_refuses_late_in_a_chunk_is_read_once_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pandas parses a chunk PARSE_ROWS rows at a time, straight into the columns; when it refuses a
    row after earlier pieces went in (a quoted number: pandas reads no quotes here), what it had put in
    is taken back and the chunk read line by line: every row once, the quoted value read. A bad cell
    there is still named by its line."""
    monkeypatch.setattr(rows, "PARSE_ROWS", 500)
    path = tmp_path / "rec.csv"
    block = force_imu_log(path, 3000)  # one chunk, six pieces
    lines = path.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("t_s,")) + 1 + 2600
    cells = lines[at].split(",")
    cells[2] = '"12.5"'
    lines[at] = ",".join(cells)
    path.write_text("\n".join(lines))
    log = read_log(path)
    expected = block.force_n.copy()
    expected[2600] = 12.5
    assert len(log.samples) == 3000
    np.testing.assert_array_equal(log.samples["force_n"], expected)
    np.testing.assert_array_equal(log.samples["t_s"], block.t_s)
    cells[2] = "5x"
    lines[at] = ",".join(cells)
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"non-numeric cells at line {at + 1} \(force_n='5x'\)"):
        read_log(path)


def test_a_blank_line_balanced_by_a_long_row_in_one_chunk_is_not_named(tmp_path: Path) -> None:
    """The comma total of a chunk cannot tell a blank line plus a row of 17 cells from two good rows;
    pandas refuses the long row, and the line-by-line reading must then skip the blank line, not
    report it as a row of one cell (it did)."""
    path = tmp_path / "rec.csv"
    force_imu_log(path, 3000)
    lines = path.read_text().split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    lines[header + 40] = ""
    lines[header + 900] += ",7" * 8
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"wrong number of cells: line {header + 901} has 17; expected 9"):
        read_log(path)


def gap_log(path: Path, n: int) -> tuple[SampleBlock, list[str]]:
    """A log with gap and comment lines (one right under the header, a run of three, one with commas)."""
    block = force_imu_log(path, n)
    lines = path.read_text().split("\n")
    header = next(i for i, line in enumerate(lines) if line.startswith("t_s,"))
    gaps = [f"# gap: start_s={k}.5 end_s={k}.75 reason=link lost" for k in range(6)]
    for at, line in sorted([(1, gaps[0]), (700, gaps[1]), (700, "# note, with, commas"), (700, gaps[2]), (1999, gaps[3]),
                            (2500, "#"), (n - 1, gaps[4]), (n, gaps[5])], reverse=True):
        lines.insert(header + at, line)
    path.write_text("\n".join(lines))
    return block, lines


def test_comment_lines_found_from_their_hash_read_as_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gap lines found from their '#' bytes (without every line's bounds) give what the general path
    gives, in one chunk and across chunks; a '#' inside a row is a bad cell named by its line."""
    path = tmp_path / "rec.csv"
    block, lines = gap_log(path, 3000)
    fast = read_log(path)
    assert len(fast.gaps) == 6 and fast.repairs == {}
    np.testing.assert_array_equal(fast.samples["t_s"], block.t_s)
    np.testing.assert_array_equal(fast.samples["gyro_z_dps"], block.gyro_dps[:, 2])
    use_small_chunks(monkeypatch)
    assert read_log(path).gaps == fast.gaps
    monkeypatch.setattr(rows, "_comment_lines", lambda chunk, ncols: None)
    general = read_log(path)
    pd.testing.assert_frame_equal(general.samples, fast.samples)
    assert general.gaps == fast.gaps
    monkeypatch.undo()
    at = next(i for i, line in enumerate(lines) if line.startswith("t_s,")) + 1500
    lines[at] = lines[at].replace(",", ",#", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(LogFormatError, match=rf"non-numeric cells at line {at + 1} \(t_host_s='#"):
        read_log(path)
