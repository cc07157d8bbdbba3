"""Thingy:52: configuration and raw-data bytes, firmware fixed-point scales and packing, strict decoding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sensors_strategies import mutated, thingy_configs, thingy_raw

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.devices import thingy52 as th
from bandlog.devices.base import StreamOptions
from bandlog.emulate.twins.thingy52 import Thingy52Twin, firmware_pack


def test_default_configuration_bytes() -> None:
    # 1000 ms, 500 ms, 500 ms, 10 Hz, wake-on-motion on (m_motion.h defaults)
    assert bytes(th.MotionConfig()).hex(" ") == "e8 03 f4 01 f4 01 0a 00 01"


def test_raw_data_scales_follow_the_firmware_q_formats() -> None:
    raw = th.RawMotion(acc_raw=(1024, -512, 0), gyro_raw=(32, -1, 0), compass_raw=(16, 0, -160))
    assert len(bytes(raw)) == 18
    np.testing.assert_allclose(raw.acc_ms2, [9.80665, -4.903325, 0.0])
    np.testing.assert_allclose(raw.gyro_dps, [1.0, -1 / 32, 0.0])  # Q11.5, not aiothingy's /256
    np.testing.assert_allclose(raw.compass_ut, [1.0, 0.0, -10.0])


@pytest.mark.parametrize(
    "fields",
    [(99, 500, 500, 10, 1), (1000, 5001, 500, 10, 1), (1000, 500, 50, 10, 1), (1000, 500, 500, 0, 1),
     (1000, 500, 500, 201, 1), (1000, 500, 500, 10, 2)],
)
def test_configuration_outside_the_firmware_limits(fields: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError):
        th.MotionConfig(*fields)
    with pytest.raises(DecodeError):
        th.MotionConfig.from_bytes(th._CONFIG.pack(*fields))


@given(st.one_of(thingy_configs, thingy_raw))
def test_round_trip(packet: object) -> None:
    assert type(packet).from_bytes(bytes(packet)) == packet


@given(st.one_of(st.binary(max_size=20), thingy_configs.map(bytes).flatmap(mutated), thingy_raw.map(bytes).flatmap(mutated)))
def test_any_bytes_decode_exactly_or_raise(data: bytes) -> None:
    for packet_type in (th.MotionConfig, th.RawMotion):
        try:
            packet = packet_type.from_bytes(data)
        except DecodeError:
            continue
        assert bytes(packet) == data


def test_firmware_packing_truncates_and_clamps_the_integer_part() -> None:
    acc_g = np.array([1.0, -1.0, 31.9, 40.0, -40.0, 0.0009, -0.0001])
    assert firmware_pack(acc_g, 6).tolist() == [1024, -1024, 31 * 1024, 31 * 1024, -32768, 0, -1]
    assert firmware_pack(np.array([3000.0, -3000.0, 52.4]), 11).tolist() == [1023 * 32, -32768, 1676]


def test_decoder_times_samples_by_index_and_ignores_other_characteristics() -> None:
    decoder = th.ThingyDecoder(rate_hz=20.0)
    raw = bytes(th.RawMotion((0, 0, 1024), (64, 0, 0), (0, 0, 0)))
    blocks = [decoder.feed(Notification(th.RAW_UUID, raw, 5.0 + i)).blocks[0] for i in range(3)]
    assert [float(b.t_s[0]) for b in blocks] == [0.0, 0.05, 0.1]
    assert blocks[0].gyro_dps[0, 0] == 2.0 and blocks[0].force_n is None
    assert not decoder.feed(Notification(th.thingy_uuid(0x0404), bytes(16), 9.0)).blocks
    with pytest.raises(DecodeError):
        decoder.feed(Notification(th.RAW_UUID, raw[:-1], 9.0))


def test_twin_refuses_an_invalid_configuration_and_keeps_its_own() -> None:
    twin = Thingy52Twin()
    bad = th._CONFIG.pack(1000, 500, 500, 0, 1)
    assert twin.on_write(th.CONFIG_UUID, bad, 0.0) == []
    assert twin.read(th.CONFIG_UUID) == bytes(th.MotionConfig())
    twin.on_write(th.CONFIG_UUID, bytes(th.MotionConfig(motion_freq_hz=50)), 0.0)
    assert th.MotionConfig.from_bytes(twin.read(th.CONFIG_UUID)).motion_freq_hz == 50


@pytest.mark.parametrize(("asked_hz", "sent_hz"), [(None, 100), (100, 100), (1, 5), (2.6, 5), (57.4, 57), (500, 200)])
def test_requested_rate_is_a_whole_hz_in_5_to_200(asked_hz: float | None, sent_hz: int) -> None:
    assert th.Thingy52Profile(StreamOptions(sample_rate_hz=asked_hz)).requested_rate_hz() == sent_hz


def test_a_malformed_notification_is_rejected_and_keeps_the_later_samples_in_time() -> None:
    """The twin damages a notification by cutting it short (a wrong value could not be caught)."""
    twin = Thingy52Twin()
    payload = bytes(th.RawMotion((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    assert len(twin.damage(payload)) == len(payload) - 1
    decoder = th.ThingyDecoder(rate_hz=100.0)
    decoder.feed(Notification(th.RAW_UUID, payload, 0.0))
    with pytest.raises(DecodeError):
        decoder.feed(Notification(th.RAW_UUID, twin.damage(payload), 0.01))
    later = decoder.feed(Notification(th.RAW_UUID, payload, 0.02)).blocks[0]
    assert float(later.t_s[0]) == pytest.approx(0.02)
