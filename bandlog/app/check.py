"""`bandlog check`: a short guided check of one sensor, run once per sensor, stored per address.

The sensor streams through the very source a recording uses (`sources.ble.stream`: scan, connect,
decode, loss counting), without a tare and without any stored correction, so the check sees the
device as it is. First REST_S at rest (rate reached, packet loss, noise, battery, firmware); then,
for a force sensor, a known load hung when the user says so: the sign and gain it reads become the
correction later recordings of this sensor apply (bandlog.core.calibration).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bandlog.core.calibration import ForceCalibration
from bandlog.core.errors import CheckFailedError, ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.core.status import LinkState, LinkStatus
from bandlog.core.version import __version__
from bandlog.detect.sensor_check import LoadStep, RestFigures, find_load_step, rest_figures
from bandlog.devices.base import StreamOptions
from bandlog.sources.ble import STOPPED_BY_USER, stream
from bandlog.sources.ble_scan import Backends

REST_S = 10.0
"""Device seconds measured at rest: the issue's 'rate actually reached over 10 s'."""
LOAD_WAIT_S = 30.0
"""After the user says the load hangs, how long (device time) to wait for it to hang still."""


@dataclass(frozen=True)
class CheckRequest:
    target: str
    load_kg: float | None = 2.0
    """The known mass hung from a force sensor (None: skip the load step)."""
    rest_s: float = REST_S
    options: StreamOptions = StreamOptions()

    def __post_init__(self) -> None:
        if self.load_kg is not None and not (self.load_kg > 0 and self.load_kg < 1000):
            raise ConfigError(f"--load-kg must be a mass in kg above 0, not {self.load_kg:g}")
        if not self.rest_s >= 2.0:
            raise ConfigError(f"the rest phase must last at least 2 s, not {self.rest_s:g}")


@dataclass(frozen=True)
class SensorCheck:
    """What a check found: the device, its rest figures, its link, and (force) its load step."""

    info: StreamInfo
    checked_utc: str
    rest: RestFigures
    link: LinkStatus | None
    load_kg: float | None = None
    load: LoadStep | None = None
    calibration: ForceCalibration | None = None
    """The correction to store (scale 1 when sign and gain are right); None without a load step."""
    notes: list[str] = field(default_factory=list)

    @property
    def battery_percent(self) -> float | None:
        if self.link is not None and self.link.battery_percent is not None:
            return self.link.battery_percent
        return self.info.battery_percent

    def to_dict(self) -> dict[str, Any]:
        """The check as stored in the sensor's file (bandlog.io.sensor_checks)."""
        link = self.link
        return {
            "checked_utc": self.checked_utc,
            "bandlog_version": __version__,
            "name": self.info.name,
            "firmware": self.info.firmware,
            "battery_percent": self.battery_percent,
            "battery_mv": self.info.battery_mv,
            "rest": asdict(self.rest),
            "link": None if link is None else {
                "dropped_packets": link.dropped_packets, "losses": link.losses, "damaged_packets": link.corrupted_packets,
                "skipped_samples": link.skipped_samples, "trimmed_packets": link.trimmed_packets, "reconnects": link.reconnects,
            },
            "load_kg": self.load_kg,
            "load": None if self.load is None else {**asdict(self.load), "gain": self.load.gain, "sign_ok": self.load.sign_ok},
            "force_scale": None if self.calibration is None else self.calibration.scale,
            "notes": list(self.notes),
        }


class CheckStopped(CheckFailedError):
    """The user stopped the check (Ctrl-C) before it finished."""


class _Collected:
    """Samples and the latest link status of one stream, as they come."""

    def __init__(self) -> None:
        self.meta: RecordingMeta | None = None
        self.blocks: list[SampleBlock] = []
        self.status: LinkStatus | None = None

    def take(self, item: object) -> None:
        if isinstance(item, RecordingMeta):
            self.meta = item
        elif isinstance(item, SampleBlock) and len(item):
            self.blocks.append(item)
        elif isinstance(item, LinkStatus):
            self.status = item

    def span_s(self, since_s: float | None = None) -> float:
        if not self.blocks:
            return 0.0
        start_s = float(self.blocks[0].t_s[0]) if since_s is None else since_s
        return float(self.blocks[-1].t_s[-1]) - start_s

    def samples(self, since_s: float | None = None) -> SampleBlock:
        """The samples after `since_s` (all without it), joining only the blocks that reach past it:
        the load search asks after every item, and must not rejoin the whole rest phase each time."""
        blocks = self.blocks if since_s is None else [b for b in self.blocks if b.t_s[-1] > since_s]
        block = SampleBlock.concat(blocks)
        if since_s is None or not len(block):
            return block
        return block.slice(int(block.t_s.searchsorted(since_s, side="right")), len(block))


