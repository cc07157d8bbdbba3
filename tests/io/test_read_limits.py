"""Issue 11, reader side: non-finite cells are missing samples, reading stays linear whatever the times,
foreign parser errors become one sentence, memory stays bounded, and every repair is counted and shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bandlog import cli
from bandlog.core.errors import LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import SampleBlock
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.logdata import MISSING, NUDGED, OUT_OF_ORDER, REPEATED
from bandlog.io.read import read_log
from bandlog.io.rows import UNTERMINATED

N_PER_KGF = 9.80665


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def bandlog_log(path: Path, n: int = 200, rate_hz: float = 100.0) -> Path:
    rng = np.random.default_rng(3)
    t = np.arange(n) / rate_hz
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(notes="limits"))
    sink.on_samples(SampleBlock(t_s=t, force_n=rng.normal(40, 10, n), acc_ms2=rng.normal(0, 3, (n, 3)),
                                gyro_dps=rng.normal(0, 30, (n, 3))))
    sink.close()
    return path


# --- 1. non-finite cells are missing samples, in every reader --------------------------------------

BAD_CELLS = ("", "nan", "inf", "-inf", "1e999")


def test_bandlog_log_non_finite_cells_are_missing_and_counted(tmp_path: Path) -> None:
    path = bandlog_log(tmp_path / "rec.csv")
    lines = path.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("t_s,")) + 1
    for k, bad in enumerate(BAD_CELLS):  # force is column 2, gyro_x column 6
        cells = lines[first + 10 + k].split(",")
        cells[2] = bad
        cells[6] = bad
        lines[first + 10 + k] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    log = read_log(path)
    assert len(log.samples) == 200
    force = log.samples["force_n"].to_numpy()
    assert np.isnan(force[10:15]).all() and np.isfinite(np.delete(force, range(10, 15))).all()
    assert np.isnan(log.samples["gyro_x_dps"].to_numpy()[10:15]).all()
    assert log.repairs == {MISSING: 10}


@pytest.mark.parametrize(
    "name, header, row",
    [
        ("tindeq.csv", "time,weight", "{t},{v}"),
        ("generic.csv", "t_s,force_kg", "{t},{v}"),
        ("vernier.csv", "Run 1: Time (s),Run 1: Force (kg)", "{t},{v}"),
    ],
)
def test_foreign_non_finite_cells_are_missing_and_counted(tmp_path: Path, name: str, header: str, row: str) -> None:
    values = ["1.5", *BAD_CELLS, "2.5"]
    text = header + "\n" + "\n".join(row.format(t=i / 80, v=v) for i, v in enumerate(values)) + "\n"
    log = read_log(write(tmp_path, name, text))
    force = log.samples["force_n"].to_numpy()
    assert len(force) == len(values)
    np.testing.assert_allclose(force[[0, -1]], [1.5 * N_PER_KGF, 2.5 * N_PER_KGF])
    assert np.isnan(force[1:-1]).all()
    assert log.repairs == {MISSING: len(BAD_CELLS)}


def test_a_line_over_the_cap_is_one_sentence_not_infinite_force(tmp_path: Path) -> None:
    path = write(tmp_path, "long.csv", "t_s,force_n\n0,1\n0.1," + "1" * 200_000 + "\n0.2,3\n")
    with pytest.raises(LogFormatError, match=r"line 3 is longer than 64 KB"):
        read_log(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_analyze_dev_zero_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["analyze", "/dev/zero"]) == cli.ExitStatus.BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert err == "bandlog: /dev/zero is not a text CSV file (it contains binary data)"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be"])
def test_utf16_and_utf32_exports_with_a_bom_are_read(tmp_path: Path, encoding: str) -> None:
    text = "Run 1: Time (s),Run 1: Force (N),Run 1: X-axis gyro (°/s)\r\n0,1.5,3\r\n0.01,1.75,4\r\n"
    data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode(encoding)
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    log = read_log(path)
    assert log.format == "vernier"
    np.testing.assert_array_equal(log.samples["force_n"], [1.5, 1.75])
    np.testing.assert_array_equal(log.samples["gyro_x_dps"], [3, 4])


# --- 3. foreign exceptions ------------------------------------------------------------------------

def test_huge_quoted_cell_is_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "field.csv", 't_s,force_n,note\n0,1,"' + "x" * 131_073 + '"\n0.1,2,a\n')
    with pytest.raises(LogFormatError, match="line 2 is longer than 64 KB"):
        read_log(path)


def test_lone_cr_next_to_quotes_is_a_line_break_not_a_csv_error(tmp_path: Path) -> None:
    path = write(tmp_path, "cr.csv", 't_s,force_n\n"0",1\n"0.1",2\r0.15,5\n"0.2",3\n')
    log = read_log(path)  # a lone CR ends a line, as universal newlines read it
    np.testing.assert_array_equal(log.samples["force_n"], [1, 2, 5, 3])
    broken = write(tmp_path, "cr_bad.csv", 't_s,force_n\n"0",1\n"0.1",2\r5\n"0.2",3\n')
    with pytest.raises(LogFormatError, match="line 4 has 1; expected 2"):
        read_log(broken)


def test_vernier_rows_starting_with_cr_are_read(tmp_path: Path) -> None:
    text = "Run 1: Time (s),Run 1: Force (N),Run 2: Time (s),Run 2: Force (N)\n0,1,0,1\n\r,,,\n\r0.1,2,0.1,3\n"
    log = read_log(write(tmp_path, "vernier_cr.csv", text))
    assert log.n_sets == 2
    np.testing.assert_array_equal(log.samples["force_n"], [1, 2, 1, 3])


# --- 2. linear whatever the times -----------------------------------------------------------------

def run_analyze(path: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """`bandlog analyze` in a child, so a reader that is not linear fails by the deadline instead of hanging."""
    return subprocess.run([sys.executable, "-m", "bandlog", "analyze", str(path)], capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, "MPLBACKEND": "Agg"})


N_ROWS = 100_000


@pytest.mark.parametrize(
    "name, times",
    [
        ("reversed", np.arange(N_ROWS)[::-1] * 0.01),
        ("shuffled", np.random.default_rng(0).permutation(N_ROWS) * 0.01),
        ("sawtooth", (np.arange(N_ROWS) % 20) * 0.01),
    ],
)
def test_disordered_100k_rows_is_one_sentence_quickly(tmp_path: Path, name: str, times: np.ndarray) -> None:
    force = np.arange(N_ROWS) % 50
    path = tmp_path / f"{name}.csv"
    path.write_text("t_s,force_n,gyro_x_dps\n" + "\n".join(f"{t!r},{f},{f % 7}" for t, f in zip(times.tolist(), force.tolist())) + "\n")
    started = time.monotonic()
    done = run_analyze(path, timeout_s=60)
    assert time.monotonic() - started < 60
    assert done.returncode == cli.ExitStatus.BAD_INPUT, done.stderr
    assert "rows are out of time order" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_all_equal_times_100k_rows_is_one_sentence_quickly(tmp_path: Path) -> None:
    path = tmp_path / "equal.csv"
    path.write_text("t_s,force_n,gyro_x_dps\n" + "".join(f"5.0,{i % 50},{i % 7}\n" for i in range(N_ROWS)))
    done = run_analyze(path, timeout_s=60)
    assert done.returncode == cli.ExitStatus.BAD_INPUT, done.stderr
    assert done.stderr.strip() == f"bandlog: {path}: all {N_ROWS} samples have the same time (5.0 s); bandlog needs times that advance"


def test_an_isolated_out_of_order_row_is_dropped_and_counted(tmp_path: Path) -> None:
    t = np.arange(300) * 0.01
    t[100] = 0.5  # one stale time in the middle, and one far ahead
    t[200] = 99.0
    path = write(tmp_path, "stray.csv", "t_s,force_n\n" + "".join(f"{x!r},{i}\n" for i, x in enumerate(t.tolist())))
    log = read_log(path)
    assert log.n_sets == 1 and len(log.samples) == 298
    assert 100 not in log.samples["force_n"].to_numpy() and 200 not in log.samples["force_n"].to_numpy()
    assert log.repairs == {OUT_OF_ORDER: 2}


def test_a_real_restart_still_starts_a_new_set(tmp_path: Path) -> None:
    run = np.arange(200) * 0.01  # two 2 s runs, the clock restarting at 0; then a clock restart 0.5 s back
    t = np.concatenate([run, run, run + 1.5])
    path = write(tmp_path, "runs.csv", "t_s,force_n\n" + "".join(f"{x!r},{i}\n" for i, x in enumerate(t.tolist())))
    log = read_log(path)
    assert [len(block) for block in log.sets()] == [200, 200, 200]
    assert log.repairs == {}


def test_repairs_are_counted_together(tmp_path: Path) -> None:
    text = "time,weight\n0.0,1\n0.0125,2\n0.0125,2\n0.025,3\n0.025,4\n0.0375,\n0.05,5\n0.0125,9\n0.0625,6\n0.07"
    log = read_log(write(tmp_path, "mixed.csv", text))
    assert log.repairs == {UNTERMINATED: 1, REPEATED: 1, OUT_OF_ORDER: 1, NUDGED: 1, MISSING: 1}
    log = read_log(write(tmp_path, "cut.csv", "t_s,force_n\n0,1\n0.1,2\n0.2,"))
    assert log.repairs == {MISSING: 1} and len(log.samples) == 3  # a last line that parses is kept
    path = bandlog_log(tmp_path / "rec.csv")
    path.write_text(path.read_text()[:-7])
    log = read_log(path)
    assert log.repairs == {UNTERMINATED: 1} and len(log.samples) == 199


# --- 4. memory ------------------------------------------------------------------------------------

# (the peak memory of a read is bounded in tests/io/test_fast_reader.py)


# --- 5. repairs reach the user --------------------------------------------------------------------

@pytest.fixture
def repaired_log(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    t = np.arange(400) / 80.0
    force = 2 + 30 * np.clip(np.sin(t), 0, None) + rng.normal(0, 0.2, len(t))
    rows = [f"{x!r},{f:.3f}" for x, f in zip(t.tolist(), force.tolist())]
    rows[50] = f"{float(t[50])!r},inf"
    rows.insert(100, f"{float(t[20])!r},5")  # a stale row
    return write(tmp_path, "repaired.csv", "t_s,force_n\n" + "\n".join(rows) + "\n")


def test_repairs_in_the_api_result_json_and_table(repaired_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bandlog.detect.analysis", reason="the Analyzer is written by another helper")
    from bandlog.app.api import analyze

    assert analyze(repaired_log).repairs == {OUT_OF_ORDER: 1, MISSING: 1}
    assert cli.main(["analyze", str(repaired_log), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"summary", "reps", "rejected"} <= set(document)
    assert document["read"] == {"format": "generic", "repairs": {OUT_OF_ORDER: 1, MISSING: 1}}
    assert cli.main(["analyze", str(repaired_log)]) == 0
    out = capsys.readouterr().out
    assert "repairs: 1 out-of-order row dropped, 1 missing or non-finite value read as missing" in out
    assert cli.main(["replay", str(repaired_log), "--fast", "--view", "none"]) == 0
    assert "repairs: 1 out-of-order row dropped" in capsys.readouterr().out
