"""How long the simulated history takes to write, and what the session index cache saves.

    python bench/index_speed.py [--weeks 4] [--per-week 3]

Writes weeks x per-week x 2 legs simulated logs into a temp dir, then times: a full index build
(every log read and analysed: the baseline), a second update with nothing changed, an update after
one log was rewritten, a rebuild after deleting the index, and the progress HTML report. Each
figure is printed with its ratio to the full build measured in the same run, so the cache's benefit
reads the same on a fast or a loaded machine. bench/index_scale.py does the same at 1,000 sessions
(the worker pool against one process, and the warm verbs against reading the index).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bandlog.progress import history, index, report


def _timed(label: str, action: Callable[[], object], baseline_s: float | None = None) -> float:
    t0 = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - t0
    ratio = f"  ({elapsed / baseline_s:6.3f} x full build)" if baseline_s else ""
    extra = ""
    if isinstance(result, index.IndexReport):
        extra = f"  analysed {len(result.analysed)}, unchanged {result.unchanged}"
    print(f"{label:<34} {elapsed:8.3f} s{ratio}{extra}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--per-week", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bandlog-bench-"))
    try:
        n = args.weeks * args.per_week * 2
        _timed(f"write history ({n} logs)", lambda: history.write_simulated_history(home, args.weeks, args.per_week))
        full = _timed("full index build (baseline)", lambda: index.update_index(home))
        _timed("update, nothing changed", lambda: index.update_index(home), full)
        logs = sorted((home / "recordings").glob("*.csv"))
        logs[0].write_bytes(logs[0].read_bytes() + b"")  # same bytes, new mtime: hashed, not analysed
        _timed("update, one log touched", lambda: index.update_index(home), full)
        text = logs[1].read_text(encoding="utf-8")
        logs[1].write_text(text.rsplit("\n", 200)[0] + "\n", encoding="utf-8")  # the last 200 samples cut
        _timed("update, one log changed", lambda: index.update_index(home), full)
        index.index_path(home).unlink()
        _timed("rebuild after deleting the index", lambda: index.update_index(home), full)
        sessions = index.load_sessions(home)
        _timed("progress HTML report", lambda: report.progress_report(sessions), full)
        print(f"per log: {full / n * 1000:.0f} ms to read + analyse")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
