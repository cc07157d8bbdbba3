"""GDX losses: every lost packet is counted, later samples keep their true time, no stitched rows."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import DecodeError
from bandlog.core.link import Notification
from bandlog.core.samples import SampleBlock
from bandlog.devices.gdx_decoder import GdxDecoder, judge_counter
from bandlog.devices.gdx_for import RESPONSE_UUID, GdxForProfile
from bandlog.devices.gdx_stream import MeasurementPacket, fragments
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.gdx_for import GdxForTwin

PERIOD_S = 0.01


async def twin_stream(n_notifications: int) -> tuple[GdxDecoder, list[Notification], GdxForTwin]:
    twin = GdxForTwin(rows_per_packet=3)
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    decoder = profile.new_decoder(await profile.start(link))
    assert isinstance(decoder, GdxDecoder)
    return decoder, [await link.next_notification(1.0) for _ in range(n_notifications)], twin


def decode(decoder: GdxDecoder, notifications: list[Notification]) -> tuple[SampleBlock, float, float]:
    """Feed everything; return the samples, packets reported lost and samples reported skipped."""
    blocks, dropped, skipped = [], 0.0, 0.0
    for notification in notifications:
        try:
            out = decoder.feed(notification)
        except DecodeError:
            continue
        blocks += out.blocks
        dropped += sum(n.value or 0 for n in out.notices if n.kind == "dropped_packets")
        skipped += sum(n.value or 0 for n in out.notices if n.kind == "skipped_samples")
    return SampleBlock.concat(blocks), dropped, skipped


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_dropped_notifications_are_counted_and_never_shift_or_invent_samples(seed: int) -> None:
    decoder, notes, twin = await twin_stream(2500)
    starts = [i for i, n in enumerate(notes) if n.payload[:1] == b"\x20" and len(n.payload) > 4 and n.payload[4] == 0x06]
    ends = [*starts[1:], len(notes)]
    lost = set(np.flatnonzero(np.random.default_rng(seed).random(len(notes)) < 0.03).tolist())
    whole = [k for k, (a, b) in enumerate(zip(starts, ends)) if not lost & set(range(a, b))]
    got, dropped, _ = decode(decoder, [n for i, n in enumerate(notes) if i not in lost])
    sent = SampleBlock.concat(twin.sent_samples)

    index = np.rint(got.t_s / PERIOD_S).astype(int)
    np.testing.assert_allclose(got.t_s, index * PERIOD_S, atol=1e-9)  # on the sample grid
    assert sorted(set(index.tolist())) == [3 * k + r for k in whole for r in range(3)]  # every whole packet, nothing else
    np.testing.assert_array_equal(got.force_n, sent.force_n[index])  # each value at its true time: no drift, no garbage
    np.testing.assert_array_equal(got.gyro_dps, sent.gyro_dps[index])
    assert dropped == whole[-1] + 1 - len(whole)  # every packet lost before the last good one is reported


async def test_losing_a_whole_packet_keeps_later_samples_on_time() -> None:
    # a packet whose every fragment was lost leaves no trace in the reassembler: only the counter tells
    decoder, notes, twin = await twin_stream(100)
    starts = [i for i, n in enumerate(notes) if n.payload[:1] == b"\x20" and n.payload[4] == 0x06]
    gone = set(range(starts[4], starts[6]))  # packets 4 and 5, samples 12..17
    got, dropped, _ = decode(decoder, [n for i, n in enumerate(notes) if i not in gone])
    index = np.rint(got.t_s / PERIOD_S).astype(int)
    assert 12 not in index and 17 not in index and 18 in index
    np.testing.assert_array_equal(got.force_n, SampleBlock.concat(twin.sent_samples).force_n[index])
    assert dropped == 2


def packet_notes(packets: list[MeasurementPacket], t_host_s: float = 0.0) -> list[Notification]:
    return [Notification(RESPONSE_UUID, f, t_host_s) for p in packets for f in fragments(bytes(p))]


async def decoder_for_twin() -> GdxDecoder:
    decoder, _, _ = await twin_stream(0)
    return decoder


async def test_without_a_counter_the_abandoned_rows_still_keep_time() -> None:
    decoder = await decoder_for_twin()
    packets = [MeasurementPacket(0xFE, np.full((3, 7), float(k), np.float32)) for k in range(6)]  # byte 2 stays 0
    notes = packet_notes(packets)
    del notes[5 * 2 + 2]  # the middle of packet 2
    got, dropped, _ = decode(decoder, notes)
    np.testing.assert_allclose(got.t_s, [(3 * k + r) * PERIOD_S for k in (0, 1, 3, 4, 5) for r in range(3)])
    assert dropped == 1


async def test_non_finite_values_cost_their_row_only() -> None:
    decoder = await decoder_for_twin()
    values = np.ones((3, 7), np.float32)
    values[1, 4] = np.nan
    values[2, 0] = np.inf
    got, dropped, skipped = decode(decoder, packet_notes([MeasurementPacket(0xFE, values), MeasurementPacket(0xFE, values[:1])]))
    np.testing.assert_allclose(got.t_s, [0.0, 0.03])
    assert np.isfinite(got.force_n).all() and np.isfinite(got.gyro_dps).all()
    assert skipped == 2 and dropped == 0


async def test_a_repeated_packet_is_skipped_not_placed_255_packets_later() -> None:
    decoder = await decoder_for_twin()
    packets = [MeasurementPacket(0xFE, np.full((3, 7), float(k), np.float32), reserved=bytes([k, 0])) for k in range(6)]
    got, dropped, skipped = decode(decoder, packet_notes([*packets[:4], packets[3], *packets[4:]]))
    np.testing.assert_allclose(got.t_s, np.arange(18) * PERIOD_S)
    assert (dropped, skipped) == (0, 3)


async def test_a_loss_of_over_half_the_counter_range_is_confirmed_by_the_next_packet() -> None:
    decoder = await decoder_for_twin()
    counters = [0, 1, 2, 3, 203, 204, 205]  # 199 packets lost after counter 3
    packets = [MeasurementPacket(0xFE, np.ones((1, 7), np.float32), reserved=bytes([c, 0])) for c in counters]
    got, dropped, skipped = decode(decoder, packet_notes(packets))
    np.testing.assert_allclose(got.t_s, np.array([0, 1, 2, 3, 204, 205]) * PERIOD_S)  # 203 was held back as a suspect
    assert (dropped, skipped) == (200, 1)


@pytest.mark.parametrize("first", [[0, 2, 3, 4, 5], [0, 1, 3, 4, 5], [7, 9, 10, 12, 13, 14]])
async def test_a_packet_lost_right_after_the_start_is_dated_by_the_counter(first: list[int]) -> None:
    # the first packets wait until byte 2 is judged a counter, so an early loss is counted too
    decoder = await decoder_for_twin()
    packets = [MeasurementPacket(0xFE, np.ones((3, 7), np.float32), reserved=bytes([c, 0])) for c in first]
    got, dropped, _ = decode(decoder, packet_notes(packets))
    expected = [3 * (c - first[0]) + r for c in first for r in range(3)]
    np.testing.assert_allclose(got.t_s, np.array(expected) * PERIOD_S)
    assert dropped == first[-1] - first[0] + 1 - len(first)


def test_judging_byte_2() -> None:
    assert judge_counter([5, 6, 7]) == 1 and judge_counter([5, 4, 3]) == -1
    assert judge_counter([0, 2, 3]) is None and judge_counter([0, 2, 3, 4]) == 1
    assert judge_counter([0, 0]) == 0 and judge_counter([1, 2, 1]) == 0 and judge_counter([9]) is None
