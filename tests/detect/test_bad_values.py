"""Bad sample values and hostile times (issue 11): one bad sample costs one sample, impossible
sample intervals are one sentence, and time that repeats or runs backwards stays linear."""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from detect_helpers import short_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bandlog.app.api import analyze
from bandlog.core.errors import BandlogError, SampleTimeError
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import MODES, RepMetrics, SetSummary
from bandlog.core.samples import ACC_CHANNELS, FORCE_CHANNEL, GYRO_CHANNELS, SampleBlock, StreamInfo
from bandlog.detect.analysis import Analyzer
from bandlog.io.csv_log import CsvLogSink

COLUMNS = (FORCE_CHANNEL, *ACC_CHANNELS, *GYRO_CHANNELS)
BAD_VALUES = (math.nan, math.inf, -math.inf)
ONE_SAMPLE_S = 0.011
"""Eccentric boundaries may move by one sample interval (100 Hz) when a value near them is filled."""


def _record(mode: str) -> SampleBlock:
    return short_session(1, reps_per_set=3).record(rate_hz=100.0, channels=mode)


@lru_cache(maxsize=8)
def _clean(mode: str) -> list[RepMetrics]:
    return _run(_record(mode))[0]


def _run(block: SampleBlock, cuts: tuple[int, ...] = ()) -> tuple[list[RepMetrics], SetSummary]:
    analyzer = Analyzer()
    edges = [0, *sorted(set(cuts)), len(block)]
    for a, b in itertools.pairwise(edges):
        analyzer.feed(block.slice(a, b))
    analyzer.finish()
    return list(analyzer.reps), analyzer.summary()


def _spoil(block: SampleBlock, column: str, rows: np.ndarray, value: float) -> SampleBlock:
    """`block` with `value` written into one channel column at `rows`."""
    channels = {"force_n": block.force_n, "acc_ms2": block.acc_ms2, "gyro_dps": block.gyro_dps}
    name, k = ("force_n", None) if column == FORCE_CHANNEL else (
        ("acc_ms2", ACC_CHANNELS.index(column)) if column in ACC_CHANNELS else ("gyro_dps", GYRO_CHANNELS.index(column))
    )
    values = channels[name]
    assert values is not None
    values = values.copy()
    if k is None:
        values[rows] = value
    else:
        values[rows, k] = value
    channels[name] = values
    return SampleBlock(t_s=block.t_s, t_host_s=block.t_host_s, **channels)


def _assert_same_reps(got: list[RepMetrics], clean: list[RepMetrics], tolerance_s: float) -> None:
    assert len(got) == len(clean) > 0
    for rep, ref in zip(got, clean):
        assert rep.flags == ref.flags
        assert rep.ecc_start_s == pytest.approx(ref.ecc_start_s, abs=tolerance_s)
        assert rep.ecc_end_s == pytest.approx(ref.ecc_end_s, abs=tolerance_s)
        for name in ("peak_force_n", "mean_ecc_force_n", "ecc_impulse_ns", "tut_tension_s"):
            value, expected = getattr(rep, name), getattr(ref, name)
            assert (value is None) == (expected is None), name
            if value is not None:
                assert math.isfinite(value) and value == pytest.approx(expected, rel=0.02, abs=0.2), name


def _assert_costs_one_sample_each(
    mode: str, block: SampleBlock, rows: np.ndarray, got: list[RepMetrics], clean: list[RepMetrics]
) -> None:
    """With IMU, the reps are the clean ones within a sample. Force alone, the eccentric's end is a
    fit that can tip between two candidate ends on a slight change (offset p95 ~0.8 s in
    bench/accuracy.py; three filled samples on seed 1 move one by 0.9 s), so there the bad values
    must cost exactly what losing those samples costs: the front end fills both the same way."""
    if mode != "force":
        _assert_same_reps(got, clean, ONE_SAMPLE_S)
        return
    lost, _ = _run(block.take(np.setdiff1d(np.arange(len(block)), rows)))
    assert len(got) == len(clean) == len(lost)
    for rep, as_lost, as_clean in zip(got, lost, clean):
        # up to rounding: fill times are computed, and near the start the rate too. A fill that rounds
        # 1e-15 s differently can tip that fit the other way (row 1751 of seed 1, found by a 500-example
        # run): then the bad value cost nothing at all, which is within "one sample" too
        try:
            _assert_same_reps([rep], [as_lost], 1e-4)
        except AssertionError:
            _assert_same_reps([rep], [as_clean], 1e-4)


