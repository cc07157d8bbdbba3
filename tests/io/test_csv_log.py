"""CsvLogSink writes what read_log reads back exactly, flushes on time, and fails with one sentence."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bandlog.core.errors import LogFormatError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.io.schema import LOG_COLUMNS

META = RecordingMeta(
    start_utc="2026-11-28T22:15:30.125+00:00", leg="left", band="red", notes="=cmd|' /C calc'!A0\nsecond line",
    tare_offset_n=-0.8125, target_ecc_s=4.0,
    stream=StreamInfo(profile="gdx_for", model="GDX-FOR", name="GDX-FOR 071000U9", address="C0:FF:EE:00:00:01",
                      firmware="1.2.3", sample_rate_hz=100.0, channels=("force_n", "acc_x_ms2", "gyro_x_dps")),
)


def imu_block(t0: float, n: int, rate_hz: float = 100.0, seed: int = 0) -> SampleBlock:
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate_hz
    return SampleBlock(t_s=t, force_n=rng.normal(40, 10, n), acc_ms2=rng.normal(0, 3, (n, 3)),
                       gyro_dps=rng.normal(0, 30, (n, 3)), t_host_s=t + 1000.0 + rng.uniform(0, 0.03, n))


def write(path: Path, meta: RecordingMeta, items: list[SampleBlock | Gap]) -> CsvLogSink:
    sink = CsvLogSink(path)
    sink.on_start(meta)
    for item in items:
        if isinstance(item, Gap):
            sink.on_gap(item)
        else:
            sink.on_samples(item)
    sink.close()
    return sink


def test_round_trip_is_exact_including_gaps(tmp_path: Path) -> None:
    first, second = imu_block(0.0, 250), imu_block(3.5, 120, seed=1)
    gap = Gap(2.49, 3.5, "link lost")
    path = tmp_path / "rec.csv"
    write(path, META, [first, gap, second])
    log = read_log(path)
    assert log.format == "bandlog" and log.meta == META and log.gaps == [gap]
    (block,) = log.sets()
    expected = SampleBlock.concat([first, second])
    for name in ("t_s", "force_n", "acc_ms2", "gyro_dps", "t_host_s"):
        np.testing.assert_array_equal(getattr(block, name), getattr(expected, name))


def test_one_pandas_call_reads_the_samples(tmp_path: Path) -> None:
    block = imu_block(0.0, 50)
    path = tmp_path / "rec.csv"
    write(path, META, [block.slice(0, 20), Gap(0.2, 0.3), block.slice(20, 50)])
    frame = pd.read_csv(path, comment="#")
    assert tuple(frame.columns) == LOG_COLUMNS
    np.testing.assert_array_equal(frame["t_s"].to_numpy(), block.t_s)
    np.testing.assert_array_equal(frame[["gyro_x_dps", "gyro_y_dps", "gyro_z_dps"]].to_numpy(), block.gyro_dps)


def test_absent_channels_are_empty_cells_and_none_on_read(tmp_path: Path) -> None:
    t = np.arange(10) * 0.0125
    path = tmp_path / "force_only.csv"
    write(path, RecordingMeta(), [SampleBlock(t_s=t, force_n=np.linspace(0, 1, 10))])
    row = path.read_text().splitlines()[-1].split(",")
    assert row[0] == repr(float(t[-1])) and row[1] == "" and row[3:] == [""] * 6
    (block,) = read_log(path).sets()
    assert block.acc_ms2 is None and block.gyro_dps is None and block.t_host_s is None
    np.testing.assert_array_equal(block.force_n, np.linspace(0, 1, 10))


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=arrays(np.float64, st.integers(1, 40), elements=st.floats(1e-9, 10.0)),
    t0=st.floats(-1e6, 1e6),
    data=st.data(),
)
def test_any_floats_round_trip_bit_exact(tmp_path: Path, steps: np.ndarray, t0: float, data: st.DataObject) -> None:
    n = len(steps)
    t = t0 + np.cumsum(steps)
    if np.any(np.diff(t) <= 0):  # the step vanished in float rounding; not a valid stream
        return
    force = data.draw(arrays(np.float64, n, elements=finite))
    gyro = data.draw(arrays(np.float64, (n, 3), elements=finite))
    path = tmp_path / "h.csv"
    path.unlink(missing_ok=True)
    write(path, RecordingMeta(), [SampleBlock(t_s=t, force_n=force, gyro_dps=gyro)])
    (block,) = read_log(path).sets()
    np.testing.assert_array_equal(block.t_s, t)
    np.testing.assert_array_equal(block.force_n, force)
    np.testing.assert_array_equal(block.gyro_dps, gyro)


def test_flushes_by_the_interval_not_by_every_block(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "rec.csv"
    sink = CsvLogSink(path, flush_interval_s=0.5, clock=lambda: now[0])
    sink.on_start(META)
    header_size = path.stat().st_size
    block = imu_block(0.0, 10)
    sink.on_samples(block)
    now[0] = 0.3
    sink.on_samples(imu_block(0.1, 10))
    assert path.stat().st_size == header_size, "flushed before the interval"
    now[0] = 0.6
    sink.on_samples(imu_block(0.2, 10))
    assert len(pd.read_csv(path, comment="#")) == 30
    assert sink.samples_written == 30
    sink.close()


def test_never_overwrites_an_existing_log(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("precious\n")
    with pytest.raises(LogWriteError, match="already exists"):
        CsvLogSink(path).on_start(META)
    assert path.read_text() == "precious\n"


def test_missing_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "rec.csv"
    write(path, META, [imu_block(0, 5)])
    assert len(read_log(path).samples) == 5


def test_a_file_where_the_directory_should_be_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(LogWriteError, match=r"^cannot write the log .*blocker/rec\.csv: "):
        CsvLogSink(tmp_path / "blocker" / "rec.csv").on_start(META)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_no_permission_is_one_sentence(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(LogWriteError, match="permission denied"):
        CsvLogSink(locked / "rec.csv").on_start(META)


def test_permission_error_from_the_file_system_is_one_sentence(tmp_path: Path) -> None:
    def refuse(path: Path) -> io.StringIO:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with pytest.raises(LogWriteError, match=r"cannot write the log .*rec\.csv: permission denied$"):
        CsvLogSink(tmp_path / "rec.csv", opener=refuse).on_start(META)


class FillingDisk(io.StringIO):
    """A file that accepts `room` characters and then fails like a full disk."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(text)

    def close(self) -> None:
        self.kept = self.getvalue()
        super().close()


