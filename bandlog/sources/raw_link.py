"""The two links of raw capture: one that records what crosses a live link, one that plays it back.

RawTeeLink wraps the live BleakLink at the seam where notifications arrive and writes leave (the
GattLink the profile talks to, plus the session's drain): every write, read, subscribe and consumed
notification goes to a RawCaptureWriter, in the order the session's code met them. ScriptedLink is a
GattLink over one recorded connection: it serves the recorded reads and notifications (with their
recorded host times) and checks that today's profile writes what the recording wrote, so the
profile's conversation and decoder run again on exactly the bytes a sensor sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, TypeVar

from bandlog.core.errors import BandlogError, ConfigError, ConnectionLostError, ProtocolError
from bandlog.core.link import Notification
from bandlog.io.raw_capture import RawCaptureWriter, RawEvent
from bandlog.sources.ble_link import BleakLink

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_ERRORS: dict[str, type[BandlogError]] = {"ProtocolError": ProtocolError, "ConnectionLostError": ConnectionLostError}
"""The failures a GattLink raises (ble_link turns every bleak/OS failure into one of these)."""


class SessionLink(Protocol):
    """What BleSession needs of a link: the GattLink calls, the batch drain, and its disconnect."""

    closing: bool

    @property
    def client(self) -> Any: ...

    @property
    def is_connected(self) -> bool: ...

    @property
    def mtu_size(self) -> int: ...

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None: ...

    async def read(self, char_uuid: str) -> bytes: ...

    async def subscribe(self, char_uuid: str) -> None: ...

    async def next_notification(self, timeout_s: float) -> Notification: ...

    def drain(self) -> list[Notification]: ...


class RawTeeLink:
    """A live BleakLink whose traffic is also written to a raw capture (otherwise it is the link itself)."""

    def __init__(self, inner: BleakLink, writer: RawCaptureWriter) -> None:
        self.inner = inner
        self.writer = writer
        self._reader = asyncio.current_task()
        """The session's task (it connects and reads the link); a profile's own tasks are others."""
        self._other_clock_s: float | None = None
        self.connection = writer.connections
        """This link's connection number: its events stay its own after a reconnect."""
        writer.event(RawEvent("connect", self._now_s(), mtu=inner.mtu_size))

    # what BleSession uses besides the GattLink methods
    @property
    def client(self) -> Any:  # bleak's BleakClient
        return self.inner.client

    @property
    def closing(self) -> bool:
        return self.inner.closing

    @closing.setter
    def closing(self, value: bool) -> None:
        self.inner.closing = value

    @property
    def is_connected(self) -> bool:
        return self.inner.is_connected

    @property
    def mtu_size(self) -> int:
        return self.inner.mtu_size

    def now_s(self) -> float:
        """The session's host clock, for a profile that reads one (PASCO), each reading captured:
        the session task's as `clock` events, another task's with its next write."""
        now_s = self._now_s()
        if asyncio.current_task() is self._reader:
            self._event(RawEvent("clock", now_s))
        else:
            self._other_clock_s = now_s
        return now_s

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        sent_s = self._now_s()
        clock_s = None if asyncio.current_task() is self._reader else self._other_clock_s
        await self._tee("write", char_uuid, self.inner.write(char_uuid, data, response=response))
        self._event(RawEvent("write", sent_s, char_uuid, bytes(data), response=response, clock_s=clock_s))

    async def read(self, char_uuid: str) -> bytes:
        data = await self._tee("read", char_uuid, self.inner.read(char_uuid))
        self._event(RawEvent("read", self._now_s(), char_uuid, data))
        return data

    async def subscribe(self, char_uuid: str) -> None:
        await self._tee("subscribe", char_uuid, self.inner.subscribe(char_uuid))
        self._event(RawEvent("subscribe", self._now_s(), char_uuid))

    async def next_notification(self, timeout_s: float) -> Notification:
        notification = await self._tee("notify", "", self.inner.next_notification(timeout_s))
        self._record(notification, first=True)
        return notification

    def drain(self) -> list[Notification]:
        notifications = self.inner.drain()
        for notification in notifications:
            self._record(notification, first=False)
        return notifications

    def _record(self, notification: Notification, *, first: bool) -> None:
        event = RawEvent("notify", notification.t_host_s, notification.char_uuid, notification.payload, first=first)
        self._event(event)

    async def _tee(self, op: str, char_uuid: str, call: Awaitable[_T]) -> _T:
        try:
            return await call
        except (ProtocolError, ConnectionLostError) as error:
            self._event(RawEvent("fail", self._now_s(), char_uuid, op=op, error=type(error).__name__, message=str(error)))
            raise

    def _now_s(self) -> float:
        return time.monotonic() - self.inner.session_t0_s

    def _event(self, event: RawEvent) -> None:
        self.writer.event(event, self.connection)