def _places(mode: str) -> np.ndarray:
    """Sample indices at each true eccentric's onset, middle and end, and in the rest before it."""
    session = short_session(1, reps_per_set=3)
    block = _record(mode)
    times = [t for r in session.truth_reps for t in (r.onset_s, 0.5 * (r.onset_s + r.offset_s), r.offset_s, r.onset_s - 1.0)]
    return np.searchsorted(block.t_s, times)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("run", [1, 4])
def test_a_bad_value_in_any_channel_costs_that_value_only(mode: str, run: int) -> None:
    block = _record(mode)
    clean, clean_summary = _run(block)
    assert clean_summary.samples_filled == 0 and clean_summary.samples_dropped == 0
    places = _places(mode)
    for i, column in enumerate(c for c in COLUMNS if c in block.channel_names()):
        rows = (places[:, None] + np.arange(run)).ravel()
        reps, summary = _run(_spoil(block, column, rows, BAD_VALUES[i % 3]))
        _assert_costs_one_sample_each(mode, block, rows, reps, clean)
        assert summary.samples_filled == len(rows), column
        assert summary.samples_dropped == 0
        assert math.isfinite(summary.tut_ecc_s) and (summary.tut_tension_s is None or math.isfinite(summary.tut_tension_s))
        assert f"{len(rows)} missing or non-finite values filled" in summary.notes


@settings(max_examples=int(os.environ.get("BANDLOG_FUZZ_EXAMPLES", "15")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(MODES),
    column=st.sampled_from(COLUMNS),
    position=st.floats(min_value=0.0, max_value=1.0),
    run=st.integers(min_value=1, max_value=3),
    value=st.sampled_from((*BAD_VALUES, 1e300, -1e300)),
    cuts=st.lists(st.integers(min_value=1, max_value=2688), max_size=6),
)
def test_bad_values_anywhere_under_any_chunking(
    mode: str, column: str, position: float, run: int, value: float, cuts: list[int]
) -> None:
    """Wherever the bad values fall and however the samples arrive in blocks, each costs one sample
    (see _assert_costs_one_sample_each), every force figure is finite and the filled values counted.
    BANDLOG_FUZZ_EXAMPLES=500 runs a longer search than CI's 15."""
    block = _record(mode)
    if column not in block.channel_names():
        column = block.channel_names()[0]
    clean = _clean(mode)
    start = int(position * (len(block) - run - 2)) + 1  # a first or last sample has only one neighbour
    rows = np.arange(start, start + run)
    spoiled = _spoil(block, column, rows, value)
    reps, summary = _run(spoiled, tuple(cuts))
    _assert_costs_one_sample_each(mode, block, rows, reps, clean)
    assert (summary.samples_filled, summary.samples_dropped) == (run, 0)
    assert _run(spoiled) == (reps, summary)  # chunking changes nothing


def test_a_run_too_long_to_fill_is_a_gap_exactly_like_a_time_hole() -> None:
    block = _record("force+imu")
    rest = short_session(1, reps_per_set=3).truth_reps[1].onset_s - 1.0
    rows = np.flatnonzero((block.t_s > rest - 3.5) & (block.t_s < rest))  # 3.5 s: over max_fill_s
    reps, summary = _run(_spoil(block, "gyro_y_dps", rows, math.nan), cuts=(int(rows[0]) + 5, int(rows[-1]) + 2))
    assert summary.samples_dropped == len(rows) and summary.samples_filled == 0
    assert f"{len(rows)} samples dropped in runs of missing values too long to fill" in summary.notes
    hole, hole_summary = _run(block.take(np.setdiff1d(np.arange(len(block)), rows)))
    assert reps == hole and summary.rejected == hole_summary.rejected and len(reps) >= 1


def test_leading_and_trailing_bad_values_are_dropped_not_invented() -> None:
    block = _record("force")
    spoiled = _spoil(_spoil(block, FORCE_CHANNEL, np.arange(3), math.nan), FORCE_CHANNEL, np.arange(len(block) - 2, len(block)), math.inf)
    reps, summary = _run(spoiled)
    assert (summary.samples_filled, summary.samples_dropped) == (0, 5)
    _assert_same_reps(reps, _run(block)[0], ONE_SAMPLE_S)


def test_a_channel_that_is_never_finite_leaves_nothing_to_analyse_and_says_so() -> None:
    block = _record("imu")
    reps, summary = _run(_spoil(block, "gyro_z_dps", np.arange(len(block)), math.nan), cuts=(100, 101, 2000))
    assert reps == [] and summary.samples_dropped == len(block)
    assert f"{len(block)} samples dropped in runs of missing values too long to fill" in summary.notes


def test_non_finite_and_repeated_times_are_dropped_and_counted() -> None:
    block = _record("force+imu")
    clean, _ = _run(block)
    t = block.t_s.copy()
    t[[500, 1500]] = math.nan
    t[[900, 2100]] = t[[899, 2099]]  # duplicates
    t[1200] = t[1100]  # a step backwards
    reps, summary = _run(SampleBlock(t_s=t, force_n=block.force_n, acc_ms2=block.acc_ms2, gyro_dps=block.gyro_dps))
    assert summary.samples_dropped == 5 and summary.samples_filled == 0
    assert "5 samples dropped: their time was not a number or did not advance" in summary.notes
    _assert_same_reps(reps, clean, ONE_SAMPLE_S)


def _imu_block(t_s: np.ndarray) -> SampleBlock:
    rng = np.random.default_rng(0)
    n = len(t_s)
    return SampleBlock(
        t_s=t_s, force_n=20.0 + rng.normal(size=n), acc_ms2=rng.normal(size=(n, 3)) + np.array([0.0, 0.0, 9.8]), gyro_dps=rng.normal(size=(n, 3))
    )


@pytest.mark.parametrize(
    ("times", "interval"),
    [
        (np.where(np.arange(400) % 2 == 0, -1e308, 1e308), "inf s apart"),  # was ZeroDivisionError
        (np.arange(400) * 5e-324, "4.94e-324 s apart"),  # was ValueError: critical frequencies
        (np.arange(400) * 1e-12, "1e-12 s apart"),  # was LinAlgError: Singular matrix
        (np.arange(400) * 3.0, "3 s apart"),
    ],
)
def test_impossible_sample_intervals_are_one_sentence(times: np.ndarray, interval: str) -> None:
    analyzer = Analyzer()
    with pytest.raises(SampleTimeError) as error:
        analyzer.feed(_imu_block(times))
        analyzer.finish()
    message = str(error.value)
    assert interval in message and "outside the 0.1 ms to 2 s a sensor samples at" in message
    assert "\n" not in message


def _log(path: Path, t_s: np.ndarray) -> Path:
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=3.0, stream=StreamInfo(profile="sim", model="simulated", channels=COLUMNS)))
    sink.on_samples(_imu_block(t_s))
    sink.close()
    return path


