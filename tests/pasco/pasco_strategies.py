"""Hypothesis strategies for every PASCO packet type, plus a byte-mutation helper."""

from __future__ import annotations

from hypothesis import strategies as st

from bandlog.devices.pasco_codec import (
    GENERIC_RESPONSE,
    MAX_SEQUENCE,
    SENSOR_ID_EVENT,
    ForceRaw,
    GenericResponse,
    OtherPacket,
    PeriodicData,
    ReadOneSample,
    SensorIdEvent,
    TriadRaw,
)

u8 = st.integers(0, 0xFF)
i16 = st.integers(-0x8000, 0x7FFF)
payloads = st.binary(max_size=17)  # a 20-byte notification holds 3 header bytes + 17

read_commands = st.builds(ReadOneSample, st.integers(1, 0xFF))
replies = st.one_of(
    st.builds(GenericResponse, u8, u8, payloads),
    st.builds(PeriodicData, st.integers(0, MAX_SEQUENCE), payloads),
    st.builds(SensorIdEvent, u8),
    st.builds(
        OtherPacket,
        st.integers(MAX_SEQUENCE + 1, 0xFF).filter(lambda c: c not in (GENERIC_RESPONSE, SENSOR_ID_EVENT)),
        payloads,
    ),
)
force_samples = st.builds(ForceRaw, st.integers(0, 0xFFFF))
triad_samples = st.builds(TriadRaw, i16, i16, i16)


@st.composite
def mutated(draw: st.DrawFn, packets: st.SearchStrategy) -> bytes:
    """A valid packet's bytes with one random edit: flip, truncate, extend, or none."""
    data = bytearray(bytes(draw(packets)))
    edit = draw(st.sampled_from(["none", "flip", "truncate", "extend"]))
    if edit == "flip" and data:
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif edit == "truncate" and data:
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif edit == "extend":
        data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)
