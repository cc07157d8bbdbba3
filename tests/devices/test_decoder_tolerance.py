"""Decoders as tolerant as the vendors' own parsers (issue 15, point 1; protocols.md 10), and no more.

Each variant a real unit may send is read exactly as its clean twin would be, and counted as a
TRIMMED_PACKETS (or SKIPPED_SAMPLES) notice; what cannot be (a length byte or row count larger than
the data) still raises DecodeError.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from devices_strategies import device_infos, measurement_packets, sensor_infos, weight_packets
from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.core.samples import SampleBlock
from bandlog.devices.base import SKIPPED_SAMPLES, TRIMMED_PACKETS, DecodeOutput, StreamDecoder
from bandlog.devices.gdx_channels import plan_channels
from bandlog.devices.gdx_decoder import GdxDecoder
from bandlog.devices.gdx_for import RESPONSE_UUID
from bandlog.devices.gdx_records import DeviceInfo, SensorInfo
from bandlog.devices.gdx_stream import MeasurementPacket, decode_packet, fragments
from bandlog.devices.progressor import DATA_UUID, ProgressorDecoder
from bandlog.devices.progressor_codec import WeightPacket, decode_response
from bandlog.emulate.twins.gdx_for import default_sensors

tails = st.binary(min_size=1, max_size=8).filter(lambda tail: not tail.endswith(b"\x00"))

# byte offset and size of each text field in the records (struct formats in gdx_records.py)
SENSOR_TEXT = {"description": (8, 60), "units": (68, 32)}
INFO_TEXT = {"order_code": (0, 16), "serial": (16, 16), "name": (32, 32), "description": (88, 64)}


def with_text_after_nul(data: bytes, record: object, fields: dict[str, tuple[int, int]], tail_of: dict[str, bytes]) -> bytes:
    """The record's bytes with `tail` written after the NUL of each named text field that has room."""
    out = bytearray(data)
    for name, tail in tail_of.items():
        offset, size = fields[name]
        text = getattr(record, name).encode("utf-8")
        if len(text) + 1 + len(tail) <= size:
            out[offset + len(text) + 1 : offset + len(text) + 1 + len(tail)] = tail
    return bytes(out)


def counted(outputs: list[DecodeOutput], kind: str) -> float:
    return sum(n.value or 0 for out in outputs for n in out.notices if n.kind == kind)


def run(decoder: StreamDecoder, uuid: str, payloads: list[bytes]) -> tuple[SampleBlock, list[DecodeOutput]]:
    outputs = [decoder.feed(Notification(uuid, p, 0.01 * i)) for i, p in enumerate(payloads)]
    outputs.append(decoder.flush())
    blocks = [b for out in outputs for b in out.blocks]
    return (SampleBlock.concat(blocks) if blocks else SampleBlock(t_s=np.zeros(0))), outputs


# ------------------------------------------------------------------------ GDX: text after a NUL


@given(sensor_infos, st.dictionaries(st.sampled_from(list(SENSOR_TEXT)), tails, min_size=1))
def test_bytes_after_a_nul_in_a_sensor_record_are_ignored(info: SensorInfo, tail_of: dict[str, bytes]) -> None:
    data = with_text_after_nul(bytes(info), info, SENSOR_TEXT, tail_of)
    read = SensorInfo.from_bytes(data)
    assert read == info and (read.description, read.units) == (info.description, info.units)
    assert bool(read.text_tails) == (data != bytes(info))  # kept aside (the profile counts them) ...
    assert bytes(read) == data  # ... so the record still re-encodes exactly


@given(device_infos, st.dictionaries(st.sampled_from(list(INFO_TEXT)), tails, min_size=1))
def test_bytes_after_a_nul_in_the_device_record_are_ignored(info: DeviceInfo, tail_of: dict[str, bytes]) -> None:
    data = with_text_after_nul(bytes(info), info, INFO_TEXT, tail_of)
    read = DeviceInfo.from_bytes(data)
    assert read == info and read.name == info.name and read.serial == info.serial
    assert bool(read.text_tails) == (data != bytes(info))
    assert bytes(read) == data


