"""When the link ends, what a decoder still holds is handed over or counted: never gone unseen."""

from __future__ import annotations

import numpy as np

from bandlog.core.samples import SampleBlock
from bandlog.devices.base import SKIPPED_SAMPLES
from bandlog.devices.device_clock import DeviceClock
from bandlog.devices.gdx_decoder import GdxDecoder
from bandlog.devices.gdx_for import GdxForProfile
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.gdx_for import GdxForTwin


def test_device_clock_counts_a_sample_still_held_at_the_end() -> None:
    clock: DeviceClock[int] = DeviceClock(0.01)
    assert [t.item for t in clock.push(0, 0) + clock.push(10_000, 1)] == [0, 1]
    assert clock.push(60_000_000, 2) == []  # a long step waits for the next sample to confirm it
    assert clock.flush() == 1 and clock.take_skipped() == 1
    assert clock.flush() == 0


async def test_gdx_flush_places_the_packets_held_while_its_counter_was_judged() -> None:
    twin = GdxForTwin(rows_per_packet=3)
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    decoder = profile.new_decoder(await profile.start(link))
    assert isinstance(decoder, GdxDecoder)
    fed = [decoder.feed(await link.next_notification(1.0)) for _ in range(10)]  # two 5-notification packets
    assert not any(out.blocks for out in fed)  # held: LEARN_PACKETS are needed to judge byte 2
    flushed = decoder.flush()
    got = SampleBlock.concat(flushed.blocks)
    sent = SampleBlock.concat(list(twin.sent_samples))
    assert len(got) == 6
    np.testing.assert_array_equal(got.force_n, sent.force_n[: len(got)])
    np.testing.assert_allclose(got.t_s, sent.t_s[: len(got)] - sent.t_s[0], atol=1e-9)
    assert not any(n.kind == SKIPPED_SAMPLES for n in flushed.notices)


async def test_a_lost_gdx_fragment_is_a_dropped_packet_not_a_damaged_one() -> None:
    """The session counts a DecodeError as damage: a fragment that never arrived is a loss only."""
    twin = GdxForTwin(rows_per_packet=3)
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    decoder = profile.new_decoder(await profile.start(link))
    notes = [await link.next_notification(1.0) for _ in range(60)]  # 12 packets of 5 fragments
    del notes[32]  # a middle fragment of the seventh packet
    outputs = [decoder.feed(n) for n in notes]  # raises nothing
    dropped = sum(n.value or 0 for o in outputs for n in o.notices if n.kind == "dropped_packets")
    assert dropped == 1
    got = SampleBlock.concat([b for o in outputs for b in o.blocks])
    assert len(got) == 11 * 3
