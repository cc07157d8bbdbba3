"""SIG Force (0x2C07): sint32 mN bytes, the 0x7FFFFFFF "unknown" value, and arrival-time stamping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensors_strategies import mutated, sig_readings

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.devices import sig_force as sf
from bandlog.emulate.twins.sig_force import SigForceTwin


@pytest.mark.parametrize(
    ("wire", "force_n"),
    [("39 30 00 00", 12.345), ("c7 cf ff ff", -12.345), ("00 00 00 80", -2147483.648), ("ff ff ff 7f", None)],
)
def test_value_bytes(wire: str, force_n: float | None) -> None:
    reading = sf.ForceReading.from_bytes(bytes.fromhex(wire))
    assert reading.force_n == (None if force_n is None else pytest.approx(force_n))
    assert bytes(reading).hex(" ") == wire


def test_unknown_is_not_a_value() -> None:
    with pytest.raises(ConfigError):
        sf.ForceReading(sf.UNKNOWN_RAW)


@given(sig_readings)
def test_round_trip(reading: sf.ForceReading) -> None:
    assert sf.ForceReading.from_bytes(bytes(reading)) == reading


@given(st.one_of(st.binary(max_size=8), sig_readings.map(bytes).flatmap(mutated)))
def test_any_bytes_decode_exactly_or_raise(data: bytes) -> None:
    try:
        reading = sf.ForceReading.from_bytes(data)
    except DecodeError:
        assert len(data) != 4
        return
    assert bytes(reading) == data


def test_decoder_skips_unknown_values_and_stamps_by_arrival() -> None:
    decoder = sf.SigForceDecoder()
    values = [1000, None, None, 2500, None, -30]
    outputs = [
        decoder.feed(Notification(sf.FORCE_UUID, bytes(sf.ForceReading(v)), 10.0 + 0.02 * i)) for i, v in enumerate(values)
    ]
    blocks = [b for out in outputs for b in out.blocks]
    assert [float(b.force_n[0]) for b in blocks] == [1.0, 2.5, -0.03]
    assert [float(b.t_s[0]) for b in blocks] == pytest.approx([0.0, 0.06, 0.1])
    assert [n.kind for out in outputs for n in out.notices] == ["force_unknown", "force_known", "force_unknown", "force_known"]


def test_decoder_rejects_a_wrong_length_and_stays_usable() -> None:
    decoder = sf.SigForceDecoder()
    with pytest.raises(DecodeError):
        decoder.feed(Notification(sf.FORCE_UUID, b"\x01\x02", 0.0))
    out = decoder.feed(Notification(sf.FORCE_UUID, bytes(sf.ForceReading(5)), 0.1))
    assert out.blocks[0].force_n[0] == 0.005


def test_profile_matches_by_service_only() -> None:
    assert sf.SigForceProfile.matches(None, ["0000185A-0000-1000-8000-00805F9B34FB"])
    assert not sf.SigForceProfile.matches("Force gauge", [])


def test_the_twins_damage_is_a_wrong_size_the_decoder_rejects() -> None:
    """A changed value byte could not be caught by anyone; a notification of the wrong size is."""
    payload = bytes(sf.ForceReading(12_345))
    with pytest.raises(DecodeError):
        sf.SigForceDecoder().feed(Notification(sf.FORCE_UUID, SigForceTwin().damage(payload), 0.0))