def test_record_layout_offsets_used_here_match_the_struct() -> None:
    info = SensorInfo(sensor_number=1, description="Force", units="N")
    assert bytes(info)[8:13] == b"Force" and bytes(info)[68:69] == b"N"
    assert bytes(DeviceInfo(name="GDX", description="D"))[32:35] == b"GDX"
    assert bytes(DeviceInfo(name="GDX", description="D"))[88:89] == b"D"


def test_text_itself_is_still_checked() -> None:
    data = bytearray(bytes(SensorInfo(sensor_number=1, description="Force", units="N")))
    data[68] = 0xFF  # the units text (before its NUL) is not UTF-8
    with pytest.raises(DecodeError, match="units is not UTF-8"):
        SensorInfo.from_bytes(bytes(data))
    with pytest.raises(ConfigError):
        SensorInfo(sensor_number=1, description="F" * 58, units="N", text_tails=(("description", b"xyz"),))


# ------------------------------------------------------------------- GDX: bytes after the rows


@given(measurement_packets(), st.binary(min_size=1, max_size=24))
def test_bytes_after_a_measurement_packets_rows_are_ignored(packet: MeasurementPacket, trailing: bytes) -> None:
    data = bytes(packet)
    if len(data) + len(trailing) > 255:
        return
    padded = bytes([data[0], len(data) + len(trailing)]) + data[2:] + trailing
    read = decode_packet(padded)
    assert isinstance(read, MeasurementPacket) and read.trailing == trailing
    assert read.values.tobytes() == packet.values.tobytes() and read.sensor_numbers == packet.sensor_numbers
    assert bytes(read) == padded


@given(measurement_packets(), st.integers(1, 8))
def test_a_packet_shorter_than_its_rows_is_still_rejected(packet: MeasurementPacket, short: int) -> None:
    data = bytes(packet)
    if packet.rows == 0 or short > 4 * packet.values.size:
        return
    cut = data[: len(data) - short]
    with pytest.raises(DecodeError):
        decode_packet(bytes([cut[0], len(cut)]) + cut[2:])


PLAN = plan_channels([s.info for s in default_sensors()])


@st.composite
def gdx_streams(draw: st.DrawFn) -> list[tuple[MeasurementPacket, bytes]]:
    """Consecutive 7-channel packets (rolling counter in byte 2), each with 0-12 trailing bytes."""
    n_packets = draw(st.integers(1, 12))
    rows = draw(st.integers(1, 4))
    stream = []
    for k in range(n_packets):
        values = draw(st.lists(st.floats(-40, 40, width=32), min_size=rows * 7, max_size=rows * 7))
        packet = MeasurementPacket(PLAN.mask, np.array(values, np.float32).reshape(rows, 7), reserved=bytes([k % 256, 0]))
        stream.append((packet, draw(st.binary(max_size=12))))
    return stream


@settings(max_examples=60, deadline=None)
@given(gdx_streams())
def test_the_gdx_decoder_reads_packets_with_trailing_bytes_as_clean_ones_and_counts_them(
    stream: list[tuple[MeasurementPacket, bytes]],
) -> None:
    clean = [f for packet, _ in stream for f in fragments(bytes(packet))]
    trailed = [
        f
        for packet, trailing in stream
        for f in fragments(bytes(MeasurementPacket(packet.channel_mask, packet.values, reserved=packet.reserved, trailing=trailing)))
    ]
    want, _ = run(GdxDecoder(PLAN, 0.01), RESPONSE_UUID, clean)
    got, outputs = run(GdxDecoder(PLAN, 0.01), RESPONSE_UUID, trailed)
    np.testing.assert_array_equal(got.t_s, want.t_s)
    for channel in ("force_n", "acc_ms2", "gyro_dps"):
        np.testing.assert_array_equal(getattr(got, channel), getattr(want, channel))
    assert counted(outputs, TRIMMED_PACKETS) == sum(1 for _, trailing in stream if trailing)


