"""Log-mutation fuzzing (a fixed, small subset of bench/log_fuzz.py with the same code).

Mutated bandlog logs and Tindeq, Vernier and generic exports: `read_log` + `analyze` raise nothing
but BandlogError, each run takes under 5 s, the reader's peak memory stays under 3x the file (plus a
fixed allowance for one chunk), and one blanked or non-finite channel cell costs no rep. The full
run is `python bench/log_fuzz.py --mutations 5000`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_loader import load_bench
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("bandlog.detect.analysis", reason="the Analyzer is written by another helper")

fuzz = load_bench("log_fuzz")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return fuzz.write_seeds(tmp_path_factory.mktemp("log_fuzz_seeds"))


@pytest.fixture(scope="module")
def baseline(seeds: dict[str, Path]) -> dict[str, int | None]:
    return {fmt: fuzz.run_one(path).reps for fmt, path in seeds.items()}


def check(outcome: object, label: str) -> None:
    assert outcome.foreign is None, f"{label}: {outcome.foreign}"  # type: ignore[attr-defined]
    assert outcome.seconds < fuzz.MAX_SECONDS, f"{label}: took {outcome.seconds:.1f} s"  # type: ignore[attr-defined]
    assert outcome.memory_ok, f"{label}: reader peak {outcome.read_peak_b} B for {outcome.size_b} B"  # type: ignore[attr-defined]


def test_seeds_are_clean_and_have_reps(baseline: dict[str, int | None]) -> None:
    assert all(reps is not None and reps >= 1 for reps in baseline.values()), baseline


@pytest.mark.parametrize("name", sorted(fuzz.MUTATIONS))
def test_every_mutation_of_the_bandlog_log_keeps_the_promises(seeds: dict[str, Path], tmp_path: Path, name: str) -> None:
    path = tmp_path / "mutated.csv"
    path.write_bytes(fuzz.mutate(seeds["bandlog"].read_bytes(), [(name, 1234)]))
    check(fuzz.run_one(path), name)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(fuzz.FORMATS),
    ops=st.lists(st.tuples(st.sampled_from(sorted(fuzz.MUTATIONS)), st.integers(0, 2**32 - 1)), min_size=1, max_size=3),
)
def test_mutated_logs_of_every_format_keep_the_promises(
    seeds: dict[str, Path], tmp_path: Path, fmt: str, ops: list[tuple[str, int]]
) -> None:
    path = tmp_path / f"mutated_{fmt}.csv"
    path.write_bytes(fuzz.mutate(seeds[fmt].read_bytes(), ops))
    check(fuzz.run_one(path), f"{fmt} {ops}")


# Depends on the detector filling a missing value (SetSummary.samples_filled, issue 11 item 1): with
# a detector that lets one NaN through, a blanked force or gyro cell changes the rep count.
@pytest.mark.parametrize("fmt", fuzz.FORMATS)
@pytest.mark.parametrize("name", fuzz.CELL_MUTATIONS)
def test_one_missing_channel_value_costs_no_rep(
    seeds: dict[str, Path], baseline: dict[str, int | None], tmp_path: Path, fmt: str, name: str
) -> None:
    for seed in (5,):
        path = tmp_path / f"cell_{fmt}.csv"
        path.write_bytes(fuzz.mutate(seeds[fmt].read_bytes(), [(name, seed)]))
        outcome = fuzz.run_one(path)
        check(outcome, f"{fmt} {name} {seed}")
        assert outcome.reps == baseline[fmt], f"{fmt} {name} {seed}: {outcome.error}"


def test_fixed_seed_run_counts_what_it_did() -> None:
    tally = fuzz.fuzz(10, seed=3)
    assert tally.runs == 10 and tally.rep_runs == 2
    assert tally.foreign == 0 and tally.slow == 0 and tally.over_memory == 0 and tally.rep_violations == 0, tally.examples
