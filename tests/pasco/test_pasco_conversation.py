"""PascoProfile, its Poller and decoder against the PASCO twin over LoopbackLink (virtual time, no BLE)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bandlog.core.errors import ConfigError, ConnectionLostError, ProtocolError
from bandlog.core.motion import PeriodicMotion
from bandlog.core.samples import SAMPLE_CHANNELS, SampleBlock
from bandlog.devices import registry
from bandlog.devices.pasco import MEASURE_ROUNDS, PascoProfile
from bandlog.devices.pasco_codec import SEND_COMMAND_CHAR, Channel, char_uuid, service_uuid
from bandlog.emulate.loopback import LoopbackLink
from bandlog.emulate.twins import twin_registry
from bandlog.emulate.twins.base import Outgoing
from bandlog.emulate.twins.pasco import PascoTwin

MOTION = PeriodicMotion(period_s=2.0, peak_force_n=40.0)
FIRST = 1 + MEASURE_ROUNDS
"""Answers per channel that start() consumes (one probe read, then the measured rounds)."""


async def poll_for(decoder, link: LoopbackLink, seconds: float, *, patience_s: float = 0.0) -> tuple[SampleBlock, list]:
    """Feed the decoder for `seconds` of device time, letting the poller run between notifications.

    With patience_s, a quiet link is waited on in real time (the poller's timeouts are real time).
    """
    started_s = link.now_s
    blocks, notices = [], []
    while link.now_s - started_s < seconds:
        for _ in range(2):
            await asyncio.sleep(0)  # the poller writes its next requests
        try:
            notification = await link.next_notification(0.05 if patience_s else 1.0)
        except ProtocolError:
            if not patience_s:
                raise
            await asyncio.sleep(patience_s)
            continue
        out = decoder.feed(notification)
        blocks += out.blocks
        notices += out.notices
    return SampleBlock.concat(blocks), notices


def sent(twin: PascoTwin, channel: str) -> SampleBlock:
    return SampleBlock.concat([b.slice(0, 1) for b in twin.sent_samples if getattr(b, channel) is not None])


def assert_values_match_twin(got: SampleBlock, twin: PascoTwin, first: int = FIRST) -> None:
    n = len(got)
    for channel in ("force_n", "acc_ms2", "gyro_dps"):
        np.testing.assert_array_equal(getattr(got, channel), getattr(sent(twin, channel), channel)[first : first + n])


async def started(twin: PascoTwin, **kwargs) -> tuple[PascoProfile, LoopbackLink, object]:
    link = LoopbackLink(twin, step_s=0.001)
    profile = PascoProfile(clock=lambda: link.now_s, **kwargs)  # the loopback's virtual clock stamps notifications
    info = await profile.start(link)
    return profile, link, info


async def test_start_learns_reply_routes_and_measures_the_rate() -> None:
    twin = PascoTwin(MOTION)
    profile, link, info = await started(twin)
    try:
        assert info.profile == "pasco-force-accel" and info.channels == SAMPLE_CHANNELS
        assert info.sample_rate_hz is None and not info.hardware_tare
        assert info.extra["reply_services"] == "force=1,accel=2,gyro=3"
        assert info.extra["poll_plan"] == "force+accel+gyro"
        # three reads processed back to back at 3 ms each, answers seen on 1 ms steps: ~9-10 ms a round
        assert 95.0 <= float(info.extra["poll_rate_hz"]) <= 115.0
        reads = [(uuid, data, response) for uuid, data, response in link.writes[:3]]
        assert reads == [(char_uuid(c.service, SEND_COMMAND_CHAR), bytes((0x05, c.packet_size)), False) for c in Channel]
        assert profile.poller is not None and profile.poller.running
    finally:
        await profile.stop(link)
    assert not profile.poller.running


async def test_polled_samples_carry_exactly_what_the_twin_measured() -> None:
    twin = PascoTwin(MOTION)
    profile, link, info = await started(twin)
    got, notices = await poll_for(profile.new_decoder(info), link, 5.0)
    await profile.stop(link)
    assert len(got) == pytest.approx(5.0 * float(info.extra["poll_rate_hz"]), rel=0.05)
    assert_values_match_twin(got, twin)
    assert np.all(np.diff(got.t_s) > 0) and got.t_s[0] > 0
    # each sample time lies between its round's first request and last answer (device time = link time)
    t0_s = profile.poller.book.t0_s
    requests = np.array([t for t, c in twin.requests if c is Channel.FORCE])[FIRST : FIRST + len(got)]
    answered = sent(twin, "gyro_dps").t_s[FIRST : FIRST + len(got)]
    assert np.all(requests <= got.t_s + t0_s) and np.all(got.t_s + t0_s <= answered)
    assert [n.kind for n in notices] == []  # nothing lost; a rate notice only comes after 10 s


async def test_replies_on_the_device_service_are_pipelined_as_far_as_sizes_tell_them_apart() -> None:
    twin = PascoTwin(MOTION, replies_on_device_service=True)
    profile, link, info = await started(twin)
    got, _ = await poll_for(profile.new_decoder(info), link, 2.0)
    await profile.stop(link)
    assert info.extra["reply_services"] == "force=0,accel=0,gyro=0"
    assert info.extra["poll_plan"] == "force+accel | gyro"
    assert_values_match_twin(got, twin)


async def test_one_at_a_time_when_asked() -> None:
    twin = PascoTwin(MOTION)
    profile, link, info = await started(twin, pipelined=False)
    got, _ = await poll_for(profile.new_decoder(info), link, 1.0)
    await profile.stop(link)
    assert info.extra["poll_plan"] == "force | accel | gyro"
    assert_values_match_twin(got, twin)


class SingleSlotTwin(PascoTwin):
    """A sensor that drops a read request arriving while it still owes an answer (when can_queue is off)."""

    can_queue = True

    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        if not self.can_queue and self._pending:
            return []
        return super().on_write(char_uuid, data, now_s)


async def test_start_falls_back_to_one_at_a_time_when_reads_cannot_be_queued() -> None:
    twin = SingleSlotTwin(MOTION)
    twin.can_queue = False
    profile, link, info = await started(twin)
    got, _ = await poll_for(profile.new_decoder(info), link, 1.0)
    await profile.stop(link)
    assert info.extra["poll_plan"] == "force | accel | gyro"
    assert len(got) > 20 and np.all(np.isfinite(got.force_n))


async def test_polling_falls_back_to_one_at_a_time_after_unanswered_rounds() -> None:
    twin = SingleSlotTwin(MOTION)
    profile, link, info = await started(twin, answer_timeout_s=0.02)
    decoder = profile.new_decoder(info)
    await poll_for(decoder, link, 0.2)
    twin.can_queue = False  # from now on two of every three pipelined reads go unanswered
    got, notices = await poll_for(decoder, link, 1.0, patience_s=0.03)
    await profile.stop(link)
    assert profile.poller.book.plan.describe() == "force | accel | gyro"
    assert profile.poller.timeouts >= 3
    assert sum(n.value for n in notices if n.kind == "dropped") == profile.poller.book.lost_rounds >= 3
    assert len(got) > 20


def assert_rounds_consistent(got: SampleBlock, twin: PascoTwin) -> None:
    """Every sample is one whole round the twin answered (force, accel and gyro of the same round), in order."""
    force, acc, gyro = (getattr(sent(twin, c), c) for c in ("force_n", "acc_ms2", "gyro_dps"))
    j = 0
    for k in range(len(got)):
        while force[j] != got.force_n[k] or not np.array_equal(acc[j], got.acc_ms2[k]):
            j += 1  # IndexError here means a sample the twin never sent as one round
        np.testing.assert_array_equal(gyro[j], got.gyro_dps[k])
        j += 1


async def test_a_busy_reader_loses_rounds_but_no_answer_lands_in_the_wrong_round() -> None:
    twin = PascoTwin(MOTION)
    profile, link, info = await started(twin, answer_timeout_s=0.02)
    decoder = profile.new_decoder(info)
    before, _ = await poll_for(decoder, link, 0.3)
    for _ in range(4):  # answers keep arriving while nobody reads; the poller gives up and asks again
        link.advance(0.05)
        await asyncio.sleep(0.03)
    after, notices = await poll_for(decoder, link, 0.5)
    await profile.stop(link)
    book = profile.poller.book
    assert book.stale_replies >= 3 and profile.poller.timeouts >= 3
    assert book.plan.describe() == "force+accel+gyro"  # nothing was partly answered: no fallback
    assert sum(n.value for n in notices if n.kind == "dropped") >= 3
    got = SampleBlock.concat([before, after])
    assert np.all(np.diff(got.t_s) > 0) and len(after) > 20
    assert_rounds_consistent(got, twin)



async def test_a_host_too_busy_to_run_the_poller_loses_no_round() -> None:
    # The whole host stalls (a loaded machine): the answers are in, unread, and the poller wakes long
    # after its check was due. It used to time out at once and drop the round the sensor answered
    # (a 20-minute soak lost samples it could not explain this way).
    import time

    twin = PascoTwin(MOTION)
    profile, link, info = await started(twin, answer_timeout_s=0.02)
    decoder = profile.new_decoder(info)
    before, _ = await poll_for(decoder, link, 0.3)
    for _ in range(4):
        link.advance(0.05)  # the sensor answers while the host is stuck...
        time.sleep(0.03)  # ...with nothing on the event loop running
        more, _ = await poll_for(decoder, link, 0.05)
        before = SampleBlock.concat([before, more])
    after, notices = await poll_for(decoder, link, 0.3)
    await profile.stop(link)
    assert profile.poller.timeouts == 0 and profile.poller.book.lost_rounds == 0
    assert not [n for n in notices if n.kind == "dropped"]
    assert_rounds_consistent(SampleBlock.concat([before, after]), twin)


class MuteTwin(PascoTwin):
    def on_write(self, char_uuid: str, data: bytes, now_s: float) -> list[Outgoing]:
        return []


async def test_a_silent_sensor_fails_start_with_a_protocol_error() -> None:
    link = LoopbackLink(MuteTwin(), step_s=0.01)
    profile = PascoProfile(reply_timeout_s=0.5)
    with pytest.raises(ProtocolError, match="force"):
        await profile.start(link)
    assert profile.poller is None
    with pytest.raises(ConfigError):
        profile.new_decoder(None)  # type: ignore[arg-type]


class DroppingLink(LoopbackLink):
    """A link whose writes fail once `lost` is set, as BleakLink's do after the radio drops."""

    lost = False

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        if self.lost:
            raise ConnectionLostError("link lost")
        await super().write(char_uuid, data, response=response)


async def test_the_poller_ends_by_itself_when_the_link_fails() -> None:
    twin = PascoTwin(MOTION)
    link = DroppingLink(twin, step_s=0.001)
    profile = PascoProfile(clock=lambda: link.now_s)
    info = await profile.start(link)
    decoder = profile.new_decoder(info)
    await poll_for(decoder, link, 0.1)
    link.lost = True
    with pytest.raises(ProtocolError):
        await poll_for(decoder, link, 1.0)  # the answers still owed arrive, the next write fails, then silence
    assert not profile.poller.running
    writes = len(link.writes)
    link.advance(0.5)
    assert len(link.writes) == writes
    await profile.stop(link)  # harmless after the poller ended


def test_registry_and_advertisement_matching() -> None:
    assert registry()["pasco-force-accel"] is PascoProfile and twin_registry()["pasco-force-accel"] is PascoTwin
    assert PascoProfile.matches(PascoTwin().name) and PascoProfile.matches("My Force Accel 111-123>4")
    assert not PascoProfile.matches("Load Cell 123-456>F") and not PascoProfile.matches(None)
    assert PascoProfile.matches(None, [service_uuid(0).upper()])
