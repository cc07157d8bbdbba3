"""The session index at scale: a cold index built by the worker pool against one process, and the warm
`sessions` / `progress --out r.html` verbs against a script that only stats the logs, reads the index and
prints (the least any warm listing can do), each pair measured in the same run.

    python bench/index_scale.py [--sessions 1000] [--long] [--repeat 5] [--cold-sample 60] [--cold-full]

The logs are simulated once (bandlog.progress.history, on every core) into /tmp/h3_sessions/<variant>/ and reused
by later runs; `--long` writes ~90 s sessions at 100 Hz instead of the demo's ~65 s at 50 Hz. Cold
figures: `--cold-sample` logs indexed alternately by one process and by the pool (each from an empty
index), which gives the per-log cost and the pool's speed-up; `--cold-full` then times the whole folder
once with the pool (the issue's "cold index of 1,000 sessions" figure). Warm figures run the real CLI
in subprocesses with stdout piped (plain output), interleaved with the reference, median and min.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from bandlog.progress import history, index

CACHE_ROOT = Path("/tmp/h3_sessions")
WEEKS_PER_CHUNK = 5
PER_WEEK = 5
"""Sessions are generated in chunks of 5 weeks x 5 days x 2 legs = 50 logs, one chunk per task."""

REFERENCE = r"""
import os, sqlite3, sys
home = sys.argv[1]
for folder, _dirs, files in os.walk(os.path.join(home, "recordings")):
    for name in files:
        os.stat(os.path.join(folder, name))
conn = sqlite3.connect(os.path.join(home, "index.sqlite"))
out = sys.stdout
for row in conn.execute("SELECT * FROM sessions ORDER BY start_utc, path"):
    out.write(",".join("" if v is None else str(v) for v in row) + "\n")
