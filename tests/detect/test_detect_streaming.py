"""Streaming == batch: any split of the samples into blocks yields identical events."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from detect_helpers import short_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bandlog.core.events import RepCompleted
from bandlog.core.results import MODES
from bandlog.detect.analysis import Analyzer, analyze_block


def _events(block, cuts: list[int]) -> list:
    analyzer = Analyzer(target_ecc_s=4.0)
    edges = [0, *sorted(set(cuts)), len(block)]
    events = []
    for a, b in itertools.pairwise(edges):
        events += analyzer.feed(block.slice(a, b))
    return events + analyzer.finish()


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=3999), min_size=1, max_size=40))
def test_any_chunking_gives_identical_events(mode: str, cuts: list[int]) -> None:
    block = short_session(3, reps_per_set=3).record(rate_hz=80.0, channels=mode)
    block = block.slice(0, 4000)
    whole = _events(block, [])
    assert [e for e in whole if isinstance(e, RepCompleted)], "the test needs at least one rep"
    assert _events(block, cuts) == whole


def test_sample_by_sample_equals_batch() -> None:
    block = short_session(4, reps_per_set=2).record(rate_hz=50.0, channels="force+imu")
    reps, _ = analyze_block(block, target_ecc_s=4.0)
    streamed = [e.metrics for e in _events(block, list(range(1, len(block)))) if isinstance(e, RepCompleted)]
    assert streamed == reps and len(reps) == 2


def test_kinematics_cover_each_block() -> None:
    block = short_session(5).record(rate_hz=100.0, channels="imu")
    analyzer = Analyzer()
    first = block.slice(0, 600)
    analyzer.feed(first)
    kin = analyzer.last_kinematics()
    assert kin is not None and kin.knee_angle_deg is not None and kin.knee_rate_dps is not None
    assert np.array_equal(kin.t_s, first.t_s)
    analyzer.feed(block.slice(600, 700))
    kin = analyzer.last_kinematics()
    assert kin is not None and np.array_equal(kin.t_s, block.t_s[600:700])
