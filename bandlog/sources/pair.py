"""One recording from two sensors: force from one device (e.g. a Tindeq Progressor on the band),
motion from another (e.g. a WitMotion IMU on the shank), on the IMU's time line.

    async for item in paired_stream("progressor", "witmotion", duration_s=60):
        pipeline.push(item)          # the same items, and the same detector mode, as one GDX-FOR

Each device runs its own `stream()` (so each reconnects on its own), connected one after the other
because BlueZ fails simultaneous connects (bleak #551, #618), both on one host time base. Their items
go through a ClockAligner and a PairMerger; the merged stream is: per-device LinkStatus combined into
one, then - once the clocks are aligned (about two reps in) - the RecordingMeta, merged SampleBlocks
and Gaps. The final LinkStatus carries the clock offset and drift found.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from bandlog.core.calibration import CALIBRATION_KEYS
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Tare, tared
from bandlog.core.samples import FORCE_CHANNEL, SampleBlock, StreamInfo, force_range_extra
from bandlog.core.status import LOSS_COUNTING, LinkState, LinkStatus
from bandlog.devices.base import StreamOptions
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import Backends
from bandlog.sources.clock_sync import ClockAligner
from bandlog.sources.pair_merge import PairMerger

if TYPE_CHECKING:
    from bandlog.core.calibration import ForceCalibration
    from bandlog.core.pipeline import SourceItem

logger = logging.getLogger(__name__)

FORCE, IMU = "force", "imu"
FINAL_WAIT_S = 3.0
"""Host seconds to wait, once the IMU stream has ended, for the force covering its last samples."""
FORCE_PREFIX = "force_device."

_Item = tuple[str, "SourceItem | BaseException | None"]


@dataclass
class _Device:
    role: str
    status: LinkStatus | None = None
    meta: RecordingMeta | None = None
    ended: bool = False


async def paired_stream(
    force_target: str,
    imu_target: str,
    *,
    force_options: StreamOptions = StreamOptions(),
    imu_options: StreamOptions = StreamOptions(),
    tare: bool = True,
    reconnect: bool = True,
    meta: RecordingMeta = RecordingMeta(),
    backends: Backends | None = None,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 60.0,
    aligner: ClockAligner | None = None,
    journal: Callable[[str, SourceItem], None] | None = None,
    calibration_for: Callable[[str], ForceCalibration | None] | None = None,
) -> AsyncIterator[SourceItem]:
    """Stream a force sensor and a motion sensor as one recording (see module docstring).

    Pass `aligner` to watch the clock estimate as it develops (a live view, a test), and `journal`
    to be given each device's own items, role first, before they are merged (bandlog.io.pair_journal
    keeps them on disk until the merged log can). `calibration_for`: the force sensor's stored
    correction by address (`bandlog check`), as for `stream()`.
    duration_s counts on the IMU's time line. Ends like `stream()`: normally at the duration or when
    the consuming task is cancelled, after both links are closed; a device that cannot reconnect
    (or cannot be found) ends the recording with its error once everything merged so far is out.
    """
    host_t0_s = time.monotonic()
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    open_stream = functools.partial(stream, reconnect=reconnect, backends=backends, scan_timeout_s=scan_timeout_s,
                                    reconnect_timeout_s=reconnect_timeout_s, host_t0_s=host_t0_s, meta=meta)
    force_source = open_stream(force_target, options=force_options, tare=tare, calibration_for=calibration_for)
    imu_source = open_stream(imu_target, options=imu_options, tare=False, duration_s=duration_s)
    pair = _Pair(meta, aligner)
    force_task = asyncio.create_task(_pump(FORCE, force_source, queue), name="paired force stream")
    imu_task: asyncio.Task[None] | None = None
    failure: BaseException | None = None
    try:
        while True:
            role, item = await queue.get()
            if isinstance(item, BaseException):
                failure = item
                break
            if item is None:
                pair.device(role).ended = True
                if role == IMU or imu_task is None:
                    break
                continue
            if role == FORCE and isinstance(item, RecordingMeta) and imu_task is None:
                # the force link is up: only now connect the IMU (serialised connects)
                imu_task = asyncio.create_task(_pump(IMU, imu_source, queue), name="paired IMU stream")
            if journal is not None:
                journal(role, item)
            for out in pair.take(role, item):
                yield out
        if failure is None and imu_task is not None:
            for out in await _finish_force(pair, queue, force_task):
                yield out
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # like stream(): a cancel is a clean end of the recording
        logger.info("paired stream cancelled: stopping both sensors")
    finally:
        for task in (imu_task, force_task):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (imu_task, force_task) if t is not None), return_exceptions=True)
    while not queue.empty():  # what the pumps delivered while stopping
        role, item = queue.get_nowait()
        if item is not None and not isinstance(item, BaseException):
            if journal is not None:
                journal(role, item)
            for out in pair.take(role, item):
                yield out
    for out in pair.finish():
        yield out
    if failure is not None:
        raise failure


async def _pump(role: str, source: AsyncGenerator[SourceItem, None], queue: asyncio.Queue[_Item]) -> None:
    """Move one device's items to the shared queue; its error or its end (None) comes last."""
    try:
        async for item in source:
            queue.put_nowait((role, item))
    except asyncio.CancelledError:
        raise
    except Exception as error:  # handed to the merging loop, which ends the recording with it
        queue.put_nowait((role, error))
        return
    finally:
        await source.aclose()
    queue.put_nowait((role, None))


