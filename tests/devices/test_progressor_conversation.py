"""ProgressorProfile against the Progressor twin over LoopbackLink (virtual time, no BLE)."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import ProtocolError
from bandlog.core.motion import STANDARD_GRAVITY_MS2, PeriodicMotion
from bandlog.core.samples import SampleBlock
from bandlog.devices.progressor import CONTROL_UUID, DATA_UUID, ProgressorProfile
from bandlog.devices.progressor_codec import (
    BatteryVoltage,
    CommandResponse,
    ControlCommand,
    Opcode,
    ProgressorId,
    TextReply,
)
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins import twin_registry
from bandlog.emulate.twins.progressor import ProgressorTwin


async def decode_for(decoder, link: LoopbackLink, seconds: float) -> tuple[SampleBlock, list]:
    started_s = link.now_s
    blocks, notices = [], []
    while link.now_s - started_s < seconds:
        out = decoder.feed(await link.next_notification(1.0))
        blocks += out.blocks
        notices += out.notices
    return SampleBlock.concat(blocks), notices


def assert_matches_twin(got: SampleBlock, twin: ProgressorTwin, offset: int = 0) -> None:
    sent = SampleBlock.concat(twin.sent_samples)
    n = len(got)
    np.testing.assert_array_equal(got.t_s, sent.t_s[offset : offset + n])
    np.testing.assert_array_equal(got.force_n, sent.force_n[offset : offset + n])


@pytest.mark.parametrize("start_counter_us", [0, 2**32 - 3_000_000])
async def test_ten_seconds_at_80_hz_match_what_the_twin_sent(start_counter_us: int) -> None:
    twin = ProgressorTwin(start_counter_us=start_counter_us)
    link = LoopbackLink(twin)
    profile = ProgressorProfile()
    info = await profile.start(link)
    got, _ = await decode_for(profile.new_decoder(info), link, 10.0)
    assert abs(len(got) - 800) <= 2
    assert_matches_twin(got, twin)
    np.testing.assert_allclose(np.diff(got.t_s), 0.0125, atol=1e-9)  # continuous across the wrap
    assert got.t_s[0] == pytest.approx(start_counter_us * 1e-6)
    assert got.acc_ms2 is None and got.gyro_dps is None
    assert info.firmware == "1.3.4" and info.battery_mv == 3930.0 and info.hardware_tare
    assert info.sample_rate_hz == 80.0 and info.channels == ("force_n",)


async def test_queries_go_one_at_a_time_while_stopped() -> None:
    twin = ProgressorTwin()
    link = LoopbackLink(twin)
    await ProgressorProfile().start(link)
    assert [c.opcode for c in twin.commands] == [
        Opcode.STOP_WEIGHT, Opcode.GET_VERSION, Opcode.GET_BATTERY_VOLTAGE, Opcode.START_WEIGHT,
    ]
    assert all(char == CONTROL_UUID and response for char, _, response in link.writes)
    assert twin.streaming


async def test_hardware_tare_zeroes_the_offset() -> None:
    twin = ProgressorTwin(PeriodicMotion(peak_force_n=0.0), zero_offset_kg=0.65)
    link = LoopbackLink(twin)
    profile = ProgressorProfile()
    decoder = profile.new_decoder(await profile.start(link))
    before, _ = await decode_for(decoder, link, 1.0)
    np.testing.assert_allclose(before.force_n, float(np.float32(0.65)) * STANDARD_GRAVITY_MS2)
    assert await profile.tare(link) is True
    after, _ = await decode_for(decoder, link, 1.0)
    assert len(after) >= 78 and np.all(after.force_n[2:] == 0.0)


async def test_tare_subtracts_the_load_present_at_that_moment() -> None:
    twin = ProgressorTwin(PeriodicMotion(period_s=6.0, peak_force_n=40.0))
    link = LoopbackLink(twin)
    profile = ProgressorProfile()
    decoder = profile.new_decoder(await profile.start(link))
    await decode_for(decoder, link, 3.0)  # peak of the pull
    await profile.tare(link)
    after, _ = await decode_for(decoder, link, 3.0)
    assert twin.tare_kg == pytest.approx(40.0 / STANDARD_GRAVITY_MS2 + 0.65, rel=1e-3)
    assert after.force_n.min() == pytest.approx(-40.0, abs=0.5) and after.force_n.max() < 0.1


async def test_low_battery_warning_becomes_a_notice() -> None:
    twin = ProgressorTwin()
    link = LoopbackLink(twin)
    profile = ProgressorProfile()
    decoder = profile.new_decoder(await profile.start(link))
    link.advance(0.2)
    link.send_low_battery_warning()
    _, notices = await decode_for(decoder, link, 0.3)
    assert [n.kind for n in notices] == ["low_battery"]


def test_twin_answers_id_error_info_and_sleeps() -> None:
    twin = ProgressorTwin(progressor_id=0x1234, error_info="crash at 0x1f")
    twin.on_subscribe(DATA_UUID, True, 0.0)

    def ask(opcode: Opcode) -> bytes:
        [out] = twin.on_write(CONTROL_UUID, bytes(ControlCommand(opcode)), 0.0)
        return CommandResponse.from_bytes(out.payload).payload

    assert ProgressorId.from_bytes(ask(Opcode.GET_ID)).value == 0x1234
    assert TextReply.from_bytes(ask(Opcode.GET_ERROR_INFO)).text == "crash at 0x1f"
    assert BatteryVoltage.from_bytes(ask(Opcode.GET_BATTERY_VOLTAGE)).mv == 3930
    twin.on_write(CONTROL_UUID, b"\x65", 0.0)
    assert twin.poll(0.05)
    twin.on_write(CONTROL_UUID, b"\x6e", 0.05)
    assert twin.asleep and not twin.streaming
    assert twin.poll(1.0) == [] and twin.on_write(CONTROL_UUID, b"\x6b", 1.0) == []


async def test_asleep_device_times_out() -> None:
    twin = ProgressorTwin()
    link = LoopbackLink(twin)
    await link.write(CONTROL_UUID, b"\x6e", response=True)
    with pytest.raises(ProtocolError):
        await ProgressorProfile(reply_timeout_s=0.5).start(link)


async def test_stop_and_disconnect_end_the_stream() -> None:
    twin = ProgressorTwin()
    link = LoopbackLink(twin)
    profile = ProgressorProfile()
    await profile.start(link)
    await profile.stop(link)
    assert not twin.streaming
    await profile.start(link)
    link.disconnect()
    assert not twin.streaming
    twin.on_write(CONTROL_UUID, b"\x65", link.now_s)
    assert twin.poll(link.now_s + 1.0) == []  # streaming again, but nobody subscribed


def test_twin_is_registered() -> None:
    assert twin_registry()["progressor"] is ProgressorTwin
