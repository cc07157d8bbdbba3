"""Log write/read speed against plain pandas, one command:

    python bench/log_io.py [--minutes 10] [--rate 100]

Writes a force+IMU recording through CsvLogSink in BLE-sized blocks (5 samples), then reads it with
bandlog.read_log; the baselines are DataFrame.to_csv (float_format=repr-free default) and
pd.read_csv(comment="#") on the same data, measured in the same run. Prints seconds, samples/s and
the ratio to the baseline. A live stream needs the writer at >= 1x real time; this shows the margin.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.meta import RecordingMeta
from bandlog.samples import SampleBlock
from bandlog.schema import LOG_COLUMNS


def recording(n: int, rate_hz: float) -> SampleBlock:
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate_hz
    return SampleBlock(t_s=t, force_n=rng.normal(40, 10, n), acc_ms2=rng.normal(0, 3, (n, 3)),
                       gyro_dps=rng.normal(0, 30, (n, 3)), t_host_s=t + 1000 + rng.uniform(0, 0.03, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0, help="sample rate in Hz")
    args = parser.parse_args()
    n = int(args.minutes * 60 * args.rate)
    block = recording(n, args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        path, baseline_path = Path(tmp) / "log.csv", Path(tmp) / "baseline.csv"

        started = time.perf_counter()
        sink = CsvLogSink(path)
        sink.on_start(RecordingMeta())
        for i in range(0, n, 5):
            sink.on_samples(block.slice(i, i + 5))
        sink.close()
        write_s = time.perf_counter() - started

        frame = pd.DataFrame(np.column_stack([block.t_s, block.t_host_s, block.force_n, block.acc_ms2, block.gyro_dps]),
                             columns=list(LOG_COLUMNS))
        started = time.perf_counter()
        frame.to_csv(baseline_path, index=False)
        base_write_s = time.perf_counter() - started

        started = time.perf_counter()
        log = read_log(path)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        pd.read_csv(path, comment="#")
        base_read_s = time.perf_counter() - started
        assert len(log.samples) == n

        recording_s = n / args.rate
        print(f"{n} samples ({args.minutes:g} min at {args.rate:g} Hz), file {path.stat().st_size / 1e6:.1f} MB")
        print(f"write  CsvLogSink (5-sample blocks) {write_s:7.3f} s  {n / write_s:10.0f} samples/s  "
              f"{recording_s / write_s:7.0f}x real time  ratio to DataFrame.to_csv {write_s / base_write_s:5.2f}")
        print(f"read   read_log                     {read_s:7.3f} s  {n / read_s:10.0f} samples/s  "
              f"ratio to pd.read_csv(comment='#') {read_s / base_read_s:5.2f}")


if __name__ == "__main__":
    main()
