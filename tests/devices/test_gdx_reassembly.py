"""GDX reassembly: random splits rebuild the packets; damage costs at most the packet it hit."""

from __future__ import annotations

import numpy as np
import pytest
from devices_strategies import gdx_packets, measurement_packets
from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.devices.gdx_codec import Reply
from bandlog.devices.gdx_stream import MeasurementPacket, Reassembler, fragments


def run(fragments_in: list[bytes]) -> tuple[list[bytes], int]:
    """Feed every fragment; return the packets out and how many feeds raised DecodeError."""
    reassembler = Reassembler()
    out: list[bytes] = []
    errors = 0
    for fragment in fragments_in:
        try:
            out += reassembler.feed(fragment)
        except DecodeError:
            errors += 1
    out += reassembler.feed(b"")
    return out, errors


def is_subsequence(needles: list[bytes], haystack: list[bytes]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def test_fragments_helper() -> None:
    packet = bytes(range(45))
    parts = fragments(packet)
    assert [len(p) for p in parts] == [20, 20, 5] and b"".join(parts) == packet
    assert fragments(packet, max_len=45) == [packet]
    with pytest.raises(ConfigError):
        fragments(packet, max_len=0)


@settings(max_examples=150)
@given(st.lists(gdx_packets, min_size=1, max_size=10), st.integers(1, 255))
def test_any_fragment_size_rebuilds_every_packet(packets: list, max_len: int) -> None:
    # the device splits each packet on its own: full fragments, then the rest
    out, errors = run([f for p in packets for f in fragments(bytes(p), max_len)])
    assert errors == 0
    assert out == [bytes(p) for p in packets]


@settings(max_examples=150)
@given(st.lists(gdx_packets, min_size=1, max_size=10), st.data())
def test_fragments_carrying_whole_packets_back_to_back_are_split(packets: list, data: st.DataObject) -> None:
    stream = b"".join(bytes(p) for p in packets)
    cuts = sorted(data.draw(st.sets(st.sampled_from(list(np.cumsum([len(bytes(p)) for p in packets]))))))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)]) if a < b]
    out, errors = run(pieces)
    assert errors == 0
    assert out == [bytes(p) for p in packets]


def test_a_lost_fragment_never_lets_the_next_packet_complete_this_one() -> None:
    # 93-byte packets arrive as 20+20+20+20+13; losing A's 2nd fragment and B's 1st once let B's
    # 2nd complete A (20+20+20+13+20 = 93 bytes), and A's rows came out as garbage
    a = MeasurementPacket(0b1111110, np.full((3, 6), 1.0, np.float32))
    b = MeasurementPacket(0b1111110, np.full((3, 6), 2.0, np.float32))
    c = MeasurementPacket(0b1111110, np.full((3, 6), 3.0, np.float32))
    fa, fb, fc = fragments(bytes(a)), fragments(bytes(b)), fragments(bytes(c))
    for stream in ([*fc, fa[0], *fa[2:], *fb[1:], *fc], [*fc, *fa[:-1], *fb[1:], *fc]):
        out, errors = run(stream)
        assert out == [bytes(c), bytes(c)] and errors >= 1


@settings(max_examples=200)
@given(
    st.lists(measurement_packets(), min_size=2, max_size=8),
    st.binary(min_size=1, max_size=20),
    st.sampled_from(["replace", "insert"]),
    st.data(),
)
def test_one_garbage_fragment_costs_at_most_the_packet_it_hit(
    packets: list[MeasurementPacket], garbage: bytes, how: str, data: st.DataObject
) -> None:
    owned = [(i, f) for i, p in enumerate(packets) for f in fragments(bytes(p))]
    k = data.draw(st.integers(0, len(owned) - 1))
    hit = owned[k][0]
    stream = [f for _, f in owned]
    if how == "replace":
        stream[k] = garbage
    else:
        stream.insert(k, garbage)
    out, _ = run(stream)
    survivors = [bytes(p) for i, p in enumerate(packets) if i != hit]
    assert is_subsequence(survivors, out)


@settings(max_examples=100)
@given(st.lists(measurement_packets(), min_size=3, max_size=8), st.data())
def test_a_lost_fragment_costs_only_its_packet_and_is_reported(packets: list[MeasurementPacket], data: st.DataObject) -> None:
    owned = [(i, f) for i, p in enumerate(packets) for f in fragments(bytes(p))]
    k = data.draw(st.integers(0, len(owned) - 1))
    hit = owned[k][0]
    out, errors = run([f for j, (_, f) in enumerate(owned) if j != k])
    survivors = [bytes(p) for i, p in enumerate(packets) if i != hit]
    assert is_subsequence(survivors, out)
    assert out.count(bytes(packets[hit])) == survivors.count(bytes(packets[hit]))
    lost_inside = k > 0 and owned[k - 1][0] == hit
    if lost_inside and hit < len(packets) - 1:
        assert errors >= 1  # a packet that lost its middle or tail is always reported


def test_measurement_start_resyncs_and_keeps_the_new_packet() -> None:
    first = bytes(MeasurementPacket(0b1111110, np.zeros((3, 6), np.float32)))
    second = bytes(MeasurementPacket(0b10, np.full((1, 1), 4.0, np.float32)))
    reassembler = Reassembler()
    reassembler.feed(first[:20])
    with pytest.raises(DecodeError, match="abandoned an unfinished 20-byte packet"):
        reassembler.feed(second)
    assert reassembler.feed(b"") == [second]
    assert reassembler.pending_bytes == 0


def test_fragment_that_cannot_start_a_packet_is_dropped() -> None:
    reassembler = Reassembler()
    with pytest.raises(DecodeError, match="cannot start a packet"):
        reassembler.feed(bytes([0x20, 0x30, 0, 0, 0x99, 1, 2, 3]))
    assert reassembler.pending_bytes == 0
    reply = bytes(Reply(0x10, 0xFD, bytes(12)))
    assert reassembler.feed(reply) == [reply]