async def check_sensor(
    request: CheckRequest,
    *,
    ask_for_load: Callable[[RestFigures, StreamInfo, float], Awaitable[None]],
    backends: Backends | None = None,
) -> SensorCheck:
    """Run the check. `ask_for_load(rest, info, load_n)` returns once the user says the load hangs
    (the CLI waits for Enter; an emulated check hangs it itself). Raises CheckFailedError, in one
    sentence with what to do, when the stream ends early or the load is never seen still."""

    collected = _Collected()
    source = stream(request.target, options=request.options, tare=False, backends=backends)
    async with contextlib.aclosing(source) as items:
        await _until(items, collected, lambda: collected.span_s() >= request.rest_s, "while measuring at rest")
        checked_utc = datetime.now(UTC).isoformat(timespec="seconds")
        info = _stream_info(collected)
        rest = rest_figures(collected.samples(), info.sample_rate_hz)
        rest_link = collected.status
        profile_has_force = rest.force_mean_n is not None
        if request.load_kg is None or not profile_has_force:
            notes = [] if profile_has_force or request.load_kg is None else ["no load step: this sensor streams no force"]
            return SensorCheck(info, checked_utc, rest, rest_link, notes=notes)
        load_n = request.load_kg * STANDARD_GRAVITY_MS2
        await _while_waiting(items, collected, ask_for_load(rest, info, load_n))
        asked_at_s = float(collected.blocks[-1].t_s[-1])
        step: LoadStep | None = None

        def load_seen() -> bool:
            nonlocal step
            step = find_load_step(collected.samples(asked_at_s), rest.force_mean_n or 0.0, load_n)
            return step is not None or collected.span_s(asked_at_s) >= LOAD_WAIT_S

        await _until(items, collected, load_seen, "while waiting for the load")
        if step is None:
            moved_n = _largest_change(collected.samples(asked_at_s), rest.force_mean_n or 0.0)
            raise CheckFailedError(
                f"no still load was seen within {LOAD_WAIT_S:g} s: the force moved by {moved_n:.2f} N at most, for "
                f"{load_n:.2f} N expected; hang the {request.load_kg:g} kg freely from the hook, wait until it stops "
                "swinging, press Enter, and run the check again"
            )
        source_line = (f"bandlog check {checked_utc}: {request.load_kg:g} kg ({load_n:.3f} N) read "
                       f"{step.measured_n:+.3f} N on {info.name or info.address}")
        return SensorCheck(
            info, checked_utc, rest, collected.status or rest_link, load_kg=request.load_kg, load=step,
            calibration=step.calibration(source_line),
        )


def _stream_info(collected: _Collected) -> StreamInfo:
    meta = collected.meta
    if meta is None or meta.stream is None:
        raise CheckFailedError("the sensor streamed samples without saying what it is; this is a bug, please report it")
    return meta.stream


async def _until(items: AsyncIterator[object], collected: _Collected, done: Callable[[], bool], phase: str) -> None:
    """Take items until done() is true after one; the stream ending first fails the check (or, when
    the user stopped it with Ctrl-C, raises CheckStopped)."""
    async for item in items:
        collected.take(item)
        if collected.blocks and done():
            return
    status = collected.status
    if status is not None and status.state is LinkState.ENDED and status.message == STOPPED_BY_USER:
        raise CheckStopped(f"the check was stopped {phase}: nothing was stored")
    raise CheckFailedError(f"the sensor stopped streaming {phase}: the check needs an unbroken stream; run it again")


async def _while_waiting(items: AsyncIterator[object], collected: _Collected, answer: Awaitable[None]) -> None:
    """Keep taking the stream while the user answers (so nothing queues up or stalls the link)."""
    task = asyncio.ensure_future(answer)
    try:
        await _until(items, collected, task.done, "while waiting for the load")
        await task  # its error, if it raised
    finally:
        task.cancel()


def _largest_change(samples: SampleBlock, rest_level_n: float) -> float:
    force = samples.force_n
    return 0.0 if force is None or len(force) == 0 else float(abs(force - rest_level_n).max())
