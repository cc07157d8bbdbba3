"""Force range and saturation (issue 15, point 2): the GDX-FOR and PASCO twins read +-50 N as the real
units do, the range reaches the log's header, and a band pulling beyond it flags the reps `saturated`,
with a hint in the set's notes, the live view and `bandlog analyze`; the Thingy:52 twin refuses what
firmware v2 refuses, and the profile says so in one sentence."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bandlog import cli
from bandlog.app.session import RecordRequest, record_stream
from bandlog.core.errors import ConfigError, ProtocolError
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import MotionSource, PeriodicMotion
from bandlog.core.pipeline import PipelineResult
from bandlog.core.samples import SampleBlock
from bandlog.detect.explain import SATURATION_HINT
from bandlog.devices import thingy52 as th
from bandlog.devices.base import StreamOptions
from bandlog.devices.gdx_for import GdxForProfile
from bandlog.devices.pasco import PascoProfile
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.gdx_for import GdxForTwin
from bandlog.emulate.twins.pasco import PascoTwin
from bandlog.emulate.twins.thingy52 import Thingy52Twin
from bandlog.io.read import read_log
from bandlog.live.model import LiveModel
from bandlog.live.sink import LiveSink
from bandlog.sim import random_spec, simulate_session

STRONG = PeriodicMotion(period_s=2.0, peak_force_n=70.0)


class ScaledForce:
    """A motion source with its band force multiplied by `gain` (a stiffer or a doubled band)."""

    def __init__(self, motion: MotionSource, gain: float) -> None:
        self.motion, self.gain = motion, gain

    @property
    def duration_s(self) -> float:
        return self.motion.duration_s

    def sample(self, t_s: np.ndarray) -> SampleBlock:
        block = self.motion.sample(t_s)
        assert block.force_n is not None
        return replace(block, force_n=block.force_n * self.gain)


def four_reps() -> MotionSource:
    """Four simulated reps whose band rests near 28 N and peaks near 65 N, beyond a +-50 N sensor."""
    return simulate_session(random_spec(3, n_sets=1, reps_per_set=4, lead_in_s=4.0, tail_s=3.0))


def record_gdx(tmp_path: Path, motion: MotionSource) -> tuple[PipelineResult, LiveModel, Path]:
    out = tmp_path / "set.csv"
    model = LiveModel()
    request = RecordRequest("gdx-for", out, RecordingMeta(), duration_s=motion.duration_s)
    result = asyncio.run(record_stream(request, [LiveSink(model)], motion=motion, speed=20.0))
    return result, model, out


async def test_the_gdx_twin_reports_and_clips_at_50_n() -> None:
    """Its sensor record said +-200 N, hiding the clipping a real unit shows above 50 N."""
    link = LoopbackLink(GdxForTwin(STRONG))
    profile = GdxForProfile()
    info = await profile.start(link)
    assert info.force_range_n == (-50.0, 50.0)
    decoder = profile.new_decoder(info)
    blocks = []
    while link.now_s < 3.0:
        blocks += decoder.feed(await link.next_notification(1.0)).blocks
    force_n = SampleBlock.concat(blocks).force_n
    assert force_n is not None and force_n.max() == 50.0 and np.count_nonzero(force_n == 50.0) > 20


async def test_the_pasco_twin_clips_at_50_n_and_its_profile_records_the_range() -> None:
    """It clipped near 59 N (the end of the uint16 count range), past the PS-3202's rated 50 N."""
    twin = PascoTwin(STRONG)
    link = LoopbackLink(twin, step_s=0.001)
    profile = PascoProfile(clock=lambda: link.now_s)
    info = await profile.start(link)
    try:
        assert info.force_range_n == (-50.0, 50.0)
        decoder = profile.new_decoder(info)
        forces: list[float] = []
        while link.now_s < 2.0:
            for _ in range(2):
                await asyncio.sleep(0)  # the poller writes its next requests
            for block in decoder.feed(await link.next_notification(1.0)).blocks:
                assert block.force_n is not None
                forces += block.force_n.tolist()
    finally:
        await profile.stop(link)
    assert max(forces) == pytest.approx(50.0, abs=1e-9)
    assert max(b.force_n.max() for b in twin.sent_samples if b.force_n is not None) == pytest.approx(50.0, abs=1e-9)


def test_a_band_beyond_the_range_flags_every_rep_saturated_live_in_the_log_and_in_analyze(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, model, out = record_gdx(tmp_path, four_reps())
    assert len(result.reps) == 4
    assert all("saturated" in rep.flags.split(";") for rep in result.reps)
    assert "range limit (clipped), in 4 reps flagged saturated" in result.summary.notes
    assert SATURATION_HINT in result.summary.notes
    assert model.saturated_reps == 4 and SATURATION_HINT in model.saturation_label()
    log = read_log(out)  # the range is in the header, so a replay knows it too
    assert log.meta.stream is not None and log.meta.stream.force_range_n == (-50.0, 50.0)
    assert cli.main(["--data-dir", str(tmp_path / "home"), "analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "saturated" in printed and SATURATION_HINT in printed


def test_a_band_within_the_range_flags_nothing(tmp_path: Path) -> None:
    result, model, _ = record_gdx(tmp_path, ScaledForce(four_reps(), 0.7))
    assert len(result.reps) == 4
    assert not any("saturated" in rep.flags for rep in result.reps)
    assert "clipped" not in result.summary.notes and model.saturated_reps == 0 and model.saturation_label() == ""


@pytest.mark.parametrize(
    "fields", [(1000, 500, 1001, 10, 1), (1000, 500, 5000, 10, 1), (1000, 500, 500, 4, 1), (1000, 500, 500, 1, 1)]
)
def test_thingy_firmware_v2_limits(fields: tuple[int, ...]) -> None:
    """Compass 100-1000 ms and motion 5-200 Hz (older notes allowed 5000 ms and 1 Hz)."""
    with pytest.raises(ConfigError):
        th.MotionConfig(*fields)
    twin = Thingy52Twin()
    assert twin.on_write(th.CONFIG_UUID, th._CONFIG.pack(*fields), 0.0) == []
    assert twin.config == th.MotionConfig()


async def test_a_thingy_that_refuses_the_rate_stops_the_start_in_one_sentence() -> None:
    """The profile used to stream on, timing samples by a rate the unit never took."""
    twin = Thingy52Twin(PeriodicMotion(), motion_freq_hz=(5, 50))
    link = LoopbackLink(twin)
    with pytest.raises(ProtocolError, match=r"refused the motion configuration \(motion 100 Hz.*5-200 Hz"):
        await th.Thingy52Profile(StreamOptions(sample_rate_hz=100)).start(link)
    assert twin.config.motion_freq_hz == 10
    with pytest.raises(ConfigError, match="5-50 Hz"):
        Thingy52Twin(config=th.MotionConfig(motion_freq_hz=100), motion_freq_hz=(5, 50))
