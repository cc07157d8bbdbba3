"""Host-side polling of the PASCO PS-3202: which reads go out together, and which reply answers which.

The public protocol has no documented streaming, only one-shot reads (protocols.md 3.3), so a
PASCO "stream" is a loop on the host: ask force, accel and gyro for one sample, wait for the three
answers, ask again. Two parts share one RoundBook:

- the Poller, an asyncio task on the link, opens a stage (writes its read requests) and waits;
- the decoder, fed by whoever reads the link (BleSession), files each reply into the book, which
  wakes the Poller the moment the stage is answered, so the next requests leave at once.

A stage holds every channel whose reply can be told apart from the others': all three when each
sensor answers on its own service (one round trip per sample), fewer when replies come back on
the shared device service 0 with equal length. The book is pure bookkeeping; only Poller does I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from bandlog.devices.pasco_codec import (
    DEVICE_SERVICE,
    SEND_COMMAND_CHAR,
    Channel,
    ForceRaw,
    ReadOneSample,
    Sample,
    TriadRaw,
    char_uuid,
)
from bandlog.errors import ConfigError, ConnectionLostError, ProtocolError
from bandlog.link import GattLink

log = logging.getLogger(__name__)

FALLBACK_AFTER_TIMEOUTS = 3
"""Unanswered stages in a row after which requests go one at a time (the device may not queue them)."""
SPAN_SMOOTHING = 0.1
"""Weight of the newest round in the typical request-to-answer span (used when a request time is unknown)."""


async def request_read(link: GattLink, channel: Channel) -> None:
    """Ask channel for one sample (without response, as PASCO's library writes)."""
    await link.write(char_uuid(channel.service, SEND_COMMAND_CHAR), bytes(ReadOneSample(channel.packet_size)), response=False)


@dataclass(frozen=True)
class PollPlan:
    """The stages of one polling round, and the service each channel's replies arrive on."""

    stages: tuple[tuple[Channel, ...], ...]
    reply_services: tuple[int, ...]
    """Indexed by Channel: its own service, or DEVICE_SERVICE (0)."""

    def __post_init__(self) -> None:
        polled = sorted(c for stage in self.stages for c in stage)
        if polled != sorted(Channel) or any(not stage for stage in self.stages):
            raise ConfigError(f"a PASCO poll plan must read every channel exactly once, got {self.describe()}")
        if len(self.reply_services) != len(Channel):
            raise ConfigError("a PASCO poll plan needs the reply service of every channel")

    @classmethod
    def pipelined(cls, reply_services: Mapping[Channel, int]) -> "PollPlan":
        """As few stages as keep every reply attributable: a channel that answers on service 0 never
        shares a stage with another service-0 channel of the same sample size."""
        services = tuple(reply_services[c] for c in Channel)
        stages: list[tuple[Channel, ...]] = []
        current: list[Channel] = []
        for channel in Channel:
            if any(_clash(channel, other, services) for other in current):
                stages.append(tuple(current))
                current = []
            current.append(channel)
        stages.append(tuple(current))
        return cls(tuple(stages), services)

    def one_at_a_time(self) -> "PollPlan":
        return PollPlan(tuple((c,) for c in Channel), self.reply_services)

    def describe(self) -> str:
        """E.g. 'force+accel+gyro' (one stage) or 'force+accel | gyro'."""
        return " | ".join("+".join(c.label for c in stage) for stage in self.stages)


def _clash(a: Channel, b: Channel, services: tuple[int, ...]) -> bool:
    both_on_device_service = services[a] == DEVICE_SERVICE and services[b] == DEVICE_SERVICE
    return both_on_device_service and a.packet_size == b.packet_size


@dataclass(frozen=True)
class PolledSample:
    """One complete round: host times on the link's clock, t_s since polling began."""

    t_s: float
    t_host_s: float
    force: ForceRaw
    accel: TriadRaw
    gyro: TriadRaw


class RoundBook:
    """Open stages, attribute replies, assemble a sample per fully answered round.

    A round's sample time is the midpoint between its first request and its last answer: the
    device read its sensors somewhere in that window. The request time is taken as the arrival
    of the answer that let it go (the poller writes as soon as that answer is filed), so it runs
    early by however long the reader took to file that answer (small while the reader keeps up).
    """

    def __init__(self, plan: PollPlan, t0_s: float) -> None:
        self.plan = plan
        self.t0_s = t0_s
        self.on_stage_answered: Callable[[], None] | None = None
        self.samples = 0
        self.lost_rounds = 0
        self._stage = -1
        """Index of the open stage in plan.stages; -1 when the next stage opens a new round."""
        self._outstanding: list[Channel] = []
        self._answers: dict[Channel, Sample | None] = {}
        self._round_request_s: float | None = None
        self._last_answer_s: float | None = t0_s
        """When the last stage was answered; None after a timeout (the next request time is unknown)."""
        self._typical_span_s: float | None = None

    @property
    def outstanding(self) -> tuple[Channel, ...]:
        return tuple(self._outstanding)

    def open_stage(self) -> tuple[Channel, ...]:
        """The channels to request now: the next stage of the open round, or the first of a new one."""
        if self._stage < 0 or self._stage == len(self.plan.stages) - 1:
            self._stage = 0
            self._answers = {}
            self._round_request_s = self._last_answer_s
        else:
            self._stage += 1
        stage = self.plan.stages[self._stage]
        self._outstanding = list(stage)
        return stage

    def stage_timed_out(self) -> None:
        """The open stage went unanswered: its round is lost and the next one starts afresh."""
        if self._stage >= 0:
            self.lost_rounds += 1
        self._stage = -1
        self._outstanding = []
        self._last_answer_s = None

    def replan(self, plan: PollPlan) -> None:
        """Use another plan from the next round on (called between stages)."""
        self.plan = plan
        self._stage = -1
        self._outstanding = []

    def attribute(self, service: int, payload_size: int) -> Channel | None:
        """The outstanding channel a read reply on `service` answers, or None for a stale/unasked reply.

        On service 0 the reply is matched by sample size, then by request order (first asked,
        first answered), which is as far as the protocol lets a reply be told apart.
        """
        if service != DEVICE_SERVICE:
            return next((c for c in self._outstanding if c.service == service), None)
        sized = [c for c in self._outstanding if c.packet_size == payload_size]
        candidates = sized or self._outstanding
        return candidates[0] if candidates else None

    def answer(self, channel: Channel, sample: Sample | None, t_host_s: float) -> PolledSample | None:
        """File channel's answer (None = error or undecodable); the round's sample once it is complete."""
        if channel not in self._outstanding:
            raise ConfigError(f"{channel.label} has no outstanding request")
        self._outstanding.remove(channel)
        self._answers[channel] = sample
        if self._outstanding:
            return None
        self._last_answer_s = t_host_s
        result = None
        failed = any(a is None for a in self._answers.values())
        if failed:
            self.lost_rounds += 1
            self._stage = -1
        elif self._stage == len(self.plan.stages) - 1:
            result = self._sample(t_host_s)
        if self.on_stage_answered is not None:
            self.on_stage_answered()
        return result

    def _sample(self, t_done_s: float) -> PolledSample:
        request_s = self._round_request_s
        if request_s is not None:
            span_s = max(t_done_s - request_s, 0.0)
            typical = self._typical_span_s
            self._typical_span_s = span_s if typical is None else typical + SPAN_SMOOTHING * (span_s - typical)
        else:
            span_s = self._typical_span_s or 0.0
        force, accel, gyro = (self._answers[c] for c in Channel)
        assert isinstance(force, ForceRaw) and isinstance(accel, TriadRaw) and isinstance(gyro, TriadRaw)
        self.samples += 1
        return PolledSample(t_done_s - span_s / 2 - self.t0_s, t_done_s, force, accel, gyro)


class Poller:
    """The polling task: request a stage, wait until the decoder has filed its answers, repeat.

    It ends by itself when the link fails (the session reconnects with a new profile and poller)
    and is cancelled by stop().
    """

    def __init__(self, book: RoundBook, *, answer_timeout_s: float, fallback_after: int = FALLBACK_AFTER_TIMEOUTS) -> None:
        if answer_timeout_s <= 0:
            raise ConfigError(f"answer timeout must be positive, got {answer_timeout_s!r}")
        self.book = book
        self.answer_timeout_s = answer_timeout_s
        self.fallback_after = fallback_after
        self.timeouts = 0
        self._answered = asyncio.Event()
        book.on_stage_answered = self._answered.set
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, link: GattLink) -> None:
        if self.running:
            raise ConfigError("the PASCO poller is already running")
        self._task = asyncio.create_task(self._run(link), name="pasco poller")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self, link: GattLink) -> None:
        unanswered_in_a_row = 0
        try:
            while True:
                self._answered.clear()
                for channel in self.book.open_stage():
                    await request_read(link, channel)
                try:
                    # not wait_for: on Python 3.11 it swallows a cancel that lands as the event is set
                    async with asyncio.timeout(self.answer_timeout_s):
                        await self._answered.wait()
                except TimeoutError:
                    self._on_timeout(unanswered_in_a_row := unanswered_in_a_row + 1)
                    continue
                unanswered_in_a_row = 0
        except (ConnectionLostError, ProtocolError) as error:
            log.info("PASCO polling stopped: %s", error)

    def _on_timeout(self, in_a_row: int) -> None:
        self.timeouts += 1
        log.debug("PASCO read of %s unanswered within %g s", "+".join(c.label for c in self.book.outstanding), self.answer_timeout_s)
        self.book.stage_timed_out()
        if in_a_row >= self.fallback_after and len(self.book.plan.stages) < len(Channel):
            self.book.replan(self.book.plan.one_at_a_time())
            log.warning("PASCO sensor left %d pipelined reads unanswered in a row; reading one channel at a time", in_a_row)
