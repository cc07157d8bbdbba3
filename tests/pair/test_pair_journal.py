"""A paired recording killed before its clocks align keeps each device's samples (bandlog.io.pair_journal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Tare
from bandlog.core.samples import SampleBlock
from bandlog.detect.analysis import Analyzer
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.pair_journal import PART_KEY, PairJournal, journal_path
from bandlog.io.read import read_log


def _imu_block(t0_s: float, n: int = 10) -> SampleBlock:
    t = t0_s + 0.01 * np.arange(n)
    return SampleBlock(t_s=t, acc_ms2=np.tile([0.0, 0.0, 9.81], (n, 1)), gyro_dps=np.zeros((n, 3)))


def _force_block(t0_s: float, n: int = 8, force_n: float = 20.0) -> SampleBlock:
    return SampleBlock(t_s=t0_s + 0.0125 * np.arange(n), force_n=np.full(n, force_n))


def test_each_device_is_kept_alone_until_the_merged_log_covers_it(tmp_path: Path) -> None:
    main_path = tmp_path / "rec.csv"
    main = CsvLogSink(main_path, flush_interval_s=0.0)
    journal = PairJournal(main_path, main, flush_interval_s=0.0)
    journal.write("force", RecordingMeta(notes="curls"))
    journal.write("force", Tare(decided=False))
    journal.write("force", _force_block(0.0, force_n=25.0))
    journal.write("force", Tare(offset_n=5.0))
    journal.write("imu", RecordingMeta())
    journal.write("imu", _imu_block(0.0))
    journal.write("imu", _imu_block(0.1))
    journal.write("force", _force_block(0.1))
    force = read_log(journal_path(main_path, "force"))
    imu = read_log(journal_path(main_path, "imu"))
    assert force.meta.extra[PART_KEY] == "force" and "curls" in force.meta.notes and "rec.csv" in force.meta.notes
    assert len(force.samples) == 16 and np.allclose(force.samples["force_n"].iloc[:8], 20.0)  # tared like a single log
    assert len(imu.samples) == 20 and imu.meta.extra[PART_KEY] == "imu"

    merged = RecordingMeta()  # the clocks are aligned: the merged log starts
    main.on_start(merged)
    journal.on_start(merged)
    journal.write("imu", _imu_block(0.2))  # no longer kept apart
    first = _imu_block(0.0, n=15)  # merged samples up to 0.14 s: not yet the last kept IMU time (0.19 s)
    main.on_samples(first)
    journal.on_samples(first)
    assert journal_path(main_path, "imu").exists() and len(read_log(journal_path(main_path, "imu")).samples) == 20
    rest = _imu_block(0.15, n=10)
    main.on_samples(rest)
    journal.on_samples(rest)
    assert not journal_path(main_path, "imu").exists() and not journal_path(main_path, "force").exists()


def test_a_clean_end_deletes_the_parts_even_if_the_log_never_reached_their_last_time(tmp_path: Path) -> None:
    main_path = tmp_path / "rec.csv"
    main = CsvLogSink(main_path)
    journal = PairJournal(main_path, main)
    journal.write("imu", RecordingMeta())
    journal.write("imu", _imu_block(0.0, n=50))
    main.on_start(RecordingMeta())
    journal.on_start(RecordingMeta())
    main.on_samples(_imu_block(0.0, n=30))  # the last samples had no force: a gap in the merged log
    journal.on_samples(_imu_block(0.0, n=30))
    assert journal_path(main_path, "imu").exists()
    summary = Analyzer().summary()
    main.on_end(summary, ())
    journal.on_end(summary, ())
    assert not journal_path(main_path, "imu").exists()


KILLED_CHILD = textwrap.dedent(
    """
    import sys
    import bandlog.sim
    from bandlog.core.motion import PeriodicMotion
    bandlog.sim.simulate_session = lambda spec: PeriodicMotion(duration_s=600.0, period_s=1e6)  # no reps: no alignment
    from bandlog.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_paired_recording_killed_before_its_clocks_align_keeps_both_devices_samples(tmp_path: Path) -> None:
    out = tmp_path / "pair.csv"
    argv = ["record", "--device", "progressor", "--imu", "witmotion", "--emulate", "--view", "none", "--speed", "4",
            "--out", str(out)]
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    imu_part = journal_path(out, "imu")
    try:
        deadline = time.monotonic() + 60
        while not (imu_part.exists() and imu_part.stat().st_size > 40_000):  # several emulated seconds
            assert child.poll() is None, child.stderr.read().decode()[-2000:] if child.stderr else ""
            assert time.monotonic() < deadline, "the IMU part never grew"
            time.sleep(0.1)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert not out.exists() or len(read_log(out).samples) == 0, "no reps were done: the clocks cannot have aligned"
    imu = read_log(imu_part)
    force = read_log(journal_path(out, "force"))
    assert len(imu.samples) > 400 and np.isfinite(imu.samples["gyro_x_dps"]).all()
    assert len(force.samples) > 100 and np.isfinite(force.samples["force_n"]).all()
    assert force.meta.stream is not None and force.meta.stream.profile == "progressor"