"""
"""The reference: stat every log, read every session row of the index, print it (what a warm verb cannot avoid)."""


def _variant(args: argparse.Namespace) -> tuple[str, float, int]:
    return (f"{args.sessions}-90s-100hz", 100.0, 12) if args.long else (f"{args.sessions}-65s-50hz", history.RATE_HZ, 8)


def _write_chunk(home: str, chunk: int, rate_hz: float, reps_per_set: int) -> int:
    first = date(2020, 1, 6) + timedelta(weeks=WEEKS_PER_CHUNK * chunk)  # a Monday; chunks never overlap
    paths = history.write_simulated_history(Path(home), WEEKS_PER_CHUNK, PER_WEEK, seed=chunk, first_day=first,
                                            rate_hz=rate_hz, reps_per_set=reps_per_set)
    return len(paths)


def ensure_sessions(args: argparse.Namespace) -> Path:
    """The cached folder of simulated logs for these options, written (on every core) if missing."""
    name, rate_hz, reps = _variant(args)
    home = CACHE_ROOT / name
    done = home / "complete"
    if done.exists():
        return home
    per_chunk = WEEKS_PER_CHUNK * PER_WEEK * len(history.LEGS)
    chunks = -(-args.sessions // per_chunk)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        written = sum(pool.map(_write_chunk, [str(home)] * chunks, range(chunks), [rate_hz] * chunks, [reps] * chunks))
    done.write_text(f"{written}\n")
    print(f"simulated {written} logs into {home} in {time.perf_counter() - t0:.0f} s", flush=True)
    return home


def _run(argv: list[str], stdout: int | None = subprocess.DEVNULL) -> float:
    """Seconds one command takes, as a user waits for it (a new interpreter, stdout piped)."""
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=stdout, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _figures(label: str, times: list[float], reference: list[float] | None = None) -> None:
    line = f"{label:<46} median {statistics.median(times):7.3f} s  min {min(times):7.3f} s"
    if reference:
        line += f"   x{statistics.median(times) / statistics.median(reference):5.2f} of the reference (median), x{min(times) / min(reference):5.2f} (min)"
    print(line, flush=True)


def _cold_sample(home: Path, n: int, repeat: int) -> None:
    """Index the same `n` logs from an empty index by one process and by the pool, alternately."""
    logs = sorted((home / "recordings").glob("*.csv"))[:: max(1, len(list((home / "recordings").glob("*.csv"))) // n)][:n]
    sample = Path(tempfile.mkdtemp(prefix="h3-cold-"))
    try:
        (sample / "recordings").mkdir()
        for path in logs:
            os.symlink(path, sample / "recordings" / path.name)
        one: list[float] = []
        pool: list[float] = []
        workers = index.default_workers()
        for _ in range(repeat):
            for times, count in ((one, 1), (pool, workers)):
                index.index_path(sample).unlink(missing_ok=True)
                t0 = time.perf_counter()
                report = index.update_index(sample, workers=count)
                times.append(time.perf_counter() - t0)
                assert len(report.analysed) == len(logs), report.failed[:3]
        _figures(f"cold index of {len(logs)} logs, one process", one)
        _figures(f"cold index of {len(logs)} logs, pool of {workers}", pool, one)
        print(f"  per log: one process {statistics.median(one) / len(logs) * 1000:.0f} ms, pool {statistics.median(pool) / len(logs) * 1000:.0f} ms"
              f"; pool speed-up x{statistics.median(one) / statistics.median(pool):.2f} (median), x{min(one) / min(pool):.2f} (best)", flush=True)
    finally:
        shutil.rmtree(sample, ignore_errors=True)


def _cold_full(home: Path) -> None:
    """The whole folder from an empty index with the pool, once (what `bandlog sessions` does on first use)."""
    copy = Path(tempfile.mkdtemp(prefix="h3-full-"))
    try:
        os.symlink(home / "recordings", copy / "recordings")
        t0 = time.perf_counter()
        report = index.update_index(copy, workers=None)  # as the CLI does
        elapsed = time.perf_counter() - t0
        print(f"cold index of all {len(report.analysed)} logs (pool of {index.default_workers()}): {elapsed:.1f} s"
              f" ({elapsed / max(1, len(report.analysed)) * 1000:.0f} ms a log), {len(report.failed)} failed", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _warm(home: Path, repeat: int) -> None:
    """`sessions` and `progress --out r.html` on an up-to-date index, each interleaved with the reference."""
    bandlog = [str(Path(sys.executable).with_name("bandlog")), "--data-dir", str(home)]
    reference = [sys.executable, "-c", REFERENCE, str(home)]
    out = Path(tempfile.mkdtemp(prefix="h3-warm-")) / "r.html"
    try:
        _run([*bandlog, "sessions"])  # brings the index up to date
        _run([*bandlog, "progress", "--out", str(out), "--force"])  # and draws the charts once
        ref: list[float] = []
        sessions: list[float] = []
        progress: list[float] = []
        for _ in range(repeat):
            ref.append(_run(reference))
            sessions.append(_run([*bandlog, "sessions"]))
            progress.append(_run([*bandlog, "progress", "--out", str(out), "--force"]))
        _figures("reference: stat the logs, read the index, print", ref)
        _figures("warm `bandlog sessions` (piped)", sessions, ref)
        _figures("warm `bandlog progress --out r.html` (piped)", progress, ref)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000, help="logs to simulate (rounded up to 50)")
    parser.add_argument("--long", action="store_true", help="~90 s sessions at 100 Hz (default: ~65 s at 50 Hz)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each warm command (and of each cold sample)")
    parser.add_argument("--cold-sample", type=int, default=60, help="logs in the one-process vs pool comparison (0: skip)")
    parser.add_argument("--cold-repeat", type=int, default=2, help="runs of each side of the cold comparison")
    parser.add_argument("--cold-full", action="store_true", help="also time a cold index of every log with the pool, once")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    home = ensure_sessions(args)
    if args.generate_only:
        return 0
    print(f"{home}: {len(list((home / 'recordings').glob('*.csv')))} logs; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}", flush=True)
    if args.cold_sample:
        _cold_sample(home, args.cold_sample, args.cold_repeat)
    if args.cold_full:
        _cold_full(home)
    _warm(home, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