def test_disk_full_is_one_sentence_and_keeps_what_was_written(tmp_path: Path) -> None:
    disk = FillingDisk(room=4000)
    now = [0.0]
    sink = CsvLogSink(tmp_path / "rec.csv", flush_interval_s=0.0, opener=lambda p: disk, clock=lambda: now[0])
    sink.on_start(META)
    with pytest.raises(LogWriteError) as caught:
        for i in range(100):
            sink.on_samples(imu_block(i * 0.1, 10, seed=i))
    message = str(caught.value)
    assert "the disk is full" in message and "samples written before are kept" in message
    assert "\n" not in message
    written = disk.getvalue()
    assert sink.samples_written > 0 and written.count("\n") > 20
    with pytest.raises(LogWriteError):  # the sink stays failed instead of silently dropping samples
        sink.on_samples(imu_block(99.0, 1))
    sink.close()
    sink.close()
    # what reached the disk is still a readable log
    saved = tmp_path / "saved.csv"
    saved.write_text(disk.kept)
    assert len(read_log(saved).samples) == sink.samples_written


def test_close_is_idempotent_and_samples_after_close_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    sink = write(path, META, [imu_block(0, 3)])
    sink.close()
    with pytest.raises(LogWriteError, match="after close"):
        sink.on_samples(imu_block(1, 3))
    assert len(read_log(path).samples) == 3


def test_start_time_is_filled_in_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    write(path, RecordingMeta(), [imu_block(0, 2)])
    start = read_log(path).meta.start_utc
    assert pd.Timestamp(start).tzinfo is not None


def test_truncated_last_line_is_dropped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    write(path, META, [imu_block(0, 20)])
    text = path.read_text()
    path.write_text(text[: len(text) - 7])  # cut inside the last row, as SIGKILL mid-write would
    log = read_log(path)
    assert len(log.samples) == 19


def test_a_gap_line_cut_off_at_the_end_is_dropped_and_counted_once(tmp_path: Path) -> None:
    # a kill mid-write can cut a comment line too: its numbers are not to be trusted
    path = tmp_path / "rec.csv"
    write(path, META, [imu_block(0, 20)])
    path.write_text(path.read_text() + "# gap: start_s=0.5 end_s=2.2")
    log = read_log(path)
    assert log.gaps == [] and len(log.samples) == 20
    assert log.repairs == {"unterminated last line dropped": 1}


def test_newer_schema_is_refused_with_a_clear_sentence(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    write(path, META, [imu_block(0, 2)])
    path.write_text(path.read_text().replace("# bandlog_schema: 1", "# bandlog_schema: 7"))
    with pytest.raises(LogFormatError, match="schema 7, but this bandlog reads schemas up to 1; upgrade bandlog"):
        read_log(path)


def test_bad_row_is_reported_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    write(path, META, [imu_block(0, 20)])
    lines = path.read_text().splitlines()
    header_row = lines.index(",".join(LOG_COLUMNS))
    lines[header_row + 5] = lines[header_row + 5].replace(lines[header_row + 5].split(",")[2], "abc", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogFormatError, match=rf"line {header_row + 6} \(force_n='abc'\)"):
        read_log(path)


def test_header_only_log_reads_as_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    sink = CsvLogSink(path)
    sink.on_start(META)
    sink.close()
    log = read_log(path)
    assert log.meta == META and len(log.samples) == 0 and log.sets() == [] and log.n_sets == 0


def test_a_recording_closes_with_what_its_link_lost(tmp_path: Path) -> None:
    # the counts were shown at the end of `record` and in the live view, but the log itself did not
    # say whether it was whole
    from bandlog.core.status import LinkState, LinkStatus

    path = tmp_path / "link.csv"
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta())
    sink.on_samples(imu_block(0.0, 50))
    sink.on_status(LinkStatus(LinkState.STREAMING, dropped_packets=1))
    sink.on_samples(imu_block(0.5, 50))
    sink.on_status(LinkStatus(LinkState.ENDED, dropped_packets=3, corrupted_packets=1, reconnects=2))
    sink.close()
    last = path.read_text().splitlines()[-1]
    assert last == ("# link: dropped=3 losses=counted damaged=1 skipped=0 reconnects=2 "
                    "summary=3 notifications lost, 1 damaged, 2 reconnects")
    log = read_log(path)
    assert len(log.samples) == 100 and not log.repairs
