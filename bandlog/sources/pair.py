"""One recording from two or three sensors, on the shank IMU's time line: force from one device (e.g.
a Tindeq Progressor on the band), motion from an IMU on the shank (e.g. a WitMotion), and optionally
a second IMU on the thigh.

    async for item in paired_stream("progressor", "witmotion", duration_s=60):
        pipeline.push(item)          # the same items, and the same detector mode, as one GDX-FOR
    async for item in paired_stream(None, "WT901BLE68", thigh_target="WT901BLE68-thigh"):
        pipeline.push(item)          # shank samples carrying the thigh's readings (THIGH_CHANNELS)

Each device runs its own `stream()` (so each reconnects on its own), connected one after the other -
the force sensor, the thigh's, then the shank's - because BlueZ fails simultaneous connects (bleak
#551, #618), all on one host time base. The shank's is the time line: its samples are the merged
recording's, its end ends it, and duration_s counts on it. Each partner has its clock aligned on the
shank's and its readings merged onto the shank's samples: the force by a ClockAligner and a PairMerger
(where force is missing, the shank samples are dropped behind a Gap), the thigh's by a ThighAligner
and a ThighMerger (where the thigh's are missing, its cells are NaN). With both, the shank's samples
go through the thigh's merger, then the force's. The merged stream is: per-device LinkStatus combined
into one, then - once the clocks are aligned (about two reps in) - the RecordingMeta, merged
SampleBlocks and Gaps. The final LinkStatus carries the clock offsets and drifts found.
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
from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Tare, tared
from bandlog.core.samples import FORCE_CHANNEL, THIGH_CHANNELS, SampleBlock, StreamInfo, force_range_extra
from bandlog.core.status import LOSS_COUNTING, LinkState, LinkStatus
from bandlog.devices.base import StreamOptions
from bandlog.sources.ble import stream
from bandlog.sources.ble_scan import Backends
from bandlog.sources.clock_sync import ClockAligner
from bandlog.sources.pair_merge import PairMerger
from bandlog.sources.thigh_merge import ThighMerger
from bandlog.sources.thigh_sync import ThighAligner

if TYPE_CHECKING:
    from bandlog.core.calibration import ForceCalibration
    from bandlog.core.pipeline import SourceItem
    from bandlog.sources.clock_model import LineClock
    from bandlog.sources.line_merge import LineMerger

logger = logging.getLogger(__name__)

FORCE, IMU, THIGH = "force", "imu", "thigh"
SHOWN = (FORCE, IMU, THIGH)
"""The order devices are named in the pair's status."""
FINAL_WAIT_S = 3.0
"""Host seconds to wait, once the IMU stream has ended, for the partners' samples covering its last ones."""
FORCE_PREFIX = "force_device."
THIGH_PREFIX = "thigh_device."
THIGH_CLOCK_PREFIX = "thigh_"
"""Before the thigh clock's header fields (thigh_clock_offset_ms, ...); the force clock's have none."""

_Item = tuple[str, "SourceItem | BaseException | None"]


@dataclass
class _Device:
    role: str
    status: LinkStatus | None = None
    meta: RecordingMeta | None = None
    ended: bool = False


