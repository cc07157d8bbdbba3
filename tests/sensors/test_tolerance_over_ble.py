"""Each decoder tolerance (issue 15, point 1) over the emulated link: bleak -> Bumble -> a twin set to
send the variant a real unit may send. The samples are the twin's, and what was ignored or skipped
reaches the link status and the line that ends a recording (link_summary), not the lost count."""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import PeriodicMotion
from bandlog.core.samples import SampleBlock
from bandlog.core.status import LinkState, LinkStatus, link_summary
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.twins.base import PeripheralTwin
from bandlog.emulate.twins.gdx_for import GdxForTwin
from bandlog.emulate.twins.progressor import ProgressorTwin
from bandlog.live.model import LiveModel
from bandlog.sources.ble import stream

MOTION = PeriodicMotion(period_s=2.0, peak_force_n=40.0)
GDX_SENSORS = 7


async def record(twin: PeripheralTwin, seconds: float = 2.0) -> tuple[SampleBlock, LinkStatus]:
    """What the source yields in `seconds` of emulated streaming: the samples and the final status."""
    async with emulated_sensors([twin], speed=10.0) as world:
        items = [i async for i in stream(twin.profile_key, backends=world.backends, duration_s=seconds, tare=False)]
    statuses = [i for i in items if isinstance(i, LinkStatus)]
    assert statuses and statuses[-1].state is LinkState.ENDED
    return SampleBlock.concat([i for i in items if isinstance(i, SampleBlock)]), statuses[-1]


def assert_same_samples(got: SampleBlock, twin: PeripheralTwin) -> None:
    sent = SampleBlock.concat(list(twin.sent_samples))
    assert len(got) > 100
    for channel in ("force_n", "acc_ms2", "gyro_dps"):
        if getattr(sent, channel) is not None:
            np.testing.assert_array_equal(getattr(got, channel), getattr(sent, channel)[: len(got)])


def shown(status: LinkStatus) -> str:
    """The words a user sees: the live view's link line and the recording's closing line."""
    model = LiveModel()
    model.set_status(status)
    return model.link_label() + " / " + link_summary(status)


async def test_gdx_text_after_a_nul_is_ignored_and_counted() -> None:
    twin = GdxForTwin(MOTION, text_after_nul=True)
    got, status = await record(twin)
    assert_same_samples(got, twin)
    assert status.trimmed_packets == 1 + GDX_SENSORS  # the device record and each sensor record
    assert (status.corrupted_packets, status.dropped_packets) == (0, 0)
    assert f"{1 + GDX_SENSORS} packets with extra bytes ignored" in shown(status)


async def test_gdx_bytes_after_the_rows_are_ignored_and_counted() -> None:
    twin = GdxForTwin(MOTION, trailing_bytes=5, rows_per_packet=3)
    got, status = await record(twin)
    assert_same_samples(got, twin)
    # every measurement packet received (the duration may cut the last ones' samples), no reply
    assert -(-len(got) // 3) <= status.trimmed_packets <= len(twin.sent_samples)
    assert (status.corrupted_packets, status.dropped_packets) == (0, 0)
    assert "trimmed" in shown(status)


async def test_padded_progressor_frames_are_read_and_counted() -> None:
    twin = ProgressorTwin(MOTION, frame_size=20)
    got, status = await record(twin)
    assert_same_samples(got, twin)
    # one per weight frame, and the version and battery replies
    assert 0.9 * len(twin.sent_samples) + 2 <= status.trimmed_packets <= len(twin.sent_samples) + 2
    assert (status.corrupted_packets, status.dropped_packets, status.skipped_samples) == (0, 0, 0)
    assert "packets with extra bytes ignored" in shown(status)


async def test_nan_progressor_weights_are_skipped_and_counted() -> None:
    """Skipped and counted as skipped samples. The step each leaves in the time line is still also
    counted as a lost notification (a credit for skipped samples made a soak test's loss accounting
    slip now and then under load; it was taken back until that is understood)."""
    twin = ProgressorTwin(MOTION, nan_every=5)
    got, status = await record(twin)
    assert_same_samples(got, twin)  # the twin leaves its NaN samples out of sent_samples
    assert np.isfinite(got.force_n if got.force_n is not None else []).all()
    assert 0 < twin.nan_sent - 1 <= status.skipped_samples <= twin.nan_sent + 1  # the last one may not have arrived
    assert status.corrupted_packets == 0
    assert "samples skipped" in shown(status)
