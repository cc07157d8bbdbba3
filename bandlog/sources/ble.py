"""The live BLE source: find a supported sensor, stream it, survive link drops.

    async for item in stream("gdx-for", duration_s=60):   # RecordingMeta, SampleBlock, LinkStatus, Gap, Tare
        pipeline.push(item)

Real adapters and the emulated world run the same code; pass `backends=world.backends` for the
latter. bleak is imported lazily (inside the functions) so `bandlog --help` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from bandlog.core.meta import RecordingMeta
from bandlog.devices.base import StreamOptions
from bandlog.sources.ble_scan import Backends

if TYPE_CHECKING:
    from bandlog.core.calibration import ForceCalibration
    from bandlog.core.pipeline import SourceItem
    from bandlog.io.raw_capture import RawCaptureWriter
    from bandlog.sources.ble_session import BleSession

logger = logging.getLogger(__name__)

STOPPED_BY_USER = "stopped by user"
"""The last LinkStatus's message when the stream ended because its task was cancelled (Ctrl-C)."""
DURATION_REACHED = "duration reached"


async def stream(
    target: str,
    *,
    options: StreamOptions = StreamOptions(),
    tare: bool = True,
    reconnect: bool = True,
    meta: RecordingMeta = RecordingMeta(),
    backends: Backends | None = None,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 60.0,
    host_t0_s: float | None = None,
    raw: RawCaptureWriter | None = None,
    calibration_for: Callable[[str], ForceCalibration | None] | None = None,
) -> AsyncGenerator[SourceItem, None]:
    """Stream one sensor: RecordingMeta once, then SampleBlocks, LinkStatus, Gap and Tare items.

    The meta comes as soon as the sensor streams, before any tare: with a software tare, the
    samples of its search come untared between Tare(decided=False) and the Tare with the offset
    (later samples come tared), so a log can hold them from the first second.

    t_host_s counts from host_t0_s (a time.monotonic() value; default: when the stream starts), so
    streams of several sensors given the same value share one host time base.

    raw: also write every byte crossing the link to this raw capture (`bandlog record --raw`).

    calibration_for: the force correction stored for a device address (`bandlog check`), applied
    to a force sensor's samples before the tare and recorded in the meta's stream info.

    Ends normally when duration_s of device time is reached or when the consuming task is
    cancelled (Ctrl-C): the device is stopped and the link closed first. Raises
    ConnectionLostError only after reconnecting failed for reconnect_timeout_s, having yielded
    everything received before. Before the first item, a failure of the OS Bluetooth stack that
    retrying cannot fix (switched off, not permitted, bonded to another host, notifications
    refused) is raised at once, in one sentence with its fix (bandlog.sources.ble_errors).
    """
    from bandlog.sources.ble_session import BleSession

    session = BleSession(
        target,
        options=options,
        tare=tare,
        reconnect=reconnect,
        meta=meta,
        backends=backends,
        duration_s=duration_s,
        scan_timeout_s=scan_timeout_s,
        reconnect_timeout_s=reconnect_timeout_s,
        host_t0_s=host_t0_s,
        raw=raw,
        calibration_for=calibration_for,
    )
    async with contextlib.aclosing(drive(session)) as items:  # closed with the stream, never left to the GC
        async for item in items:
            yield item


async def drive(session: BleSession) -> AsyncGenerator[SourceItem, None]:
    """A session as a stream: open(), pump() until finished, close() always, then what it still held."""
    from bandlog.sources.ble_session import STOP_TIMEOUT_S, USER_STOP_TIMEOUT_S

    stopped_by = DURATION_REACHED
    try:
        for item in await session.open():
            yield item
        while not session.finished:
            for item in await session.pump():
                yield item
    except asyncio.CancelledError:
        stopped_by = STOPPED_BY_USER
        _uncancel()
        logger.info("stream cancelled: stopping %s", session.target)
    finally:
        await session.close(USER_STOP_TIMEOUT_S if stopped_by == STOPPED_BY_USER else STOP_TIMEOUT_S)
    if session.started:
        for item in session.leftover():
            yield item
        yield session.ended(stopped_by)


def _uncancel() -> None:
    """We turn a cancellation into a clean end of stream, so the caller can finish its sinks."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