@pytest.mark.parametrize("make", [lambda: GdxDecoder(PLAN, 0.01, trimmed_replies=3), lambda: ProgressorDecoder(trimmed_replies=3)])
def test_replies_read_with_ignored_bytes_are_reported_once_with_the_first_output(make: Callable[[], StreamDecoder]) -> None:
    decoder = make()
    uuid = RESPONSE_UUID if isinstance(decoder, GdxDecoder) else DATA_UUID
    with pytest.raises(DecodeError):
        decoder.feed(Notification(uuid, b"\x01\x09" if uuid == DATA_UUID else b"\x20\x03", 0.0))  # nothing taken
    first = decoder.feed(Notification(uuid, b"" if uuid == RESPONSE_UUID else bytes(WeightPacket([1.0], [0])), 0.0))
    assert counted([first], TRIMMED_PACKETS) == 3
    assert counted([decoder.flush()], TRIMMED_PACKETS) == 0


# --------------------------------------------------------- Progressor: padded frames, NaN weights

STEP_US = 12_500


@st.composite
def progressor_streams(draw: st.DrawFn) -> list[tuple[WeightPacket, bytes]]:
    """Consecutive weight packets (some weights NaN, in any bit pattern), each with 0-12 padding bytes."""
    nan = st.integers(0x7F80_0001, 0x7FFF_FFFF).map(lambda bits: np.uint32(bits).view(np.float32).item())
    stream, t_us = [], draw(st.integers(0, 2**32 - 1))
    for _ in range(draw(st.integers(1, 12))):
        n = draw(st.integers(1, 2))
        weights = draw(st.lists(st.one_of(st.floats(-50, 50, width=32), nan), min_size=n, max_size=n))
        stream.append((WeightPacket(weights, [(t_us + STEP_US * k) % 2**32 for k in range(n)]), draw(st.binary(max_size=12))))
        t_us += STEP_US * n
    return stream


@settings(max_examples=80, deadline=None)
@given(progressor_streams())
def test_padded_progressor_frames_read_as_clean_ones_and_nan_weights_are_skipped(
    stream: list[tuple[WeightPacket, bytes]],
) -> None:
    clean = [bytes(packet) for packet, _ in stream]
    padded = [bytes(packet) + padding for packet, padding in stream]  # the length byte unchanged
    want, _ = run(ProgressorDecoder(), DATA_UUID, clean)
    got, outputs = run(ProgressorDecoder(), DATA_UUID, padded)
    np.testing.assert_array_equal(got.t_s, want.t_s)
    np.testing.assert_array_equal(got.force_n, want.force_n)
    assert np.isfinite(got.force_n if got.force_n is not None else []).all()
    n_nan = sum(int(np.count_nonzero(np.isnan(packet.weight_kg))) for packet, _ in stream)
    n_samples = sum(len(packet) for packet, _ in stream)
    assert len(got) + counted(outputs, SKIPPED_SAMPLES) == n_samples and counted(outputs, SKIPPED_SAMPLES) >= n_nan
    assert counted(outputs, TRIMMED_PACKETS) == sum(1 for _, padding in stream if padding)


@given(weight_packets(max_samples=4), st.binary(max_size=12))
def test_a_padded_frame_keeps_its_bytes_and_its_samples(packet: WeightPacket, padding: bytes) -> None:
    read = decode_response(bytes(packet) + padding)
    assert isinstance(read, WeightPacket) and read.padding == padding
    assert read.weight_kg.tobytes() == packet.weight_kg.tobytes() and np.array_equal(read.t_us, packet.t_us)
    assert bytes(read) == bytes(packet) + padding


@given(weight_packets(max_samples=4).filter(len), st.integers(1, 8))
def test_a_length_byte_larger_than_the_frame_is_still_rejected(packet: WeightPacket, short: int) -> None:
    with pytest.raises(DecodeError, match="length byte"):
        decode_response(bytes(packet)[:-short])
