"""WitMotion: frame and command bytes, scales, rate codes, resync, and the frame-index time base."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensors_strategies import mutated, wit_commands, wit_frames, wit_replies

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.devices import witmotion as wm
from bandlog.devices.base import DAMAGED_PACKETS

PACKETS = (wm.ImuFrame, wm.RegisterReply, wm.Command)


def test_frame_layout_and_scales() -> None:
    frame = wm.ImuFrame(acc_raw=(2048, -2048, 0), gyro_raw=(16384, -1, 0), angle_raw=(16384, -32768, 1))
    data = bytes(frame)
    assert data.hex(" ") == "55 61 00 08 00 f8 00 00 00 40 ff ff 00 00 00 40 00 80 01 00"
    np.testing.assert_allclose(frame.acc_ms2, [9.80665, -9.80665, 0.0])  # 2048 / 32768 * 16 g = 1 g
    np.testing.assert_allclose(frame.gyro_dps, [1000.0, -2000.0 / 32768, 0.0])
    np.testing.assert_allclose(frame.angle_deg, [90.0, -180.0, 180.0 / 32768])


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (wm.Command.unlock(), "ff aa 69 88 b5"),
        (wm.Command.save(), "ff aa 00 00 00"),
        (wm.Command.set_rate(0x09), "ff aa 03 09 00"),
        (wm.Command.read_register(0x03), "ff aa 27 03 00"),
    ],
)
def test_commands_match_the_vendor_bytes(command: wm.Command, wire: str) -> None:
    assert bytes(command).hex(" ") == wire
    assert wm.Command.from_bytes(bytes.fromhex(wire)) == command


@pytest.mark.parametrize(
    ("asked_hz", "code", "rate_hz"),
    [(100, 0x09, 100.0), (30, 0x08, 50.0), (150, 0x0B, 200.0), (1000, 0x0B, 200.0), (7, 0x05, 5.0), (0.2, 0x03, 1.0)],
)
def test_rate_code_is_the_nearest_confirmed_one(asked_hz: float, code: int, rate_hz: float) -> None:
    assert wm.rate_code_for(asked_hz) == (code, rate_hz)


@given(st.floats(0.01, 5000))
def test_rate_code_never_uses_the_ambiguous_0x0a(asked_hz: float) -> None:
    code, _ = wm.rate_code_for(asked_hz)
    assert code in wm.RATE_CODES_HZ and code != 0x0A


def test_bad_rate_and_bad_field_values_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        wm.rate_code_for(0)
    with pytest.raises(ConfigError):
        wm.ImuFrame((0, 0, 40000), (0, 0, 0), (0, 0, 0))
    with pytest.raises(ConfigError):
        wm.Command(0x100, 0)


@given(st.one_of(wit_frames, wit_replies, wit_commands))
def test_round_trip(packet: object) -> None:
    assert type(packet).from_bytes(bytes(packet)) == packet


@given(st.one_of(st.binary(max_size=24), wit_frames.map(bytes).flatmap(mutated), wit_commands.map(bytes).flatmap(mutated)))
def test_any_bytes_decode_exactly_or_raise(data: bytes) -> None:
    for packet_type in PACKETS:
        try:
            packet = packet_type.from_bytes(data)
        except DecodeError:
            continue
        assert bytes(packet) == data


def _stream_with_junk(frames: list[bytes]) -> bytes:
    return b"\x01\x02" + frames[0] + b"\x55\x00junk" + b"".join(frames[1:]) + b"\x55"


@given(st.lists(wit_frames.map(bytes), min_size=2, max_size=6), st.lists(st.integers(1, 30), max_size=12))
def test_resync_is_independent_of_how_bytes_are_split(frames: list[bytes], cuts: list[int]) -> None:
    stream = _stream_with_junk(frames)
    whole = bytearray(stream)
    expected, _ = wm.take_frames(whole)
    buffer, got, position = bytearray(), [], 0
    for size in [*cuts, len(stream)]:
        buffer.extend(stream[position : position + size])
        position += size
        got.extend(wm.take_frames(buffer)[0])
    assert got == expected
    # a frame whose data happens to contain 55 61 may be mis-cut after junk; frames after a clean header are kept
    assert expected[0] == frames[0]


def test_take_frames_discards_junk_and_keeps_a_partial_frame() -> None:
    frame = bytes(wm.ImuFrame((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    buffer = bytearray(b"\x00\x11" + frame + frame[:7])
    frames, discarded = wm.take_frames(buffer)
    assert frames == [frame] and discarded == 2 and bytes(buffer) == frame[:7]
    buffer.extend(frame[7:])
    assert wm.take_frames(buffer) == ([frame], 0) and not buffer


def _note(payload: bytes, t_host_s: float) -> Notification:
    return Notification(wm.NOTIFY_UUID, payload, t_host_s)


def test_decoder_times_frames_by_index_and_reports_register_replies() -> None:
    decoder = wm.WitMotionDecoder(rate_hz=50.0)
    frames = [bytes(wm.ImuFrame((i, 0, 2048), (0, 0, 16 * i), (0, 0, 0))) for i in range(4)]
    blocks = [b for i, f in enumerate(frames) for b in decoder.feed(_note(f, 1.0 + i * 0.02)).blocks]
    assert [float(b.t_s[0]) for b in blocks] == [0.0, 0.02, 0.04, 0.06]
    assert blocks[2].t_host_s is not None and blocks[2].t_host_s[0] == pytest.approx(1.04)
    assert blocks[0].force_n is None and blocks[3].gyro_dps[0, 2] == pytest.approx(48 * 2000 / 32768)
    reply = decoder.feed(_note(bytes(wm.RegisterReply(0x03, (0x09, 0, 0, 0, 0, 0, 0, 0))), 2.0))
    assert not reply.blocks and reply.notices[0].kind == "register" and reply.notices[0].value == 9.0
    junk = decoder.feed(_note(b"\x00\x01\x02", 2.1))
    assert junk.notices[0].kind == DAMAGED_PACKETS and junk.notices[0].value == 1.0


def test_decoder_drops_a_frame_cut_short_instead_of_joining_it_to_the_next() -> None:
    """One frame per BLE notification: a short one followed by a fresh frame is damage, counted once."""
    decoder = wm.WitMotionDecoder(rate_hz=100.0)
    frames = [bytes(wm.ImuFrame((i, 0, 2048), (0, 0, 0), (0, 0, 0))) for i in range(3)]
    outputs = [decoder.feed(_note(f, 0.01 * i)) for i, f in enumerate([frames[0], frames[1][:-1], frames[2]])]
    acc_x = [int(round(b.acc_ms2[0, 0] / (wm.ACC_G_PER_LSB * 9.80665))) for o in outputs for b in o.blocks]
    assert acc_x == [0, 2]
    assert [float(b.t_s[0]) for o in outputs for b in o.blocks] == [0.0, 0.02]  # the lost frame keeps its period
    assert [n.kind for n in outputs[2].notices] == [DAMAGED_PACKETS]


@pytest.mark.parametrize(("arrival_hz", "warns"), [(100.0, False), (10.0, True), (1000.0, False)])
def test_decoder_warns_once_when_frames_arrive_much_slower(arrival_hz: float, warns: bool) -> None:
    decoder = wm.WitMotionDecoder(rate_hz=100.0)
    frame = bytes(wm.ImuFrame((0, 0, 2048), (0, 0, 0), (0, 0, 0)))
    notices = [n for i in range(int(5 * arrival_hz)) for n in decoder.feed(_note(frame, i / arrival_hz)).notices]
    kinds = [n.kind for n in notices]
    assert kinds == (["rate_mismatch"] if warns else [])
    if warns:
        assert notices[0].value == pytest.approx(10.0, rel=0.05)