async def paired_stream(
    force_target: str | None,
    imu_target: str,
    *,
    thigh_target: str | None = None,
    force_options: StreamOptions = StreamOptions(),
    imu_options: StreamOptions = StreamOptions(),
    thigh_options: StreamOptions = StreamOptions(),
    tare: bool = True,
    reconnect: bool = True,
    meta: RecordingMeta = RecordingMeta(),
    backends: Backends | None = None,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 60.0,
    aligner: ClockAligner | None = None,
    thigh_aligner: ThighAligner | None = None,
    journal: Callable[[str, SourceItem], None] | None = None,
    calibration_for: Callable[[str], ForceCalibration | None] | None = None,
) -> AsyncIterator[SourceItem]:
    """Stream a shank IMU with a force sensor, a thigh IMU, or both, as one recording (module docstring).

    force_target None: no force sensor (then thigh_target is needed), and the tare and `calibration_for`
    apply to the shank's device, in case it measures force too. Pass `aligner` / `thigh_aligner` to
    watch a clock estimate as it develops (a live view, a test), and `journal` to be given each device's
    own items, role first, before they are merged (bandlog.io.pair_journal keeps them on disk until the
    merged log can). `calibration_for`: the force sensor's stored correction by address (`bandlog
    check`), as for `stream()`.
    duration_s counts on the IMU's time line. Ends like `stream()`: normally at the duration or when
    the consuming task is cancelled, after every link is closed; a device that cannot reconnect
    (or cannot be found) ends the recording with its error once everything merged so far is out.
    """
    if force_target is None and thigh_target is None:
        raise ConfigError("a paired recording needs a force sensor or a thigh sensor besides the shank's IMU")
    host_t0_s = time.monotonic()
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    open_stream = functools.partial(stream, reconnect=reconnect, backends=backends, scan_timeout_s=scan_timeout_s,
                                    reconnect_timeout_s=reconnect_timeout_s, host_t0_s=host_t0_s, meta=meta)
    sources: dict[str, AsyncGenerator[SourceItem, None]] = {}  # in connecting order: the shank's last
    if force_target is not None:
        sources[FORCE] = open_stream(force_target, options=force_options, tare=tare, calibration_for=calibration_for)
    if thigh_target is not None:
        sources[THIGH] = open_stream(thigh_target, options=thigh_options, tare=False)
    if force_target is not None:
        sources[IMU] = open_stream(imu_target, options=imu_options, tare=False, duration_s=duration_s)
    else:
        sources[IMU] = open_stream(imu_target, options=imu_options, tare=tare, duration_s=duration_s, calibration_for=calibration_for)
    order = list(sources)
    pair = _Pair(meta, aligner, roles=tuple(order), thigh_aligner=thigh_aligner)
    tasks: dict[str, asyncio.Task[None]] = {}

    def connect_next() -> None:
        role = order[len(tasks)]
        tasks[role] = asyncio.create_task(_pump(role, sources[role], queue), name=f"paired {role} stream")

    connect_next()
    failure: BaseException | None = None
    try:
        while True:
            role, item = await queue.get()
            if isinstance(item, BaseException):
                failure = item
                break
            if item is None:
                pair.device(role).ended = True
                if role == IMU or IMU not in tasks:
                    break
                continue
            if isinstance(item, RecordingMeta) and role == order[len(tasks) - 1] and len(tasks) < len(order):
                connect_next()  # the newest link is up: only now connect the next (serialised connects)
            if journal is not None:
                journal(role, item)
            for out in pair.take(role, item):
                yield out
        if failure is None and IMU in tasks:
            for out in await _finish_partners(pair, queue, [tasks[role] for role in order if role != IMU]):
                yield out
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # like stream(): a cancel is a clean end of the recording
        logger.info("paired stream cancelled: stopping every sensor")
    finally:
        started = [tasks[role] for role in reversed(order) if role in tasks]
        for task in started:
            if not task.done():
                task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
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


