"""PASCO Wireless Force Acceleration Sensor (PS-3202): the conversation and the decoder of polled reads.

Force, 3-axis accel and 3-axis gyro on one link, but the public protocol only answers one-shot
reads (protocols.md 3.3; the streaming command is undocumented). start() therefore:
1. subscribes to the reply characteristic of every service (replies may come on service 0);
2. reads each channel once, learning which service answers it;
3. plans the polling (pasco_poll.PollPlan) and measures a few rounds, so the rate the link
   allows is known and written into StreamInfo.extra["poll_rate_hz"];
4. launches the Poller task, which keeps reading until stop() or until the link fails.
The decoder turns each fully answered round into one sample. t_s is HOST time since polling began
(midpoint of request and answer; replies carry no device clock), so there is no nominal rate
(sample_rate_hz is None); a 'poll_rate' notice reports the rate reached every 10 s, and rounds
that went unanswered are reported as 'dropped'. Force sign and scale: see pasco_codec.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError, DecodeError, ProtocolError
from bandlog.core.link import GattLink, Notification
from bandlog.core.samples import SAMPLE_CHANNELS, SampleBlock, StreamInfo, force_range_extra
from bandlog.devices.base import DecodeOutput, DeviceNotice, DeviceProfile, StreamDecoder, StreamOptions
from bandlog.devices.pasco_codec import (
    ACC_MS2_PER_COUNT,
    DEVICE_SERVICE,
    FORCE_RANGE_N,
    GYRO_DPS_PER_COUNT,
    READ_ONE_SAMPLE,
    RECEIVE_REPLY_CHAR,
    Channel,
    GenericResponse,
    char_uuid,
    decode_reply,
    decode_sample,
    parse_uuid,
    service_uuid,
)
from bandlog.devices.pasco_poll import FALLBACK_AFTER_TIMEOUTS, PolledSample, Poller, PollPlan, RoundBook, request_read

log = logging.getLogger(__name__)

NAME_MARK = "Force Accel"
"""PASCO's library keeps devices whose advertised name contains this (e.g. 'Force Accel 123-456>4')."""
REPLY_TIMEOUT_S = 2.0
"""For the reads in start(); PASCO's library itself waits 50 ms after each read request."""
ANSWER_TIMEOUT_S = 0.5
"""Longest wait for an answer while polling; a read unanswered this long is lost and the next round begins."""
ANSWER_TIMEOUT_ROUNDS = 10.0
MIN_ANSWER_TIMEOUT_S = 0.1
"""The polling wait is ANSWER_TIMEOUT_ROUNDS measured rounds, within [MIN_ANSWER_TIMEOUT_S, ANSWER_TIMEOUT_S]."""
MEASURE_ROUNDS = 5
RATE_NOTICE_EVERY_S = 10.0


class PascoDecoder(StreamDecoder):
    """Read replies -> one-sample blocks, through the RoundBook the Poller shares."""

    counts_lost = True

    def __init__(self, book: RoundBook) -> None:
        self._book = book
        self._reported_lost = 0
        self._saturated = False
        self._warned_long = False
        self._rate_mark: tuple[float, int] | None = None

    def feed(self, notification: Notification) -> DecodeOutput:
        out = DecodeOutput()
        where = parse_uuid(notification.char_uuid)
        if where is None or where[1] != RECEIVE_REPLY_CHAR:
            return out
        self._book.observe(notification.t_host_s)
        reply = decode_reply(notification.payload)
        if isinstance(reply, GenericResponse) and reply.command == READ_ONE_SAMPLE:
            sample = self._file(where[0], reply, notification.t_host_s)
            if sample is not None:
                out.blocks.append(self._block(sample, out))
        else:
            log.debug("ignoring %r on PASCO service %d", reply, where[0])
        self._report(notification.t_host_s, out)
        return out

    def _file(self, service: int, reply: GenericResponse, t_host_s: float) -> PolledSample | None:
        channel = self._book.attribute(service, len(reply.payload), t_host_s)
        if channel is None:
            log.debug("PASCO reply on service %d answers no outstanding read (stale or unasked)", service)
            return None
        if not reply.ok:
            log.info("PASCO sensor answered the %s read with status %d", channel.label, reply.status)
            return self._book.answer(channel, None, t_host_s)
        payload = reply.payload
        if len(payload) > channel.packet_size:
            if not self._warned_long:
                log.warning("PASCO %s replies carry %d bytes for a %d-byte read; using the first %d",
                            channel.label, len(payload), channel.packet_size, channel.packet_size)
                self._warned_long = True
            payload = payload[: channel.packet_size]
        try:
            raw = decode_sample(channel, payload)
        except DecodeError:
            self._book.answer(channel, None, t_host_s)
            raise
        return self._book.answer(channel, raw, t_host_s)

    def _block(self, sample: PolledSample, out: DecodeOutput) -> SampleBlock:
        if sample.force.saturated != self._saturated:
            self._saturated = sample.force.saturated
            if self._saturated:
                message = f"force {sample.force.force_n:.1f} N is beyond the PS-3202's +-{FORCE_RANGE_N:g} N range"
                out.notices.append(DeviceNotice("force_range", message, sample.force.force_n))
        return SampleBlock(
            t_s=np.array([sample.t_s]),
            force_n=np.array([sample.force.force_n]),
            acc_ms2=np.array([sample.accel.scaled(ACC_MS2_PER_COUNT)]),
            gyro_dps=np.array([sample.gyro.scaled(GYRO_DPS_PER_COUNT)]),
            t_host_s=np.array([sample.t_host_s]),
        )

    def _report(self, t_host_s: float, out: DecodeOutput) -> None:
        lost = self._book.lost_rounds - self._reported_lost
        if lost:
            self._reported_lost += lost
            out.notices.append(DeviceNotice("dropped", f"{lost} PASCO polling round(s) went unanswered", float(lost)))
        if self._rate_mark is None:
            self._rate_mark = (t_host_s, self._book.samples)
        elif (span_s := t_host_s - self._rate_mark[0]) >= RATE_NOTICE_EVERY_S:
            rate_hz = (self._book.samples - self._rate_mark[1]) / span_s
            message = f"polling reached {rate_hz:.1f} samples/s ({self._book.plan.describe()})"
            out.notices.append(DeviceNotice("poll_rate", message, rate_hz))
            self._rate_mark = (t_host_s, self._book.samples)


