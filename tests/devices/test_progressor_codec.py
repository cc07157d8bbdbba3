"""Progressor TLV codecs: round trips, strict decoding, and the weight decoder's clock unwrap."""

from __future__ import annotations

import numpy as np
import pytest
from devices_strategies import control_commands, mutated, progressor_payloads, progressor_responses
from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.devices.progressor import DATA_UUID, ProgressorDecoder
from bandlog.devices.progressor_codec import (
    BatteryVoltage,
    CommandResponse,
    ControlCommand,
    LowPowerWarning,
    Opcode,
    ProgressorId,
    TextReply,
    WeightPacket,
    decode_response,
)
from bandlog.errors import DecodeError
from bandlog.link import Notification
from bandlog.motion import STANDARD_GRAVITY_MS2


@given(control_commands)
def test_command_round_trip(command: ControlCommand) -> None:
    assert ControlCommand.from_bytes(bytes(command)) == command


@given(progressor_responses)
def test_response_round_trip(response: object) -> None:
    assert decode_response(bytes(response)) == response
    assert type(response).from_bytes(bytes(response)) == response


@given(progressor_payloads)
def test_payload_round_trip(payload: object) -> None:
    assert type(payload).from_bytes(bytes(payload)) == payload


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=40), mutated(progressor_responses)))
def test_arbitrary_bytes_as_response(data: bytes) -> None:
    try:
        response = decode_response(data)
    except DecodeError:
        return
    assert bytes(response) == data


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=12), mutated(control_commands)))
def test_arbitrary_bytes_as_command(data: bytes) -> None:
    try:
        command = ControlCommand.from_bytes(data)
    except DecodeError:
        return
    assert bytes(command) == data


@settings(max_examples=200)
@given(st.sampled_from([BatteryVoltage, TextReply, ProgressorId]), st.binary(max_size=12))
def test_arbitrary_bytes_as_payload(kind: type, data: bytes) -> None:
    try:
        payload = kind.from_bytes(data)
    except DecodeError:
        return
    assert bytes(payload) == data


def test_wire_layouts() -> None:
    assert bytes(ControlCommand(Opcode.START_WEIGHT)) == b"\x65"
    assert bytes(ControlCommand(Opcode.TARE, length_byte=True)) == b"\x64\x00"
    packet = WeightPacket([1.5], [1000])
    assert bytes(packet) == bytes([1, 8]) + np.float32(1.5).tobytes() + (1000).to_bytes(4, "little")
    assert bytes(LowPowerWarning()) == b"\x04\x00"
    assert bytes(BatteryVoltage(3930)) == (3930).to_bytes(4, "little")
    assert bytes(ProgressorId(0x1234)) == b"\x34\x12"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x01\x08" + bytes(7), "length byte says 8"),
        (b"\x01\x07" + bytes(7), "not a multiple of 8"),
        (b"\x04\x01\x00", "no payload"),
        (b"\x09\x00", "unexpected Progressor response code 9"),
        (b"\x01", "shorter than its 2-byte header"),
        (b"", "empty"),
    ],
)
def test_malformed_responses(data: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        decode_response(data)


def test_malformed_commands_and_payloads() -> None:
    with pytest.raises(DecodeError, match="unknown Progressor opcode"):
        ControlCommand.from_bytes(b"\x10")
    with pytest.raises(DecodeError, match="length byte"):
        ControlCommand.from_bytes(b"\x69\x04\x00\x00")
    with pytest.raises(DecodeError, match="4 bytes"):
        BatteryVoltage.from_bytes(b"\x01\x02\x03")
    with pytest.raises(DecodeError, match="high zero"):
        ProgressorId.from_bytes(b"\x34\x00")
    with pytest.raises(DecodeError, match="ASCII"):
        TextReply.from_bytes(b"\xff")


def feed(decoder: ProgressorDecoder, packet: bytes, t_host_s: float = 0.0):
    return decoder.feed(Notification(DATA_UUID, packet, t_host_s))


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 50_000), min_size=1, max_size=60), st.data())
def test_decoder_unwraps_the_microsecond_counter(start_us: int, steps_us: list[int], data: st.DataObject) -> None:
    true_us = start_us + np.cumsum([0, *steps_us])
    sizes = []
    while sum(sizes) < len(true_us):
        sizes.append(data.draw(st.integers(1, min(31, len(true_us) - sum(sizes)))))
    decoder = ProgressorDecoder()
    times: list[np.ndarray] = []
    at = 0
    for size in sizes:
        chunk = true_us[at : at + size]
        out = feed(decoder, bytes(WeightPacket(np.ones(size), chunk % 2**32)))
        times.append(out.blocks[0].t_s)
        at += size
    assert np.array_equal(np.concatenate(times), true_us * 1e-6)


def test_decoder_converts_kg_and_reports_low_battery() -> None:
    decoder = ProgressorDecoder()
    out = feed(decoder, bytes(WeightPacket([2.0, -0.5], [0, 12_500])), t_host_s=3.0)
    block = out.blocks[0]
    assert np.array_equal(block.force_n, np.array([2.0, -0.5]) * STANDARD_GRAVITY_MS2)
    assert block.gyro_dps is None and np.array_equal(block.t_host_s, [3.0, 3.0])
    notices = feed(decoder, bytes(LowPowerWarning())).notices
    assert [n.kind for n in notices] == ["low_battery"]
    assert feed(decoder, bytes(CommandResponse(b"1.0"))).blocks == []
    with pytest.raises(DecodeError):
        feed(decoder, b"\x01\x09" + bytes(9))
    assert len(feed(decoder, bytes(WeightPacket([1.0], [25_000]))).blocks) == 1
