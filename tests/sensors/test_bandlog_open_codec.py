"""bandlog-open: the documented byte layout, round trips, strict decoding, clock unwrap and loss counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensors_strategies import mutated, open_commands, open_replies, open_samples

from bandlog.devices import bandlog_open as bo
from bandlog.errors import ConfigError, DecodeError
from bandlog.link import Notification


def test_sample_layout_matches_the_profile_document() -> None:
    # the worked example in firmware_notes/bandlog_open_profile.md
    sample = bo.Sample(seq=5, t_us=1_000_000, force_raw=123_456, acc_raw=(0, -1000, 1000), gyro_raw=(32, -32, 0))
    wire = "05 40 42 0f 00 40 e2 01 00 00 18 fc e8 03 20 00 e0 ff 00 00"
    assert bytes(sample).hex(" ") == wire
    block = bo.samples_to_block([sample], np.array([0.0]))
    assert block.force_n[0] == pytest.approx(12.3456)
    np.testing.assert_allclose(block.acc_ms2[0], [0.0, -9.80665, 9.80665])
    np.testing.assert_allclose(block.gyro_dps[0], [1.0, -1.0, 0.0])


def test_reply_and_command_bytes() -> None:
    assert bytes(bo.Reply(bo.Opcode.BATTERY, bo.Status.OK, bytes.fromhex("6e0f50"))).hex(" ") == "80 05 00 6e 0f 50"
    assert bytes(bo.Command.set_rate(100)).hex(" ") == "04 64 00"
    assert bytes(bo.Command.calibrate(10.0)).hex(" ") == "07 a0 86 01 00"
    assert bytes(bo.Command(bo.Opcode.TARE)) == b"\x03"


@pytest.mark.parametrize(
    "make",
    [lambda: bo.Command(0x09), lambda: bo.Command(bo.Opcode.SET_RATE), lambda: bo.Command.set_rate(5),
     lambda: bo.Reply(1, 0, bytes(18)), lambda: bo.Sample(128, 0, 0, (0, 0, 0), (0, 0, 0)),
     lambda: bo.Sample(0, 0, 2**23, (0, 0, 0), (0, 0, 0))],
)
def test_invalid_fields_are_config_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        make()


@given(st.one_of(open_samples, open_replies, open_commands))
def test_round_trip(packet: object) -> None:
    assert type(packet).from_bytes(bytes(packet)) == packet


@given(st.one_of(open_samples, open_replies))
def test_parse_packet_dispatches_on_bit_7(packet: object) -> None:
    assert bo.parse_packet(bytes(packet)) == packet


@given(
    st.one_of(
        st.binary(max_size=24),
        open_samples.map(bytes).flatmap(mutated),
        open_replies.map(bytes).flatmap(mutated),
        open_commands.map(bytes).flatmap(mutated),
    )
)
def test_any_bytes_decode_exactly_or_raise(data: bytes) -> None:
    for parse in (bo.parse_packet, bo.Command.from_bytes):
        try:
            packet = parse(data)
        except DecodeError:
            continue
        assert bytes(packet) == data


def _sample_note(seq: int, t_us: int, force_raw: int = 0) -> Notification:
    payload = bytes(bo.Sample(seq % bo.SEQ_MODULO, t_us % 2**32, force_raw, (0, 0, 1000), (0, 0, 0)))
    return Notification(bo.DATA_UUID, payload, 0.0)


def test_decoder_unwraps_the_microsecond_clock() -> None:
    decoder = bo.OpenDecoder(rate_hz=100.0)
    start_us = 2**32 - 25_000
    t_s = [float(decoder.feed(_sample_note(k, start_us + 10_000 * k)).blocks[0].t_s[0]) for k in range(6)]
    assert t_s == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])


@pytest.mark.parametrize("lost", [1, 5, 127, 128, 300])
def test_decoder_counts_lost_samples_even_past_the_7_bit_sequence(lost: int) -> None:
    decoder = bo.OpenDecoder(rate_hz=100.0)
    decoder.feed(_sample_note(0, 0))
    out = decoder.feed(_sample_note(1 + lost, 10_000 * (1 + lost)))
    assert [(n.kind, n.value) for n in out.notices] == [("dropped_packets", float(lost))]
    assert out.blocks[0].t_s[0] == pytest.approx(0.01 * (1 + lost))


def test_decoder_reports_overload_once_and_turns_replies_into_notices() -> None:
    decoder = bo.OpenDecoder()
    kinds = [n.kind for k, f in enumerate([0, bo.FORCE_LIMIT_RAW, bo.FORCE_LIMIT_RAW, 5]) for n in decoder.feed(_sample_note(k, k, f)).notices]
    assert kinds == ["force_overload"]

    def notice(reply: bo.Reply):  # type: ignore[no-untyped-def]
        return decoder.feed(Notification(bo.DATA_UUID, bytes(reply), 0.0)).notices[0]

    battery = notice(bo.Reply(bo.Opcode.BATTERY, bo.Status.OK, bytes.fromhex("6e0f50")))
    assert (battery.kind, battery.value) == ("battery", 80.0) and "3950 mV" in battery.message
    assert notice(bo.Reply(bo.Opcode.BATTERY, bo.Status.OK, bytes.fromhex("7a0d09"))).kind == "low_battery"
    assert notice(bo.Reply(bo.Opcode.TARE)).kind == "tare"
    assert notice(bo.Reply(bo.Opcode.CALIBRATE, bo.Status.BAD_ARGUMENT)).kind == "calibrate_failed"
    with pytest.raises(DecodeError):
        decoder.feed(Notification(bo.DATA_UUID, bytes(bo.Reply(bo.Opcode.BATTERY, bo.Status.OK, b"\x01")), 0.0))
