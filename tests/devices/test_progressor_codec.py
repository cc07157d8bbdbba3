"""Progressor TLV codecs: round trips, strict decoding, and the weight decoder's clock unwrap."""

from __future__ import annotations

import numpy as np
import pytest
from devices_strategies import control_commands, mutated, progressor_payloads, progressor_responses
from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.core.errors import DecodeError
from bandlog.core.link import Notification
from bandlog.core.motion import STANDARD_GRAVITY_MS2
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
    times: list[np.ndarray] = [np.empty(0)]
    at = 0
    for size in sizes:
        chunk = true_us[at : at + size]
        out = feed(decoder, bytes(WeightPacket(np.ones(size), chunk % 2**32)))
        times += [block.t_s for block in out.blocks]
        assert not [n for n in out.notices if n.kind == "skipped_samples"]
        at += size
    emitted = np.concatenate(times)
    # a step across 2^32 waits for the next sample to confirm it: only the very last may be held
    assert len(emitted) >= len(true_us) - 1
    assert np.array_equal(emitted, true_us[: len(emitted)] * 1e-6)


def run_samples(stamps_us: list[int], weights_kg: list[float] | None = None, per_packet: int = 1):
    """Feed the samples in packets of per_packet; return emitted t_s, force and samples skipped."""
    decoder = ProgressorDecoder()
    weights = weights_kg if weights_kg is not None else [1.0] * len(stamps_us)
    t_s: list[float] = []
    force_n: list[float] = []
    skipped = 0.0
    for at in range(0, len(stamps_us), per_packet):
        packet = WeightPacket(weights[at : at + per_packet], stamps_us[at : at + per_packet])
        out = feed(decoder, bytes(packet))
        t_s += [float(t) for b in out.blocks for t in b.t_s]
        force_n += [float(f) for b in out.blocks for f in b.force_n]
        skipped += sum(n.value or 0 for n in out.notices if n.kind == "skipped_samples")
    return t_s, force_n, skipped


STEP_US = 12_500


@pytest.mark.parametrize("per_packet", [1, 3])
@pytest.mark.parametrize(
    ("name", "base_us", "bad"),
    [
        ("stale repeat", 1_000_000, lambda t: 1_000_000),
        ("small step back", 1_000_000, lambda t: t - 20_000),
        ("top byte zeroed past 2^31 us", 2**31 + 5_000_000, lambda t: t & 0x00FF_FFFF),
        ("top byte corrupted upwards", 5_000_000, lambda t: t | 0x7F00_0000),
    ],
)
def test_one_bad_timestamp_costs_one_sample_and_shifts_nothing(name: str, base_us: int, bad, per_packet: int) -> None:  # type: ignore[no-untyped-def]
    good = [base_us + STEP_US * k for k in range(9)]
    stamps = [*good[:4], bad(good[4]), *good[5:]]
    t_s, _, skipped = run_samples(stamps, per_packet=per_packet)
    assert t_s == [t * 1e-6 for t in good[:4] + good[5:]], name
    assert skipped == 1


def test_a_genuine_wrap_is_accepted_with_continuous_time() -> None:
    true_us = [2**32 - 2 * STEP_US + STEP_US * k for k in range(6)]
    t_s, _, skipped = run_samples([t % 2**32 for t in true_us])
    assert t_s == pytest.approx([t * 1e-6 for t in true_us], abs=1e-9) and skipped == 0
    assert t_s[-1] == pytest.approx((2**32 + 3 * STEP_US) * 1e-6, abs=1e-9)


def test_non_finite_weights_are_missing_samples_not_lost_packets() -> None:
    weights = [1.0, float("nan"), 2.0, float("inf"), -float("inf"), 3.0]
    t_s, force_n, skipped = run_samples([STEP_US * k for k in range(6)], weights, per_packet=6)
    assert force_n == pytest.approx(np.array([1.0, 2.0, 3.0]) * STANDARD_GRAVITY_MS2)
    assert t_s == [0.0, 2 * STEP_US * 1e-6, 5 * STEP_US * 1e-6]
    assert skipped == 3


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


def test_a_clock_that_restarts_and_stays_back_continues_forward_and_says_so() -> None:
    decoder = ProgressorDecoder()
    stamps = [5_000_000 + STEP_US * k for k in range(3)] + [STEP_US * k for k in range(4)]
    notices, t_s = [], []
    for t_us in stamps:
        out = feed(decoder, bytes(WeightPacket([1.0], [t_us])))
        notices += out.notices
        t_s += [float(t) for b in out.blocks for t in b.t_s]
    assert [n.kind for n in notices] == ["clock_restarted"]
    assert t_s == pytest.approx([5.0, 5.0125, 5.025, 5.0375, 5.05, 5.0625, 5.075])
