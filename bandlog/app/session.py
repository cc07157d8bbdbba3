"""Recording orchestration: one BLE stream through the pipeline into a log, a live view and a result.

This module and cli/__init__.py are the only places that see every stage. `bandlog record` and `bandlog
demo` both come through record_stream(), so the demo exercises exactly the path a real sensor takes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bandlog.core.errors import ConfigError, LogWriteError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Coach, Pipeline, PipelineResult, Sink
from bandlog.devices.base import StreamOptions

if TYPE_CHECKING:
    from bandlog.app.user_input import UserInput
    from bandlog.core.motion import MotionSource
    from bandlog.emulate.faults import Faults
    from bandlog.emulate.stack import EmulatedWorld
    from bandlog.emulate.twins.base import PeripheralTwin
    from bandlog.io.raw_capture import RawCapture


@dataclass(frozen=True)
class RecordRequest:
    """Everything a recording needs besides where the bytes come from."""

    target: str
    out_path: Path
    meta: RecordingMeta
    options: StreamOptions = StreamOptions()
    tare: bool = True
    duration_s: float | None = None
    imu_target: str | None = None
    """A separate motion sensor on the shank: then `target` is the force sensor, and both become one recording."""
    thigh_target: str | None = None
    """A second motion sensor, on the thigh: its readings join the shank's samples (THIGH_CHANNELS);
    the shank's sensor is `imu_target`, or `target` without one."""
    raw_path: Path | None = None
    """Also keep every byte exchanged with the sensor in this raw capture (bandlog.io.raw_capture)."""
    sensors_home: Path | None = None
    """The data folder whose sensor checks (`bandlog check`) correct the force sensor's readings;
    None: no correction is looked up (the demo)."""

    @property
    def merged(self) -> bool:
        """Several sensors recorded as one (bandlog.sources.pair)."""
        return self.imu_target is not None or self.thigh_target is not None


