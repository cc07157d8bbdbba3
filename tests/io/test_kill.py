"""A recording killed with SIGKILL loses at most the last second, and its log still reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bandlog.io.read import read_log

CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from bandlog.io.csv_log import CsvLogSink
    from bandlog.core.meta import RecordingMeta
    from bandlog.core.samples import SampleBlock

    log_path, progress_path = sys.argv[1], sys.argv[2]
    progress = os.open(progress_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    sink = CsvLogSink(log_path, flush_interval_s=0.5)
    sink.on_start(RecordingMeta(notes="kill test"))
    while True:  # 100 Hz in blocks of 5, like a BLE notification stream; runs until killed
        t_end = time.monotonic()
        t = t_end - 0.01 * np.arange(4, -1, -1)
        sink.on_samples(SampleBlock(t_s=t, force_n=np.full(5, 42.0), gyro_dps=np.zeros((5, 3))))
        os.write(progress, f"{t_end!r}\\n".encode())  # unbuffered: what the child had produced
        time.sleep(0.05)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    log_path, progress_path = tmp_path / "rec.csv", tmp_path / "progress.txt"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(log_path), str(progress_path)])
    try:
        deadline = time.monotonic() + 30
        while not (progress_path.exists() and progress_path.read_text().count("\n") >= 30):
            assert child.poll() is None, "the writer died on its own"
            assert time.monotonic() < deadline, "the writer never got going"
            time.sleep(0.1)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    produced_t = float(progress_path.read_text().split()[-1])
    log = read_log(log_path)
    assert log.meta.notes == "kill test"
    logged_t = float(log.samples["t_s"].iloc[-1])
    assert len(log.samples) >= 5
    assert produced_t - logged_t <= 1.0, f"lost {produced_t - logged_t:.2f} s of samples"


KILL_MOMENTS = (
    (1.0, False, False),  # during the scan and connection: no sample yet, nothing to lose
    (2.5, True, True),  # the leg moves from the start: the tare is still searching (it used to hold 5 s in memory)
    (7.0, True, True),  # the search gave up at 5 s: mid-set
    (1.5, False, True),  # a still start: the tare was found, the log rewritten with it
)
"""(seconds after the first sample sent (or after start), moving start, count from the first sample)."""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize(("delay_s", "moving", "after_first_sample"), KILL_MOMENTS)
def test_sigkill_of_bandlog_record_loses_at_most_a_second(
    tmp_path: Path, delay_s: float, moving: bool, after_first_sample: bool
) -> None:
    from bench_loader import load_bench

    soak = load_bench("soak")
    result = soak.kill_recording(tmp_path, delay_s, moving=moving, after_first_sample=after_first_sample)
    assert result.lost_s <= 1.0, result.line()
    if result.sent_t_s is not None and result.sent_t_s > 1.0:
        assert result.logged_t_s is not None, result.line()


@pytest.mark.skipif(not os.environ.get("BANDLOG_KILLS"), reason="set BANDLOG_KILLS=N for N kills at random moments")
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    from bench_loader import load_bench

    results = load_bench("soak").kills(int(os.environ["BANDLOG_KILLS"]), seed=7, folder=tmp_path)
    assert max(r.lost_s for r in results) <= 1.0, "\n".join(r.line() for r in results)
