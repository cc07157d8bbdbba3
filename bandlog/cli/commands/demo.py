"""`bandlog demo`: the whole story without hardware, in under a minute.

An emulated GDX-FOR on a virtual BLE link streams a simulated set of reverse hamstring curls; bandlog
records it exactly as it would a real sensor (live view, detection, log), prints the reps, adds a few
weeks of simulated history for both legs, charts the session, and writes the progress report. The
later steps run the same verbs a user would type (plot, progress), so the demo shows them too.

Made-up sessions must never mix with real history, so the demo writes only into a folder of its own
(paths.demo_home: `<data folder>-demo`, or --data-dir), refuses, before writing anything, a folder that
holds a recording it did not make, and marks every log it writes as simulated (meta.SIMULATED). Each
run adds its recording and rewrites the simulated history an earlier run wrote, and says so.
"""

from __future__ import annotations

import os
import sys
import time

from bandlog.cli.commands._live_args import add_live_arguments, cue_lines, live_sinks
from bandlog.core.errors import BandlogError, ConfigError, LogWriteError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

NAME = "demo"
HELP = ("no sensor needed: record an emulated set over a virtual BLE link, analyse it, and chart weeks of progress, "
        "in a demo folder of its own beside the data folder (or --data-dir), never your real history")
ORDER = 10
DEMO_SEED = 3
"""A set with a mix of slow, moderate and fast eccentrics, so the demo shows what bandlog catches."""
SIMULATED_BY = "bandlog demo"
"""The meta.SIMULATED value of the demo's recordings."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="gdx-for", help="which emulated sensor to record (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=8.0, metavar="X", help="how much faster than real time the emulated set runs (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=6, help="reps in the recorded set (default: %(default)s)")
    parser.add_argument("--weeks", type=int, default=4, help="weeks of simulated history (default: %(default)s; 0 for none); rewritten on each run")
    parser.add_argument(
        "--thigh", action="store_true",
        help="also strap an emulated IMU on the thigh (a WitMotion) and record both, as `record --thigh` does: with a "
             "standing --exercise, the knee angle is then the shank's turn less the thigh's, the body's sway taken out",
    )
    from bandlog.cli.commands._recording_args import add_plan_arguments, add_recorded_exercise_argument
    from bandlog.detect.exercises import CHOICES

    add_recorded_exercise_argument(parser, tuple(key for key in CHOICES if key != "other"))  # the ones the model simulates
    add_plan_arguments(parser)
    add_live_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime
    from pathlib import Path

    from bandlog.app.coaching import tracker_for, with_plan
    from bandlog.app.session import RecordRequest, emulation_speed, record_stream
    from bandlog.app.user_input import UserInput
    from bandlog.cli import build_parser
    from bandlog.cli.commands._recording_args import exercise_name, plan_from_args
    from bandlog.cli.commands._rep_table import print_result
    from bandlog.core.meta import SIMULATED, RecordingMeta
    from bandlog.detect.exercises import exercise_profile
    from bandlog.detect.explain import counted
    from bandlog.io.paths import data_home, demo_home, new_recording_path, unused_path
    from bandlog.progress import history
    from bandlog.progress.band_geometry import anchor_extra, anchor_in_world_m, save_shank_cm
    from bandlog.sim import simulate_session
    from bandlog.sim.remount import one_sensor_spec

    if not args.speed > 0 or args.reps < 1 or args.weeks < 0:
        raise ConfigError("--speed must be positive, --reps at least 1 and --weeks not negative")
    thigh = None
    if args.thigh:
        from bandlog.cli.commands._recording_args import check_thigh_target
        from bandlog.emulate.thigh import THIGH_SUFFIX
        from bandlog.emulate.twins.witmotion import WitMotionTwin

        if exercise_profile(args.exercise).pose != "planted":
            raise ConfigError("--thigh shows the standing exercises' knee angle from two sensors (seated, the thigh rests on the chair): "
                              "add --exercise standing-l or runners-stretch")
        thigh = f"{WitMotionTwin.default_name}{THIGH_SUFFIX}"
        check_thigh_target(thigh, args.device, None)
    started = time.monotonic()
    real_home = Path(os.path.abspath(data_home()))
    home = Path(os.path.abspath(Path(args.data_dir).expanduser())) if args.data_dir else demo_home(real_home)
    own = _demo_logs(home, real_home, chosen=bool(args.data_dir))
    print(f"bandlog demo: every file goes into the demo folder {home}\n  (your data folder {real_home} is not touched)")
    plan = plan_from_args(args)
    sets = {"n_sets": 1, "reps_per_set": args.reps, "target_ecc_s": 3.0}
    if plan is not None:  # the simulated person follows the plan: its sets, reps, tempo and rests
        sets = {"n_sets": plan.total_sets, "reps_per_set": plan.reps, "target_ecc_s": plan.ecc_s, "rest_between_sets_s": plan.rest_s}
    exercise = exercise_profile(args.exercise).key
    legs = [plan.leg(k) or "" for k in range(1, plan.total_sets + 1)] if plan is not None else [""]
    spec = one_sensor_spec(DEMO_SEED, legs, **sets, colour="green", strands=1, exercise=exercise)  # moved with the leg
    set_motion = simulate_session(spec)
    save_shank_cm(home, 100 * spec.shank_m)  # the simulated person's truth, as `record --shank-cm` would keep it
    anchor_m = anchor_in_world_m(spec.anchor_x_m, spec.anchor_y_m, spec.thigh_pitch_deg)
    meta = RecordingMeta(
        leg=None if plan is not None and plan.both_legs else "right",  # both legs: the index files each set under its leg
        band=f"{spec.colour} x{spec.strands}" if exercise == "reverse-curl" else None,  # standing: no band
        exercise=exercise_name(exercise),
        target_ecc_s=spec.target_ecc_s, notes="bandlog demo (emulated sensor)",
        extra={SIMULATED: SIMULATED_BY, **anchor_extra(100 * anchor_m[0], 100 * anchor_m[1])},
    )
    if plan is not None:
        meta = with_plan(meta, plan)
    coach = tracker_for(meta)
    out = new_recording_path(home, f"demo-{args.device}" + ("+thigh" if thigh else ""))
    what = "set" if plan is None else f"session ({plan.describe()}; hands-free: no key is pressed)"
    speed, slower = emulation_speed(args.speed, [args.device, thigh])
    if slower:
        print(f"bandlog demo: {slower}")
    sensors = args.device if thigh is None else f"{args.device} (shank) and {thigh} (thigh)"
    print(f"bandlog demo: emulated {sensors} on a virtual BLE link, {set_motion.duration_s:.0f} s {what} at {speed:g}x speed")
    request = RecordRequest(target=args.device, out_path=out, meta=meta, duration_s=set_motion.duration_s, thigh_target=thigh)
    user_input = UserInput()  # set ratings tapped on the phone page (--view web)
    views = live_sinks(args, meta.target_ecc_s, on_rating=user_input.submit)
    result = asyncio.run(record_stream(request, views, motion=set_motion, speed=speed, coach=coach, user_input=user_input))
    print_result(result, out, title=f"recorded {'set' if plan is None else 'session'} ({out.name})", exercise=exercise)
    for line in ([] if coach is None else coach.report().lines()) + cue_lines(views):
        print(line)
    recordings = 1 + sum(by == SIMULATED_BY for by in own.values())
    written: list[tuple[str, Path, str]] = [("recording", out, f"this run's; each run adds one: {recordings} so far")]
    parser = build_parser(verbs=("plot", "progress"))

    def verb(*argv: str) -> None:
        verb_args = parser.parse_args(["--data-dir", str(home), *argv])
        verb_args._run(verb_args)

    chart = home / "reports" / f"{out.stem}.png"
    verb("plot", str(out), "--out", str(chart))
    written.append(("session chart", chart, ""))
    old_history = [path for path, by in own.items() if by == history.SIMULATED_BY]
    _remove(old_history)
    replaced = f", replacing the {counted(len(old_history), 'session')} an earlier run wrote" if old_history else ""
    if args.weeks:
        sessions = history.write_simulated_history(home, weeks=args.weeks, seed=DEMO_SEED)
        what = f"{counted(len(sessions), 'session')} over {counted(args.weeks, 'week')}, both legs"
        print(f"simulated history: wrote {what}{replaced}")
        written.append(("simulated history", home / "recordings" / "*_sim-*.csv", what + (", rewritten" if old_history else "")))
    elif old_history:
        print(f"simulated history: none (--weeks 0){replaced}")
    report = unused_path(home / "reports" / f"progress-{datetime.now():%Y-%m-%d}.html")  # progress never overwrites
    verb("progress", "--out", str(report))
    written.append(("progress report", report, ""))
    written.append(("session index", home / "index.sqlite", ""))

    print(f"\nbandlog demo finished in {time.monotonic() - started:.0f} s. Files, in the demo folder {home}:")
    for label, path, note in written:
        print(f"  {label:<18} {path.relative_to(home).as_posix()}" + (f" ({note})" if note else ""))
    folder = _shell_word(str(home))
    print(f"See the demo's sessions and progress again with:\n  bandlog --data-dir {folder} sessions\n  bandlog --data-dir {folder} progress")
    return 0


def _demo_logs(home: Path, real_home: Path, *, chosen: bool) -> dict[Path, str]:
    """The logs the demo made in `home` (path -> what made it up). ConfigError, before anything is
    written, when `home` is (or is inside) the real data folder or holds a recording the demo did not make."""
    from pathlib import Path

    from bandlog.detect.explain import counted
    from bandlog.io.paths import demo_home
    from bandlog.progress.history import SIMULATED_BY as HISTORY
    from bandlog.progress.history import simulated_by
    from bandlog.progress.index import IndexReport, list_logs

    way_out = f"give --data-dir a new folder, or leave it out to use {demo_home(real_home)}" if chosen else "give --data-dir a new folder"
    target, real = Path(os.path.realpath(home)), Path(os.path.realpath(real_home))
    if target == real or real in target.parents:
        where = "is" if target == real else "is inside"
        raise ConfigError(f"--data-dir {home} {where} your data folder {real_home}, and the demo writes only into a folder of its own: {way_out}")
    report = IndexReport()
    own: dict[Path, str] = {}
    foreign: list[str] = []
    for rel, path in list_logs(home, report).items():
        try:
            made_by = simulated_by(path)
        except BandlogError:  # unreadable or damaged: not provably the demo's
            made_by = ""
        if made_by in (SIMULATED_BY, HISTORY):
            own[path] = made_by
        else:
            foreign.append(rel)
    foreign += [f"{folder}/ (cannot be read)" for folder, _reason in report.unreadable_dirs]
    if foreign:
        raise ConfigError(
            f"{home} holds {counted(len(foreign), 'recording')} the demo did not make ({foreign[0]}{', ...' if len(foreign) > 1 else ''}), "
            f"and the demo writes only into a folder of its own: {way_out}"
        )
    return own


def _remove(paths: list[Path]) -> None:
    """Delete logs the demo made (checked by _demo_logs); one sentence if one cannot be deleted."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise LogWriteError(f"cannot rewrite the demo's simulated history: cannot delete {path} ({error.strerror or error})") from error


def _shell_word(text: str) -> str:
    """`text` quoted for the user's shell, so a printed command can be pasted as it is."""
    import shlex
    import subprocess

    return subprocess.list2cmdline([text]) if sys.platform == "win32" else shlex.quote(text)
