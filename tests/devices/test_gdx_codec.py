"""GDX codecs: the protocols.md 2.8 worked examples byte for byte, round trips, strict decoding."""

from __future__ import annotations

import numpy as np
import pytest
from devices_strategies import (
    commands,
    device_infos,
    gdx_packets,
    measurement_packets,
    mutated,
    replies,
    sensor_infos,
    sensor_masks,
    statuses,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.devices import gdx_codec as gc
from bandlog.devices.gdx_records import DeviceInfo, DeviceStatus, SensorInfo, SensorMask
from bandlog.devices.gdx_stream import MeasurementPacket, OtherMeasurement, decode_packet

RECORDS = (SensorMask, DeviceStatus, DeviceInfo, SensorInfo)


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (gc.Init(0xFE), "58 19 FE 3F 1A A5 4A 06 49 07 48 08 47 09 46 0A 45 0B 44 0C 43 0D 42 0E 41"),
        (gc.SetMeasurementPeriod(0xFD, 10_000), "58 0F FD B5 1B FF 00 10 27 00 00 00 00 00 00"),
        (gc.StartMeasurements(0xFC, 0xFE), "58 13 FC 7D 18 FF 01 FE 00 00 00 00 00 00 00 00 00 00 00"),
        (gc.StopMeasurements(0xFB), "58 0B FB 72 19 FF 00 FF FF FF FF"),
    ],
)
def test_worked_examples_byte_for_byte(command: gc.Command, wire: str) -> None:
    assert bytes(command) == hexbytes(wire)
    assert gc.Command.from_bytes(hexbytes(wire)) == command


def test_counter_sequence_after_init() -> None:
    counters = [gc.next_counter(0xFF)]
    for _ in range(3):
        counters.append(gc.next_counter(counters[-1]))
    assert counters == [0xFE, 0xFD, 0xFC, 0xFB]
    assert gc.next_counter(0x00) == 0xFF


def test_argumentless_command_layout() -> None:
    data = bytes(gc.GetStatus(0x10))
    assert data[:3] == bytes([0x58, 5, 0x10]) and data[4] == 0x10
    assert data[3] == (0x58 + 5 + 0x10 + 0x10) & 0xFF
    assert bytes(gc.GetSensorInfo(0xF0, 3))[-2:] == bytes([0x50, 3])


@given(commands)
def test_command_round_trip(command: gc.Command) -> None:
    data = bytes(command)
    assert len(data) == data[1]
    assert gc.Command.from_bytes(data) == command
    assert type(command).from_bytes(data) == command


@given(replies)
def test_reply_round_trip(reply: gc.Reply) -> None:
    assert gc.Reply.from_bytes(bytes(reply)) == reply
    assert decode_packet(bytes(reply)) == reply


@given(st.one_of(sensor_masks, statuses, device_infos, sensor_infos))
def test_record_round_trip(record: object) -> None:
    assert type(record).from_bytes(bytes(record)) == record


@given(measurement_packets())
def test_measurement_round_trip(packet: MeasurementPacket) -> None:
    data = bytes(packet)
    decoded = MeasurementPacket.from_bytes(data)
    assert decoded == packet and decode_packet(data) == packet
    assert decoded.values.shape == (packet.rows, len(packet.sensor_numbers))
    assert np.array_equal(decoded.values, packet.values)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=60), mutated(commands)))
def test_arbitrary_bytes_as_command(data: bytes) -> None:
    try:
        command = gc.Command.from_bytes(data)
    except DecodeError:
        return
    assert bytes(command) == data


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=80), mutated(gdx_packets)))
def test_arbitrary_bytes_as_device_packet(data: bytes) -> None:
    try:
        packet = decode_packet(data)
    except DecodeError:
        return
    assert bytes(packet) == data


