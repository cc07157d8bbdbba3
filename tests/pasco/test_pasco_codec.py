"""PASCO byte codecs: exact round trips, strict decoding, UUID scheme, datasheet scale factors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pasco_strategies import force_samples, mutated, read_commands, replies, triad_samples

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.devices.pasco_codec import (
    ACC_MS2_PER_COUNT,
    Channel,
    ForceRaw,
    GenericResponse,
    OtherPacket,
    PeriodicData,
    ReadOneSample,
    SensorIdEvent,
    TriadRaw,
    char_uuid,
    decode_reply,
    decode_sample,
    parse_uuid,
    service_uuid,
)


@given(read_commands)
def test_read_command_round_trip(command: ReadOneSample) -> None:
    assert ReadOneSample.from_bytes(bytes(command)) == command


@given(replies)
def test_reply_round_trip(reply: object) -> None:
    assert decode_reply(bytes(reply)) == reply


@given(st.one_of(force_samples, triad_samples))
def test_sample_round_trip(sample: ForceRaw | TriadRaw) -> None:
    channel = Channel.FORCE if isinstance(sample, ForceRaw) else Channel.GYRO
    assert decode_sample(channel, bytes(sample)) == sample
    assert type(sample).from_bytes(bytes(sample)) == sample


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=24), mutated(replies)))
def test_arbitrary_bytes_as_reply(data: bytes) -> None:
    try:
        reply = decode_reply(data)
    except DecodeError:
        return
    assert bytes(reply) == data


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=6), mutated(read_commands)))
def test_arbitrary_bytes_as_read_command(data: bytes) -> None:
    try:
        command = ReadOneSample.from_bytes(data)
    except DecodeError:
        return
    assert bytes(command) == data


@settings(max_examples=200)
@given(st.sampled_from(list(Channel)), st.one_of(st.binary(max_size=9), mutated(st.one_of(force_samples, triad_samples))))
def test_arbitrary_bytes_as_sample(channel: Channel, data: bytes) -> None:
    try:
        sample = decode_sample(channel, data)
    except DecodeError:
        assert len(data) != channel.packet_size  # every byte pattern of the right size is a valid reading
        return
    assert bytes(sample) == data


def test_wire_layouts() -> None:
    assert bytes(ReadOneSample(2)) == b"\x05\x02" and bytes(ReadOneSample(6)) == b"\x05\x06"
    assert decode_reply(b"\xc0\x00\x05\x00\x80") == GenericResponse(0, 5, b"\x00\x80")
    assert decode_reply(b"\x03\xaa") == PeriodicData(3, b"\xaa")
    assert decode_reply(b"\x82\x17") == SensorIdEvent(0x17)
    assert decode_reply(b"\x90\x01\x02") == OtherPacket(0x90, b"\x01\x02")
    assert bytes(TriadRaw(1, -1, 256)) == b"\x01\x00\xff\xff\x00\x01"
    for bad in (b"", b"\xc0\x00", b"\x82", b"\x82\x01\x02"):
        with pytest.raises(DecodeError):
            decode_reply(bad)
    with pytest.raises(DecodeError):
        ReadOneSample.from_bytes(b"\x05\x00")
    with pytest.raises(ConfigError):
        OtherPacket(0xC0)


def test_uuid_scheme() -> None:
    assert char_uuid(1, 2) == "4a5c0001-0002-0000-0000-5c1e741f1c00"
    assert service_uuid(0) == "4a5c0000-0000-0000-0000-5c1e741f1c00"
    assert parse_uuid("4A5C0003-0003-0000-0000-5C1E741F1C00") == (3, 3)
    assert parse_uuid("4a5c0003-0003-0000-0000-5c1e741f1c01") is None
    assert [(c.service, c.packet_size) for c in Channel] == [(1, 2), (2, 6), (3, 6)]
    with pytest.raises(ConfigError):
        char_uuid(16, 2)


def test_scale_factors_follow_the_datasheet_line() -> None:
    # FactoryCal "32768,0,5000,50": 32768 counts is 0 N and 5000 counts is 50 N of push, i.e. -50 N of pull
    assert ForceRaw(32768).force_n == 0.0
    assert ForceRaw(5000).force_n == pytest.approx(-50.0)
    assert ForceRaw(60536).force_n == pytest.approx(50.0)
    assert ForceRaw.from_force_n(12.5).force_n == pytest.approx(12.5, abs=50 / 27768)
    assert ForceRaw.from_force_n(500.0) == ForceRaw(0xFFFF) and ForceRaw(0xFFFF).saturated
    assert not ForceRaw.from_force_n(49.0).saturated and ForceRaw.from_force_n(51.0).saturated
    assert TriadRaw(32767, 0, 0).scaled(ACC_MS2_PER_COUNT)[0] / STANDARD_GRAVITY_MS2 == pytest.approx(16.0, abs=0.01)
    assert TriadRaw(100, -200, 0).scaled(0.07) == pytest.approx((7.0, -14.0, 0.0))
    assert TriadRaw.from_values([1e9, -1e9, 0.0], ACC_MS2_PER_COUNT) == TriadRaw(32767, -32768, 0)
    with pytest.raises(ConfigError):
        TriadRaw.from_values([1.0, 2.0], 0.07)
