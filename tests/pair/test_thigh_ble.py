"""A shank IMU and a thigh IMU recorded together over the emulated BLE link (standing "L")."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from bandlog.app.api import read_log, run_set
from bandlog.app.session import RecordRequest, record_stream
from bandlog.cli.commands._recording_args import exercise_name
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Gap, Pipeline
from bandlog.core.samples import THIGH_CHANNELS
from bandlog.core.status import LinkState, LinkStatus
from bandlog.detect.analysis import Analyzer
from bandlog.emulate.faults import Faults
from bandlog.emulate.shared_clock import SharedClockMotion
from bandlog.emulate.stack import emulated_sensors
from bandlog.emulate.thigh import THIGH_SUFFIX, ThighMotion
from bandlog.emulate.twins.witmotion import WitMotionTwin
from bandlog.io.csv_log import CsvLogSink
from bandlog.sim import SimulatedSession, random_spec, simulate_session
from bandlog.sources.pair import THIGH, paired_stream

SPEED = 5.0
"""Two emulated IMUs streaming every sample as a notification (as tests/pair/test_paired_ble.py)."""
THIGH_NAME = f"{WitMotionTwin.default_name}{THIGH_SUFFIX}"
TOGETHER = "knee angle from the shank and thigh sensors together"


@lru_cache(maxsize=1)
def _session() -> SimulatedSession:
    # still for 8 s first: connecting both sensors takes a few of them, and the detector wants a still start
    return simulate_session(random_spec(2, n_sets=1, reps_per_set=4, lead_in_s=8.0, tail_s=4.0, exercise="standing-l"))


async def test_shank_and_thigh_recorded_live_replay_to_the_same_reps(tmp_path: Path) -> None:
    session = _session()
    out = tmp_path / "standing.csv"
    meta = RecordingMeta(leg="left", exercise=exercise_name("standing-l"))
    request = RecordRequest(target="witmotion", thigh_target=THIGH_NAME, out_path=out, meta=meta, duration_s=session.duration_s - 6.0)
    live = await record_stream(request, motion=session, speed=SPEED)
    assert TOGETHER in live.summary.notes, live.summary.notes
    assert live.link is not None and live.link.state is LinkState.ENDED and "thigh clock offset" in live.link.message
    # the log has the thigh's columns, filled, and says which sensor was on the thigh and how its clock was aligned
    log = read_log(out)
    assert all(column in log.samples.columns for column in THIGH_CHANNELS)
    assert len(log.samples) > 2000 and np.isfinite(log.samples[list(THIGH_CHANNELS)].to_numpy()).all()
    assert log.meta.stream is not None and log.meta.stream.name == WitMotionTwin.default_name
    assert log.meta.extra["thigh_device.name"] == THIGH_NAME and log.meta.extra["thigh_clock_sync"] == "gyro-correlation"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["standing.csv"], "the unaligned parts are deleted once the log holds them"
    # replaying the log (bandlog replay's path) finds the same reps, within a sample
    replayed = await run_set(log, 0, log.meta.target_ecc_s)
    assert TOGETHER in replayed.summary.notes
    assert len(live.reps) >= 3 and len(replayed.reps) == len(live.reps)
    for a, b in zip(live.reps, replayed.reps):
        assert abs(a.ecc_start_s - b.ecc_start_s) <= 0.011 and abs(a.ecc_end_s - b.ecc_end_s) <= 0.011


async def test_a_thigh_reconnect_leaves_empty_thigh_cells_counted_not_invented(tmp_path: Path) -> None:
    session = _session()
    loop = asyncio.get_running_loop()
    shared = SharedClockMotion(session, lambda: loop.time() * SPEED)
    shank_view, thigh_view = shared.view(), shared.view(ThighMotion(session))
    twins = [WitMotionTwin(shank_view), WitMotionTwin(thigh_view, name=THIGH_NAME)]
    out = tmp_path / "gap.csv"
    own: list[tuple[str, object]] = []
    async with emulated_sensors(twins, speed=SPEED, faults={THIGH_NAME: Faults(disconnect_at_s=(20.0,))}) as world:
        source = paired_stream(None, "witmotion", thigh_target=THIGH_NAME, backends=world.backends,
                               duration_s=session.duration_s - 6.0, meta=RecordingMeta(exercise=exercise_name("standing-l")),
                               journal=lambda role, item: own.append((role, item)))
        result = await Pipeline(Analyzer(), [CsvLogSink(out)]).run(source)
    assert len(thigh_view.anchors_s) == 2  # the thigh's twin streamed twice: it did reconnect
    thigh_gaps = [item for role, item in own if role == THIGH and isinstance(item, Gap)]
    assert len(thigh_gaps) == 1
    gap_s = thigh_gaps[0].end_s - thigh_gaps[0].start_s
    final = result.link
    assert isinstance(final, LinkStatus) and final.reconnects == 1
    log = read_log(out)
    thigh = log.samples[list(THIGH_CHANNELS)].to_numpy()
    empty = ~np.isfinite(thigh).any(axis=1)
    assert np.isfinite(thigh[~empty]).all()  # a row has all its thigh cells or none
    assert f"{np.count_nonzero(empty)} samples without a thigh reading" in final.message, final.message
    # the empty rows are the thigh's outage, in one run as long as its gap (give or take the clock's re-alignment)
    t = log.samples["t_s"].to_numpy()
    run = t[empty]
    assert len(run) and np.all(np.diff(run) < 0.015) and abs((run[-1] - run[0] + 0.01) - gap_s) < 0.1
    assert not np.isnan(log.samples[["gyro_x_dps", "gyro_y_dps", "gyro_z_dps"]].to_numpy()).any()  # the shank's went on
    # elsewhere, the thigh readings are the thigh sensor's at each shank sample's instant, before and after the
    # gap (the thigh's time line after its reconnect is aligned afresh): they fit the truth best unshifted
    world_s = t + shank_view.anchors_s[0]
    shifts_s = np.arange(-0.03, 0.0301, 0.005)
    for rows in (t < run[0], t > run[-1] + 1.0):
        misfit = [np.mean((thigh[rows, 3:] - session.sample(world_s[rows] + shift, thigh=True).thigh_gyro_dps) ** 2) for shift in shifts_s]
        assert abs(shifts_s[int(np.argmin(misfit))]) <= 0.010, np.round(misfit, 4)
    assert TOGETHER in result.summary.notes


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device", "witmotion", "--thigh", "WitMotion"], "same sensor as --device"),
        (["--device", "progressor", "--imu", "WT901BLE68", "--thigh", "witmotion"], "may be the shank's"),
        (["--device", "progressor", "--thigh", THIGH_NAME], "measures no rotation: the shank"),
        (["--device", "witmotion", "--thigh", "progressor"], "measures no rotation: the thigh"),
        (["--device", "witmotion", "--thigh", THIGH_NAME, "--raw", "x.raw"], "a recording with a thigh sensor (--thigh) cannot keep a raw capture"),
    ],
)
def test_record_refuses_a_thigh_sensor_it_cannot_record(tmp_path: Path, extra: list[str], message: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bandlog", "--data-dir", str(tmp_path), "record", *extra, "--emulate", "--view", "none",
         "--out", str(tmp_path / "x.csv")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert not (tmp_path / "x.csv").exists()


def test_demo_shows_the_thigh_sensor_with_a_standing_exercise_only(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bandlog", "--data-dir", str(tmp_path / "demo"), "demo", "--thigh", "--view", "none"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "add --exercise standing-l or runners-stretch" in run.stderr, run.stderr
    assert not (tmp_path / "demo").exists()


def test_record_verb_with_thigh_writes_a_log_with_thigh_columns(tmp_path: Path) -> None:
    out = tmp_path / "standing.csv"
    run = subprocess.run(
        [sys.executable, "-m", "bandlog", "--data-dir", str(tmp_path), "record", "--device", "witmotion", "--thigh", THIGH_NAME,
         "--exercise", "standing-l", "--emulate", "--duration", "25", "--view", "none", "--no-rating", "--speed", "10",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    printed = " ".join(run.stdout.split())  # the notes are wrapped to the terminal's width
    assert TOGETHER in printed and "log written" in printed
    log = read_log(out)
    assert log.meta.extra["thigh_device.profile"] == "witmotion" and log.meta.exercise == exercise_name("standing-l")
    samples = log.samples[list(THIGH_CHANNELS)].to_numpy()
    assert len(samples) > 2000 and np.isfinite(samples).all()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == ["standing.csv"]

