"""The polling bookkeeping and the decoder, without a link: plans, attribution, timing, losses, notices."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bandlog.core.errors import ConfigError, DecodeError
from bandlog.core.link import Notification
from bandlog.devices.pasco import RATE_NOTICE_EVERY_S, PascoDecoder
from bandlog.devices.pasco_codec import (
    ACC_MS2_PER_COUNT,
    GYRO_DPS_PER_COUNT,
    RECEIVE_REPLY_CHAR,
    SEND_COMMAND_CHAR,
    Channel,
    ForceRaw,
    GenericResponse,
    TriadRaw,
    char_uuid,
)
from bandlog.devices.pasco_poll import PollPlan, RoundBook

F, A, G = Channel.FORCE, Channel.ACCEL, Channel.GYRO
OWN = {F: 1, A: 2, G: 3}
SAMPLES = {F: ForceRaw(40000), A: TriadRaw(10, -20, 2048), G: TriadRaw(-100, 0, 7)}


def reply(service: int, payload: bytes, t_s: float, status: int = 0) -> Notification:
    return Notification(char_uuid(service, RECEIVE_REPLY_CHAR), bytes(GenericResponse(status, 0x05, payload)), t_s)


class Clock:
    """The host clock the book reads; tests set it (here equal to the link clock: replies filed at once)."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def new_book(plan: PollPlan, t0_s: float) -> tuple[RoundBook, PascoDecoder, Clock]:
    clock = Clock(t0_s)
    book = RoundBook(plan, t0_s, clock=clock)
    return book, PascoDecoder(book), clock


def answer_round(
    decoder: PascoDecoder,
    book: RoundBook,
    t_answers: list[float],
    services: dict = OWN,
    samples: dict = SAMPLES,
    clock: Clock | None = None,
) -> list:
    """Open the stages of one round and answer each channel at the given times, in channel order.

    With a clock, each stage is requested when the previous answer is filed and answers are filed
    as they arrive.
    """
    outputs, times = [], iter(t_answers)
    while True:
        stage = book.open_stage()
        for channel in stage:
            t_s = next(times)
            if clock is not None:
                clock.now_s = t_s
            outputs.append(decoder.feed(reply(services[channel], bytes(samples[channel]), t_s)))
        if channel is G:
            return outputs


def test_plans_keep_every_reply_attributable() -> None:
    assert PollPlan.pipelined(OWN).stages == ((F, A, G),)
    on_device = PollPlan.pipelined({F: 0, A: 0, G: 0})
    assert on_device.stages == ((F, A), (G,)) and on_device.describe() == "force+accel | gyro"
    assert PollPlan.pipelined({F: 0, A: 2, G: 0}).stages == ((F, A, G),)  # force is told apart by size
    assert PollPlan.pipelined(OWN).one_at_a_time().stages == ((F,), (A,), (G,))
    with pytest.raises(ConfigError):
        PollPlan(((F, A),), (1, 2, 3))


def test_a_round_becomes_one_sample_at_the_midpoint_of_its_force_read() -> None:
    book, decoder, clock = new_book(PollPlan.pipelined(OWN), t0_s=100.0)
    woken = []
    book.on_stage_answered = lambda: woken.append(True)
    first = answer_round(decoder, book, [100.004, 100.006, 100.010], clock=clock)
    assert [len(o.blocks) for o in first] == [0, 0, 1] and len(woken) == 1
    block = first[-1].blocks[0]
    assert block.t_s[0] == pytest.approx(0.002) and block.t_host_s[0] == 100.010  # force asked at 100.000, answered 100.004
    assert block.force_n[0] == pytest.approx((40000 - 32768) * 50 / 27768)
    np.testing.assert_allclose(block.acc_ms2[0], np.array([10, -20, 2048]) * ACC_MS2_PER_COUNT)
    np.testing.assert_allclose(block.gyro_dps[0], np.array([-100, 0, 7]) * GYRO_DPS_PER_COUNT)
    second = answer_round(decoder, book, [100.014, 100.016, 100.030], clock=clock)
    assert second[-1].blocks[0].t_s[0] == pytest.approx(0.012)  # requested at 100.010, force answered 100.014 (last 100.030)
    # a timed-out round is lost; the next request leaves when the poller gives up (host clock)
    book.open_stage()
    clock.now_s = 100.530
    book.stage_timed_out()
    third = answer_round(decoder, book, [100.540, 100.541, 100.550], clock=clock)
    assert book.lost_rounds == 1 and [n.kind for n in third[0].notices] == ["dropped"]
    assert third[-1].blocks[0].t_s[0] == pytest.approx(0.535)
    assert book.samples == 3


def test_replies_filed_late_are_not_taken_for_answers_to_newer_requests() -> None:
    book, decoder, clock = new_book(PollPlan.pipelined(OWN), t0_s=0.0)
    answer_round(decoder, book, [0.004, 0.006, 0.010], clock=clock)
    book.open_stage()
    clock.now_s = 0.510  # the reader was busy: the answers arrived at 0.02 but are not filed yet
    book.stage_timed_out()
    assert book.open_stage() == (F, A, G)
    for channel in Channel:  # now the reader files the old answers, stamped with their arrival
        out = decoder.feed(reply(channel.service, bytes(SAMPLES[channel]), 0.020))
        assert out.blocks == []
    assert book.stale_replies == 3 and book.outstanding == (F, A, G)
    clock.now_s = 0.52
    outputs = [decoder.feed(reply(c.service, bytes(SAMPLES[c]), 0.52)) for c in Channel]
    assert outputs[-1].blocks[0].t_s[0] == pytest.approx(0.515)


