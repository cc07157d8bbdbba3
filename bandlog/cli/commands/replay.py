"""`bandlog replay FILE`: play a log through the live pipeline (detector, metrics, sinks), then print its reps."""

from __future__ import annotations

from bandlog.cli.commands._live_args import add_live_arguments, cue_lines, hold_windows, live_sinks
from bandlog.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse

    from bandlog.core.pipeline import Sink
    from bandlog.io.logdata import LogData

NAME = "replay"
HELP = "replay a recorded log (bandlog or a supported export) through the live pipeline and print its reps"
ORDER = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    from bandlog.cli.commands._detector_args import add_exercise_argument

    parser.add_argument("file", type=Path, help="the log to replay")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, metavar="X", help="playback speed, 1 = real time (default), 10 = ten times faster")
    pace.add_argument("--fast", action="store_true", help="replay as fast as possible")
    parser.add_argument("--set", type=int, dest="set_number", metavar="N", help="replay only set N, counting from 1 (default: every set in turn)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's own)")
    parser.add_argument(
        "--raw", action="store_true",
        help="FILE is a raw capture (`record --raw`): decode its bytes again through today's decoders, as fast as possible",
    )
    parser.add_argument("--out", type=Path, metavar="LOG", help="with --raw: also write the decoded samples to this new log")
    add_exercise_argument(parser)
    add_live_arguments(parser)


def build_sinks(args: argparse.Namespace, log: LogData, set_index: int) -> list[Sink]:
    """The sinks one replayed set streams through: the same live view as `bandlog record`."""
    import argparse

    target = log.meta.target_ecc_s if args.target_ecc is None else args.target_ecc
    for option in ("snapshot", "cue_wav"):  # one file per set: FILE-set2.png, FILE-set2.wav, ...
        path = getattr(args, option)
        if path is not None and set_index > 0:
            args = argparse.Namespace(**{**vars(args), option: path.with_stem(f"{path.stem}-set{set_index + 1}")})
    return live_sinks(args, target)


def check_options(args: argparse.Namespace, n_sets: int) -> list[int]:
    """The 0-based set indices to replay; ConfigError for impossible options."""
    if not args.fast and not args.speed > 0:
        raise ConfigError(f"--speed must be positive, not {args.speed}")
    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    if args.set_number is None:
        return list(range(max(1, n_sets)))
    if not 1 <= args.set_number <= max(1, n_sets):
        raise ConfigError(f"--set {args.set_number} is out of range: {args.file.name} has {n_sets} set(s)")
    return [args.set_number - 1]


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bandlog.app.api import read_log

    if args.raw:
        return _replay_raw(args)
    if args.out is not None:
        raise ConfigError("--out writes the log decoded from a raw capture: add --raw")
    log = read_log(args.file)
    indices = check_options(args, log.n_sets)
    asyncio.run(_replay(args, log, indices))
    return 0


async def _replay(args: argparse.Namespace, log: LogData, indices: list[int]) -> None:
    from bandlog.app.api import combine_summaries, run_set
    from bandlog.app.coaching import tracker_for
    from bandlog.cli.commands._detector_args import chosen_exercise
    from bandlog.cli.commands._rep_table import print_result, summary_line
    from bandlog.detect.explain import repairs_footnote

    target = log.meta.target_ecc_s if args.target_ecc is None else args.target_ecc
    speed = None if args.fast else args.speed
    n_sets = max(1, log.n_sets)
    results = []
    for set_index in indices:
        sinks = build_sinks(args, log, set_index)
        coach = tracker_for(log.meta)  # a planned recording replays with its plan, as it ran live
        result = await run_set(log, set_index, target, speed=speed, sinks=sinks, exercise=args.exercise, coach=coach)
        hold_windows(sinks)
        results.append(result)
        label = f"set {set_index + 1} of {n_sets}"
        print_result(result, args.file, title=f"{args.file.name}, {label}", label=label,
                     exercise=chosen_exercise(args.exercise, log.meta.exercise))
        for line in ([] if coach is None else coach.report().lines()) + cue_lines(sinks):
            print(line)
    if len(results) > 1:
        total = combine_summaries([r.summary for r in results], [rep for r in results for rep in r.reps])
        print(f"all sets: {summary_line(total)}")
    repaired = repairs_footnote(log.repairs)
    if repaired:
        print(f"  {repaired}")


def _replay_raw(args: argparse.Namespace) -> int:
    """The raw capture through the pipeline a live recording uses (same analyzer, same live view)."""
    import asyncio

    from bandlog.app.session import replay_raw_capture
    from bandlog.cli.commands._rep_table import print_result
    from bandlog.core.status import link_summary
    from bandlog.io.raw_capture import read_raw_capture

    if args.set_number is not None or args.fast or args.speed != 1.0:
        given = "--set" if args.set_number is not None else "--fast" if args.fast else "--speed"
        raise ConfigError(f"{given} cannot be used with --raw: a raw capture replays its one set as it ran, as fast as possible")
    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    capture = read_raw_capture(args.file)
    target = capture.header.meta.target_ecc_s if args.target_ecc is None else args.target_ecc
    views = live_sinks(args, target)
    result = asyncio.run(replay_raw_capture(capture, views, out_path=args.out, target_ecc_s=target, exercise=args.exercise))
    from bandlog.cli.commands._detector_args import chosen_exercise

    print_result(result, args.out or args.file, title=f"{args.file.name} (raw capture)",
                 exercise=chosen_exercise(args.exercise, capture.header.meta.exercise))
    for line in cue_lines(views):
        print(line)
    if result.link is not None:
        print(f"link: {link_summary(result.link)}")
    if args.out is not None:
        print(f"log written to {args.out} ({result.samples_total} samples)")
    hold_windows(views)
    return 0
