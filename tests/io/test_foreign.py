"""Foreign exports (Tindeq, Vernier, generic CSV) read into bandlog units, one set per run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bandlog.core.errors import LogFormatError
from bandlog.io.read import read_log

G = 9.80665


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def tindeq_rows(n: int = 40, drop: tuple[int, ...] = (7, 8, 21)) -> tuple[list[float], list[float]]:
    """~85 Hz with a few dropped samples, as the app exports them."""
    times = [round(i / 85.0 + 0.0031, 6) for i in range(n) if i not in drop]
    weights = [round(2.0 + 3.0 * math.sin(t * 3), 3) for t in times]
    return times, weights


def test_tindeq_plain_export_without_trailing_newline(tmp_path: Path) -> None:
    times, weights = tindeq_rows()
    text = "time,weight\n" + "\n".join(f"{t},{w}" for t, w in zip(times, weights))
    log = read_log(write(tmp_path, "tindeq.csv", text))
    assert log.format == "tindeq" and log.n_sets == 1
    (block,) = log.sets()
    np.testing.assert_array_equal(block.t_s, times)  # the last line is complete and kept
    np.testing.assert_allclose(block.force_n, np.array(weights) * G)
    assert block.acc_ms2 is None and block.gyro_dps is None
    assert log.meta.stream is not None and log.meta.stream.sample_rate_hz == pytest.approx(85.0, rel=0.01)


def test_tindeq_export_with_summary_block(tmp_path: Path) -> None:
    times, weights = tindeq_rows()
    text = ",Avg,Rep 1\nAvg,3.21,3.21\nPeak,4.99,4.99\n,\ntime,weight\n" + "\n".join(f"{t},{w}" for t, w in zip(times, weights))
    log = read_log(write(tmp_path, "tindeq_summary.csv", text))
    assert log.format == "tindeq"
    assert len(log.samples) == len(times)
    assert log.meta.extra["tindeq_peak_rep_1_kg"] == "4.99"
    assert log.meta.extra["tindeq_avg_avg_kg"] == "3.21"


def test_tindeq_truncated_last_line_is_dropped(tmp_path: Path) -> None:
    times, weights = tindeq_rows()
    text = "time,weight\n" + "\n".join(f"{t},{w}" for t, w in zip(times, weights)) + "\n0.51"
    log = read_log(write(tmp_path, "cut.csv", text))
    assert len(log.samples) == len(times)


def test_tindeq_bad_cell_names_its_line(tmp_path: Path) -> None:
    text = "time,weight\n0.0,1.0\n0.0118,1.1\n0.0235,oops\n0.0353,1.3"
    with pytest.raises(LogFormatError, match=r"line 4 \(weight='oops'\)"):
        read_log(write(tmp_path, "bad.csv", text))


VERNIER_HEADER = (
    "Run 1: Time (s),Run 1: Force (N),Run 1: X-axis acceleration (m/s²),Run 1: Y-axis acceleration (m/s²),"
    "Run 1: Z-axis acceleration (m/s²),Run 1: X-axis gyro (rad/s),Run 1: Y-axis gyro (rad/s),Run 1: Z-axis gyro (rad/s),"
    "Run 2: Time (s),Run 2: Force (N),Run 2: X-axis acceleration (m/s²),Run 2: Y-axis acceleration (m/s²),"
    "Run 2: Z-axis acceleration (m/s²),Run 2: X-axis gyro (rad/s),Run 2: Y-axis gyro (rad/s),Run 2: Z-axis gyro (rad/s)"
)


def vernier_text(n1: int = 6, n2: int = 4) -> str:
    lines = [VERNIER_HEADER]
    for i in range(max(n1, n2)):
        run1 = [f"{i * 0.01:.2f}", f"{10 + i}", "0.1", "9.8", "0.2", "0.5", "-0.5", f"{i * 0.1:.1f}"] if i < n1 else [""] * 8
        run2 = [f"{i * 0.01:.2f}", f"{20 + i}", "0.3", "9.7", "0.1", "1.0", "0.0", "-1.0"] if i < n2 else [""] * 8
        lines.append(",".join(run1 + run2))
    return "\n".join(lines) + "\n"


def test_vernier_runs_become_sets_with_gyro_in_degrees(tmp_path: Path) -> None:
    log = read_log(write(tmp_path, "ga.csv", vernier_text()))
    assert log.format == "vernier" and log.n_sets == 2
    first, second = log.sets()
    assert len(first) == 6 and len(second) == 4  # run 2's padding rows are gone
    np.testing.assert_allclose(first.force_n, [10, 11, 12, 13, 14, 15])
    np.testing.assert_allclose(first.acc_ms2[0], [0.1, 9.8, 0.2])
    np.testing.assert_allclose(first.gyro_dps[0], np.degrees([0.5, -0.5, 0.0]))
    np.testing.assert_allclose(second.gyro_dps[0], np.degrees([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(second.force_n, [20, 21, 22, 23])
    assert list(log.samples["set"]) == [1] * 6 + [2] * 4  # numbered from 1, like reps


def test_vernier_windows_encoding_and_logger_pro_latest(tmp_path: Path) -> None:
    text = "Latest: Time (s),Latest: Force (N),Latest: X-axis acceleration (m/s²)\n0,1.5,0.1\n0.02,1.6,0.2\n"
    log = read_log(write(tmp_path, "lp.csv", text, encoding="cp1252"))
    assert log.format == "vernier"
    (block,) = log.sets()
    np.testing.assert_allclose(block.force_n, [1.5, 1.6])
    np.testing.assert_allclose(block.acc_ms2[:, 0], [0.1, 0.2])
    assert np.isnan(block.acc_ms2[:, 1]).all() and block.gyro_dps is None


def test_vernier_unknown_unit_is_refused(tmp_path: Path) -> None:
    text = "Run 1: Time (s),Run 1: Force (dyn)\n0,1\n"
    with pytest.raises(LogFormatError, match=r"'Run 1: Force \(dyn\)' is in 'dyn', which bandlog cannot convert"):
        read_log(write(tmp_path, "dyn.csv", text))


def test_vernier_bad_cell_names_its_line(tmp_path: Path) -> None:
    text = vernier_text().splitlines()
    text[3] = text[3].replace("12", "1 2", 1)
    with pytest.raises(LogFormatError, match=r"line 4 \(Run 1: Force \(N\)='1 2'\)"):
        read_log(write(tmp_path, "bad.csv", "\n".join(text) + "\n"))


def test_generic_csv_units_are_converted(tmp_path: Path) -> None:
    text = "# exported by some app\ntime_ms,Force (lb),acc_x_g,acc_y_g,acc_z_g,gyro_x_rads,gyro_y_rads,gyro_z_rads,label\n"
    text += "0,10,0,1,0,0.1,0,0,a\n10,11,0,1,0,0.2,0,0,b\n20,12,0,1,0,0.3,0,0,c\n"
    log = read_log(write(tmp_path, "any.csv", text))
    assert log.format == "generic"
    (block,) = log.sets()
    np.testing.assert_allclose(block.t_s, [0, 0.01, 0.02])
    np.testing.assert_allclose(block.force_n, np.array([10, 11, 12]) * 4.4482216152605)
    np.testing.assert_allclose(block.acc_ms2[:, 1], [G, G, G])
    np.testing.assert_allclose(block.gyro_dps[:, 0], np.degrees([0.1, 0.2, 0.3]))


def test_generic_set_column_and_time_reset_start_sets(tmp_path: Path) -> None:
    text = "t_s,force_kg,set\n0,1,1\n0.1,2,1\n0.2,3,2\n0.3,4,2\n0.0,5,2\n0.1,6,2\n"
    log = read_log(write(tmp_path, "sets.csv", text))
    assert [len(b) for b in log.sets()] == [2, 2, 2]
    np.testing.assert_allclose(log.sets()[2].force_n, [5 * G, 6 * G])


def test_duplicates_are_dropped_and_shared_timestamps_nudged(tmp_path: Path) -> None:
    text = "t_s,force_n\n0.0,1\n0.1,2\n0.1,2\n0.1,3\n0.1,4\n0.4,5\n"
    (block,) = read_log(write(tmp_path, "dup.csv", text)).sets()
    np.testing.assert_allclose(block.force_n, [1, 2, 3, 4, 5])  # exact repeat dropped, order kept
    np.testing.assert_allclose(block.t_s, [0.0, 0.1, 0.2, 0.3, 0.4])  # ties spread to the next time
    assert np.all(np.diff(block.t_s) > 0)


def test_generic_unitless_channel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="'force' needs a unit bandlog knows: force_n, force_kg or force_lb"):
        read_log(write(tmp_path, "nounit.csv", "time,force\n0,1\n"))


def test_generic_without_channels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="no channel columns"):
        read_log(write(tmp_path, "nochan.csv", "timestamp,temperature\n0,21\n"))


def test_quoted_cells_are_read_like_plain_ones(tmp_path: Path) -> None:
    text = '"Time (s)","Force (N)"\n"0.0","1.5"\n"0.1","1.75"\n"0.2"\n'
    with pytest.raises(LogFormatError, match=r"line 4 has 1; expected 2"):
        read_log(write(tmp_path, "quoted_bad.csv", text))
    (block,) = read_log(write(tmp_path, "quoted.csv", text.rsplit('"0.2"', 1)[0])).sets()
    np.testing.assert_array_equal(block.force_n, [1.5, 1.75])