def test_one_at_a_time_rounds_answered_on_the_device_service() -> None:
    book, decoder, clock = new_book(PollPlan.pipelined({F: 0, A: 0, G: 0}).one_at_a_time(), t0_s=0.0)
    outputs = answer_round(decoder, book, [0.01, 0.02, 0.03], services={F: 0, A: 0, G: 0}, clock=clock)
    assert [len(o.blocks) for o in outputs] == [0, 0, 1]
    assert outputs[-1].blocks[0].t_s[0] == pytest.approx(0.005)  # the force read: asked at 0, answered at 0.01


def test_device_service_replies_are_matched_by_size_then_request_order() -> None:
    book, _, _ = new_book(PollPlan.pipelined({F: 0, A: 0, G: 0}), t0_s=0.0)
    assert book.open_stage() == (F, A)
    assert book.attribute(0, 6, 0.01) is A and book.attribute(0, 2, 0.01) is F
    assert book.attribute(0, 0, 0.01) is F  # an error reply carries no sample: first asked, first answered
    assert book.attribute(3, 6, 0.01) is None  # gyro was not asked in this stage
    book.answer(F, SAMPLES[F], 0.01)
    with pytest.raises(ConfigError):
        book.answer(F, SAMPLES[F], 0.02)


def test_refused_and_garbled_answers_lose_their_round_and_are_reported() -> None:
    book, decoder, _ = new_book(PollPlan.pipelined(OWN), t0_s=0.0)
    book.open_stage()
    assert decoder.feed(reply(1, b"", 0.01, status=1)).blocks == []
    with pytest.raises(DecodeError):
        decoder.feed(reply(2, b"\x01\x02\x03", 0.02))  # a 3-byte accel sample
    out = decoder.feed(reply(3, bytes(SAMPLES[G]), 0.03))
    assert out.blocks == [] and [(n.kind, n.value) for n in out.notices] == [("dropped", 1.0)]
    assert answer_round(decoder, book, [0.04, 0.05, 0.06])[-1].blocks  # the decoder is still usable
    late = decoder.feed(reply(1, bytes(SAMPLES[F]), 0.07))  # nothing outstanding: a late answer is ignored
    assert late.blocks == [] and late.notices == []


def test_other_characteristics_and_packets_are_ignored() -> None:
    book, decoder, _ = new_book(PollPlan.pipelined(OWN), t0_s=0.0)
    book.open_stage()
    for notification in (
        Notification(char_uuid(1, SEND_COMMAND_CHAR), bytes(GenericResponse(0, 5, bytes(SAMPLES[F]))), 0.01),
        Notification("00002a19-0000-1000-8000-00805f9b34fb", b"\x50", 0.01),
        Notification(char_uuid(0, RECEIVE_REPLY_CHAR), b"\x90\x64", 0.01),  # battery status, undocumented
        Notification(char_uuid(1, RECEIVE_REPLY_CHAR), b"\x03" + bytes(SAMPLES[F]), 0.01),  # periodic data
    ):
        assert decoder.feed(notification).blocks == []
    assert book.outstanding == (F, A, G)


def test_longer_answers_use_their_first_bytes_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    book, decoder, _ = new_book(PollPlan.pipelined(OWN), t0_s=0.0)
    with caplog.at_level(logging.WARNING, logger="bandlog.devices.pasco"):
        for k in range(2):
            book.open_stage()
            for channel in Channel:
                out = decoder.feed(reply(channel.service, bytes(SAMPLES[channel]) + b"\xee", 0.01 * k + 0.001 * channel))
    assert out.blocks[0].force_n[0] == pytest.approx(SAMPLES[F].force_n)
    assert len(caplog.records) == 1 and "first 2" in caplog.records[0].getMessage()


def test_range_and_rate_notices() -> None:
    book, decoder, _ = new_book(PollPlan.pipelined(OWN), t0_s=0.0)
    kinds = []
    for k, raw in enumerate([40000, 0xFFFF, 0xFFFF, 40000, 62000]):
        samples = {**SAMPLES, F: ForceRaw(raw)}
        for out in answer_round(decoder, book, [k * 3.0 + 0.001, k * 3.0 + 0.002, k * 3.0 + 0.003], samples=samples):
            kinds += [(n.kind, None if n.value is None else round(n.value, 2)) for n in out.notices]
    assert kinds.count(("force_range", round(ForceRaw(0xFFFF).force_n, 2))) == 1  # once per stretch
    assert ("force_range", round(ForceRaw(62000).force_n, 2)) in kinds
    rates = [value for kind, value in kinds if kind == "poll_rate"]
    assert len(rates) == 1 and rates[0] == pytest.approx(4 / (RATE_NOTICE_EVERY_S + 2.0), abs=0.01)
