"""Each profile talking to its twin over LoopbackLink for ~5 s: what it decodes is what the twin sent."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.errors import ProtocolError
from bandlog.core.motion import PeriodicMotion
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.devices import bandlog_open as bo
from bandlog.devices import sig_force as sf
from bandlog.devices import thingy52 as th
from bandlog.devices import witmotion as wm
from bandlog.devices.base import DeviceNotice, DeviceProfile, StreamDecoder, StreamOptions
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins.bandlog_open import BandlogOpenTwin
from bandlog.emulate.twins.base import Outgoing
from bandlog.emulate.twins.sig_force import SigForceTwin
from bandlog.emulate.twins.thingy52 import Thingy52Twin
from bandlog.emulate.twins.witmotion import WitMotionTwin

MOTION = PeriodicMotion(period_s=2.5, peak_force_n=40.0)


async def run(link: LoopbackLink, decoder: StreamDecoder, seconds: float) -> tuple[SampleBlock, list[DeviceNotice]]:
    """Read notifications until `seconds` of device time have passed; decode them all."""
    blocks: list[SampleBlock] = []
    notices: list[DeviceNotice] = []
    end_s = link.now_s + seconds
    while link.now_s < end_s:
        output = decoder.feed(await link.next_notification(1.0))
        blocks.extend(output.blocks)
        notices.extend(output.notices)
    return SampleBlock.concat(blocks), notices


async def start(profile: DeviceProfile, link: LoopbackLink) -> tuple[StreamInfo, StreamDecoder]:
    info = await profile.start(link)
    return info, profile.new_decoder(info)


def sent(twin) -> SampleBlock:  # type: ignore[no-untyped-def]
    return SampleBlock.concat(twin.sent_samples)


def assert_same_imu(got: SampleBlock, truth: SampleBlock) -> None:
    assert len(got) == len(truth) > 0
    np.testing.assert_array_equal(got.t_s, truth.t_s)
    np.testing.assert_array_equal(got.acc_ms2, truth.acc_ms2)
    np.testing.assert_array_equal(got.gyro_dps, truth.gyro_dps)


async def test_witmotion_sets_100_hz_then_streams_exactly_what_was_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wm, "COMMAND_GAP_S", 0.0)
    twin = WitMotionTwin(MOTION)
    link = LoopbackLink(twin)
    info, decoder = await start(wm.WitMotionProfile(StreamOptions(sample_rate_hz=100)), link)
    assert [w[1].hex(" ") for w in link.writes] == ["ff aa 69 88 b5", "ff aa 03 09 00", "ff aa 00 00 00"]
    assert info.sample_rate_hz == 100.0 and twin.rate_hz == 100.0 and twin.saved_rate_code == 0x09
    got, notices = await run(link, decoder, 5.0)
    assert notices == []
    assert_same_imu(got, sent(twin).slice(0, len(got)))
    assert 499 <= len(got) <= 501
    assert np.abs(got.gyro_dps).max() > 100  # the motion really moved the sensor
    assert got.t_host_s is not None and np.all(np.abs(got.t_host_s - got.t_host_s[0] - got.t_s) < 0.006)


def test_witmotion_twin_keeps_only_a_saved_rate_over_a_power_cycle() -> None:
    twin = WitMotionTwin()
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.set_rate(0x0B)), 0.0)
    assert twin.rate_code == wm.DEFAULT_RATE_CODE  # refused: not unlocked
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.unlock()), 1.0)
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.set_rate(0x0B)), 2.0)
    twin.power_cycle()
    assert twin.rate_code == wm.DEFAULT_RATE_CODE
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.unlock()), 3.0)
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.set_rate(0x08)), 4.0)
    twin.on_write(wm.WRITE_UUID, bytes(wm.Command.save()), 5.0)
    twin.power_cycle()
    assert twin.rate_hz == 50.0


async def test_witmotion_register_read_arrives_as_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wm, "COMMAND_GAP_S", 0.0)
    twin = WitMotionTwin(MOTION)
    link = LoopbackLink(twin)
    _, decoder = await start(wm.WitMotionProfile(StreamOptions(sample_rate_hz=50)), link)
    await link.write(wm.WRITE_UUID, bytes(wm.Command.read_register(wm.REG_RATE)), response=False)
    _, notices = await run(link, decoder, 0.2)
    assert [(n.kind, n.value) for n in notices] == [("register", 8.0)]


async def test_thingy_sets_its_rate_streams_exactly_and_restores_the_configuration() -> None:
    found = th.MotionConfig(pedo_interval_ms=2000, motion_freq_hz=10, wake_on_motion=0)
    twin = Thingy52Twin(MOTION, config=found, battery_percent=64)
    link = LoopbackLink(twin)
    profile = th.Thingy52Profile(StreamOptions(sample_rate_hz=100))
    info, decoder = await start(profile, link)
    assert info.sample_rate_hz == 100.0 and info.battery_percent == 64.0
    assert twin.config == th.MotionConfig(pedo_interval_ms=2000, motion_freq_hz=100, wake_on_motion=0)
    got, _ = await run(link, decoder, 5.0)
    truth = sent(twin)
    assert_same_imu(got, truth.slice(0, len(got)))
    assert 499 <= len(got) <= 501
    await profile.stop(link)
    assert twin.config == found


async def test_sig_force_values_match_and_times_follow_arrival() -> None:
    twin = SigForceTwin(MOTION, rate_hz=50.0)
    link = LoopbackLink(twin, step_s=0.004)
    info, decoder = await start(sf.SigForceProfile(StreamOptions(sample_rate_hz=80)), link)
    assert info.sample_rate_hz is None and info.channels == ("force_n",)
    got, notices = await run(link, decoder, 5.0)
    truth = sent(twin).slice(0, len(got))
    assert notices == [] and 249 <= len(got) <= 251
    np.testing.assert_array_equal(got.force_n, truth.force_n)
    assert np.abs(got.t_s - truth.t_s).max() <= 0.004 + 1e-9  # one link step of delivery delay at most
    assert got.acc_ms2 is None and got.gyro_dps is None


async def test_sig_force_overload_is_skipped_not_decoded() -> None:
    twin = SigForceTwin(MOTION, rate_hz=50.0, range_n=30.0)
    link = LoopbackLink(twin)
    _, decoder = await start(sf.SigForceProfile(), link)
    got, notices = await run(link, decoder, 5.0)
    truth = sent(twin)
    assert np.all(np.abs(got.force_n) <= 30.0)
    np.testing.assert_array_equal(got.force_n, truth.force_n[: len(got)])
    assert 0 < len(got) < 245  # the peaks above 30 N were not delivered as values
    kinds = [n.kind for n in notices]
    assert kinds[0] == "force_unknown" and kinds.count("force_unknown") == 2 and "force_known" in kinds


async def test_bandlog_open_streams_force_and_imu_across_a_clock_wrap() -> None:
    twin = BandlogOpenTwin(MOTION, rate_hz=100, boot_offset_s=2**32 / 1e6 - 2.0, battery_mv=3950, battery_percent=80)
    link = LoopbackLink(twin)
    info, decoder = await start(bo.BandlogOpenProfile(StreamOptions(sample_rate_hz=100)), link)
    assert (info.sample_rate_hz, info.battery_percent, info.battery_mv, info.firmware) == (100.0, 80.0, 3950.0, "1.0.0-twin")
    assert info.hardware_tare and info.channels == ("force_n", "acc_x_ms2", "acc_y_ms2", "acc_z_ms2", "gyro_x_dps", "gyro_y_dps", "gyro_z_dps")
    got, notices = await run(link, decoder, 5.0)
    truth = sent(twin).slice(0, len(got))
    assert notices == [] and 499 <= len(got) <= 501
    assert_same_imu(got, truth)
    np.testing.assert_array_equal(got.force_n, truth.force_n)
    assert np.all(np.diff(got.t_s) == pytest.approx(0.01))  # continuous through the 32-bit wrap at 2 s


async def test_bandlog_open_tare_low_battery_and_stop() -> None:
    twin = BandlogOpenTwin(MOTION, rate_hz=50)
    link = LoopbackLink(twin)
    profile = bo.BandlogOpenProfile()
    _, decoder = await start(profile, link)
    before, _ = await run(link, decoder, 1.25)  # half a period in: the band is at its peak, ~40 N
    assert await profile.tare(link)
    after, notices = await run(link, decoder, 0.5)
    assert before.force_n.max() > 35 and after.force_n[0] < 1.0
    assert [n.kind for n in notices] == ["tare"]
    link.send_low_battery_warning()
    _, notices = await run(link, decoder, 0.1)
    assert [(n.kind, n.value) for n in notices] == [("low_battery", 9.0)]
    await profile.stop(link)
    link.advance(1.0)
    kinds: list[str] = []
    while "stop" not in kinds:  # samples taken before STOP, then its reply
        kinds.extend(n.kind for n in decoder.feed(await link.next_notification(0.1)).notices)
    with pytest.raises(ProtocolError):
        await link.next_notification(0.5)
    assert not twin.streaming


class NewerFirmwareTwin(BandlogOpenTwin):
    """A sensor flashed with a future protocol version."""

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if data == bytes(bo.Command(bo.Opcode.INFO)):
            info = bo.DeviceInfo(protocol=2, rate_hz=80, firmware="2.0")
            return [Outgoing(bo.DATA_UUID, bytes(bo.Reply(bo.Opcode.INFO, bo.Status.OK, info.to_payload())))]
        return super().on_write(char_uuid, data, now_s)


async def test_bandlog_open_refuses_a_newer_protocol() -> None:
    link = LoopbackLink(NewerFirmwareTwin(MOTION))
    with pytest.raises(ProtocolError, match="protocol 2"):
        await bo.BandlogOpenProfile().start(link)


async def test_bandlog_open_refused_command_is_a_protocol_error() -> None:
    link = LoopbackLink(BandlogOpenTwin(MOTION))
    await link.subscribe(bo.DATA_UUID)
    with pytest.raises(ProtocolError, match="refused calibrate"):
        await bo._command(link, bo.Command.calibrate(-5.0))