@pytest.mark.parametrize(
    "times",
    [
        np.where(np.arange(400) % 2 == 0, -1e308, 1e308),
        np.arange(400) * 5e-324,
        np.arange(400) * 1e-12,
        5.0 + np.arange(400) * 1e-12,
    ],
)
def test_hostile_times_in_a_log_raise_only_bandlog_errors(tmp_path: Path, times: np.ndarray) -> None:
    with pytest.raises(BandlogError) as error:
        analyze(_log(tmp_path / "hostile.csv", times))
    assert "\n" not in str(error.value)


def test_equal_and_backward_times_take_linear_time(caplog: pytest.LogCaptureFixture) -> None:
    """20,000 samples at one instant, fed one at a time, then in reverse order: each sample is
    looked at once (these took quadratic time or crashed)."""
    caplog.set_level(logging.WARNING)
    n = 20_000
    start = time.perf_counter()
    block = _imu_block(np.full(n, 5.0))
    analyzer = Analyzer()
    for i in range(n):
        analyzer.feed(block.slice(i, i + 1))
    analyzer.finish()
    assert analyzer.summary().samples_dropped == n - 1
    backwards = _imu_block(np.arange(n)[::-1] * 0.01)
    analyzer = Analyzer()
    for i in range(0, n, 10):
        analyzer.feed(backwards.slice(i, i + 10))
    analyzer.finish()
    assert analyzer.summary().samples_dropped == n - 1
    assert time.perf_counter() - start < 5.0
    assert len(caplog.records) <= 2  # one warning per analysis, not one per block


def test_samples_spread_over_microseconds_fail_fast() -> None:
    """Equal times spread 20 us apart (as a reader may de-duplicate them): one sentence, at once;
    the still-window test was quadratic in the window such an interval implies."""
    start = time.perf_counter()
    with pytest.raises(SampleTimeError, match="2e-05 s apart"):
        analyzer = Analyzer()
        analyzer.feed(_imu_block(5.0 + np.arange(20_000) * 2e-5))
    assert time.perf_counter() - start < 5.0