@settings(max_examples=200)
@given(st.sampled_from(RECORDS), st.data())
def test_arbitrary_bytes_as_record(kind: type, data: st.DataObject) -> None:
    size = len(bytes(data.draw({SensorMask: sensor_masks, DeviceStatus: statuses, DeviceInfo: device_infos,
                                SensorInfo: sensor_infos}[kind])))
    raw = data.draw(st.one_of(st.binary(min_size=size, max_size=size), st.binary(max_size=size + 4)))
    try:
        record = kind.from_bytes(raw)
    except DecodeError:
        return
    assert bytes(record) == raw


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (hexbytes("59 0B FB 71 19 FF 00 FF FF FF FF"), "must start with 0x58"),
        (hexbytes("58 0C FB 73 19 FF 00 FF FF FF FF"), "length byte"),
        (hexbytes("58 0B FB 73 19 FF 00 FF FF FF FF"), "checksum"),
        (hexbytes("58 0B FB 72 19 FF 00 FF FF FF"), "length byte"),
        (hexbytes("58 0B FB 72 19 FF 01 FF FF FF FE"), "FF 00 FF FF FF FF"),  # sum unchanged
        (bytes(gc.Init(0xFE))[:20], "length byte"),
    ],
)
def test_malformed_commands(data: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why) as info:
        gc.Command.from_bytes(data)
    assert info.value.data == data


def test_unknown_command_and_fixed_parameters_rejected() -> None:
    packet = bytearray(bytes(gc.GetStatus(0x20)))
    packet[4] = 0x77
    packet[3] = gc.checksum(packet)
    with pytest.raises(DecodeError, match="command id"):
        gc.Command.from_bytes(bytes(packet))
    stop = bytearray(bytes(gc.StopMeasurements(0x20)))
    stop[6] = 0x01
    stop[3] = gc.checksum(stop)
    with pytest.raises(DecodeError, match="FF 00 FF FF FF FF"):
        gc.Command.from_bytes(bytes(stop))
    with pytest.raises(DecodeError, match="command id"):
        gc.GetStatus.from_bytes(bytes(gc.StopMeasurements(0x20)))


def test_malformed_measurement_packets() -> None:
    good = bytes(MeasurementPacket(0b110, np.ones((2, 2), np.float32)))
    with pytest.raises(DecodeError, match="disagree"):
        MeasurementPacket.from_bytes(good[:1] + bytes([len(good) - 4]) + good[2:-4])
    bad_rows = bytearray(good)
    bad_rows[7] = 3
    with pytest.raises(DecodeError, match="3 rows x 2 channels"):
        MeasurementPacket.from_bytes(bytes(bad_rows))
    with pytest.raises(DecodeError, match="length byte"):
        MeasurementPacket.from_bytes(good[:-1])
    empty_mask = bytearray(good)
    empty_mask[5] = 0
    with pytest.raises(DecodeError, match="empty channel mask"):
        MeasurementPacket.from_bytes(bytes(empty_mask))
    with pytest.raises(DecodeError, match="not an undecoded measurement type"):
        OtherMeasurement.from_bytes(good)


def test_wide_packet_layout_keeps_high_mask_bits() -> None:
    packet = MeasurementPacket((1 << 20) | 1, np.array([[1.5, -2.0]], np.float32), wide=True)
    data = bytes(packet)
    assert data[4] == 0x07 and data[5:9] == ((1 << 20) | 1).to_bytes(4, "little") and data[9] == 1
    assert MeasurementPacket.from_bytes(data).sensor_numbers == (0, 20)


def test_records_have_documented_sizes_and_offsets() -> None:
    info = SensorInfo(sensor_number=5, description="X-axis gyro", units="rad/s", min_period_us=1234,
                      typical_period_us=10_000, exclusion_mask=0x40)
    data = bytes(info)
    assert len(data) == 148 and len(bytes(DeviceStatus())) == 12 and len(bytes(DeviceInfo())) == 152
    assert data[8:19] == b"X-axis gyro" and data[68:73] == b"rad/s"
    assert int.from_bytes(data[124:128], "little") == 1234 and int.from_bytes(data[144:148], "little") == 0x40
    status = DeviceStatus(main_fw_major=1, main_fw_minor=6, main_fw_build=300, battery_percent=77)
    assert bytes(status)[10] == 77 and status.main_firmware == "1.6.300"


def test_text_before_the_nul_must_be_utf8() -> None:
    # bytes after the NUL are ignored (test_gdx_tolerance.py); the text itself is still checked
    data = bytearray(bytes(SensorInfo(sensor_number=1, description="Force", units="N")))
    data[8 + 1] = 0xFF
    with pytest.raises(DecodeError, match="description is not UTF-8"):
        SensorInfo.from_bytes(bytes(data))
    with pytest.raises(ConfigError):
        SensorInfo(sensor_number=1, description="F" * 61, units="N")