class PascoProfile(DeviceProfile):
    key: ClassVar[str] = "pasco-force-accel"
    model: ClassVar[str] = "PASCO Wireless Force Acceleration Sensor (PS-3202)"
    service_uuid: ClassVar[str] = service_uuid(DEVICE_SERVICE)
    name_prefixes: ClassVar[tuple[str, ...]] = (NAME_MARK,)
    measures_force: ClassVar[bool] = True
    measures_imu: ClassVar[bool] = True
    reads_host_clock: ClassVar[bool] = True

    def __init__(
        self,
        options: StreamOptions | None = None,
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
        pipelined: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """clock: the clock Notification.t_host_s is measured on, up to a constant offset
        (monotonic for BleakLink; a LoopbackLink's virtual `now_s` in tests)."""
        super().__init__(options)
        self.clock = clock
        self.reply_timeout_s = reply_timeout_s
        self.answer_timeout_s = answer_timeout_s
        self.pipelined = pipelined
        self._book: RoundBook | None = None
        self._poller: Poller | None = None

    @classmethod
    def matches(cls, name: str | None, service_uuids: Sequence[str] = ()) -> bool:
        """The name CONTAINS 'Force Accel', as in PASCO's library (or the device service is advertised)."""
        return bool(name and NAME_MARK in name) or super().matches(None, service_uuids)

    @property
    def poller(self) -> Poller | None:
        return self._poller

    async def start(self, link: GattLink) -> StreamInfo:
        if self.options.sample_rate_hz is not None:
            log.info("the PS-3202 is polled as fast as the link allows; %g Hz cannot be set", self.options.sample_rate_hz)
        await self.stop(link)
        for service in (DEVICE_SERVICE, *(c.service for c in Channel)):
            await link.subscribe(char_uuid(service, RECEIVE_REPLY_CHAR))
        routes: dict[Channel, int] = {}
        answered_s: list[float] = []
        for channel in Channel:
            routes[channel], t_s = await self._read_once(link, channel)
            answered_s.append(t_s)
        plan = PollPlan.pipelined(routes)
        if not self.pipelined:
            plan = plan.one_at_a_time()
        try:
            rate_hz, t0_s = await self._measure(link, plan, answered_s[-1])
        except ProtocolError as error:
            if len(plan.stages) == len(Channel):
                raise
            log.warning("PASCO sensor left pipelined reads unanswered (%s); reading one channel at a time", error)
            plan = plan.one_at_a_time()
            rate_hz, t0_s = await self._measure(link, plan, answered_s[-1])
        self._book = RoundBook(plan, t0_s, clock=self.clock)
        # generous next to a round, so only lost replies time out; a reply filed late is dropped as stale anyway
        answer_timeout_s = min(self.answer_timeout_s, max(MIN_ANSWER_TIMEOUT_S, ANSWER_TIMEOUT_ROUNDS / rate_hz))
        self._poller = Poller(self._book, answer_timeout_s=answer_timeout_s)
        self._poller.start(link)
        log.info("PASCO polling %s at about %.1f samples/s", plan.describe(), rate_hz)
        return StreamInfo(
            profile=self.key,
            model=self.model,
            sample_rate_hz=None,
            channels=SAMPLE_CHANNELS,
            hardware_tare=False,
            extra={
                "poll_rate_hz": f"{rate_hz:.1f}",
                "poll_plan": plan.describe(),
                "reply_services": ",".join(f"{c.label}={routes[c]}" for c in Channel),
                "read_round_trip_ms": f"{1e3 * (answered_s[-1] - answered_s[0]) / (len(answered_s) - 1):.1f}",
                "time_base": "host time, midpoint of each round's force read",
                "force_sign": "pull positive (inferred from PASCO's push-positive convention, unverified)",
                **force_range_extra(-FORCE_RANGE_N, FORCE_RANGE_N),
            },
        )

    async def _read_once(self, link: GattLink, channel: Channel) -> tuple[int, float]:
        """Read channel once; (service the reply came on, its arrival time)."""
        await request_read(link, channel)
        unanswered = f"PASCO sensor did not answer a {channel.label} read within {self.reply_timeout_s:g} s"
        first_t_s: float | None = None
        while True:
            try:
                notification = await link.next_notification(self.reply_timeout_s)
            except ProtocolError as error:
                raise ProtocolError(f"{unanswered} ({error})") from error
            if first_t_s is None:
                first_t_s = notification.t_host_s
            elif notification.t_host_s - first_t_s > self.reply_timeout_s:
                raise ProtocolError(unanswered)
            where = parse_uuid(notification.char_uuid)
            if where is None or where[1] != RECEIVE_REPLY_CHAR or where[0] not in (DEVICE_SERVICE, channel.service):
                continue
            try:
                reply = decode_reply(notification.payload)
                if not (isinstance(reply, GenericResponse) and reply.command == READ_ONE_SAMPLE):
                    continue
                if not reply.ok:
                    raise ProtocolError(f"PASCO sensor refused to read {channel.label} (status {reply.status})")
                decode_sample(channel, reply.payload[: channel.packet_size])
            except DecodeError as error:
                raise ProtocolError(f"PASCO sensor sent a malformed {channel.label} reply: {error}") from error
            return where[0], notification.t_host_s

    async def _measure(self, link: GattLink, plan: PollPlan, t0_s: float) -> tuple[float, float]:
        """Poll MEASURE_ROUNDS rounds right here: (samples/s reached, time of the last answer).

        Raises ProtocolError once FALLBACK_AFTER_TIMEOUTS stages went unanswered, or when the
        sensor refuses most reads.
        """
        book = RoundBook(plan, t0_s, clock=self.clock)
        decoder = PascoDecoder(book)
        done_s: list[float] = []
        last_s, unanswered = t0_s, 0
        for _ in range(3 * MEASURE_ROUNDS * len(plan.stages)):
            if len(done_s) == MEASURE_ROUNDS:
                break
            for channel in book.open_stage():
                await request_read(link, channel)
            try:
                last_s = await self._await_stage(link, book, decoder, done_s)
            except ProtocolError as error:
                book.stage_timed_out()
                if (unanswered := unanswered + 1) >= FALLBACK_AFTER_TIMEOUTS:
                    raise ProtocolError(f"{unanswered} {plan.describe()} reads went unanswered ({error})") from error
        if len(done_s) < MEASURE_ROUNDS:
            raise ProtocolError(f"PASCO sensor answered only {len(done_s)} of the polling rounds measured")
        interval_s = float(np.median(np.diff(done_s)))
        return (1.0 / interval_s if interval_s > 0 else float("inf")), last_s

    async def _await_stage(self, link: GattLink, book: RoundBook, decoder: PascoDecoder, done_s: list[float]) -> float:
        """Feed replies until the open stage is answered; the last arrival time. ProtocolError on a timeout."""
        first_s: float | None = None
        last_s = 0.0
        while book.outstanding:
            notification = await link.next_notification(self.answer_timeout_s)
            last_s = notification.t_host_s
            if first_s is None:
                first_s = last_s
            elif last_s - first_s > self.answer_timeout_s:
                raise ProtocolError(f"no answer within {self.answer_timeout_s:g} s")
            try:
                out = decoder.feed(notification)
            except DecodeError as error:
                raise ProtocolError(f"PASCO sensor sent a malformed reply while polling: {error}") from error
            done_s += [float(block.t_host_s[-1]) for block in out.blocks if block.t_host_s is not None]
        return last_s

    def new_decoder(self, info: StreamInfo) -> StreamDecoder:
        if self._book is None:
            raise ConfigError("PascoProfile.new_decoder() needs a successful start() first")
        return PascoDecoder(self._book)

    async def stop(self, link: GattLink) -> None:
        """Stop the polling loop; the sensor itself has nothing to stop."""
        if self._poller is not None:
            await self._poller.stop()


PROFILE = PascoProfile