def test_a_force_cycle_cut_after_nine_samples_is_used_unsmoothed() -> None:
    """A cycle of 9 samples (a rise the recording cut at once; found by fuzzing hostile logs) raised
    scipy's ValueError from the zero-phase smoother, which pads 9 samples each side."""
    from bandlog.detect.force_cycle import SMOOTH_PAD
    from bandlog.detect.force_machine import ForceMachine
    from bandlog.detect.params import DetectorParams

    machine = ForceMachine(DetectorParams(), 0.01, 0.0, 0.0)
    machine.raw = [10.0 + i for i in range(SMOOTH_PAD)]
    assert machine._smooth().tolist() == machine.raw
    machine.raw.append(19.0)
    assert len(machine._smooth()) == SMOOTH_PAD + 1


def test_times_far_sparser_than_the_learned_interval_are_gaps_not_millions_of_filled_samples() -> None:
    """A burst of nine samples 0.1 ms apart, then samples 2.9 s apart (each hole under max_fill_s):
    filling every hole would invent 29,000 samples per measured one (minutes of filtering)."""
    t = np.concatenate([np.arange(9) * 1e-4, 1e-3 + np.arange(1, 301) * 2.9])
    block = _imu_block(t)
    start = time.perf_counter()
    analyzer = Analyzer()
    for i in range(len(block)):
        analyzer.feed(block.slice(i, i + 1))
    analyzer.finish()
    assert time.perf_counter() - start < 5.0
    assert "holes in the sample times left as gaps" in analyzer.summary().notes


@settings(max_examples=60, deadline=None)
@given(
    bad=st.lists(st.tuples(st.integers(0, 199), st.integers(0, 3), st.integers(1, 40)), max_size=8),
    cuts=st.lists(st.integers(1, 199), max_size=12),
)
def test_value_repair_is_the_same_however_the_samples_are_split(bad: list[tuple[int, int, int]], cuts: list[int]) -> None:
    """Runs of bad values anywhere (some longer than max_fill_s, some at the ends): every block split
    gives the same samples, fills and drops as the whole, and nothing unusable comes out."""
    from bandlog.detect.repair import ValueRepair

    t = np.arange(200) * 0.05  # max_fill_s 0.5 s below: runs of 10 samples or more are gaps
    force, acc = np.sin(t), np.stack([np.cos(t), t, t * t], axis=1)
    for row, column, run in bad:
        target = force if column == 0 else acc[:, column - 1]
        target[row : row + run] = (math.nan, math.inf, -math.inf, 1e12)[run % 4]
    block = SampleBlock(t_s=t, force_n=force, acc_ms2=acc)

    def repaired(edges: list[int]) -> tuple[SampleBlock, int, int]:
        repair = ValueRepair(0.5)
        parts = [repair.push(block.slice(a, b)) for a, b in itertools.pairwise(edges)]
        tail = repair.flush()
        out = SampleBlock.concat([*parts, *([tail] if tail is not None else [])])
        return out, repair.values_filled, repair.samples_dropped

    whole, filled, dropped = repaired([0, 200])
    split, filled_split, dropped_split = repaired([0, *sorted(set(cuts)), 200])
    assert (filled_split, dropped_split) == (filled, dropped)
    assert np.array_equal(split.t_s, whole.t_s) and np.array_equal(split.acc_ms2, whole.acc_ms2)
    assert np.array_equal(split.force_n, whole.force_n)
    assert np.isfinite(whole.force_n).all() and np.isfinite(whole.acc_ms2).all()
    assert len(whole) + dropped == 200
    spoiled = ~np.isfinite(force) | (np.abs(force) > 1e9)
    kept = np.isin(t, whole.t_s)
    np.testing.assert_array_equal(whole.force_n[~spoiled[kept]], force[kept & ~spoiled])  # measured values untouched


def test_a_short_run_is_filled_on_the_line_between_its_neighbours() -> None:
    from bandlog.detect.repair import ValueRepair

    t = np.array([0.0, 0.01, 0.02, 0.03, 0.05, 0.06])
    force = np.array([1.0, math.nan, math.inf, 4.0, 6.0, 7.0])
    repair = ValueRepair(3.0)
    out = repair.push(SampleBlock(t_s=t, force_n=force))
    np.testing.assert_allclose(out.force_n, [1.0, 2.0, 3.0, 4.0, 6.0, 7.0])
    assert (repair.values_filled, repair.samples_dropped) == (2, 0)
