"""Metrics the measured sample rate cannot support are left None with a note (issue 15, point 5):
decided from the rate measured in the recording, never the nominal rate in its header, and the same
however the samples arrive."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import numpy as np
import pytest

from bandlog import cli
from bandlog.core.events import RepCompleted
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import RepMetrics
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.detect.analysis import Analyzer
from bandlog.detect.rate_limits import RATE_LIMITS, MeasuredRate
from bandlog.io.csv_log import write_recording
from bandlog.sim import random_spec, simulate_session

PEAK_SPEED = next(limit for limit in RATE_LIMITS if limit.metric == "peak_ecc_velocity_dps")


def recording(rate_hz: float, seed: int = 3) -> SampleBlock:
    return simulate_session(random_spec(seed, n_sets=1, reps_per_set=4)).record(rate_hz=rate_hz)


def analyse(block: SampleBlock, chunk: int | None = None) -> Analyzer:
    analyzer = Analyzer(kinematics=False)
    for start in range(0, len(block), chunk or len(block)):
        analyzer.feed(block.slice(start, min(start + (chunk or len(block)), len(block))))
    analyzer.finish()
    return analyzer


def test_every_limit_names_a_rep_metric_that_may_be_none() -> None:
    hints = typing.get_type_hints(RepMetrics)
    for limit in RATE_LIMITS:
        assert type(None) in typing.get_args(hints[limit.metric]), limit.metric


def test_measured_rate_excludes_gaps_and_filled_samples() -> None:
    meter = MeasuredRate()
    t_s = np.concatenate([np.arange(0, 10, 0.125), 100 + np.arange(0, 10, 0.125)])  # 8 Hz, a 90 s gap
    gap = np.zeros(len(t_s), bool)
    gap[80] = True
    real = np.ones(len(t_s), bool)
    real[5] = False  # a sample the front end filled in: its interval counts toward the next measured one
    meter.push(t_s, real, gap)
    assert meter.overall() == pytest.approx((158 - 1) / 19.75)
    assert meter.until(9.9) == pytest.approx(78 / 9.875)  # up to 9.9 s only
    assert meter.overall() == pytest.approx((158 - 1) / 19.75)


def test_a_low_rate_recording_leaves_peak_speed_out_with_a_note() -> None:
    analyzer = analyse(recording(15.0))
    assert analyzer.reps and all(r.peak_ecc_velocity_dps is None for r in analyzer.reps)
    assert all(r.mean_ecc_velocity_dps is not None and r.ecc_duration_s is not None for r in analyzer.reps)
    rate_hz = analyzer.measured_rate_hz
    assert rate_hz is not None and 13.5 < rate_hz <= 15.0
    note = f"peak eccentric speed left out: {rate_hz:.1f} Hz measured, {PEAK_SPEED.min_rate_hz:g} Hz needed"
    assert note in analyzer.summary().notes.split("; ")


def test_a_normal_rate_recording_keeps_it_and_says_nothing() -> None:
    analyzer = analyse(recording(50.0))
    assert analyzer.reps and all(r.peak_ecc_velocity_dps is not None for r in analyzer.reps)
    assert "left out" not in analyzer.summary().notes


def test_the_decision_does_not_depend_on_how_the_samples_arrive() -> None:
    """A rate that falls mid-recording (the first tenth at 50 Hz, then every fourth sample kept):
    each rep is decided on the rate from the start up to its end, so the early reps keep their peak
    speed and the later ones do not, the same live (small blocks) as in one block."""
    block = recording(50.0, seed=5)
    cut = len(block) // 10
    later = block.take(np.arange(len(block)) >= cut)
    thinned = SampleBlock.concat([block.slice(0, cut), later.take(np.arange(len(later)) % 4 == 0)])
    whole, live = analyse(thinned), analyse(thinned, chunk=7)
    kept = [r.peak_ecc_velocity_dps is not None for r in whole.reps]
    assert kept == [True, True, False, False]
    assert [r.to_dict() for r in live.reps] == [r.to_dict() for r in whole.reps]
    assert live.summary() == whole.summary()
    assert "peak eccentric speed left out in 2 of 4 reps: " in whole.summary().notes


def test_the_header_rate_does_not_decide(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A header saying 100 Hz over 15 Hz data still leaves peak speed out, in the table and the JSON."""
    path = tmp_path / "slow.csv"
    stream = StreamInfo(profile="sim", model="simulated", sample_rate_hz=100.0, channels=("force_n", "gyro_x_dps"))
    write_recording(path, RecordingMeta(leg="left", target_ecc_s=3.0, stream=stream), recording(15.0))
    assert cli.main(["analyze", str(path), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["reps"] and all(rep["peak_ecc_velocity_dps"] is None for rep in document["reps"])
    assert "peak eccentric speed left out" in document["summary"]["notes"]
    assert cli.main(["analyze", str(path)]) == 0
    assert "peak eccentric speed left out" in capsys.readouterr().out


def test_events_carry_the_same_rows_as_the_analyzer() -> None:
    analyzer = Analyzer(kinematics=False)
    block = recording(15.0)
    events = analyzer.feed(block) + analyzer.finish()
    assert [e.metrics for e in events if isinstance(e, RepCompleted)] == analyzer.reps


@pytest.mark.parametrize(("rate_hz", "flagged"), [(8.0, True), (10.0, True), (15.0, False), (50.0, False)])
def test_a_rate_too_sparse_to_segment_marks_reps_and_tempo_uncertain(rate_hz: float, flagged: bool) -> None:
    """Under 12 Hz measured the reps themselves are uncertain (bench/rate_limits.py): the set says so."""
    analyzer = analyse(recording(rate_hz))
    notes = analyzer.summary().notes
    assert ("reps and tempo uncertain: " in notes) == flagged
    if flagged:
        measured = analyzer.measured_rate_hz
        assert measured is not None and f"{measured:.1f} Hz measured, 12 Hz needed" in notes
