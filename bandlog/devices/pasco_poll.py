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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bandlog.core.errors import ConfigError, ConnectionLostError, ProtocolError
from bandlog.core.link import GattLink
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

log = logging.getLogger(__name__)

MIN_CHECK_S = 0.005
"""Shortest interval between the poller's looks at the link clock while it waits for answers."""
LATE_WAKE_CHECKS = 2.0
"""A wait that lasted this many check intervals or more was a busy host, not a silent sensor."""
FALLBACK_AFTER_TIMEOUTS = 3
"""Partly answered stages in a row after which reads go one at a time (the device does not queue them)."""


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
    def pipelined(cls, reply_services: Mapping[Channel, int]) -> PollPlan:
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

    def one_at_a_time(self) -> PollPlan:
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

    Replies carry no sequence number, so a reply filed late (the reader was busy) must not be
    taken for the answer to a newer request. The book therefore keeps an estimate of the link's
    clock (the clock that stamps Notification.t_host_s): `clock` minus the smallest offset seen
    between `clock` at filing and a reply's arrival stamp. The estimate can only run early, so a
    reply that arrived before its stage was requested is certainly stale and is dropped.

    A round's sample time is the midpoint between the force read's request and its answer: the
    device read its force in that window. (The round's other reads may answer later: dating the
    row at the round's midpoint put a force up to 90 ms from its instant when one answer was slow.)
    """

    def __init__(self, plan: PollPlan, t0_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self.t0_s = t0_s
        self.on_stage_answered: Callable[[], None] | None = None
        self.samples = 0
        self.lost_rounds = 0
        self.stale_replies = 0
        self._clock = clock
        self._clock_offset_s: float | None = None
        self._stage = -1
        """Index of the open stage in plan.stages; -1 when the next stage opens a new round."""
        self._outstanding: list[Channel] = []
        self._answers: dict[Channel, Sample | None] = {}
        self._force_read_s: tuple[float, float] = (t0_s, t0_s)
        """(request, answer) link-clock times of the open round's force read."""
        self._stage_request_s = t0_s
        self._last_seen_s = t0_s

    @property
    def outstanding(self) -> tuple[Channel, ...]:
        return tuple(self._outstanding)

    def observe(self, t_host_s: float) -> None:
        """A notification stamped t_host_s is being filed now: refine the link-clock estimate."""
        offset_s = self._clock() - t_host_s
        if self._clock_offset_s is None or offset_s < self._clock_offset_s:
            self._clock_offset_s = offset_s
        self._last_seen_s = max(self._last_seen_s, t_host_s)

    def link_now_s(self) -> float:
        """The link clock now, never late; before any observation, the latest arrival known."""
        if self._clock_offset_s is None:
            return self._last_seen_s
        return max(self._clock() - self._clock_offset_s, self._last_seen_s)

    def waited_s(self) -> float:
        """Link-clock seconds since the open stage was requested."""
        return self.link_now_s() - self._stage_request_s

    def open_stage(self) -> tuple[Channel, ...]:
        """The channels to request now: the next stage of the open round, or the first of a new one."""
        self._stage_request_s = self.link_now_s()
        if self._stage < 0 or self._stage == len(self.plan.stages) - 1:
            self._stage = 0
            self._answers = {}
        else:
            self._stage += 1
        stage = self.plan.stages[self._stage]
        self._outstanding = list(stage)
        return stage

    def stage_timed_out(self) -> bool:
        """The open stage went unanswered: its round is lost and the next one starts afresh.

        True when some of its reads were answered and others not: the mark of a device that
        cannot queue reads (a busy reader or a lost link leaves all of them unanswered).
        """
        partly = 0 < len(self._outstanding) < len(self.plan.stages[self._stage]) if self._stage >= 0 else False
        if self._outstanding:
            self.lost_rounds += 1
        self._stage = -1
        self._outstanding = []
        return partly

    def replan(self, plan: PollPlan) -> None:
        """Use another plan from the next round on (called between stages)."""
        self.plan = plan
        self._stage = -1
        self._outstanding = []

    def attribute(self, service: int, payload_size: int, t_host_s: float) -> Channel | None:
        """The outstanding channel a read reply answers, or None for a stale or unasked reply.

        On service 0 the reply is matched by sample size, then by request order (first asked,
        first answered), which is as far as the protocol lets a reply be told apart.
        """
        if t_host_s < self._stage_request_s:
            self.stale_replies += 1
            return None
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
        if channel is Channel.FORCE:
            self._force_read_s = (self._stage_request_s, t_host_s)
        if self._outstanding:
            return None
        result = None
        if any(a is None for a in self._answers.values()):
            self.lost_rounds += 1
            self._stage = -1
        elif self._stage == len(self.plan.stages) - 1:
            force, accel, gyro = (self._answers[c] for c in Channel)
            assert isinstance(force, ForceRaw) and isinstance(accel, TriadRaw) and isinstance(gyro, TriadRaw)
            self.samples += 1
            t_s = sum(self._force_read_s) / 2 - self.t0_s
            result = PolledSample(t_s, t_host_s, force, accel, gyro)
        if self.on_stage_answered is not None:
            self.on_stage_answered()
        return result


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
        partly_in_a_row = 0
        try:
            while True:
                self._answered.clear()
                for channel in self.book.open_stage():
                    await request_read(link, channel)
                if await self._answered_in_time():
                    partly_in_a_row = 0
                else:
                    partly_in_a_row = self._on_timeout(partly_in_a_row)
        except (ConnectionLostError, ProtocolError) as error:
            log.info("PASCO polling stopped: %s", error)

    async def _answered_in_time(self) -> bool:
        """Wait until the stage is answered (True) or answer_timeout_s has passed on the LINK clock.

        The link clock, not the event loop's: under an emulated virtual clock a slow host must not
        count as a silent device. Checks a few times per timeout. A check that wakes far later than
        asked (the host was busy) decides nothing: the answers may be queued behind it, unread, and
        giving up would drop a round the sensor did answer.
        """
        check_s = max(self.answer_timeout_s / 4, MIN_CHECK_S)
        loop = asyncio.get_running_loop()
        while not self._answered.is_set():
            slept_from_s = loop.time()
            # not wait_for: on Python 3.11 it swallows a cancel that lands as the event is set
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(check_s):
                    await self._answered.wait()
            woke_late = loop.time() - slept_from_s > LATE_WAKE_CHECKS * check_s
            if not self._answered.is_set() and not woke_late and self.book.waited_s() >= self.answer_timeout_s:
                return False
        return True

    def _on_timeout(self, partly_in_a_row: int) -> int:
        """Give up on the open stage; go one read at a time once pipelined stages keep coming back partial."""
        self.timeouts += 1
        log.debug("PASCO read of %s unanswered within %g s", "+".join(c.label for c in self.book.outstanding), self.answer_timeout_s)
        partly_in_a_row = partly_in_a_row + 1 if self.book.stage_timed_out() else 0
        if partly_in_a_row >= self.fallback_after and len(self.book.plan.stages) < len(Channel):
            self.book.replan(self.book.plan.one_at_a_time())
            log.warning("PASCO sensor left part of %d pipelined reads in a row unanswered; reading one channel at a time", partly_in_a_row)
        return partly_in_a_row
