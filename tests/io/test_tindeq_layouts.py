"""Issue 12, point 5: the Tindeq Progressor app's test exports, written out by hand as the app writes
them (test fields and their values, a blank line, then `time,weight` samples; CRLF line ends; rows
padded with empty cells), are read in newtons with the test fields kept; an unknown unit is one
sentence; a few samples left over before a time restart are dropped and counted, not a set."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bandlog import cli
from bandlog.core.errors import LogFormatError
from bandlog.io.logdata import LEFTOVER
from bandlog.io.read import read_log

N_PER_KG = 9.80665
RFD_FIELDS = "date,tag,comment,unit,intervalTime (ms),IntervalThreshold,rfdInterval,rfd2080"
REPEATERS_FIELDS = (
    "date,tag,comment,unit,reps,work dur.,pause btw. reps,sets,pause btw. sets,type,mvc,"
    "Work Level (% of mvc),Rest level (% of mvc)"
)
PEAK_FIELDS = "date,tag,comment,unit,type,left max weight,right max weight"


def samples(n: int = 240, t0_s: float = 0.0123, rate_hz: float = 80.0) -> tuple[list[float], list[float]]:
    """Times (s) and weights (kg) of a few slow pulls, rounded as the app writes them."""
    times = [round(t0_s + i / rate_hz, 6) for i in range(n)]
    weights = [round(1.0 + 8.0 * max(0.0, math.sin(2 * math.pi * t / 3.0)), 4) for t in times]
    return times, weights


def export(fields: str, values: str, times: list[float], weights: list[float], pad: int = 0, end: str = "\r\n") -> str:
    """A test export: fields, values, a blank line, the samples; `pad` trailing empty cells on the
    sample header and rows (as the app pads them to the width of the first line)."""
    tail = "," * pad
    lines = [fields, values, "", f"time,weight{tail}"] + [f"{t},{w}{tail}" for t, w in zip(times, weights)]
    return end.join(lines) + end


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_rfd_test_export_with_crlf_and_padded_rows(tmp_path: Path) -> None:
    times, weights = samples()
    text = export(RFD_FIELDS, "2024-03-01 10:12:33,left leg,,SI,200,2,100,true", times, weights, pad=8)
    log = read_log(write(tmp_path, "rfd.csv", text))
    assert log.format == "tindeq" and log.n_sets == 1 and log.repairs == {}
    (block,) = log.sets()
    np.testing.assert_array_equal(block.t_s, times)
    assert block.force_n is not None
    np.testing.assert_allclose(block.force_n, np.array(weights) * N_PER_KG)
    assert log.meta.extra == {
        "tindeq_date": "2024-03-01 10:12:33",
        "tindeq_tag": "left leg",
        "tindeq_unit": "SI",
        "tindeq_intervaltime_ms": "200",
        "tindeq_intervalthreshold": "2",
        "tindeq_rfdinterval": "100",
        "tindeq_rfd2080": "true",
    }
    assert log.meta.stream is not None and log.meta.stream.sample_rate_hz == pytest.approx(80.0, rel=0.01)


def test_repeaters_export_with_a_summary_block_and_lf_ends(tmp_path: Path) -> None:
    times, weights = samples(120)
    fields = export(REPEATERS_FIELDS, "2026-08-20 19:55:38,rehab 1.5kg,\"slow, controlled\",SI,8,10,20,1,120,single,1.8,80,15", [], [], end="\n")
    text = fields.replace("time,weight\n", ",Overall Avg\nAvg,3.2\nPeak,8.9\n,\ntime,weight\n")
    text += "\n".join(f"{t},{w}" for t, w in zip(times, weights))  # no newline after the last row
    log = read_log(write(tmp_path, "repeaters.csv", text))
    assert len(log.samples) == len(times)
    np.testing.assert_allclose(log.samples["force_n"].to_numpy(), np.array(weights) * N_PER_KG)
    extra = log.meta.extra
    assert extra["tindeq_comment"] == "slow, controlled"  # a quoted comma stays in its field
    assert extra["tindeq_work_level_of_mvc"] == "80" and extra["tindeq_pause_btw_sets"] == "120"
    assert extra["tindeq_peak_overall_avg_kg"] == "8.9" and extra["tindeq_avg_overall_avg_kg"] == "3.2"


def test_set_file_opening_with_an_overall_summary(tmp_path: Path) -> None:
    """A repeaters set file (`,Overall Avg` rather than `,Avg`) is the summary layout too."""
    times, weights = samples(60)
    text = ",Overall Avg\r\nAvg,0.0\r\nPeak,0.0\r\n,\r\ntime,weight\r\n" + "".join(f"{t},{w}\r\n" for t, w in zip(times, weights))
    log = read_log(write(tmp_path, "data_set_1.csv", text))
    assert log.format == "tindeq" and len(log.samples) == 60
    assert log.meta.extra == {"tindeq_avg_overall_avg_kg": "0.0", "tindeq_peak_overall_avg_kg": "0.0"}


def test_peak_load_export_with_only_the_header_padded(tmp_path: Path) -> None:
    times, weights = samples(100)
    text = export(PEAK_FIELDS, "2025-11-18 20:44:57,Nov 2025,Evening test,si,left/right,42.72,40.79", [], [])
    text = text.replace("time,weight\r\n", "time,weight,,,,,,\r\n") + "".join(f"{t},{w}\r\n" for t, w in zip(times, weights))
    log = read_log(write(tmp_path, "peak.csv", text))
    assert len(log.samples) == 100
    np.testing.assert_allclose(log.samples["force_n"].to_numpy(), np.array(weights) * N_PER_KG)
    assert log.meta.extra["tindeq_left_max_weight"] == "42.72" and log.meta.extra["tindeq_type"] == "left/right"


@pytest.mark.parametrize(
    "unit, said",
    [("lbs", "is 'lbs'"), ("", "is empty"), ("imperial", "is 'imperial'")],
)
def test_unknown_unit_is_one_sentence(tmp_path: Path, unit: str, said: str) -> None:
    times, weights = samples(40)
    path = write(tmp_path, "unit.csv", export(RFD_FIELDS, f"2024-03-01 10:12:33,,,{unit},200,2,100,true", times, weights, pad=8))
    with pytest.raises(LogFormatError) as caught:
        read_log(path)
    assert str(caught.value) == (
        f"{path}: the export's unit (line 2, field 'unit') {said}, which bandlog cannot convert; "
        "expected 'SI' (weights in kilograms)"
    )


def test_unquoted_comma_in_a_field_is_refused_rather_than_misread(tmp_path: Path) -> None:
    times, weights = samples(40)
    path = write(tmp_path, "comma.csv", export(RFD_FIELDS, "2024-03-01 10:12:33,left,felt good, strong,SI,200,2,100,true", times, weights))
    with pytest.raises(LogFormatError, match=r"line 2 has 9 values for the 8 test fields on line 1"):
        read_log(path)


def test_test_fields_without_samples_or_values_is_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "info.csv", f"{PEAK_FIELDS}\r\n2025-11-18 20:44:57,Nov 2025,Evening test,SI,left/right,42.72,40.79\r\n")
    with pytest.raises(LogFormatError, match=r"holds a Tindeq test's fields \(line 1\) but no 'time,weight' samples"):
        read_log(path)
    path = write(tmp_path, "novalues.csv", f"{PEAK_FIELDS}\r\n\r\ntime,weight\r\n0.01,1.0\r\n0.02,1.1\r\n")
    with pytest.raises(LogFormatError, match=r"novalues.csv: the test fields on line 1 have no line of values under them$"):
        read_log(path)


@pytest.mark.parametrize("layout", ["test export", "plain"])
def test_leftover_samples_before_a_time_restart_are_counted_not_a_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    leftover_t = [31.2375, 31.25, 31.2625, 31.275]  # the tail of an earlier test, then the clock restarts
    times, weights = samples(480)
    text = export(RFD_FIELDS, "2024-03-01 10:12:33,,,SI,200,2,100,true", leftover_t + times, [0.4] * 4 + weights, pad=8)
    if layout == "plain":
        text = text.split("\r\n\r\n", 1)[1].replace(",,,,,,,,", "")
    path = write(tmp_path, "restart.csv", text)
    log = read_log(path)
    assert log.n_sets == 1 and len(log.samples) == len(times)
    assert log.repairs == {LEFTOVER: 4}
    np.testing.assert_array_equal(log.sets()[0].t_s, times)

    assert cli.main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "set 1 of 1" in out and "set 2" not in out and "no reps detected" not in out
    assert "repairs: 4 leftover rows before a time restart dropped" in out


def test_two_full_runs_are_still_two_sets(tmp_path: Path) -> None:
    """The leftover rule leaves real restarts alone: two whole tests in one file are two sets."""
    times, weights = samples(160)
    text = export(RFD_FIELDS, "2024-03-01 10:12:33,,,SI,200,2,100,true", times + times, weights + weights, pad=8)
    log = read_log(write(tmp_path, "two.csv", text))
    assert [len(block) for block in log.sets()] == [160, 160] and log.repairs == {}