def check_log_path(path: Path, *, paired: bool = False, what: str = "log") -> None:
    """Refuse, in one sentence and before any sensor is connected, a log path that cannot become a new
    log: a folder, an existing file (a log is never overwritten), or a place that cannot be written;
    for a paired recording (several sensors), also a start-up journal left by an earlier one. Otherwise
    the sensor would be connected and streaming before the log failed to open."""
    from bandlog.io.pair_journal import journal_path
    from bandlog.io.paths import check_new_output
    from bandlog.sources.pair import SHOWN

    if os.path.lexists(path) and not path.is_dir():
        raise LogWriteError(f"cannot write the {what} {path}: the file already exists (bandlog never overwrites a {what})")
    check_new_output(path, what, overwrite=False)  # a folder
    folder = Path(os.path.abspath(path)).parent
    while not os.path.lexists(folder) and folder != folder.parent:  # the log's missing folders are made
        folder = folder.parent
    if not folder.is_dir():
        raise LogWriteError(f"cannot write the {what} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LogWriteError(f"cannot write the {what} {path}: permission denied in the folder {folder}")
    if not paired:
        return
    for role in SHOWN:
        journal = journal_path(path, role)
        if os.path.lexists(journal):
            raise LogWriteError(
                f"cannot write the log {path}: {journal.name} beside it is the start of an earlier paired recording "
                "that was stopped before its clocks aligned; move it away or choose another --out"
            )


def emulation_speed(speed: float, targets: Sequence[str | None]) -> tuple[float, str | None]:
    """(the speed an emulated recording of `targets` runs at, and a sentence when it is not `speed`).

    A sensor whose samples this computer dates (DeviceProfile.dated_by_host: the PASCO's poller, the
    SIG force gauge) runs in real time: the host's clock cannot be sped up with the emulated devices',
    so its reps would read `speed` times too fast (emulate.stack.twin_speed keeps its twin at 1x, and a
    pair recorded with it must keep the same clock). Targets are profile keys or advertised names."""
    from bandlog.devices import registry
    from bandlog.emulate.twins import twin_registry

    profiles = registry()
    slow = [profiles[key].model for key, twin in twin_registry().items() for target in targets
            if target in (key, twin.default_name) and key in profiles and profiles[key].dated_by_host()]
    if speed == 1.0 or not slow:
        return speed, None
    return 1.0, (f"the emulated {', '.join(slow)} runs in real time (--speed {speed:g} ignored): this computer's clock dates "
                 "its samples, and it cannot be sped up")


def emulated_twins(motion_for_twin: Callable[[], MotionSource]) -> list[PeripheralTwin]:
    """One emulated twin of every supported sensor, each driven by the movement motion_for_twin() gives it."""
    from bandlog.emulate.twins import twin_registry

    return [twin_class(motion_for_twin()) for twin_class in twin_registry().values()]


@contextlib.asynccontextmanager
async def maybe_emulated(
    motion: MotionSource | None, speed: float, *, shared_clock: bool = False, thigh: bool = False, faults: Faults | None = None
) -> AsyncIterator[EmulatedWorld | None]:
    """The emulated BLE world when a motion source is given, otherwise nothing (real adapters).

    shared_clock: several sensors record together, so they must see the movement at the same
    instants rather than each from its own stream start. thigh: a simulated session's thigh IMU is
    emulated too, as a second twin of each IMU-only sensor named <its name>-thigh (emulate.thigh);
    it shares the clock.
    """
    if motion is None:
        yield None
        return
    from bandlog.emulate.stack import emulated_sensors

    if shared_clock or thigh:
        import asyncio

        from bandlog.emulate.shared_clock import SharedClockMotion

        loop = asyncio.get_running_loop()
        shared = SharedClockMotion(motion, lambda: loop.time() * speed)
        twins = emulated_twins(shared.view)
        if thigh:
            from bandlog.emulate.thigh import ThighMotion, thigh_twins

            thigh_motion = ThighMotion(motion)
            twins += thigh_twins(lambda: shared.view(thigh_motion))
    else:
        twins = emulated_twins(lambda: motion)
    every = {twin.name: faults for twin in twins} if faults is not None else None
    async with emulated_sensors(twins, speed=speed, faults=every) as world:
        yield world


async def record_stream(
    request: RecordRequest,
    live_sinks: Sequence[Sink] = (),
    *,
    motion: MotionSource | None = None,
    speed: float = 1.0,
    faults: Faults | None = None,
    coach: Coach | None = None,
    user_input: UserInput | None = None,
) -> PipelineResult:
    """Stream the requested sensor into a CSV log (and any live sinks) until duration or Ctrl-C.

    `coach` follows the recording's plan (default: bandlog.app.coaching.tracker_for(request.meta));
    pass your own to read its report afterwards. With a plan the recording stops itself once the
    coach says the plan is over. `user_input` takes the user's set ratings (the phone page's buttons)
    into this recording's pipeline.

    With `motion`, every supported sensor is emulated on a virtual BLE link driven by it, and the
    client reaches them through the same bleak code as real devices. With `request.imu_target`,
    force and motion come from two sensors merged onto one time base (bandlog.sources.pair); with
    `request.thigh_target`, a thigh IMU's readings join the shank's samples the same way.
    """
    from bandlog.app.coaching import tracker_for
    from bandlog.detect.analysis import Analyzer
    from bandlog.io.csv_log import CsvLogSink
    from bandlog.sources.ble import stream

    check_log_path(request.out_path, paired=request.merged)
    raw = None
    if request.raw_path is not None:
        from bandlog.io.raw_capture import RawCaptureWriter

        check_raw_path(request.raw_path, request)
        raw = RawCaptureWriter(request.raw_path)
    log_sink = CsvLogSink(request.out_path)
    journal = None
    if request.merged:  # nothing reaches the log until the clocks align: keep each device's own
        from bandlog.io.pair_journal import PairJournal

        journal = PairJournal(request.out_path, log_sink, roles=merged_roles(request))
    calibration_for = None
    if request.sensors_home is not None:
        import functools

        from bandlog.io.sensor_checks import load_calibration

        calibration_for = functools.partial(load_calibration, request.sensors_home)
    sinks = [log_sink, *([journal] if journal is not None else []), *live_sinks]
    coach = coach if coach is not None else tracker_for(request.meta)  # the plan (`--plan`) it follows, if any
    pipeline = Pipeline(Analyzer(target_ecc_s=request.meta.target_ecc_s), sinks, coach=coach)
    if user_input is not None:
        import asyncio

        user_input.attach(pipeline, asyncio.get_running_loop())
    async with maybe_emulated(motion, speed, shared_clock=request.merged, thigh=request.thigh_target is not None,
                              faults=faults) as world:
        backends = None if world is None else world.backends
        if journal is not None:  # the journal exists only for a merged recording
            from bandlog.sources.pair import paired_stream

            separate_imu = request.imu_target is not None  # else `target` is the shank's IMU
            source = paired_stream(
                request.target if separate_imu else None, request.imu_target or request.target,
                thigh_target=request.thigh_target,
                force_options=request.options if separate_imu else StreamOptions(),
                imu_options=StreamOptions() if separate_imu else request.options,
                tare=request.tare, meta=request.meta, backends=backends, duration_s=request.duration_s,
                journal=journal.write, calibration_for=calibration_for,
            )
        else:
            source = stream(
                request.target,
                options=request.options,
                tare=request.tare,
                meta=request.meta,
                backends=backends,
                duration_s=request.duration_s,
                raw=raw,
                calibration_for=calibration_for,
            )
        try:
            return await pipeline.run(source, stop_when_coached=True)
        finally:
            if raw is not None:
                raw.close()


def merged_roles(request: RecordRequest) -> tuple[str, ...]:
    """The devices of a merged recording, by their roles in bandlog.sources.pair."""
    from bandlog.sources.pair import FORCE, IMU, THIGH

    return tuple(role for role, there in ((FORCE, request.imu_target is not None), (IMU, True),
                                          (THIGH, request.thigh_target is not None)) if there)


def check_raw_path(path: Path, request: RecordRequest) -> None:
    """Refuse, before any sensor is connected, a raw capture that cannot be written: the same rules
    as the log (never overwritten), not the log itself, and not for a recording from several sensors
    (one file would have to hold several devices' conversations: not supported yet)."""
    if request.imu_target is not None:
        raise ConfigError("--raw records one sensor; a paired recording (--imu) cannot keep a raw capture yet")
    if request.thigh_target is not None:
        raise ConfigError("--raw records one sensor; a recording with a thigh sensor (--thigh) cannot keep a raw capture yet")
    if path.is_dir():
        raise ConfigError(f"--raw {path} is a folder; give the raw capture a file name")
    if os.path.abspath(path) == os.path.abspath(request.out_path):
        raise ConfigError(f"--raw {path} is the log itself; give the raw capture its own file name")
    check_log_path(path, what="raw capture")


async def replay_raw_capture(
    capture: RawCapture,
    live_sinks: Sequence[Sink] = (),
    *,
    out_path: Path | None = None,
    target_ecc_s: float | None = None,
    exercise: str | None = None,
) -> PipelineResult:
    """Decode a raw capture (bandlog.io.raw_capture.read_raw_capture) again through today's profile,
    in the pipeline a live recording uses: the same analyzer (target: the recording's own unless
    given), a new log at `out_path` if given, and any live sinks; `exercise`: a profile key, or None
    for the one the capture's header names."""
    from bandlog.app.coaching import tracker_for
    from bandlog.detect.analysis import Analyzer
    from bandlog.io.csv_log import CsvLogSink
    from bandlog.sources.raw_replay import raw_replay_stream

    sinks: list[Sink] = list(live_sinks)
    if out_path is not None:
        check_log_path(out_path)
        sinks.insert(0, CsvLogSink(out_path))
    target = capture.header.meta.target_ecc_s if target_ecc_s is None else target_ecc_s
    pipeline = Pipeline(Analyzer(target_ecc_s=target, exercise=exercise), sinks, coach=tracker_for(capture.header.meta))
    return await pipeline.run(raw_replay_stream(capture))