async def _finish_force(pair: _Pair, queue: asyncio.Queue[_Item], force_task: asyncio.Task[None]) -> list[SourceItem]:
    """The IMU has ended: take force until it covers the last IMU sample (bounded), then stop it."""
    out: list[SourceItem] = []
    deadline = time.monotonic() + FINAL_WAIT_S
    while pair.waiting_for_force() and not force_task.done():
        try:
            role, item = await asyncio.wait_for(queue.get(), max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            break
        if item is None or isinstance(item, BaseException):
            break
        out += pair.take(role, item)
    return out


class _Pair:
    """The merging state: per-device status and meta, the merger, the one meta and status sent out."""

    def __init__(self, meta: RecordingMeta, aligner: ClockAligner | None) -> None:
        self.request_meta = meta
        self.merger = PairMerger(aligner)
        self.force = _Device(FORCE)
        self.imu = _Device(IMU)
        self.meta_sent = False
        self.force_tare_n: float | None = None
        self.untared_force: list[SampleBlock] | None = None
        """Force blocks held while the force sensor's software tare searches (None: no search)."""

    def device(self, role: str) -> _Device:
        return self.force if role == FORCE else self.imu

    def waiting_for_force(self) -> bool:
        return self.merger.needs_force()

    def take(self, role: str, item: SourceItem) -> list[SourceItem]:
        device = self.device(role)
        out: list[SourceItem] = []
        if isinstance(item, RecordingMeta):
            device.meta = item
        elif isinstance(item, Tare):
            if role == FORCE:
                out += self._force_tare(item)
        elif isinstance(item, SampleBlock) and role == FORCE and self.untared_force is not None:
            self.untared_force.append(item)
        elif isinstance(item, SampleBlock):
            (self.merger.add_force if role == FORCE else self.merger.add_imu)(item)
            out += self.merger.release()
        elif isinstance(item, Gap):
            out += self.merger.force_gap(item) if role == FORCE else self.merger.imu_gap(item)
        elif isinstance(item, LinkStatus):
            device.status = item
            if item.state is LinkState.ENDED:
                return self._with_meta(out)
            return [*self._with_meta(out), self.status()]
        return self._with_meta(out)

    def _force_tare(self, tare: Tare) -> list[SourceItem]:
        """The merged log carries tared force only: hold force during the search, then tare it."""
        if not tare.decided:
            self.untared_force = []
            return []
        held, self.untared_force = self.untared_force or [], None
        self.force_tare_n = tare.offset_n
        for block in held:
            self.merger.add_force(tared(block, tare.offset_n))
        return self.merger.release()

    def finish(self) -> list[SourceItem]:
        # the recording ended before the tare was decided: the held force is merged untared, and what
        # that merge settles goes out with the rest
        out = self._force_tare(Tare(None)) if self.untared_force is not None else []
        out = self._with_meta(out + self.merger.release(final=True))
        if self.meta_sent or out:
            out.append(self.status(final=True))
        return out

    def _with_meta(self, items: list[SourceItem]) -> list[SourceItem]:
        """The merged RecordingMeta goes out right before the first merged sample."""
        if self.meta_sent or not any(isinstance(i, SampleBlock) for i in items):
            return items
        self.meta_sent = True
        return [self.merged_meta(), *items]

    def merged_meta(self) -> RecordingMeta:
        imu_meta = self.imu.meta or self.request_meta
        force_meta = self.force.meta
        extra = dict(imu_meta.extra)
        info = imu_meta.stream
        if info is not None:
            info = replace(info, channels=(FORCE_CHANNEL, *[c for c in info.channels if c != FORCE_CHANNEL]))
        if force_meta is not None and force_meta.stream is not None:
            extra.update(flatten_stream_info(force_meta.stream, FORCE_PREFIX))
            if info is not None:  # the log's tare flag, force range and force correction are the force channel's
                force_range = force_meta.stream.force_range_n
                correction = {k: v for k, v in force_meta.stream.extra.items() if k in CALIBRATION_KEYS}
                info = replace(info, hardware_tare=force_meta.stream.hardware_tare,
                               extra={**info.extra, **(force_range_extra(*force_range) if force_range else {}), **correction})
        extra.update(self._clock_fields())
        return replace(
            imu_meta,
            stream=info,
            tare_offset_n=self.force_tare_n,
            extra=extra,
        )

    def _clock_fields(self) -> dict[str, str]:
        aligner = self.merger.aligner
        if not aligner.ready:
            return {}
        estimate = aligner.estimate()
        return {
            "clock_offset_ms": f"{1e3 * estimate.offset_s:.1f}",
            "clock_drift_ppm": f"{estimate.drift_ppm:.0f}",
            "clock_sync": estimate.method,
            "clock_fit": f"{estimate.confidence:.3f}",
            "clock_at_imu_s": f"{estimate.t_imu_s:.3f}",
        }

    def status(self, final: bool = False) -> LinkStatus:
        """One LinkStatus for the pair: the worse of the two states, counters summed, the clock offset."""
        parts = [s for s in (self.force.status, self.imu.status) if s is not None]
        states = [s.state for s in parts]
        state = LinkState.ENDED if final else _combined_state(states)
        batteries = [s.battery_percent for s in parts if s.battery_percent is not None]
        per_device = "; ".join(f"{d.role} {d.status.state.value}" + (f" ({d.status.message})" if d.status.message else "")
                               for d in (self.force, self.imu) if d.status is not None)
        imu_rate = self.imu.status.samples_per_s if self.imu.status is not None else None
        return LinkStatus(
            state=state,
            device=" + ".join(s.device for s in parts),
            samples_per_s=imu_rate,
            samples_total=self.merger.samples_out,
            dropped_packets=sum(s.dropped_packets for s in parts),
            losses=max((s.losses for s in parts), key=LOSS_COUNTING.index, default="counted"),
            corrupted_packets=sum(s.corrupted_packets for s in parts),
            skipped_samples=sum(s.skipped_samples for s in parts),
            trimmed_packets=sum(s.trimmed_packets for s in parts),
            reconnects=sum(s.reconnects for s in parts),
            battery_percent=min(batteries) if batteries else None,
            message=f"{per_device}; {self._clock_message()}",
        )

    def _clock_message(self) -> str:
        aligner = self.merger.aligner
        if not aligner.ready:
            return "clocks not aligned yet"
        e = aligner.estimate()
        if not e.confident:
            return f"aligning clocks (do a few reps): host-arrival offset {1e3 * e.offset_s:+.0f} ms"
        return (f"force clock offset {1e3 * e.offset_s:+.1f} ms, drift {e.drift_ppm:+.0f} ppm"
                f" (fit {e.confidence:.2f} over {e.measurements} windows)")


def _combined_state(states: list[LinkState]) -> LinkState:
    for worst in (LinkState.RECONNECTING, LinkState.SCANNING, LinkState.CONNECTING, LinkState.CONNECTED):
        if worst in states:
            return worst
    if len(states) < 2:
        return LinkState.CONNECTING
    return LinkState.ENDED if all(s is LinkState.ENDED for s in states) else LinkState.STREAMING


def flatten_stream_info(info: StreamInfo, prefix: str) -> dict[str, str]:
    """A StreamInfo as flat text fields (for RecordingMeta.extra), its own extra included."""
    out: dict[str, str] = {}
    for f in fields(info):
        value = getattr(info, f.name)
        if f.name == "extra":
            out.update({f"{prefix}extra.{k}": str(v) for k, v in value.items()})
        elif f.name == "channels":
            out[f"{prefix}channels"] = " ".join(value)
        elif value is not None and value != "":
            out[f"{prefix}{f.name}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
