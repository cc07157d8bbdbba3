"""bandlog-open: the documented byte layout, round trips, strict decoding, clock unwrap and loss counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensors_strategies import mutated, open_commands, open_replies, open_samples

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.devices import bandlog_open as bo


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


def _run(decoder: bo.OpenDecoder, stamps_us: list[int], seqs: list[int] | None = None) -> tuple[list[float], float, float]:
    """Feed one sample per stamp; return the emitted t_s, samples skipped and samples reported lost."""
    t_s: list[float] = []
    skipped = dropped = 0.0
    for k, t_us in enumerate(stamps_us):
        out = decoder.feed(_sample_note(k if seqs is None else seqs[k], t_us))
        t_s += [float(t) for block in out.blocks for t in block.t_s]
        skipped += sum(n.value or 0 for n in out.notices if n.kind == "skipped_samples")
        dropped += sum(n.value or 0 for n in out.notices if n.kind == "dropped_packets")
    return t_s, skipped, dropped


def test_decoder_unwraps_the_microsecond_clock() -> None:
    start_us = 2**32 - 25_000
    t_s, skipped, dropped = _run(bo.OpenDecoder(rate_hz=100.0), [start_us + 10_000 * k for k in range(6)])
    assert t_s == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    assert (skipped, dropped) == (0, 0)


STEP_US = 12_500  # 80 Hz


@pytest.mark.parametrize(
    ("name", "bad_us"),
    [
        ("stale repeat", 1_000_000),
        ("small step back", 1_005_000),
        ("zeroed top byte", (2**31 + 1_025_000) & 0x00FF_FFFF),
        ("top byte flipped up", (2**31 + 1_025_000) | 0xFF00_0000),
        ("forward jump of 3 s", 2**31 + 4_025_000),
    ],
)
def test_one_bad_timestamp_costs_one_sample_and_shifts_nothing(name: str, bad_us: int) -> None:
    # 1.000000, 1.012500, <bad>, 1.037500, ... once made t jump to 4294.967 s for the rest of the set
    base_us = 2**31 if "byte" in name or "jump" in name else 0
    good = [base_us + 1_000_000 + STEP_US * k for k in range(8)]
    stamps = [*good[:2], bad_us, *good[3:]]
    t_s, skipped, dropped = _run(bo.OpenDecoder(rate_hz=80.0), stamps)
    expected = [(t - good[0]) / 1e6 for t in good[:2] + good[3:]]
    assert t_s == pytest.approx(expected, abs=1e-9), name
    assert skipped == 1 and dropped == 0
    assert np.all(np.diff(t_s) > 0)


def test_a_genuine_wrap_is_accepted_and_time_stays_continuous() -> None:
    good = [2**32 - 3 * STEP_US + STEP_US * k for k in range(8)]
    t_s, skipped, _ = _run(bo.OpenDecoder(rate_hz=80.0), [t % 2**32 for t in good])
    assert t_s == pytest.approx([(t - good[0]) / 1e6 for t in good], abs=1e-9)
    assert skipped == 0


def test_a_wrap_far_from_the_counter_end_is_not_a_wrap() -> None:
    # 1.0 s, then a value that would be a wrap only if the counter were near 2^32
    t_s, skipped, _ = _run(bo.OpenDecoder(rate_hz=80.0), [1_000_000, 1_012_500, 500, 1_025_000, 1_037_500])
    assert t_s == pytest.approx([0.0, 0.0125, 0.025, 0.0375]) and skipped == 1


@pytest.mark.parametrize("lost", [1, 5, 127, 128, 300])
def test_decoder_counts_lost_samples_even_past_the_7_bit_sequence(lost: int) -> None:
    decoder = bo.OpenDecoder(rate_hz=100.0)
    decoder.feed(_sample_note(0, 0))
    out = decoder.feed(_sample_note(1 + lost, 10_000 * (1 + lost)))
    if not out.blocks:  # a long step waits for the next sample to confirm it
        out = decoder.feed(_sample_note(2 + lost, 10_000 * (2 + lost)))
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
