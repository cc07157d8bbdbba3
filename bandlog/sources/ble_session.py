"""The state of one live recording: connection, decoding, tare, one continuous time line, reconnects.

`bandlog.sources.ble.stream()` drives it: open() once, then pump() until `finished`, close() always.
Each call returns the pipeline items it produced, so the generator around it stays trivial and all
cleanup happens in one place. Device time restarts at zero on every new connection; the Timeline
shifts it so t_s runs on continuously, with a Gap where the link was down. This module holds the
link's lifecycle; decoding what arrives and counting its losses is reception.py's (sans I/O).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from bleak.exc import BleakError

from bandlog.core.calibration import ForceCalibration
from bandlog.core.errors import BandlogError, ConfigError, ConnectionLostError, ProtocolError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import SourceItem, Tare, tared
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.core.status import LinkState, LinkStatus
from bandlog.devices import get_profile
from bandlog.devices.base import DeviceProfile, StreamOptions
from bandlog.io.raw_capture import RawCaptureWriter, RawEvent, RawHeader
from bandlog.sources.ble_errors import platform_error, retry_may_help
from bandlog.sources.ble_link import connect
from bandlog.sources.ble_scan import Backends, find_device, with_wake_hint
from bandlog.sources.raw_link import RawTeeLink, SessionLink
from bandlog.sources.reception import Reception
from bandlog.sources.tare import SoftwareTare
from bandlog.sources.timeline import ArrivalLossFinder

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
FIRST_CONNECT_WINDOW_S = 20.0
"""Connecting often fails transiently on real stacks (BlueZ 'le-connection-abort-by-local'): retry."""
STALL_TIMEOUT_S = 5.0
"""No notification for this long while streaming counts as a lost link (the device went silent)."""
STOP_TIMEOUT_S = 3.0
USER_STOP_TIMEOUT_S = 0.4
"""After Ctrl-C the user waits: stopping the device and disconnecting get this long each, not STOP_TIMEOUT_S."""
STATUS_EVERY_S = 1.0
BACKOFF_S = (0.0, 0.2, 0.5, 1.0, 2.0, 4.0)
"""Delays before successive reconnect attempts (the last repeats until the reconnect deadline)."""

_RECOVERABLE = (BandlogError, BleakError, asyncio.TimeoutError, OSError, EOFError)


class BleSession(Reception):
    """One live recording: the link's lifecycle (scan, connect, reconnect, stop), the tare and the
    duration limit, and the LinkStatus; what arrives over the link is Reception's."""

    def __init__(
        self,
        target: str,
        *,
        options: StreamOptions,
        tare: bool,
        reconnect: bool,
        meta: RecordingMeta,
        backends: Backends | None,
        duration_s: float | None,
        scan_timeout_s: float,
        reconnect_timeout_s: float,
        host_t0_s: float | None = None,
        raw: RawCaptureWriter | None = None,
        calibration_for: Callable[[str], ForceCalibration | None] | None = None,
    ) -> None:
        super().__init__(target)
        self.target = target
        self.options = options
        self.tare = tare
        self.reconnect = reconnect
        self.meta = meta
        self.backends = backends
        self.duration_s = duration_s
        self.scan_timeout_s = scan_timeout_s
        self.reconnect_timeout_s = reconnect_timeout_s
        self.raw = raw
        """Where every byte crossing the link is also written (`record --raw`), or None."""
        self.calibration_for = calibration_for
        """The force correction stored for a device address by `bandlog check` (None: none is applied)."""
        self.calibration: ForceCalibration | None = None
        """The correction this recording applies to the force, before the tare (None: none)."""
        self.t0_s = time.monotonic() if host_t0_s is None else host_t0_s
        self.started = False
        self.finished = False
        self.samples_total = 0
        self.reconnects = 0
        self._device: Any = None
        self._profile_cls: type[DeviceProfile] | None = None
        self._profile: DeviceProfile | None = None
        self._link: SessionLink | None = None
        self._tare_offset_n: float | None = None
        self._tarer: SoftwareTare | None = None
        """The software tare while it searches; samples pass untared until it decides."""
        self._duration_reached = False
        self._lost_at_s: float | None = None
        self._rate_window: collections.deque[tuple[float, int]] = collections.deque()
        self._state = LinkState.SCANNING
        self._last_status_key: tuple[Any, ...] | None = None
        self._last_status_s = float("-inf")

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> list[SourceItem]:
        """Scan, connect, start (and a hardware tare); the RecordingMeta, a Tare(decided=False)
        when a software tare will search the first samples (pump() feeds it), and a status."""
        logger.info("scanning for %r", self.target)
        self._device, key = await self._find()
        self._profile_cls = get_profile(key)
        self.device_name = self._device.name or self._device.address
        if self.calibration_for is not None and self._profile_cls.measures_force:
            self.calibration = self.calibration_for(str(self._device.address))
            if self.calibration is not None:
                logger.info("force from %s corrected by its check: %s", self.device_name, self.calibration.describe())
        if self.raw is not None:
            self.raw.start(RawHeader(
                profile=key, address=str(self._device.address), name=self._device.name or "", target=self.target,
                sample_rate_hz=self.options.sample_rate_hz, tare=self.tare, reconnect=self.reconnect,
                duration_s=self.duration_s, meta=self.meta, calibration=self.calibration,
            ))
        self._state = LinkState.CONNECTING
        failure = await self._connect_until(time.monotonic() + FIRST_CONNECT_WINDOW_S)
        if failure is not None:
            raise ConnectionLostError(with_wake_hint(
                f"could not connect to {self.device_name} within {FIRST_CONNECT_WINDOW_S:g} s ({failure})", self._profile_cls
            ))
        assert self._profile is not None and self._link is not None
        start_utc = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self.raw is not None:
            self.raw.event(RawEvent("started", time.monotonic() - self.t0_s, start_utc=start_utc))
        info = self._info
        search: list[SourceItem] = []
        if self.tare:
            if await self._profile.tare(self._link):
                info = replace(info, hardware_tare=True)
            else:
                # The log opens now and takes the search's samples untared as they come (a crash
                # during the search loses at most a second); the offset follows as a Tare item.
                self._tarer = SoftwareTare()
                search.append(Tare(decided=False))
        self.started = True
        meta = replace(self.meta, start_utc=start_utc, stream=info)
        status = self._status(force=True)
        assert status is not None  # started: a forced status always comes
        return [meta, *search, status]

    async def pump(self) -> list[SourceItem]:
        """Wait for the next notifications (or handle a lost link); the items they produce."""
        items = self._finalise(await self._next_items())
        status = self._status()
        return items + ([status] if status is not None else [])

    async def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the device and disconnect (each within timeout_s); never raises for a link already gone."""
        link, profile = self._link, self._profile
        self._link = None
        self.finished = True
        if link is None:
            return
        if profile is not None and link.is_connected:
            try:
                await asyncio.wait_for(profile.stop(link), timeout_s)
            except _RECOVERABLE as error:
                logger.warning("could not stop %s cleanly: %s", self.device_name, str(error) or f"no answer within {timeout_s:g} s")
        await _disconnect(link, timeout_s)
        logger.info("closed the link to %s", self.device_name)

    # -- connecting --------------------------------------------------------------------------

    async def _find(self) -> tuple[Any, str]:
        """The device to connect to and its profile key (a raw replay finds them in the capture)."""
        return await find_device(self.target, timeout_s=self.scan_timeout_s, backends=self.backends)

    async def _open_link(self, timeout_s: float) -> SessionLink:
        """Connect; with raw capture on, the link's traffic is also written to the capture."""
        backend = None if self.backends is None else self.backends[1]
        link = await connect(self._device, backend=backend, timeout_s=timeout_s, session_t0_s=self.t0_s)
        return link if self.raw is None else RawTeeLink(link, self.raw)

    def _new_profile(self, link: SessionLink) -> DeviceProfile:
        """A fresh profile for this connection. One that reads the host clock (PASCO's poller) reads the
        link's when the link keeps one (raw capture records its readings, raw replay serves them)."""
        assert self._profile_cls is not None
        now_s = getattr(link, "now_s", None)
        if now_s is not None and self._profile_cls.reads_host_clock:
            return self._profile_cls(self.options, clock=now_s)  # type: ignore[call-arg]  # reads_host_clock: it takes clock=
        return self._profile_cls(self.options)

    async def _connect_and_start(self, timeout_s: float) -> None:
        assert self._profile_cls is not None
        link = await self._open_link(timeout_s)
        try:
            profile = self._new_profile(link)
            info = await profile.start(link)
            _check_rate(self.options.sample_rate_hz, info, self.device_name)
        except BaseException:
            await _disconnect(link)
            raise
        self._info: StreamInfo = replace(
            info, name=info.name or self.device_name, address=info.address or self._device.address
        )
        if self.calibration is not None:
            self._info = self.calibration.apply_to_info(self._info)
        self._link, self._profile = link, profile
        self._decoder = profile.new_decoder(self._info)
        self._timeline.new_connection(info.sample_rate_hz)
        if profile.index_timed and info.sample_rate_hz:
            if self._finder is None or self._finder.period_s != 1.0 / info.sample_rate_hz:
                self._finder = ArrivalLossFinder(1.0 / info.sample_rate_hz)
            self._finder.new_connection()
        if info.battery_percent is not None:
            self.battery_percent = info.battery_percent
        self._state = LinkState.STREAMING
        logger.info("streaming from %s (%s)", self.device_name, info.model)

    async def _connect_until(self, deadline_s: float) -> str | None:
        """Connect and start, retrying with backoff until deadline_s; None on success, else the last error."""
        attempt, last_error = 0, "no attempt made"
        while (remaining_s := deadline_s - time.monotonic()) > 0:
            await asyncio.sleep(min(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)], remaining_s))
            attempt += 1
            try:
                await self._connect_and_start(min(CONNECT_TIMEOUT_S, max(deadline_s - time.monotonic(), 0.5)))
            except ConfigError:
                raise  # the caller asked for something impossible: retrying will not help
            except _RECOVERABLE as error:
                known = platform_error(error, device=str(self._device.address))
                if known is not None and not retry_may_help(known) and not self.started:
                    # switched off, not permitted, bonded elsewhere, refused: retrying will not help, say so now
                    if known is error:
                        raise
                    raise known from error
                last_error = str(known or error) or type(error).__name__
                logger.info("connection attempt %d to %s failed: %s", attempt, self.device_name, last_error)
                continue
            self._message = f"connected after {attempt} attempt(s)" if attempt > 1 else ""
            return None
        return last_error

    async def _reconnect(self) -> list[SourceItem]:
        assert self._lost_at_s is not None
        failure = await self._connect_until(self._lost_at_s + self.reconnect_timeout_s)
        if failure is not None:
            self.finished = True
            raise ConnectionLostError(with_wake_hint(
                f"lost the link to {self.device_name} and could not reconnect within {self.reconnect_timeout_s:g} s ({failure})",
                self._profile_cls,
            ))
        self.reconnects += 1
        self._lost_at_s = None
        status = self._status(force=True)
        return [status] if status is not None else []

    async def _on_link_lost(self, reason: BandlogError) -> list[SourceItem]:
        flushed = self._flush()
        link, self._link = self._link, None
        if link is not None:
            await _disconnect(link)
        if not self.reconnect:
            self.finished = True
            raise ConnectionLostError(f"lost the link to {self.device_name} ({reason}); reconnect is off")
        self._lost_at_s = time.monotonic()
        self._state = LinkState.RECONNECTING
        self._message = str(reason)
        status = self._status(force=True)
        return flushed + ([status] if status is not None else [])

    # -- receiving ---------------------------------------------------------------------------

    async def _next_items(self) -> list[SourceItem]:
        """Blocks, Gaps and reconnect statuses, on the continuous time line, before tare."""
        if self._link is None:
            return await self._reconnect()
        try:
            first = await self._link.next_notification(STALL_TIMEOUT_S)
        except (ConnectionLostError, ProtocolError) as error:
            return await self._on_link_lost(error)
        return self._receive([first, *self._link.drain()])

    def _finalise(self, items: list[SourceItem]) -> list[SourceItem]:
        """Apply the tare (or feed its search) and the duration limit; count what leaves."""
        out: list[SourceItem] = []
        for item in items:
            if isinstance(item, SampleBlock):
                if self.finished:
                    continue
                if self.calibration is not None:
                    item = self.calibration.apply(item)
                if self.duration_s is not None and item.t_s[-1] >= self.duration_s:
                    item = item.slice(0, int(np.searchsorted(item.t_s, self.duration_s, side="left")))
                    self.finished = self._duration_reached = True
                if len(item) == 0:
                    continue
                self.samples_total += len(item)
                self._rate_window.append((time.monotonic(), len(item)))
                if self._tarer is not None:
                    out.append(item)
                    if self._tarer.feed(item):
                        self._tare_offset_n, self._tarer = self._tarer.offset_n, None
                        out.append(Tare(self._tare_offset_n))
                    continue
                item = tared(item, self._tare_offset_n)
            out.append(item)
        return out

    # -- status ------------------------------------------------------------------------------

    def leftover(self) -> list[SourceItem]:
        """After close(): the samples still held (the user stopped mid-stream), tared and counted;
        none once the duration was reached (those lie beyond it)."""
        was_finished, self.finished = self.finished, False
        try:
            return self._finalise(self._flush()) if not self._duration_reached else []
        finally:
            self.finished = was_finished

    def ended(self, message: str) -> LinkStatus:
        """The last status of a stream that ended normally (duration reached or stopped)."""
        self._state, self._message = LinkState.ENDED, message
        status = self._status(force=True)
        assert status is not None
        return status

    def _losses(self) -> str:
        """How this sensor's dropped notifications are known (LinkStatus.losses)."""
        profile = self._profile
        if profile is not None and profile.host_timed:
            return "unknown"
        if self._finder is not None:
            return "estimated" if self._finder.countable else "unknown"
        return "counted"

    def _status(self, force: bool = False) -> LinkStatus | None:
        """A LinkStatus when something changed or a second has passed (always when forced)."""
        if not self.started:
            return None
        now_s = time.monotonic()
        key = (self._state, self.dropped, self.corrupted, self.skipped, self.trimmed, self.reconnects, self.battery_percent, self._message)
        if not force and key == self._last_status_key and now_s - self._last_status_s < STATUS_EVERY_S:
            return None
        while self._rate_window and self._rate_window[0][0] < now_s - STATUS_EVERY_S:
            self._rate_window.popleft()
        rate = sum(n for _, n in self._rate_window) / STATUS_EVERY_S if now_s - self.t0_s >= STATUS_EVERY_S else None
        self._last_status_key, self._last_status_s = key, now_s
        return LinkStatus(
            state=self._state,
            device=self.device_name,
            samples_per_s=rate,
            samples_total=self.samples_total,
            dropped_packets=self.dropped,
            losses=self._losses(),
            corrupted_packets=self.corrupted,
            skipped_samples=self.skipped,
            trimmed_packets=self.trimmed,
            reconnects=self.reconnects,
            battery_percent=self.battery_percent,
            message=self._message,
        )


RATE_TOLERANCE = 0.01
"""A device may round the rate asked for (a whole number of microseconds per sample); 1 % is rounding."""


def _check_rate(asked_hz: float | None, info: StreamInfo, device: str) -> None:
    """Refuse a rate the sensor did not take, instead of recording at another one without a word."""
    if asked_hz is None:
        return
    got_hz = info.sample_rate_hz
    if got_hz is None:
        raise ConfigError(f"{device} sets its own sample rate, so --rate {asked_hz:g} cannot be honoured; leave --rate out")
    if abs(got_hz - asked_hz) > RATE_TOLERANCE * asked_hz:
        raise ConfigError(
            f"{device} cannot sample at {asked_hz:g} Hz (it would run at {got_hz:g} Hz); ask for a rate it supports or leave --rate out"
        )


async def _disconnect(link: SessionLink, timeout_s: float = STOP_TIMEOUT_S) -> None:
    link.closing = True
    try:
        await asyncio.wait_for(link.client.disconnect(), timeout_s)
    except _RECOVERABLE as error:
        logger.warning("disconnect from %s did not complete cleanly: %s", link.client.address, error)