async def _finish_partners(pair: _Pair, queue: asyncio.Queue[_Item], partners: list[asyncio.Task[None]]) -> list[SourceItem]:
    """The IMU has ended: take the partners' samples until they cover its last ones (bounded), then stop them."""
    out: list[SourceItem] = []
    deadline = time.monotonic() + FINAL_WAIT_S
    while pair.waiting_for_partners() and not all(task.done() for task in partners):
        try:
            role, item = await asyncio.wait_for(queue.get(), max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            break
        if item is None or isinstance(item, BaseException):
            break
        out += pair.take(role, item)
    return out


class _Pair:
    """The merging state: per-device status and meta, the mergers, the one meta and status sent out.

    roles: the devices recorded (FORCE, IMU, THIGH; the IMU always). The tare is the force sensor's,
    or, without one, the shank device's (a GDX-FOR measures force too)."""

    def __init__(self, meta: RecordingMeta, aligner: ClockAligner | None, *, roles: tuple[str, ...] = (FORCE, IMU),
                 thigh_aligner: ThighAligner | None = None) -> None:
        self.request_meta = meta
        self.devices = {role: _Device(role) for role in SHOWN if role in roles or role == IMU}
        self.merger = PairMerger(aligner) if FORCE in roles else None
        """The force's merger (None without a force sensor); the last stage when there is one."""
        self.thigh = ThighMerger(thigh_aligner) if THIGH in roles else None
        self.tare_role = FORCE if FORCE in roles else IMU
        self.meta_sent = False
        self.tare_n: float | None = None
        self.untared: list[SampleBlock] | None = None
        """Blocks of the tared device held while its software tare searches (None: no search)."""

    def device(self, role: str) -> _Device:
        return self.devices[role]

    def waiting_for_partners(self) -> bool:
        return any(merger.needs_partner() for merger in self._mergers())

    def take(self, role: str, item: SourceItem) -> list[SourceItem]:
        device = self.devices[role]
        out: list[SourceItem] = []
        if isinstance(item, RecordingMeta):
            device.meta = item
        elif isinstance(item, Tare):
            if role == self.tare_role:
                out += self._tare(item)
        elif isinstance(item, SampleBlock) and role == self.tare_role and self.untared is not None:
            self.untared.append(item)
        elif isinstance(item, SampleBlock):
            out += self._add(role, item)
        elif isinstance(item, Gap):
            out += self._gap(role, item)
        elif isinstance(item, LinkStatus):
            device.status = item
            if item.state is LinkState.ENDED:
                return self._with_meta(out)
            return [*self._with_meta(out), self.status()]
        return self._with_meta(out)

    # -- routing through the mergers: the shank's samples through the thigh's, then the force's --

    def _add(self, role: str, block: SampleBlock) -> list[SourceItem]:
        force, thigh = self.merger, self.thigh
        if role == FORCE:
            assert force is not None
            force.add_force(block)
            return force.release()
        if role == THIGH:
            assert thigh is not None
            thigh.add_partner(block)
            return self._after_thigh(thigh.release())
        if thigh is None:
            assert force is not None
            force.add_imu(block)
            return force.release()
        if force is not None:
            force.feed_line(block)  # the force clock follows the shank as it arrives; the block joins it from the thigh's merger
        thigh.add_line(block)
        return self._after_thigh(thigh.release())

    def _gap(self, role: str, gap: Gap) -> list[SourceItem]:
        force, thigh = self.merger, self.thigh
        if role == FORCE:
            assert force is not None
            return force.force_gap(gap)
        if role == THIGH:
            assert thigh is not None
            return self._after_thigh(thigh.partner_gap(gap))
        if thigh is None:
            assert force is not None
            return force.imu_gap(gap)
        released = thigh.line_gap(gap)
        if force is None:
            return released
        self._hold_for_force(released)
        return force.imu_gap(gap)

    def _after_thigh(self, items: list[SourceItem]) -> list[SourceItem]:
        """What the thigh's merger released, through the force's merger when there is one."""
        if self.merger is None:
            return items
        self._hold_for_force(items)
        return self.merger.release()

    def _hold_for_force(self, items: list[SourceItem]) -> None:
        assert self.merger is not None
        for item in items:
            # a Gap from the thigh's merger marks a shank reconnect, for which the force's merger
            # makes its own Gap (imu_gap): only the samples go on
            if isinstance(item, SampleBlock):
                self.merger.hold_line(item)

    def _mergers(self) -> list[LineMerger]:
        return [m for m in (self.merger, self.thigh) if m is not None]

    def _tare(self, tare: Tare) -> list[SourceItem]:
        """The merged log carries tared force only: hold the tared device's blocks during the search,
        then tare them."""
        if not tare.decided:
            self.untared = []
            return []
        held, self.untared = self.untared or [], None
        self.tare_n = tare.offset_n
        if self.merger is None:
            return [out for block in held for out in self._add(self.tare_role, tared(block, tare.offset_n))]
        for block in held:
            self.merger.add_force(tared(block, tare.offset_n))
        return self.merger.release()

    def finish(self) -> list[SourceItem]:
        # the recording ended before the tare was decided: the held blocks are merged untared, and
        # what that merge settles goes out with the rest
        out = self._tare(Tare(None)) if self.untared is not None else []
        if self.thigh is not None:
            released = self.thigh.release(final=True)
            if self.merger is None:
                out += released
            else:
                self._hold_for_force(released)
        if self.merger is not None:
            out += self.merger.release(final=True)
        out = self._with_meta(out)
        if self.meta_sent or out:
            out.append(self.status(final=True))
        return out

    # -- the merged meta and status ------------------------------------------------------------

    def _with_meta(self, items: list[SourceItem]) -> list[SourceItem]:
        """The merged RecordingMeta goes out right before the first merged sample."""
        if self.meta_sent or not any(isinstance(i, SampleBlock) for i in items):
            return items
        self.meta_sent = True
        return [self.merged_meta(), *items]

    def merged_meta(self) -> RecordingMeta:
        imu_meta = self.devices[IMU].meta or self.request_meta
        extra = dict(imu_meta.extra)
        info = imu_meta.stream
        if self.merger is not None:
            if info is not None:
                info = replace(info, channels=(FORCE_CHANNEL, *[c for c in info.channels if c != FORCE_CHANNEL]))
            force_meta = self.devices[FORCE].meta
            if force_meta is not None and force_meta.stream is not None:
                extra.update(flatten_stream_info(force_meta.stream, FORCE_PREFIX))
                if info is not None:  # the log's tare flag, force range and force correction are the force channel's
                    force_range = force_meta.stream.force_range_n
                    correction = {k: v for k, v in force_meta.stream.extra.items() if k in CALIBRATION_KEYS}
                    info = replace(info, hardware_tare=force_meta.stream.hardware_tare,
                                   extra={**info.extra, **(force_range_extra(*force_range) if force_range else {}), **correction})
            extra.update(_clock_fields(self.merger.aligner, ""))
        if self.thigh is not None:
            if info is not None:  # declared up front: the log gets its thigh columns from the first row
                info = replace(info, channels=(*[c for c in info.channels if c not in THIGH_CHANNELS], *THIGH_CHANNELS))
            thigh_meta = self.devices[THIGH].meta
            if thigh_meta is not None and thigh_meta.stream is not None:
                extra.update(flatten_stream_info(thigh_meta.stream, THIGH_PREFIX))
            extra.update(_clock_fields(self.thigh.aligner, THIGH_CLOCK_PREFIX))
        return replace(
            imu_meta,
            stream=info,
            tare_offset_n=self.tare_n,
            extra=extra,
        )

    def status(self, final: bool = False) -> LinkStatus:
        """One LinkStatus for the recording: the worst device state, counters summed, the clock offsets."""
        devices = [d for d in self.devices.values() if d.status is not None]
        parts = [d.status for d in devices if d.status is not None]
        state = LinkState.ENDED if final else _combined_state([s.state for s in parts], len(self.devices))
        batteries = [s.battery_percent for s in parts if s.battery_percent is not None]
        per_device = "; ".join(f"{d.role} {s.state.value}" + (f" ({s.message})" if s.message else "") for d, s in zip(devices, parts))
        imu_status = self.devices[IMU].status
        notes = [per_device]
        if self.merger is not None:
            notes.append(_clock_message(self.merger.aligner, "force clock", "clocks"))
        if self.thigh is not None:
            notes.append(_clock_message(self.thigh.aligner, "thigh clock", "the thigh's clock"))
            if self.thigh.missing_samples:
                notes.append(f"{self.thigh.missing_samples} samples without a thigh reading (link lost; empty thigh cells in the log)")
        return LinkStatus(
            state=state,
            device=" + ".join(s.device for s in parts),
            samples_per_s=imu_status.samples_per_s if imu_status is not None else None,
            samples_total=self._mergers()[0].samples_out,
            dropped_packets=sum(s.dropped_packets for s in parts),
            losses=max((s.losses for s in parts), key=LOSS_COUNTING.index, default="counted"),
            corrupted_packets=sum(s.corrupted_packets for s in parts),
            skipped_samples=sum(s.skipped_samples for s in parts),
            trimmed_packets=sum(s.trimmed_packets for s in parts),
            reconnects=sum(s.reconnects for s in parts),
            battery_percent=min(batteries) if batteries else None,
            message="; ".join(notes),
        )


def _clock_fields(aligner: LineClock, prefix: str) -> dict[str, str]:
    """A clock estimate as header fields (prefix: whose clock; '' for the force's)."""
    if not aligner.ready:
        return {}
    estimate = aligner.estimate()
    return {
        f"{prefix}clock_offset_ms": f"{1e3 * estimate.offset_s:.1f}",
        f"{prefix}clock_drift_ppm": f"{estimate.drift_ppm:.0f}",
        f"{prefix}clock_sync": estimate.method,
        f"{prefix}clock_fit": f"{estimate.confidence:.3f}",
        f"{prefix}clock_at_imu_s": f"{estimate.t_imu_s:.3f}",
    }


def _clock_message(aligner: LineClock, clock: str, aligning: str) -> str:
    """How far one partner's clock alignment is, in words ('force clock offset +12.3 ms, ...')."""
    if not aligner.ready:
        return f"{aligning} not aligned yet"
    e = aligner.estimate()
    if not e.confident:
        return f"aligning {aligning} (do a few reps): host-arrival offset {1e3 * e.offset_s:+.0f} ms"
    return f"{clock} offset {1e3 * e.offset_s:+.1f} ms, drift {e.drift_ppm:+.0f} ppm (fit {e.confidence:.2f} over {e.measurements} windows)"


def _combined_state(states: list[LinkState], devices: int) -> LinkState:
    for worst in (LinkState.RECONNECTING, LinkState.SCANNING, LinkState.CONNECTING, LinkState.CONNECTED):
        if worst in states:
            return worst
    if len(states) < devices:
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
