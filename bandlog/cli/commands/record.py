"""`bandlog record`: stream a sensor live, detect eccentrics as they happen, log every sample."""

from __future__ import annotations

import sys

from bandlog.cli.commands._live_args import add_live_arguments, cue_lines, hold_windows, live_sinks
from bandlog.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from bandlog.coach import SetTracker
    from bandlog.core.pipeline import PipelineResult

NAME = "record"
HELP = "record a set from a BLE sensor: live eccentric detection, every sample logged"
ORDER = 20
NO_LEG_NOTE = "no --leg given: filed under leg 'unknown', outside the left/right charts (add --leg left or right)"
BOTH_LEGS_NOTE = "both legs in one log: the session index files each set under the plan's leg for it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    from bandlog.cli.commands._recording_args import add_meta_arguments, add_plan_arguments
    from bandlog.emulate.faults import FAULT_KEYS
    from bandlog.emulate.thigh import THIGH_SUFFIX

    parser.add_argument(
        "--device", required=True, metavar="NAME|ADDRESS|PROFILE",
        help="the sensor: its advertised name, its address, or a profile key (gdx-for, progressor, ...) for the first one found",
    )
    parser.add_argument(
        "--imu", metavar="NAME|ADDRESS|PROFILE",
        help="a separate motion sensor on the shank (e.g. witmotion); --device is then the force sensor, and both are recorded as one",
    )
    parser.add_argument(
        "--thigh", metavar="NAME|ADDRESS|PROFILE",
        help="a second motion sensor, on the thigh: recorded with the shank's (--imu, or --device), so that the standing "
             "exercises measure the knee's own bend, the body's sway taken out. Two sensors of one kind: name each by "
             f"its address or name (`bandlog scan`); with --emulate the thigh's is named after the shank's, e.g. WT901BLE68{THIGH_SUFFIX}",
    )
    parser.add_argument("--emulate", action="store_true", help="record from emulated sensors on a virtual BLE link (no hardware)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X", help="with --emulate: run the emulated set X times faster than real time")
    parser.add_argument("--seed", type=int, default=1, help="with --emulate: which simulated set to play (default: %(default)s)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds of samples (default: until Ctrl-C, or the end of the emulated set)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="log file (default: a new file under recordings/ in the data dir)")
    parser.add_argument(
        "--raw", type=Path, metavar="FILE",
        help="also keep every byte exchanged with the sensor in FILE (JSON lines; `bandlog replay --raw FILE` decodes it again)",
    )
    parser.add_argument("--rate", type=float, metavar="HZ", help="ask the sensor for this sample rate; a rate it cannot do is refused")
    parser.add_argument(
        "--faults", metavar="SPEC",
        help="with --emulate: inject faults on every emulated sensor, e.g. drop=0.01,corrupt=0.001,disconnect_every=120"
        f" (keys: {', '.join(FAULT_KEYS)})",
    )
    parser.add_argument("--no-tare", action="store_true", help="do not zero the force at the start")
    parser.add_argument("--no-rating", action="store_true", help="do not ask how the set felt (RPE, pain) at the end")
    add_meta_arguments(parser)
    add_plan_arguments(parser)
    add_live_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import math

    from bandlog.app.session import RecordRequest, check_log_path, check_raw_path, record_stream
    from bandlog.cli.commands._recording_args import check_thigh_target, meta_from_args, plan_from_args
    from bandlog.cli.commands._rep_table import print_result
    from bandlog.core.calibration import force_correction
    from bandlog.core.status import link_summary
    from bandlog.detect.exercises import exercise_profile
    from bandlog.devices.base import StreamOptions
    from bandlog.io.paths import data_home, new_recording_path
    from bandlog.sim.planted import EXERCISES as SIMULATED_EXERCISES
    from bandlog.sim.planted import PLANTED as PLANTED_KEYS

    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration must be positive, not {args.duration}")
    if not (math.isfinite(args.speed) and args.speed > 0):
        raise ConfigError(f"--speed must be a positive number, not {args.speed}")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise ConfigError(f"--rate must be a positive number of samples per second, not {args.rate:g}")
    if args.faults is not None and not args.emulate:
        raise ConfigError("--faults injects faults into emulated sensors: add --emulate")
    faults = None
    if args.faults is not None:
        from bandlog.emulate.faults import parse_faults

        faults = parse_faults(args.faults)
    meta = meta_from_args(args)
    plan = plan_from_args(args)
    if plan is not None:
        from bandlog.app.coaching import with_plan

        meta = with_plan(meta, plan)
    if args.imu is not None and args.imu.strip().lower() == args.device.strip().lower():
        raise ConfigError("--imu must name a different sensor than --device")
    if args.thigh is not None:
        check_thigh_target(args.thigh, args.device, args.imu)
        if exercise_profile(args.exercise).pose != "planted":
            print(f"--thigh: the thigh sensor is recorded, but only the standing exercises use it (--exercise {' or '.join(PLANTED_KEYS)}): "
                  "seated, the thigh rests on the chair")
    label = "+".join(target for target in (args.device, args.imu, args.thigh) if target is not None)
    home = data_home(args.data_dir)
    out = args.out or new_recording_path(home, label.replace(":", "").replace(" ", "_"))
    request = RecordRequest(
        target=args.device, out_path=out, meta=meta, options=StreamOptions(sample_rate_hz=args.rate),
        tare=not args.no_tare, imu_target=args.imu, thigh_target=args.thigh, raw_path=args.raw, sensors_home=home,
    )
    check_log_path(out, paired=request.merged)  # before the set is simulated, a window opened or a sensor connected
    if args.raw is not None:
        check_raw_path(args.raw, request)
    both_legs = plan is not None and plan.both_legs
    if meta.leg is None:
        print(BOTH_LEGS_NOTE if both_legs else NO_LEG_NOTE)
    motion = None
    duration = args.duration
    if args.emulate:
        from bandlog.sim import simulate_session
        from bandlog.sim.remount import one_sensor_spec

        sets = {} if plan is None else {"n_sets": plan.total_sets, "reps_per_set": plan.reps, "rest_between_sets_s": plan.rest_s}
        set_legs = [plan.leg(k) or "" for k in range(1, plan.total_sets + 1)] if plan is not None else [""]
        simulated = exercise_profile(args.exercise).key
        movement = {"exercise": simulated} if simulated in SIMULATED_EXERCISES else {}  # 'other': the reverse curl's
        motion = simulate_session(one_sensor_spec(args.seed, set_legs, **{"n_sets": 1, **sets}, target_ecc_s=meta.target_ecc_s,
                                                  **movement))
        duration = duration or motion.duration_s
    request = dataclasses.replace(request, duration_s=duration)
    from bandlog.app.coaching import tracker_for
    from bandlog.app.user_input import UserInput

    user_input = UserInput()  # set ratings tapped on the phone page (--view web)
    views = live_sinks(args, meta.target_ecc_s, on_rating=user_input.submit)

    coach = tracker_for(meta)
    if plan is not None:
        print(f"plan: {plan.describe()}; no key needed: each set starts at its first rep, and the recording stops after the last")
    speed = args.speed
    if args.emulate:
        from bandlog.app.session import emulation_speed

        speed, slower = emulation_speed(args.speed, [args.device, args.imu, args.thigh])
        if slower:
            print(slower)
    result = asyncio.run(record_stream(request, views, motion=motion, speed=speed, faults=faults, coach=coach,
                                      user_input=user_input))
    if result.meta is None:
        print(f"stopped before {label} was connected: no samples, no log written", file=sys.stderr)
        from bandlog.cli import ExitStatus  # here: cli imports the commands

        return ExitStatus.INTERRUPTED
    print_result(result, out, title=out.name, exercise=exercise_profile(args.exercise).key)
    for line in cue_lines(views):
        print(line)
    if coach is not None:
        for line in coach.report().lines():
            print(line)
    if (correction := force_correction(result.meta)) is not None:
        print(f"force corrected by the sensor's check: {correction}")
    if result.link is not None:
        print(f"link: {link_summary(result.link)}")
    if result.gaps:
        print(f"link gaps: {len(result.gaps)} ({sum(g.end_s - g.start_s for g in result.gaps):.2f} s without samples)")
    legs = ", left and right" if both_legs and meta.leg is None else ", leg unknown" if meta.leg is None else ""
    print(f"log written to {out} ({result.samples_total} samples{legs})")
    if not args.no_rating and sys.stdin.isatty() and result.last_sample_t_s is not None:
        _rate_last_set(out, result, coach)
    if args.raw is not None:
        print(f"raw capture written to {args.raw} (`bandlog replay --raw {args.raw}` decodes it again)")
    hold_windows(views)
    return 0


def _rate_last_set(out: Path, result: PipelineResult, coach: SetTracker | None) -> None:
    """Ask how the last set felt, unless the phone page already rated it, and add it to the log."""
    from bandlog.cli.commands._rating_prompt import ask_rating
    from bandlog.core.results import SetRating
    from bandlog.io.csv_log import append_rating

    set_number = max(1, len(coach.results)) if coach is not None else 1
    if any(rating.set_number == set_number for rating in result.ratings):
        return
    rpe, pain = ask_rating(set_number)
    if (rpe is None and pain is None) or result.last_sample_t_s is None:
        return
    append_rating(out, SetRating(set_number, rpe, pain, result.last_sample_t_s))
    print(f"set {set_number} rated: " + ", ".join(f"{name} {value}" for name, value in (("RPE", rpe), ("pain", pain)) if value is not None))
