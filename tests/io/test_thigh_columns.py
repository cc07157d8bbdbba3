"""A thigh IMU's six columns: written after the shank's, read back exactly, repaired like the shank's;
a log without one is written byte for byte as before the thigh columns existed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Tare, tared
from bandlog.core.results import SetRating
from bandlog.core.samples import SAMPLE_CHANNELS, THIGH_CHANNELS, SampleBlock, StreamInfo
from bandlog.core.status import LinkStatus
from bandlog.core.version import __version__
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.logdata import MISSING, NUDGED, REPEATED
from bandlog.io.read import read_log
from bandlog.io.schema import gap_line, header_lines, rating_line
from bandlog.sources.replay import replay_source

OLD_COLUMN_ROW = "t_s,t_host_s,force_n,acc_x_ms2,acc_y_ms2,acc_z_ms2,gyro_x_dps,gyro_y_dps,gyro_z_dps"
"""The column header row every log had before the thigh columns, spelt out (not from the schema)."""
THIGH_COLUMN_ROW = (OLD_COLUMN_ROW + ",thigh_acc_x_ms2,thigh_acc_y_ms2,thigh_acc_z_ms2"
                    ",thigh_gyro_x_dps,thigh_gyro_y_dps,thigh_gyro_z_dps")
START = "2026-03-01T09:30:00.000+00:00"
THIGH_STREAM = StreamInfo(profile="pair", model="GDX-FOR + Thingy:52", sample_rate_hz=100.0,
                          channels=(*SAMPLE_CHANNELS, *THIGH_CHANNELS))
SHANK_STREAM = StreamInfo(profile="gdx_for", model="GDX-FOR", sample_rate_hz=100.0, channels=SAMPLE_CHANNELS)


def block(t0: float, n: int, seed: int, *, thigh: bool = True, thigh_gyro: bool = True, imu: bool = True) -> SampleBlock:
    """Full-precision random readings (not round numbers, so a lossy write would show)."""
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / 100.0
    return SampleBlock(
        t_s=t, force_n=rng.normal(40, 10, n), t_host_s=t + 1000.0 + rng.uniform(0, 0.03, n),
        acc_ms2=rng.normal(0, 3, (n, 3)) if imu else None, gyro_dps=rng.normal(0, 30, (n, 3)) if imu else None,
        thigh_acc_ms2=rng.normal(0, 3, (n, 3)) if thigh else None,
        thigh_gyro_dps=rng.normal(0, 30, (n, 3)) if thigh and thigh_gyro else None,
    )


Item = SampleBlock | Gap | SetRating | Tare | LinkStatus


def record(path: Path, meta: RecordingMeta, items: list[Item], *, close: bool = True) -> CsvLogSink:
    sink = CsvLogSink(path)
    sink.on_start(meta)
    for item in items:
        if isinstance(item, SampleBlock):
            sink.on_samples(item)
        elif isinstance(item, Gap):
            sink.on_gap(item)
        elif isinstance(item, SetRating):
            sink.on_rating(item)
        elif isinstance(item, Tare):
            sink.on_tare(item)
        else:
            sink.on_status(item)
    if close:
        sink.close()
    return sink


def nan_rows(n: int) -> np.ndarray:
    return np.full((n, 3), np.nan)


# --- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("meta", [RecordingMeta(start_utc=START, stream=THIGH_STREAM), RecordingMeta(start_utc=START)],
                         ids=["declared", "first-block-decides"])
def test_thigh_channels_round_trip_exactly_with_nan_where_missing(tmp_path: Path, meta: RecordingMeta) -> None:
    first = block(0.0, 60, 1)
    holed = np.array(first.thigh_gyro_dps)
    holed[5, 1] = np.nan  # one missing cell in a channel the set measures
    first = replace(first, thigh_gyro_dps=holed)
    without = block(0.7, 20, 2, thigh=False)  # the thigh sensor dropped out for a moment
    acc_only = block(0.9, 20, 3, thigh_gyro=False)
    path = tmp_path / "thigh.csv"
    record(path, meta, [first, Gap(0.59, 0.7), without, acc_only])

    lines = path.read_text().splitlines()
    assert THIGH_COLUMN_ROW in lines
    row = lines[lines.index(THIGH_COLUMN_ROW) + 1 + 60 + 1]  # the first row of `without`, after the gap line
    assert row.split(",")[9:] == [""] * 6  # missing, never zeros
    log = read_log(path)
    (got,) = log.sets()
    np.testing.assert_array_equal(got.thigh_acc_ms2, np.concatenate([first.thigh_acc_ms2, nan_rows(20), acc_only.thigh_acc_ms2]))
    np.testing.assert_array_equal(got.thigh_gyro_dps, np.concatenate([holed, nan_rows(20), nan_rows(20)]))
    for name in ("t_s", "t_host_s", "force_n", "acc_ms2", "gyro_dps"):
        np.testing.assert_array_equal(getattr(got, name), np.concatenate([getattr(b, name) for b in (first, without, acc_only)]))
    # missing thigh cells are counted like the shank's: the hole, `without`'s 6 x 20, `acc_only`'s gyro 3 x 20
    assert log.repairs == {MISSING: 1 + 120 + 60}


def test_a_thigh_log_without_any_thigh_reading_reads_as_none(tmp_path: Path) -> None:
    path = tmp_path / "declared.csv"
    record(path, RecordingMeta(start_utc=START, stream=THIGH_STREAM), [block(0.0, 30, 4, thigh=False)])
    assert THIGH_COLUMN_ROW in path.read_text().splitlines()
    log = read_log(path)
    (got,) = log.sets()
    assert got.thigh_acc_ms2 is None and got.thigh_gyro_dps is None and got.gyro_dps is not None
    assert not log.repairs  # a channel never measured is not missing


def test_a_time_restart_splits_a_thigh_log_into_sets_that_keep_the_thigh(tmp_path: Path) -> None:
    one, two = block(0.0, 150, 5), block(0.0, 150, 6)  # the device clock restarted: a new run, a new set
    path = tmp_path / "restart.csv"
    record(path, RecordingMeta(start_utc=START), [one, two])
    log = read_log(path)
    assert log.n_sets == 2 and not log.repairs
    for got, sent in zip(log.sets(), (one, two)):
        np.testing.assert_array_equal(got.t_s, sent.t_s)
        np.testing.assert_array_equal(got.thigh_acc_ms2, sent.thigh_acc_ms2)
        np.testing.assert_array_equal(got.thigh_gyro_dps, sent.thigh_gyro_dps)


# --- repairs treat the thigh columns as the shank's ---------------------------------------------


def test_a_repeated_row_is_one_only_when_its_thigh_cells_repeat_too(tmp_path: Path) -> None:
    path = tmp_path / "repeat.csv"
    record(path, RecordingMeta(start_utc=START), [block(0.0, 30, 7)])
    lines = path.read_text().splitlines()
    at = lines.index(THIGH_COLUMN_ROW) + 10
    repeated = [*lines[:at + 1], lines[at], *lines[at + 1:]]
    path.write_text("\n".join(repeated) + "\n")
    log = read_log(path)
    assert len(log.samples) == 30 and log.repairs == {REPEATED: 1}

    cells = lines[at].split(",")
    cells[-1] = repr(float(cells[-1]) + 1.0)  # the same time and shank readings, another thigh reading
    path.write_text("\n".join([*lines[:at + 1], ",".join(cells), *lines[at + 1:]]) + "\n")
    log = read_log(path)
    assert len(log.samples) == 31 and log.repairs == {NUDGED: 1}


def test_non_finite_thigh_cells_read_as_missing_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "inf.csv"
    sent = block(0.0, 30, 8)
    record(path, RecordingMeta(start_utc=START), [sent])
    lines = path.read_text().splitlines()
    at = lines.index(THIGH_COLUMN_ROW) + 4
    cells = lines[at].split(",")
    cells[9], cells[14] = "inf", "nan"
    lines[at] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    log = read_log(path)
    (got,) = log.sets()
    assert np.isnan(got.thigh_acc_ms2[3, 0]) and np.isnan(got.thigh_gyro_dps[3, 2])
    assert log.repairs == {MISSING: 2}


# --- the column header decides ------------------------------------------------------------------


@pytest.mark.parametrize("bad_row", [
    THIGH_COLUMN_ROW.rsplit(",", 1)[0],  # one thigh column short
    OLD_COLUMN_ROW + ",thigh_gyro_x_dps,thigh_gyro_y_dps,thigh_gyro_z_dps,thigh_acc_x_ms2,thigh_acc_y_ms2,thigh_acc_z_ms2",
    THIGH_COLUMN_ROW + ",knee_deg",
    OLD_COLUMN_ROW.replace("force_n", "thigh_acc_x_ms2"),
], ids=["short", "reordered", "extra", "renamed"])
def test_any_other_column_header_is_a_log_format_error(tmp_path: Path, bad_row: str) -> None:
    path = tmp_path / "bad.csv"
    record(path, RecordingMeta(start_utc=START), [block(0.0, 5, 9)])
    text = path.read_text()
    assert THIGH_COLUMN_ROW in text
    path.write_text(text.replace(THIGH_COLUMN_ROW, bad_row))
    with pytest.raises(LogFormatError, match=r"should be the column header t_s,t_host_s,.*thigh_gyro_z_dps in a log with a thigh IMU"):
        read_log(path)


# --- the writer decides per recording -----------------------------------------------------------


def test_thigh_readings_reaching_a_log_without_thigh_columns_are_refused_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "shank.csv"
    first, late = block(0.0, 20, 10, thigh=False), block(0.2, 20, 11)
    sink = record(path, RecordingMeta(start_utc=START), [first], close=False)
    with pytest.raises(LogWriteError, match=r"cannot write thigh IMU readings to the log .*shank\.csv: it has no thigh columns"):
        sink.on_samples(late)
    sink.on_samples(block(0.4, 20, 12, thigh=False))  # the refused block is not written; the sink goes on
    sink.close()
    assert OLD_COLUMN_ROW in path.read_text().splitlines()
    log = read_log(path)
    assert len(log.samples) == 40 and not log.repairs
    np.testing.assert_array_equal(log.sets()[0].t_s[:20], first.t_s)


def test_a_stream_declaring_no_thigh_channels_refuses_thigh_readings_from_the_first_block(tmp_path: Path) -> None:
    path = tmp_path / "declared-shank.csv"
    sink = record(path, RecordingMeta(start_utc=START, stream=SHANK_STREAM), [], close=False)
    with pytest.raises(LogWriteError, match="no thigh columns"):
        sink.on_samples(block(0.0, 10, 13))
    sink.close()
    assert len(read_log(path).samples) == 0


def test_a_log_cut_off_before_its_first_block_reads_as_no_samples(tmp_path: Path) -> None:
    # without declared channels the column row waits for the first block: a kill before it leaves
    # the metadata alone on disk, which still reads
    path = tmp_path / "killed.csv"
    sink = record(path, RecordingMeta(start_utc=START, leg="left"), [], close=False)
    assert not path.read_text().splitlines()[-1].startswith("t_s")
    log = read_log(path)
    assert log.meta.leg == "left" and len(log.samples) == 0
    sink.close()


async def test_a_replayed_thigh_log_is_written_again_with_its_thigh_columns(tmp_path: Path) -> None:
    original = tmp_path / "original.csv"
    record(original, RecordingMeta(start_utc=START), [block(0.0, 120, 14), Gap(1.19, 1.5), block(1.5, 80, 15, thigh=False)])
    log = read_log(original)
    copy = tmp_path / "copy.csv"
    sink = CsvLogSink(copy)
    async for item in replay_source(log, block_s=0.25):
        if isinstance(item, RecordingMeta):
            sink.on_start(item)
        elif isinstance(item, SampleBlock):
            sink.on_samples(item)
        elif isinstance(item, Gap):
            sink.on_gap(item)
    sink.close()
    assert copy.read_text().split(THIGH_COLUMN_ROW)[1] == original.read_text().split(THIGH_COLUMN_ROW)[1]


# --- a log without a thigh IMU: the bytes of before ---------------------------------------------


def old_rows(sent: SampleBlock) -> list[str]:
    """The rows as the writer wrote them before the thigh columns: 9 cells, repr, empty for absent."""
    def cells(array: np.ndarray | None, width: int) -> np.ndarray:
        return np.full((len(sent), width), np.nan) if array is None else np.asarray(array, dtype=float).reshape(len(sent), width)

    table = np.hstack([cells(sent.t_s, 1), cells(sent.t_host_s, 1), cells(sent.force_n, 1),
                       cells(sent.acc_ms2, 3), cells(sent.gyro_dps, 3)])
    return [",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in table]


def old_log(meta: RecordingMeta, body: list[str]) -> str:
    return "\n".join([*header_lines(meta, __version__), OLD_COLUMN_ROW, *body]) + "\n"


SHANK_META = RecordingMeta(start_utc=START, leg="left", stream=SHANK_STREAM)
BARE_META = RecordingMeta(start_utc=START)
A, B = block(0.0, 40, 16, thigh=False), block(0.5, 30, 17, thigh=False, imu=False)
GAP, RATING = Gap(0.39, 0.5, "link lost"), SetRating(1, 6, 0, 0.8)


@pytest.mark.parametrize(("meta", "items", "expected"), [
    (SHANK_META, [A, GAP, B, RATING], old_log(SHANK_META, [*old_rows(A), gap_line(0.39, 0.5, "link lost"), *old_rows(B),
                                                         rating_line(RATING)])),
    (BARE_META, [A, B], old_log(BARE_META, [*old_rows(A), *old_rows(B)])),
    (BARE_META, [GAP, A], old_log(BARE_META, [gap_line(0.39, 0.5, "link lost"), *old_rows(A)])),
    (BARE_META, [RATING, A], old_log(BARE_META, [rating_line(RATING), *old_rows(A)])),
    (BARE_META, [], old_log(BARE_META, [])),
    (BARE_META, [Tare(decided=False), A, Tare(0.5), B],
     old_log(RecordingMeta(start_utc=START, tare_offset_n=0.5), [*old_rows(tared(A, 0.5)), *old_rows(B)])),
    (BARE_META, [Tare(decided=False), Tare(0.5), A],
     old_log(RecordingMeta(start_utc=START, tare_offset_n=0.5), old_rows(A))),
], ids=["declared", "undeclared", "gap-first", "rating-first", "no-samples", "tare-rewrite", "tare-before-samples"])
def test_a_log_without_a_thigh_imu_is_byte_identical_to_before(
    tmp_path: Path, meta: RecordingMeta, items: list[Item], expected: str
) -> None:
    path = tmp_path / "shank.csv"
    record(path, meta, items)
    assert path.read_bytes() == expected.encode("utf-8")


# --- other apps' exports ------------------------------------------------------------------------


def test_a_generic_csv_with_thigh_prefixed_columns_reads_them_as_the_thigh_imu(tmp_path: Path) -> None:
    rows = [f"{i / 50},{i},{0.5 * i},{-i},{i / 10},1.5,2.5,{i / 100},9" for i in range(20)]
    path = tmp_path / "other.csv"
    path.write_text("time_s,Force (N),Gyro X (deg/s),Thigh Acc X (m/s²),Thigh Acc Y (g),thigh_acc_z_ms2,"
                    "thigh_gyro_x_dps,Thigh Gyro Y (rad/s),thigh_force_n\n" + "\n".join(rows) + "\n")
    log = read_log(path)
    assert log.format == "generic" and log.meta.stream is not None
    assert set(THIGH_CHANNELS) - set(log.meta.stream.channels) == {"thigh_gyro_z_dps"}
    assert "thigh_force_n" not in log.meta.stream.channels  # a thigh IMU measures no force: the column is ignored
    (got,) = log.sets()
    i = np.arange(20.0)
    np.testing.assert_array_equal(got.thigh_acc_ms2, np.column_stack([-i, i / 10 * 9.80665, np.full(20, 1.5)]))
    np.testing.assert_allclose(got.thigh_gyro_dps, np.column_stack([np.full(20, 2.5), np.degrees(i / 100), np.full(20, np.nan)]))
    assert got.acc_ms2 is None  # the thigh's readings are not taken for the shank's
