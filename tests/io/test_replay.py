"""replay_source streams a log exactly like a live source: meta, status, blocks, gaps in place, end."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Pipeline
from bandlog.core.results import SetSummary
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.core.status import LinkState, LinkStatus
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.sources.replay import replay_source

META = RecordingMeta(start_utc="2026-01-01T10:00:00+00:00", leg="right",
                     stream=StreamInfo(profile="progressor", model="Progressor", name="Progressor_1234", sample_rate_hz=80.0))


def make_log(tmp_path: Path, duration_s: float = 4.0, gap: Gap | None = Gap(2.0, 2.5, "link lost")) -> Path:
    t = np.arange(0, duration_s, 1 / 80.0)
    if gap is not None:
        t = t[(t <= gap.start_s) | (t >= gap.end_s)]
    rng = np.random.default_rng(3)
    block = SampleBlock(t_s=t, force_n=rng.normal(30, 5, len(t)), t_host_s=t + 50.0)
    path = tmp_path / "rec.csv"
    sink = CsvLogSink(path)
    sink.on_start(META)
    before = int(np.searchsorted(t, gap.start_s, side="right")) if gap else len(t)
    sink.on_samples(block.slice(0, before))
    if gap is not None:
        sink.on_gap(gap)
    sink.on_samples(block.slice(before, len(t)))
    sink.close()
    return path


async def collect(source) -> list:  # type: ignore[no-untyped-def]
    return [item async for item in source]


async def test_items_come_in_live_order_with_the_gap_in_place(tmp_path: Path) -> None:
    log = read_log(make_log(tmp_path))
    items = await collect(replay_source(log, block_s=0.1))
    assert items[0] == log.meta
    assert isinstance(items[1], LinkStatus) and items[1].state is LinkState.REPLAYING
    assert isinstance(items[-1], LinkStatus) and items[-1].state is LinkState.ENDED
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    joined = SampleBlock.concat(blocks)
    (whole,) = log.sets()
    np.testing.assert_array_equal(joined.t_s, whole.t_s)
    np.testing.assert_array_equal(joined.force_n, whole.force_n)
    np.testing.assert_array_equal(joined.t_host_s, whole.t_host_s)
    assert all(b.t_s[-1] - b.t_s[0] < 0.1 for b in blocks)
    assert 35 <= len(blocks) <= 45
    (gap_position,) = [k for k, i in enumerate(items) if isinstance(i, Gap)]
    before = SampleBlock.concat([i for i in items[:gap_position] if isinstance(i, SampleBlock)])
    after = SampleBlock.concat([i for i in items[gap_position:] if isinstance(i, SampleBlock)])
    assert before.t_s[-1] <= 2.0 and after.t_s[0] >= 2.5
    statuses = [i for i in items[2:-1] if isinstance(i, LinkStatus)]
    assert 2 <= len(statuses) <= 4  # about one per second of device time
    assert statuses[-1].samples_total <= len(whole) and statuses[0].samples_per_s == pytest.approx(80, rel=0.15)
    assert items[-1].samples_total == len(whole)


async def test_speed_paces_by_device_time(tmp_path: Path) -> None:
    log = read_log(make_log(tmp_path, duration_s=1.0, gap=None))
    started = time.monotonic()
    await collect(replay_source(log, speed=8.0))
    paced = time.monotonic() - started
    started = time.monotonic()
    await collect(replay_source(log, speed=None))
    fast = time.monotonic() - started
    assert paced >= 0.98 / 8.0 * 0.95
    assert fast < paced


async def test_each_set_replays_alone(tmp_path: Path) -> None:
    path = tmp_path / "two_sets.csv"
    path.write_text("t_s,force_n,set\n0,1,0\n0.1,2,0\n0,3,1\n0.1,4,1\n0.2,5,1\n")
    log = read_log(path)
    items = await collect(replay_source(log, set_index=1))
    blocks = [i for i in items if isinstance(i, SampleBlock)]
    np.testing.assert_array_equal(SampleBlock.concat(blocks).force_n, [3, 4, 5])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"set_index": 1}, "has 1 set"),
    ({"speed": 0.0}, "speed must be positive"),
    ({"block_s": -1.0}, "block length must be positive"),
])
async def test_bad_options_are_config_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    log = read_log(make_log(tmp_path))
    with pytest.raises(ConfigError, match=message):
        await collect(replay_source(log, **kwargs))


class CountingAnalyzer:
    """The smallest Analyzer the pipeline accepts: no events; it lets this test focus on the sinks."""

    def __init__(self) -> None:
        self.samples = 0

    def feed(self, block: SampleBlock) -> list:  # type: ignore[type-arg]
        self.samples += len(block)
        return []

    def finish(self) -> list:  # type: ignore[type-arg]
        return []

    def summary(self) -> SetSummary:
        return SetSummary(reps=0, tut_ecc_s=0.0, tut_tension_s=None, mean_ecc_duration_s=None, peak_force_n=None, mode="force")

    def last_kinematics(self) -> None:
        return None


async def test_replaying_into_a_log_sink_reproduces_the_log(tmp_path: Path) -> None:
    original = read_log(make_log(tmp_path))
    copy_path = tmp_path / "copy.csv"
    analyzer = CountingAnalyzer()
    result = await Pipeline(analyzer, [CsvLogSink(copy_path)]).run(replay_source(original))
    assert result.samples_total == analyzer.samples == len(original.samples)
    copy = read_log(copy_path)
    assert copy.meta == original.meta and copy.gaps == original.gaps
    assert copy.samples.equals(original.samples)
