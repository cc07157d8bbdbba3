"""Issue 13's performance figures, each against a reference measured in the same run.

    python bench/perf.py [--minutes 60] [--repeats 3] [--quick] [--all]

    figure                               reference
    read_log(path)                       pandas.read_csv(path, comment="#")
    analyze(path) (read+detect+metrics)  the same read_csv
    `bandlog --help`                     `python -c pass` (both subprocesses)
    `bandlog --help` at 81 columns       `python -c pass`
    `bandlog analyze --help`             `python -c pass`

The log is a simulated recording (bandlog.sim: sets of reps with rests between them, sensor noise,
BLE loss) of force and IMU at 200 Hz, --minutes long, written once through CsvLogSink and cached in
the temp folder. Each figure and its reference run in turn, the order alternating from one repeat to
the next, so a change in the machine's load (other jobs on a shared CI box) hits both alike. The
table gives the median and the min of each side, and their ratios: seconds vary with the machine and
its load, the ratios are the figures to compare. --quick is the CI subset (5 minutes of log unless
--minutes says otherwise, 3 repeats; tests/perf/test_perf_bounds.py asserts bounds on its ratios). --all then runs the other
issue-13 benches that exist, each with its own defaults and its own reference (bench/index_scale.py
and bench/index_speed.py: the index, warm `sessions` and `progress`; bench/memory.py: the RSS of a
long recording).

The start-up figures run the `bandlog` script beside this interpreter, as a user would, without COLUMNS
(80 columns, as in a pipe: the top-level help comes from bandlog/cli/_top_help.py) and with COLUMNS=81 (a
width not stored: argparse builds the help). They depend on how bandlog is installed, which the run
prints: a plain `pip install .` (README, CI) is the install to quote; an editable one (`pip install -e`)
slows `python -c pass` too, with its import hook, and so shows smaller ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 200.0
SEED = 13
MINUTES_PER_SET = 5.0
"""One set of REPS_PER_SET reps every 5 minutes of log (at least two sets), resting between sets."""
REPS_PER_SET = 10
GENERATOR_VERSION = 2
"""Part of the cached log's name: bump when generated_log() makes a different file."""
FULL_MINUTES = 60.0
"""The issue's log: 1 h of force+IMU at 200 Hz (~700,000 rows)."""
QUICK_MINUTES = 5.0
QUICK_REPEATS = 3
STARTUP_REPEATS_PER_REPEAT = 5
"""Start-up pairs are cheap (~0.1 s) and noisier than the log pairs: this many per --repeats."""
OTHER_BENCHES = ("index_scale", "index_speed", "memory")


@dataclass(frozen=True)
class Pair:
    """One figure and its reference, timed in turn `len(subject_s)` times."""

    figure: str
    reference: str
    subject_s: tuple[float, ...]
    reference_s: tuple[float, ...]

    @property
    def ratio_median(self) -> float:
        return statistics.median(self.subject_s) / statistics.median(self.reference_s)

    @property
    def ratio_min(self) -> float:
        """The ratio of the fastest runs: the least disturbed by other jobs, the one CI bounds."""
        return min(self.subject_s) / min(self.reference_s)


def time_pair(
    figure: str, subject: Callable[[], object], reference: str, run_reference: Callable[[], object], repeats: int
) -> Pair:
    """`subject` and `run_reference` timed `repeats` times each, in turn, alternating which goes first."""
    subject_s: list[float] = []
    reference_s: list[float] = []
    for i in range(repeats):
        order = ((subject, subject_s), (run_reference, reference_s))
        for action, times in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
    return Pair(figure, reference, tuple(subject_s), tuple(reference_s))


