"""Force samples at the sensor's range limit (from the log's metadata) and the reps they fall in:
the limit is the raw reading's, so a tared force reaches it sooner; the pipeline hands the analyzer
the metadata, and the tare offset once a software tare is decided."""

from __future__ import annotations

import numpy as np

from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Pipeline, SourceItem, Tare
from bandlog.core.samples import SampleBlock, StreamInfo, force_range_extra
from bandlog.detect.analysis import Analyzer
from bandlog.detect.explain import SATURATION_HINT, saturation_note


def pulls(peaks_n: list[float], rest_n: float = 5.0, rate_hz: float = 100.0) -> SampleBlock:
    """Force-only pulls: 2 s rest, then per pull a 1 s rise, 1 s hold and 3 s eccentric, 3 s rest."""
    parts = [np.full(int(2 * rate_hz), rest_n)]
    for peak_n in peaks_n:
        rise = rest_n + (peak_n - rest_n) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, int(rate_hz))))
        hold = np.full(int(rate_hz), peak_n)
        fall = rest_n + (peak_n - rest_n) * 0.5 * (1 + np.cos(np.linspace(0, np.pi, int(3 * rate_hz))))
        parts += [rise, hold, fall, np.full(int(3 * rate_hz), rest_n)]
    force_n = np.concatenate(parts)
    return SampleBlock(t_s=np.arange(force_n.size) / rate_hz, force_n=force_n)


def meta(tare_offset_n: float | None = None, force_range: tuple[float, float] | None = (-50.0, 50.0)) -> RecordingMeta:
    extra = force_range_extra(*force_range) if force_range is not None else {}
    return RecordingMeta(tare_offset_n=tare_offset_n, stream=StreamInfo(profile="gdx-for", model="GDX-FOR", extra=extra))


def run(block: SampleBlock, *items: SourceItem) -> tuple[Pipeline, Analyzer]:
    analyzer = Analyzer(kinematics=False)
    pipeline = Pipeline(analyzer)
    for item in items:
        pipeline.push(item)
    pipeline.push(block)
    pipeline.finish()
    return pipeline, analyzer


def test_only_the_reps_that_reach_the_limit_are_flagged() -> None:
    pipeline, analyzer = run(pulls([30.0, 50.0, 30.0]), meta())
    assert [("saturated" in r.flags.split(";")) for r in pipeline.reps] == [False, True, False]
    assert analyzer.samples_saturated > 90  # the 1 s hold at 50 N, and the top of its rise and fall
    notes = analyzer.summary().notes
    assert notes.endswith(saturation_note(analyzer.samples_saturated, 1, (-50.0, 50.0))) and SATURATION_HINT in notes


def test_the_limit_is_the_raw_readings_so_a_tare_offset_lowers_it() -> None:
    block = pulls([30.0, 42.0])  # tared forces; with 10 N taken off, 42 N read 52 N raw: clipped
    untared, _ = run(block, meta())
    assert not any("saturated" in r.flags for r in untared.reps)
    replayed, _ = run(block, meta(tare_offset_n=10.0))
    assert ["saturated" in r.flags for r in replayed.reps] == [False, True]
    live, _ = run(block, meta(), Tare(decided=False), Tare(10.0))  # the offset comes with the tare, live
    assert [r.flags for r in live.reps] == [r.flags for r in replayed.reps]


def test_without_a_known_range_nothing_is_flagged() -> None:
    pipeline, analyzer = run(pulls([30.0, 500.0]), meta(force_range=None))
    assert analyzer.samples_saturated == 0 and not any("saturated" in r.flags for r in pipeline.reps)


def test_a_range_entry_that_is_not_two_ordered_numbers_is_no_range() -> None:
    for text in ("", "50", "50 -50", "a b", "-50 50 60"):
        assert StreamInfo(profile="", model="", extra={"force_range_n": text}).force_range_n is None
    assert StreamInfo(profile="", model="", extra=force_range_extra(-50.0, 50.0)).force_range_n == (-50.0, 50.0)
