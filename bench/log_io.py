"""Log write/read speed and read memory against plain pandas, one command:

    python bench/log_io.py [--minutes 10] [--rate 100] [--repeats 5]
    python bench/log_io.py --minutes 60 --rate 200     # issue 13's file: 1 h of 200 Hz force+IMU

Writes a force+IMU recording through CsvLogSink in BLE-sized blocks (5 samples), then reads it with
bandlog.read_log; the baselines are DataFrame.to_csv (float_format=repr-free default) and
pd.read_csv(comment="#") on the same data, measured in the same run. Reads are interleaved pairs
(--repeats of them, the order alternating), each side's median and min are printed with the ratio of
the medians, in wall and in CPU time (the CPU ratio is steadier on a machine others load), and the
minor page faults of a read (fresh memory mapped for big buffers cost read_log half as much again as
its parsing until it parsed in pieces). A live stream needs the writer at >= 1x real time; this shows
the margin.

Memory: each reader once more in a fresh child process, its peak RSS growth during the call (the
high-water mark after the call, reset before it, less the RSS before it) beside the file size. Issue 13's target is
read_log <= 1.5x pd.read_csv with peak memory well under 3x the file.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from bandlog.core.meta import RecordingMeta
from bandlog.core.samples import SampleBlock
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.io.schema import LOG_COLUMNS

READERS: dict[str, Callable[[Path], object]] = {
    "read_log": read_log,
    "read_csv": lambda path: pd.read_csv(path, comment="#"),
}


def recording(n: int, rate_hz: float) -> SampleBlock:
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate_hz
    return SampleBlock(t_s=t, force_n=rng.normal(40, 10, n), acc_ms2=rng.normal(0, 3, (n, 3)),
                       gyro_dps=rng.normal(0, 30, (n, 3)), t_host_s=t + 1000 + rng.uniform(0, 0.03, n))


def timed(read: Callable[[Path], object], path: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, minor page faults) of one read: fresh pages mapped for big buffers on every
    chunk once cost read_log half as much again as its parsing, all of it in the faults."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    wall, cpu = time.perf_counter(), time.process_time()
    read(path)
    return time.perf_counter() - wall, time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def peak_growth_b(reader: str, path: Path) -> int:
    """Peak RSS growth of one `reader` call, in bytes, measured in a fresh child process."""
    done = subprocess.run([sys.executable, __file__, "--peak-of", reader, str(path)], capture_output=True, text=True, check=True)
    return int(json.loads(done.stdout)["peak_growth_b"])


def child_peak(reader: str, path: Path) -> None:
    """Print the peak RSS growth of one read: the high-water mark is reset first where Linux allows it
    (so the imports' own peak does not hide a smaller read), else the growth of ru_maxrss."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before_b, peak = _status_kb("VmRSS") * 1024, lambda: _status_kb("VmHWM") * 1024
    except OSError:
        before_b, peak = _maxrss_b(), _maxrss_b
    READERS[reader](path)
    print(json.dumps({"peak_growth_b": peak() - before_b}))


def _status_kb(key: str) -> int:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(key + ":"):
            return int(row.split()[1])
    raise OSError(f"no {key} in /proc/self/status")


def _maxrss_b() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def line(name: str, values: list[float], reference: list[float]) -> str:
    med, ref = statistics.median(values), statistics.median(reference)
    return f"{name:9s} median {med:6.3f} s  min {min(values):6.3f} s  ratio of medians {med / ref:5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0, help="sample rate in Hz")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved read pairs")
    parser.add_argument("--peak-of", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_of:
        child_peak(args.peak_of[0], Path(args.peak_of[1]))
        return
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
        del frame, block

        assert len(read_log(path).samples) == n
        wall: dict[str, list[float]] = {name: [] for name in READERS}
        cpu: dict[str, list[float]] = {name: [] for name in READERS}
        faults: dict[str, list[int]] = {name: [] for name in READERS}
        for repeat in range(args.repeats):
            for name in (READERS if repeat % 2 == 0 else reversed(READERS)):
                w, c, f = timed(READERS[name], path)
                wall[name].append(w)
                cpu[name].append(c)
                faults[name].append(f)
        size_b = path.stat().st_size
        peaks = {name: peak_growth_b(name, path) for name in READERS}

        recording_s = n / args.rate
        print(f"{n} samples ({args.minutes:g} min at {args.rate:g} Hz), file {size_b / 1e6:.1f} MB")
        print(f"write  CsvLogSink (5-sample blocks) {write_s:7.3f} s  {n / write_s:10.0f} samples/s  "
              f"{recording_s / write_s:7.0f}x real time  ratio to DataFrame.to_csv {write_s / base_write_s:5.2f}")
        print(f"read   {args.repeats} interleaved pairs; reference pd.read_csv(comment='#') on the same file")
        for label, table in (("wall", wall), ("CPU", cpu)):
            print(f"  {label}: {line('read_log', table['read_log'], table['read_csv'])}   "
                  f"(pd.read_csv median {statistics.median(table['read_csv']):.3f} s)")
        print(f"  read_log {n / statistics.median(wall['read_log']):10.0f} samples/s; minor page faults per read (median): "
              f"read_log {statistics.median(faults['read_log']):.0f}, pd.read_csv {statistics.median(faults['read_csv']):.0f}")
        print(f"memory peak RSS growth of one read in a fresh process, file {size_b / 1e6:.1f} MB: "
              f"read_log {peaks['read_log'] / 1e6:.0f} MB ({peaks['read_log'] / size_b:.2f}x the file), "
              f"pd.read_csv {peaks['read_csv'] / 1e6:.0f} MB ({peaks['read_csv'] / size_b:.2f}x)")


if __name__ == "__main__":
    main()
