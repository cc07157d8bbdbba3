"""Regressions in issue 13's figures show in CI: bench/perf.py's quick subset (5 minutes of log,
3 pairs per figure, ~10-20 s), with generous bounds on the ratios to a reference timed alongside.

Ratios, never seconds: a loaded 2-core CI box slows both sides of a pair alike. Each bound is on the
ratio of the fastest runs (Pair.ratio_min); a figure over its bound is measured again, up to
ATTEMPTS times in all, and its best ratio kept, so one burst of load elsewhere does not fail CI.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from bench_loader import load_bench

perf = load_bench("perf")
pytestmark = pytest.mark.slow  # ~10-20 s in all: a 5-minute log read and analysed 3 times, 45 start-ups each side

ATTEMPTS = 3

READ_LOG_BOUND = 2.0
"""read_log vs pandas.read_csv: 1.1-1.3x on the quick log (1.1-1.25x on the 1 h file, the target 1.5x);
the reader before issue 13 gave 3.4-4.7x here."""
ANALYZE_BOUND = 9.0
"""analyze (read + detect + metrics) vs pandas.read_csv: 4.7-5x on the quick log (4.2-4.4x on the 1 h
file; the target is 5x there, the goal 1.5x); the per-sample detector before issue 13 gave 90-100x."""
HELP_BOUND = 2.7
"""`bandlog --help` vs `python -c pass` (no COLUMNS, not a terminal: 80 columns, the stored help):
1.8x in a plain `pip install .` (pip's console script alone, with its `import re`, is 1.55-1.6x),
1.1x in an editable install (whose import hook slows `python -c pass` too); 3.0-3.2x plain before the
stored help, without pathlib and shutil (2.4x), 3.7x editable before issue 13."""
ARGPARSE_HELP_BOUND = 3.7
"""`bandlog --help` at 81 columns (not stored: argparse builds it) vs `python -c pass`: 2.4-2.5x plain,
1.4x editable; 3.0-3.2x plain while the verb modules imported pathlib and argparse imported shutil."""
VERB_HELP_BOUND = 7.0
"""`bandlog analyze --help` vs `python -c pass`: 4.9x in a plain install, 2.4x editable (it builds
analyze's options: the detector's parameters with their defaults, the flags legend)."""


@pytest.fixture(scope="module")
def first_run() -> perf.Run:
    return perf.measure(perf.QUICK_MINUTES, perf.QUICK_REPEATS)


def best_ratio(figure: str, first: perf.Run, again: Callable[[], list[perf.Pair]], bound: float) -> float:
    """`figure`'s ratio_min in `first`, measured again (with `again`) while it is over `bound`."""
    ratio = next(p.ratio_min for p in first.pairs if p.figure == figure)
    for _ in range(ATTEMPTS - 1):
        if ratio <= bound:
            break
        ratio = min(ratio, next(p.ratio_min for p in again() if p.figure == figure))
    return ratio


def _log_pairs(run: perf.Run) -> list[perf.Pair]:
    return perf.log_pairs(run.path, perf.QUICK_REPEATS)[0]


def _startup_pairs() -> list[perf.Pair]:
    return perf.startup_pairs(perf.QUICK_REPEATS * perf.STARTUP_REPEATS_PER_REPEAT)


@pytest.mark.parametrize(
    ("figure", "bound", "log_figure"),
    [
        ("read_log", READ_LOG_BOUND, True),
        ("analyze (read + detect + metrics)", ANALYZE_BOUND, True),
        ("bandlog --help", HELP_BOUND, False),
        ("bandlog --help at 81 columns", ARGPARSE_HELP_BOUND, False),
        ("bandlog analyze --help", VERB_HELP_BOUND, False),
    ],
)
def test_quick_figure_within_its_bound(first_run: perf.Run, figure: str, bound: float, log_figure: bool) -> None:
    again = (lambda: _log_pairs(first_run)) if log_figure else _startup_pairs
    ratio = best_ratio(figure, first_run, again, bound)
    assert ratio <= bound, f"{figure}: {ratio:.2f}x its reference, over the bound of {bound:g}x (bench/perf.py --quick shows all figures)"


def test_the_quick_log_holds_reps(first_run: perf.Run) -> None:
    """The timed analysis has work to do: the simulated log is 5 minutes of sets with reps in them."""
    assert first_run.rows > 0.9 * perf.QUICK_MINUTES * 60 * perf.RATE_HZ
    assert first_run.reps >= 10