def generated_log(minutes: float, folder: Path | None = None) -> Path:
    """A simulated force+IMU log of about `minutes` at RATE_HZ, made once and cached in `folder`
    (default: bandlog-perf in the temp folder); written under a temporary name, then renamed, so an
    interrupted run never leaves a half file to be reused."""
    folder = folder or Path(tempfile.gettempdir()) / "bandlog-perf"
    path = folder / f"sim-force-imu-{minutes:g}min-{RATE_HZ:g}hz-seed{SEED}-v{GENERATOR_VERSION}.csv"
    if path.exists():
        return path
    from bandlog.core.meta import RecordingMeta
    from bandlog.core.samples import StreamInfo
    from bandlog.io.csv_log import write_recording
    from bandlog.sim import random_spec, simulate_session

    n_sets = max(2, round(minutes / MINUTES_PER_SET))
    probe = simulate_session(random_spec(SEED, n_sets=n_sets, reps_per_set=REPS_PER_SET, rest_between_sets_s=60.0))
    active_s = probe.duration_s - (n_sets - 1) * 60.0
    rest_s = max(60.0, (minutes * 60.0 - active_s) / (n_sets - 1))
    spec = random_spec(SEED, n_sets=n_sets, reps_per_set=REPS_PER_SET, rest_between_sets_s=rest_s)
    block = simulate_session(spec).record(rate_hz=RATE_HZ, channels="force+imu")
    meta = RecordingMeta(
        target_ecc_s=spec.target_ecc_s, notes=f"bench/perf.py: simulated, seed {SEED}",
        stream=StreamInfo(profile="sim", model="bandlog motion model", sample_rate_hz=RATE_HZ, channels=block.channel_names()),
    )
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    write_recording(partial, meta, block)
    os.replace(partial, path)
    return path


@dataclass(frozen=True)
class Run:
    """One run of this bench: the log, what analyze found in it, and the figures."""

    path: Path
    rows: int
    reps: int
    pairs: tuple[Pair, ...]


def log_pairs(path: Path, repeats: int) -> tuple[list[Pair], tuple[int, int]]:
    """read_log and analyze of `path`, each against pandas.read_csv(comment="#") of it; and the
    log's rows and reps (from the last analyze: the log is seen to hold reps)."""
    import pandas as pd

    import bandlog.detect.analysis  # noqa: F401  (the detector's own imports are not what is timed)
    from bandlog.app.api import AnalysisResult, analyze, read_log

    def read_csv() -> object:
        return pd.read_csv(path, comment="#")

    last: list[AnalysisResult] = []

    def analyze_it() -> None:
        last[:] = [analyze(path)]

    read_csv(), read_log(path)  # warm the file cache and pandas' first-call costs on both sides
    pairs = [
        time_pair("read_log", lambda: read_log(path), 'pandas.read_csv(comment="#")', read_csv, repeats),
        time_pair("analyze (read + detect + metrics)", analyze_it, 'pandas.read_csv(comment="#")', read_csv, repeats),
    ]
    result = last[0]
    return pairs, (len(result.log.samples), len(result.reps))


def bandlog_command() -> list[str]:
    """The installed `bandlog` script beside this interpreter (what a user types), else `python -m bandlog`."""
    script = Path(sys.executable).with_name("bandlog.exe" if os.name == "nt" else "bandlog")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bandlog"]


def install_kind() -> str:
    """'plain' or 'editable': how bandlog is installed in this interpreter's site-packages (see the
    module's docstring), from pip's direct_url.json (not a bandlog.egg-info in the current folder)."""
    import json
    import sysconfig
    from importlib.metadata import Distribution

    found = list(Distribution.discover(name="bandlog", path=[sysconfig.get_paths()["purelib"]]))
    if not found:
        return "not installed (python -m bandlog from the source tree)"
    direct_url = json.loads(found[0].read_text("direct_url.json") or "{}")
    return "editable" if direct_url.get("dir_info", {}).get("editable") else "plain"


