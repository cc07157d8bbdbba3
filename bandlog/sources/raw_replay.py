"""Replay a raw capture (`bandlog record --raw`) through today's profile and decoder, as a live source.

The live session's own code runs again (BleSession: the profile's conversation, the decoder, loss
counting, the time line, tare, the duration limit); only the link is a ScriptedLink serving the
recorded bytes with their recorded host times, one per recorded connection. So the samples are
those the live log holds, bit for bit, unless a decoder changed since: then the difference is the fix.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any

from bandlog.core.errors import ConnectionLostError, LogFormatError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import SourceItem
from bandlog.devices.base import StreamOptions
from bandlog.io.raw_capture import RawCapture, RawEvent
from bandlog.sources.ble import drive
from bandlog.sources.ble_session import STOP_TIMEOUT_S, BleSession
from bandlog.sources.raw_link import ScriptedLink, SessionLink

logger = logging.getLogger(__name__)

REPLAY_RECONNECT_S = 60.0
"""Room for the recorded connection attempts that failed (each replays at once, after the session's backoff)."""


@dataclass(frozen=True)
class _RecordedDevice:
    """What the session reads of a found device."""

    name: str
    address: str


class RawReplaySession(BleSession):
    """A BleSession whose device and links come from a raw capture."""

    def __init__(self, capture: RawCapture) -> None:
        header = capture.header
        super().__init__(
            header.target, options=StreamOptions(sample_rate_hz=header.sample_rate_hz), tare=header.tare,
            reconnect=header.reconnect, meta=header.meta, backends=None, duration_s=header.duration_s,
            scan_timeout_s=0.0, reconnect_timeout_s=REPLAY_RECONNECT_S,
            calibration_for=lambda _address: header.calibration,
        )
        self.capture = capture
        self.extra_writes = 0
        self._connections = _connections(capture.events)
        if not self._connections:
            raise LogFormatError("the raw capture holds no connection: the sensor was never connected")
        self._start_utc = next((e.start_utc for e in capture.events if e.kind == "started"), "")
        self._scripted: ScriptedLink | None = None

    async def open(self) -> list[SourceItem]:
        """The live session's opening, dated with the live recording's start."""
        meta, *rest = await super().open()
        assert isinstance(meta, RecordingMeta)  # open() always begins with the meta
        return [replace(meta, start_utc=self._start_utc or meta.start_utc), *rest]

    async def _find(self) -> tuple[Any, str]:
        header = self.capture.header
        return _RecordedDevice(header.name, header.address), header.profile

    async def _open_link(self, timeout_s: float) -> SessionLink:
        if self._scripted is not None:
            self.extra_writes += self._scripted.extra_writes
        events = self._connections.pop(0)
        self._scripted = ScriptedLink(events, self.capture.header.address, last=not self._connections)
        return self._scripted

    async def _next_items(self) -> list[SourceItem]:
        """The recording ended where the last connection's notifications end (stopped by the user)."""
        link = self._scripted
        if link is not None and link.last and link.exhausted and link is self._link:
            self.finished = True
            return []
        if self._link is None and not self._connections:
            self.finished = True
            raise ConnectionLostError(f"lost the link to {self.device_name} and the recording holds no reconnection")
        return await super()._next_items()

    async def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        await super().close(timeout_s)
        if self._scripted is not None:
            self.extra_writes += self._scripted.extra_writes
            self._scripted.extra_writes = 0
        if self.extra_writes:
            logger.warning("today's profile wrote %d time(s) more than the recording did (ignored)", self.extra_writes)


def _connections(events: list[RawEvent]) -> list[list[RawEvent]]:
    """The events split at each `connect`, an event marked with its connection put back in it
    (events before the first connect belong to none)."""
    out: list[list[RawEvent]] = []
    for event in events:
        if event.kind == "connect":
            out.append([event])
        elif out and event.kind != "started":
            out[event.connection if event.connection is not None and event.connection < len(out) else -1].append(event)
    return out


async def raw_replay_stream(capture: RawCapture) -> AsyncGenerator[SourceItem, None]:
    """The capture as pipeline items, as its live session produced them (see the module docstring)."""
    async for item in drive(RawReplaySession(capture)):
        yield item