class _RecordedClient:
    """What BleSession's disconnect needs of a client, for a recorded connection (nothing to close)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def disconnect(self) -> None:
        return None


class ScriptedLink:
    """A GattLink that replays one recorded connection.

    Notifications (and waits that failed) come back in their recorded order and batches, each
    once today's profile has made the writes the recording made before it (a request before its
    answer); reads and writes are matched per kind, in order, so a task that writes on its own
    (PASCO's poller) replays in step. A write or read that differs from the recorded one is a
    RawReplayMismatch: today's conversation is not the one recorded. now_s() is the recording's
    host clock, for a profile that reads one.
    """

    def __init__(self, events: Sequence[RawEvent], address: str, *, last: bool) -> None:
        connect = events[0]
        self.client = _RecordedClient(address)
        self.closing = False
        self.last = last
        """The final connection: once its notifications are used up the recording ended there."""
        self._mtu = connect.mtu
        self._reader = asyncio.current_task()
        self._clocks = collections.deque(e.t_s for e in events[1:] if e.kind == "clock")
        """The session task's recorded clock readings, served in order."""
        self._events = [e for e in events[1:] if e.kind != "clock"]
        self._index = {id(event): number for number, event in enumerate(self._events)}
        self._used = [False] * len(self._events)
        self._next = 0
        """The first recorded event not used yet (all before it are)."""
        self._last_t_s = connect.t_s
        self._lost = False
        self.extra_writes = 0
        """Writes past the recorded ones (a poller that ran on while the replay was winding down)."""
        self._notes: collections.deque[RawEvent] = collections.deque()
        self._writes_before: collections.deque[int] = collections.deque()
        """For each queued notification: how many writes the recording made before it was read."""
        self._writes_made = 0
        self._wrote = asyncio.Event()
        self._writes: collections.deque[RawEvent] = collections.deque()
        self._reads: collections.deque[RawEvent] = collections.deque()
        self._subscribes: collections.deque[RawEvent] = collections.deque()
        queues = {"notify": self._notes, "write": self._writes, "read": self._reads, "subscribe": self._subscribes}
        for event in self._events:
            queue = queues.get(event.op if event.kind == "fail" else event.kind)
            if queue is None:
                continue
            if queue is self._notes:
                self._writes_before.append(len(self._writes))
            queue.append(event)

    @property
    def mtu_size(self) -> int:
        return self._mtu

    def now_s(self) -> float:
        """The recording's host clock, for a profile that reads one (PASCO): the session task gets its
        recorded readings in order; another task (PASCO's poller) the reading it made before the write
        the recording makes next, if that is what comes next (time has moved on to it, a timeout
        included), else the time of the last event used (a reading that decided nothing live)."""
        if asyncio.current_task() is self._reader:
            if self._clocks:
                return self._clocks.popleft()
            return self._last_t_s
        if self._next < len(self._events):
            event = self._events[self._next]
            if "write" in (event.kind, event.op):
                return event.t_s if event.clock_s is None else event.clock_s
        return self._last_t_s

    def _use(self, event: RawEvent) -> RawEvent:
        number = self._index[id(event)]
        self._used[number] = True
        self._last_t_s = max(self._last_t_s, event.t_s)
        while self._next < len(self._used) and self._used[self._next]:
            self._next += 1
        return event

    @property
    def is_connected(self) -> bool:
        return not self._lost

    @property
    def exhausted(self) -> bool:
        """No recorded notification left to serve."""
        return not self._notes

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        self._writes_made += 1
        self._wrote.set()
        if not self._writes:
            if self._lost:
                raise ConnectionLostError(f"link to {self.client.address} lost (the raw capture's connection ended)")
            self.extra_writes += 1
            return
        event = self._fail_or_event(self._use(self._writes.popleft()))
        if (event.char_uuid, event.payload) != (char_uuid, bytes(data)):
            raise RawReplayMismatch(
                f"today's profile wrote {bytes(data).hex() or 'nothing'} to {char_uuid} where the recording wrote "
                f"{event.payload.hex() or 'nothing'} to {event.char_uuid}: the conversation changed since the capture"
            )

    async def read(self, char_uuid: str) -> bytes:
        if not self._reads:
            raise RawReplayMismatch(f"today's profile read {char_uuid}, which the recording never read at this point")
        event = self._fail_or_event(self._use(self._reads.popleft()))
        if event.char_uuid != char_uuid:
            raise RawReplayMismatch(f"today's profile read {char_uuid} where the recording read {event.char_uuid}")
        return event.payload

    async def subscribe(self, char_uuid: str) -> None:
        if self._subscribes:
            self._fail_or_event(self._use(self._subscribes.popleft()))

    async def next_notification(self, timeout_s: float) -> Notification:
        if not self._notes:
            self._lost = True
            raise ConnectionLostError("the raw capture ends here")
        await self._writes_made_before(self._writes_before[0], timeout_s)
        self._writes_before.popleft()
        event = self._fail_or_event(self._use(self._notes.popleft()))
        return Notification(event.char_uuid, event.payload, event.t_s)

    def drain(self) -> list[Notification]:
        """The rest of the recorded batch (notifications that were already queued live)."""
        out = []
        while self._notes and self._notes[0].kind == "notify" and not self._notes[0].first:
            self._writes_before.popleft()
            event = self._use(self._notes.popleft())
            out.append(Notification(event.char_uuid, event.payload, event.t_s))
        return out

    async def _writes_made_before(self, count: int, timeout_s: float) -> None:
        """Wait (up to timeout_s) until today's profile has written what the recording wrote before
        this notification: a request goes out before its answer comes back, as it did live."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self._writes_made < count:
                    self._wrote.clear()
                    await self._wrote.wait()
        if self._writes_made < count:
            logger.warning("today's profile did not write what the recording wrote before a notification; replaying on")

    def _fail_or_event(self, event: RawEvent) -> RawEvent:
        if event.kind != "fail":
            return event
        if event.error == "ConnectionLostError":
            self._lost = True
        raise _ERRORS.get(event.error, ProtocolError)(event.message)


class RawReplayMismatch(ConfigError):
    """Today's profile asked the recorded link for something the recording does not hold.

    A ConfigError, so the session does not retry it as a failed connection: it cannot succeed."""