def startup_pairs(repeats: int, cache: Path | None = None) -> list[Pair]:
    """`bandlog --help` (at 80 and 81 columns) and `bandlog analyze --help` against `python -c pass`,
    all subprocesses.

    Both sides run with their bytecode cached, as after `pip install` (which compiles it), even where
    PYTHONDONTWRITEBYTECODE is set: the .pyc files go to `cache` (PYTHONPYCACHEPREFIX; default:
    bandlog-perf/pycache in the temp folder), not into the source tree, and a first untimed run
    writes them.
    """
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE", "COLUMNS")}
    env["PYTHONPYCACHEPREFIX"] = str(cache or Path(tempfile.gettempdir()) / "bandlog-perf" / "pycache")

    def command(argv: Sequence[str], columns: str | None = None) -> Callable[[], object]:
        run_env = env if columns is None else {**env, "COLUMNS": columns}
        return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=run_env)

    python_pass = command([sys.executable, "-c", "pass"])
    for warm_up in (python_pass, command([*bandlog_command(), "analyze", "--help"])):
        warm_up()  # bytecode written, files in the OS cache
    return [
        time_pair("bandlog --help", command([*bandlog_command(), "--help"]), "python -c pass", python_pass, repeats),
        time_pair("bandlog --help at 81 columns", command([*bandlog_command(), "--help"], columns="81"), "python -c pass",
                  python_pass, repeats),
        time_pair("bandlog analyze --help", command([*bandlog_command(), "analyze", "--help"]), "python -c pass", python_pass, repeats),
    ]


def table(pairs: Sequence[Pair]) -> str:
    """The figures as a fixed-width table: seconds (median, min) of each side, then the two ratios."""
    header = f"{'figure':<34} {'median s':>9} {'min s':>8}  {'reference':<28} {'median s':>9} {'min s':>8}  {'ratio median':>12} {'ratio min':>9}"
    lines = [header, "-" * len(header)]
    for p in pairs:
        lines.append(
            f"{p.figure:<34} {statistics.median(p.subject_s):9.3f} {min(p.subject_s):8.3f}  {p.reference:<28} "
            f"{statistics.median(p.reference_s):9.3f} {min(p.reference_s):8.3f}  {p.ratio_median:11.2f}x {p.ratio_min:8.2f}x"
        )
    return "\n".join(lines)


def measure(minutes: float, repeats: int) -> Run:
    """Every figure of this bench for a `minutes` log, `repeats` pairs each (start-up: more)."""
    path = generated_log(minutes)
    pairs, (rows, reps) = log_pairs(path, repeats)
    return Run(path, rows, reps, (*pairs, *startup_pairs(repeats * STARTUP_REPEATS_PER_REPEAT)))


def run_other_bench(name: str) -> int | None:
    """bench/<name>.py with its default options, in a process of its own (memory.py measures the RSS,
    which this one's logs would inflate); its exit status, or None when the file does not exist."""
    path = Path(__file__).with_name(f"{name}.py")
    if not path.exists():
        return None
    return subprocess.run([sys.executable, str(path)]).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, help=f"length of the generated log (default: {FULL_MINUTES:g}, --quick {QUICK_MINUTES:g})")
    parser.add_argument("--repeats", type=int, default=QUICK_REPEATS, help="pairs per log figure (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"the CI subset: a {QUICK_MINUTES:g}-minute log")
    parser.add_argument("--all", action="store_true", help=f"then run bench/{{{','.join(OTHER_BENCHES)}}}.py if present")
    args = parser.parse_args(argv)
    minutes = args.minutes if args.minutes is not None else QUICK_MINUTES if args.quick else FULL_MINUTES
    repeats = args.repeats
    if not (minutes > 0 and repeats >= 1):
        parser.error("--minutes must be positive and --repeats at least 1")
    started = time.perf_counter()
    run = measure(minutes, repeats)
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"log: {run.path} ({run.path.stat().st_size / 1e6:.1f} MB, {run.rows} rows, {minutes:g} min at {RATE_HZ:g} Hz, "
          f"{run.reps} reps found)")
    print(f"{repeats} pairs per log figure, {repeats * STARTUP_REPEATS_PER_REPEAT} per start-up figure, each pair in turn; "
          f"{os.cpu_count()} CPUs{load}; bandlog's install: {install_kind()}")
    print(table(run.pairs))
    print(f"({time.perf_counter() - started:.0f} s)")
    status = 0
    if args.all:
        for name in OTHER_BENCHES:
            print(f"\n== bench/{name}.py")
            code = run_other_bench(name)
            if code is None:
                print("(not present)")
            status = status or code or 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())
