"""Hypothesis strategies for every GDX and Progressor packet type, plus a byte-mutation helper."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bandlog.devices import gdx_codec as gc
from bandlog.devices.gdx_records import DeviceInfo, DeviceStatus, SensorInfo, SensorMask
from bandlog.devices.gdx_stream import MeasurementPacket, OtherMeasurement
from bandlog.devices.progressor_codec import (
    BatteryVoltage,
    CommandResponse,
    ControlCommand,
    LowPowerWarning,
    Opcode,
    OtherResponse,
    ProgressorId,
    ResponseCode,
    TextReply,
    WeightPacket,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
finite = st.floats(allow_nan=False, allow_infinity=True)
f32 = st.floats(width=32, allow_nan=False)


def text(max_chars: int) -> st.SearchStrategy[str]:
    """Strings whose UTF-8 form fits max_chars * 4 bytes, without NUL."""
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=max_chars)


commands = st.one_of(
    st.builds(gc.Init, u8),
    st.builds(gc.GetStatus, u8),
    st.builds(gc.GetDeviceInfo, u8),
    st.builds(gc.GetSensorAvailableMask, u8),
    st.builds(gc.GetDefaultSensorsMask, u8),
    st.builds(gc.Disconnect, u8),
    st.builds(gc.GetSensorInfo, u8, u8),
    st.builds(gc.SetMeasurementPeriod, u8, u32),
    st.builds(gc.StartMeasurements, u8, u32),
    st.builds(gc.StopMeasurements, u8),
)

replies = st.builds(
    gc.Reply,
    command_id=st.sampled_from(sorted(gc.COMMANDS)),
    counter=u8,
    payload=st.binary(max_size=60),
    lead=u8.filter(lambda b: b != gc.MEASUREMENT_LEAD),
    reserved=st.binary(min_size=2, max_size=2),
)

sensor_masks = st.builds(SensorMask, u32)
statuses = st.builds(DeviceStatus, u8, u8, u8, u8, u16, u8, u8, u16, u8, u8)
device_infos = st.builds(
    DeviceInfo, text(4), text(4), text(8), u16, u16, u8, u8, u8, u8, u16, u8, u8, u16,
    st.binary(min_size=6, max_size=6), u32, text(16),
)
sensor_infos = st.builds(
    SensorInfo,
    sensor_number=st.integers(-128, 127),
    description=text(15),
    units=text(8),
    sensor_id=u32,
    spare=u8,
    numeric_type=u8,
    sampling_mode=u8,
    uncertainty=finite,
    min_value=finite,
    max_value=finite,
    min_period_us=u32,
    max_period_us=st.integers(0, 2**64 - 1),
    typical_period_us=u32,
    granularity_us=u32,
    exclusion_mask=u32,
)


@st.composite
def measurement_packets(draw: st.DrawFn, wide: bool | None = None) -> MeasurementPacket:
    wide = draw(st.booleans()) if wide is None else wide
    mask = draw(st.integers(1, 0xFFFF_FFFF if wide else 0xFFFF))
    channels = mask.bit_count()
    rows = draw(st.integers(0, (255 - (11 if wide else 9)) // (4 * channels)))
    values = draw(st.lists(f32, min_size=rows * channels, max_size=rows * channels))
    return MeasurementPacket(
        mask,
        np.array(values, dtype=np.float32).reshape(rows, channels),
        wide=wide,
        reserved=draw(st.binary(min_size=2, max_size=2)),
        spare=draw(u8),
    )


@st.composite
def other_measurements(draw: st.DrawFn) -> OtherMeasurement:
    kind = draw(st.sampled_from([0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E]))
    if kind <= 0x0B:
        rows = draw(st.integers(0, 30))
        body = bytes([draw(u8), draw(u8), rows]) + draw(st.binary(min_size=4 * rows, max_size=4 * rows))
    else:
        body = draw(st.binary(max_size=40))
    head = bytes([0x20, 5 + len(body)]) + draw(st.binary(min_size=2, max_size=2)) + bytes([kind])
    return OtherMeasurement(head + body)


gdx_packets = st.one_of(replies, measurement_packets(), other_measurements())

control_commands = st.one_of(
    st.builds(ControlCommand, st.sampled_from(list(Opcode))),
    st.builds(ControlCommand, st.sampled_from(list(Opcode)), st.binary(min_size=1, max_size=20)),
    st.builds(ControlCommand, st.sampled_from(list(Opcode)), st.just(b""), st.just(True)),
)


@st.composite
def weight_packets(draw: st.DrawFn, max_samples: int = 31) -> WeightPacket:
    n = draw(st.integers(0, max_samples))
    return WeightPacket(draw(st.lists(f32, min_size=n, max_size=n)), draw(st.lists(u32, min_size=n, max_size=n)))


progressor_responses = st.one_of(
    st.builds(CommandResponse, st.binary(max_size=40)),
    weight_packets(),
    st.just(LowPowerWarning()),
    st.builds(OtherResponse, st.sampled_from([c for c in ResponseCode if c not in (0, 1, 4)]), st.binary(max_size=40)),
)
progressor_payloads = st.one_of(
    st.builds(BatteryVoltage, u32),
    st.builds(TextReply, st.text(st.characters(max_codepoint=127), max_size=40)),
    st.builds(ProgressorId, st.integers(0, 2**64 - 1)),
)


@st.composite
def mutated(draw: st.DrawFn, packets: st.SearchStrategy) -> bytes:
    """A valid packet's bytes with one random edit: flip, truncate, extend, or none."""
    data = bytearray(bytes(draw(packets)))
    edit = draw(st.sampled_from(["none", "flip", "truncate", "extend"]))
    if edit == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data[i] ^= draw(st.integers(1, 255))
    elif edit == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif edit == "extend":
        data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)
