"""GdxForProfile against the GDX twin over LoopbackLink (virtual time, no BLE)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import Notification
from bandlog.core.samples import SAMPLE_CHANNELS, SampleBlock
from bandlog.devices import gdx_codec as gc
from bandlog.devices.base import StreamOptions
from bandlog.devices.gdx_channels import choose_period_us, requested_period_us
from bandlog.devices.gdx_for import COMMAND_UUID, RESPONSE_UUID, GdxForProfile
from bandlog.devices.gdx_records import SensorInfo
from bandlog.devices.gdx_stream import MeasurementPacket, fragments
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins import twin_registry
from bandlog.emulate.twins.gdx_for import GdxForTwin, TwinSensor, default_sensors


async def stream_for(profile: GdxForProfile, link: LoopbackLink, seconds: float) -> SampleBlock:
    """Start, then decode every notification for `seconds` of device time."""
    info = await profile.start(link)
    decoder = profile.new_decoder(info)
    started_s = link.now_s
    blocks = []
    while link.now_s - started_s < seconds:
        blocks += decoder.feed(await link.next_notification(1.0)).blocks
    return SampleBlock.concat(blocks)


def assert_matches_twin(got: SampleBlock, twin: GdxForTwin) -> None:
    sent = SampleBlock.concat(twin.sent_samples)
    n = len(got)
    assert n <= len(sent)
    np.testing.assert_array_equal(got.t_s, sent.t_s[:n])
    for name in ("force_n", "acc_ms2", "gyro_dps"):
        expected = getattr(sent, name)
        if expected is None:
            assert getattr(got, name) is None
        else:
            np.testing.assert_array_equal(getattr(got, name), expected[:n])


async def test_ten_seconds_at_100_hz_match_what_the_twin_sent() -> None:
    twin = GdxForTwin()
    link = LoopbackLink(twin)
    profile = GdxForProfile(StreamOptions(sample_rate_hz=100.0))
    got = await stream_for(profile, link, 10.0)
    assert abs(len(got) - 1000) <= 2
    assert_matches_twin(got, twin)
    np.testing.assert_allclose(np.diff(got.t_s), 0.01)
    assert got.gyro_dps is not None and np.abs(got.gyro_dps).max() > 1.0  # rad/s converted, not raw
    assert np.all(np.diff(got.t_host_s) >= 0)


async def test_conversation_follows_the_vernier_sequence_with_counters() -> None:
    twin = GdxForTwin()
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    info = await profile.start(link)
    await profile.stop(link)
    names = [type(c).__name__ for c in twin.commands]
    assert names == ["Init", "GetStatus", "GetDeviceInfo", "GetSensorAvailableMask", *["GetSensorInfo"] * 7,
                     "GetDefaultSensorsMask", "SetMeasurementPeriod", "StartMeasurements", "StopMeasurements"]
    assert [c.counter for c in twin.commands] == [0xFE - i for i in range(len(names))]
    assert all(len(data) <= 20 and not response and char == COMMAND_UUID for char, data, response in link.writes)
    assert link.writes[0][1] + link.writes[1][1] == bytes(gc.Init(0xFE))
    assert twin.commands[-2] == gc.StartMeasurements(twin.commands[-2].counter, 0xFE)
    assert not twin.streaming
    assert info.profile == "gdx-for" and info.name == "GDX-FOR 071000U9" and info.sample_rate_hz == 100.0
    assert info.channels == SAMPLE_CHANNELS and info.battery_percent == 87.0 and info.firmware == "1.6.38"
    assert info.extra["serial"] == "071000U9"


async def test_channels_are_found_by_description_not_by_number() -> None:
    numbering = {"force_n": 9, "acc_x_ms2": 4, "acc_y_ms2": 2, "acc_z_ms2": 12,
                 "gyro_x_dps": 1, "gyro_y_dps": 17, "gyro_z_dps": 3}
    sensors = list(default_sensors(numbering))
    # A channel bandlog does not record must be left off.
    sensors.append(TwinSensor("force_n", SensorInfo(sensor_number=5, description="Temperature", units="°C")))
    twin = GdxForTwin(sensors=sensors)
    link = LoopbackLink(twin)
    got = await stream_for(GdxForProfile(), link, 2.0)
    start = next(c for c in twin.commands if isinstance(c, gc.StartMeasurements))
    assert start.channel_mask == sum(1 << n for n in numbering.values())
    assert abs(len(got) - 200) <= 2
    assert_matches_twin(got, twin)


async def test_mutual_exclusion_drops_the_clashing_triad() -> None:
    sensors = list(default_sensors())
    force = sensors[0]
    sensors[0] = dataclasses.replace(force, info=dataclasses.replace(force.info, exclusion_mask=1 << 6))
    twin = GdxForTwin(sensors=sensors)
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    got = await stream_for(profile, link, 1.0)
    start = next(c for c in twin.commands if isinstance(c, gc.StartMeasurements))
    assert start.channel_mask == 0b11110
    assert got.gyro_dps is None and got.acc_ms2 is not None
    assert_matches_twin(got, twin)


async def test_period_never_below_the_sensor_minimum() -> None:
    sensors = [dataclasses.replace(s, info=dataclasses.replace(s.info, min_period_us=20_000)) for s in default_sensors()]
    twin = GdxForTwin(sensors=sensors, wide_packets=True, rows_per_packet=2)
    link = LoopbackLink(twin)
    profile = GdxForProfile(StreamOptions(sample_rate_hz=100.0))
    got = await stream_for(profile, link, 2.0)
    period = next(c for c in twin.commands if isinstance(c, gc.SetMeasurementPeriod))
    assert period.period_us == 20_000
    assert abs(len(got) - 100) <= 2
    np.testing.assert_allclose(np.diff(got.t_s), 0.02)
    assert_matches_twin(got, twin)


async def test_silent_device_times_out_with_protocol_error() -> None:
    twin = GdxForTwin()
    twin.on_write = lambda char_uuid, data, now_s: []  # type: ignore[method-assign]
    link = LoopbackLink(twin)
    with pytest.raises(ProtocolError, match=r"did not answer|no notification"):
        await GdxForProfile(reply_timeout_s=0.5).start(link)
    assert link.now_s == pytest.approx(0.5)


def test_period_choice() -> None:
    sensors = [SensorInfo(sensor_number=1, description="Force", units="N", min_period_us=1_000, granularity_us=1_000),
               SensorInfo(sensor_number=2, description="X-axis gyro", units="rad/s", min_period_us=2_000,
                          max_period_us=50_000, granularity_us=500)]
    assert choose_period_us(requested_period_us(80.0), sensors) == 13_000  # 12 500 rounded up to 1 ms
    assert choose_period_us(requested_period_us(1000.0), sensors) == 2_000
    assert choose_period_us(requested_period_us(1.0), sensors) == 50_000
    for bad in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError):
            requested_period_us(bad)


async def test_bad_rate_is_refused_before_talking_to_the_device() -> None:
    link = LoopbackLink(GdxForTwin())
    with pytest.raises(ConfigError):
        await GdxForProfile(StreamOptions(sample_rate_hz=-1.0)).start(link)
    assert link.writes == []


def test_new_decoder_needs_a_start() -> None:
    with pytest.raises(ConfigError):
        GdxForProfile().new_decoder(None)  # type: ignore[arg-type]


async def test_decoder_rejects_implausible_values_and_recovers() -> None:
    twin = GdxForTwin()
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    decoder = profile.new_decoder(await profile.start(link))
    wild = MeasurementPacket(0xFE, np.full((1, 7), 1e30, np.float32))
    fine = MeasurementPacket(0xFE, np.ones((1, 7), np.float32))
    reply = gc.Reply(0x19, 0x10, b"\x00")
    with pytest.raises(DecodeError, match="implausible"):
        for part in fragments(bytes(wild)):
            decoder.feed(Notification(RESPONSE_UUID, part, 0.0))
    assert decoder.feed(Notification(RESPONSE_UUID, bytes(reply), 0.0)).blocks == []
    blocks = [b for part in fragments(bytes(fine)) for b in decoder.feed(Notification(RESPONSE_UUID, part, 1.0)).blocks]
    assert len(blocks) == 1 and blocks[0].force_n[0] == 1.0 and blocks[0].gyro_dps[0, 0] == pytest.approx(57.29578)


async def test_disconnect_stops_the_twin_and_forgets_the_subscription() -> None:
    twin = GdxForTwin()
    link = LoopbackLink(twin)
    await GdxForProfile().start(link)
    assert twin.streaming
    link.disconnect()
    assert not twin.streaming
    with pytest.raises(ProtocolError):
        await link.next_notification(0.2)


def test_twin_is_registered() -> None:
    assert twin_registry()["gdx-for"] is GdxForTwin


async def test_a_lost_fragment_costs_one_packet_and_later_samples_stay_on_time() -> None:
    twin = GdxForTwin(rows_per_packet=3)
    link = LoopbackLink(twin)
    profile = GdxForProfile()
    decoder = profile.new_decoder(await profile.start(link))
    notifications = [await link.next_notification(1.0) for _ in range(200)]
    starts = [i for i, n in enumerate(notifications) if n.payload[0] == 0x20 and n.payload[4] == 0x06]
    lost = starts[10] + 2  # the middle of the eleventh packet
    blocks, errors = [], 0
    for i, notification in enumerate(notifications):
        if i == lost:
            continue
        try:
            blocks += decoder.feed(notification).blocks
        except DecodeError:
            errors += 1
    got, sent = SampleBlock.concat(blocks), SampleBlock.concat(twin.sent_samples)
    assert errors == 0  # a lost fragment is a dropped packet the decoder counts, not damage
    index = np.rint(got.t_s / 0.01).astype(int)
    assert len(got) == 3 * len(starts) - 3 and 30 not in index and 33 in index
    np.testing.assert_array_equal(got.force_n, sent.force_n[index])
    np.testing.assert_array_equal(got.gyro_dps, sent.gyro_dps[index])
