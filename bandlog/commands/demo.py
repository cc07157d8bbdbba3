"""`bandlog demo`: the whole story without hardware, in under a minute.

An emulated GDX-FOR on a virtual BLE link streams a simulated set of reverse hamstring curls; bandlog
records it exactly as it would a real sensor (live view, detection, log), prints the reps, adds a few
weeks of simulated history for both legs, charts the session, and writes the progress report. The
later steps run the same verbs a user would type (plot, progress), so the demo shows them too.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from bandlog.commands._live_args import add_live_arguments, live_sinks
from bandlog.errors import ConfigError

NAME = "demo"
HELP = "no sensor needed: record an emulated set over a virtual BLE link, analyse it, and chart weeks of progress"
ORDER = 10
DEMO_SEED = 3
"""A set with a mix of slow, moderate and fast eccentrics, so the demo shows what bandlog catches."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="gdx-for", help="which emulated sensor to record (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=8.0, metavar="X", help="how much faster than real time the emulated set runs (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=6, help="reps in the recorded set (default: %(default)s)")
    parser.add_argument("--weeks", type=int, default=4, help="weeks of simulated history to add (default: %(default)s; 0 for none)")
    add_live_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bandlog.cli import build_parser
    from bandlog.commands._rep_table import print_result
    from bandlog.meta import RecordingMeta
    from bandlog.paths import data_home, new_recording_path, unused_path
    from bandlog.session import RecordRequest, record_stream
    from bandlog.sim import random_spec, simulate_session

    if not args.speed > 0 or args.reps < 1 or args.weeks < 0:
        raise ConfigError("--speed must be positive, --reps at least 1 and --weeks not negative")
    started = time.monotonic()
    home = data_home(args.data_dir)
    spec = random_spec(DEMO_SEED, n_sets=1, reps_per_set=args.reps, target_ecc_s=3.0, colour="green", strands=2)
    set_motion = simulate_session(spec)
    meta = RecordingMeta(
        leg="right", band=f"{spec.colour} x{spec.strands}", exercise="reverse hamstring curl",
        target_ecc_s=spec.target_ecc_s, notes="bandlog demo (emulated sensor)",
    )
    out = new_recording_path(home, f"demo-{args.device}")
    print(f"bandlog demo: emulated {args.device} on a virtual BLE link, {set_motion.duration_s:.0f} s set at {args.speed:g}x speed")
    request = RecordRequest(target=args.device, out_path=out, meta=meta, duration_s=set_motion.duration_s)
    result = asyncio.run(record_stream(request, live_sinks(args, meta.target_ecc_s), motion=set_motion, speed=args.speed))
    print_result(result, out, title=f"recorded set ({out.name})")

    written: list[tuple[str, Path]] = [("recording", out)]
    parser = build_parser()

    def verb(*argv: str) -> None:
        verb_args = parser.parse_args(["--data-dir", str(home), *argv])
        verb_args._run(verb_args)

    chart = home / "reports" / f"{out.stem}.png"
    verb("plot", str(out), "--out", str(chart))
    written.append(("session chart", chart))
    if args.weeks:
        from bandlog.history import write_simulated_history

        history = write_simulated_history(home, weeks=args.weeks, seed=DEMO_SEED)
        print(f"added {len(history)} simulated sessions over {args.weeks} weeks (both legs)")
        written.append(("simulated history", home / "recordings"))
    report = unused_path(home / "reports" / f"progress-{datetime.now():%Y-%m-%d}.html")  # progress never overwrites
    verb("progress", "--out", str(report))
    written.append(("progress report", report))
    written.append(("session index", home / "index.sqlite"))

    print(f"\nbandlog demo finished in {time.monotonic() - started:.0f} s. Files:")
    for label, path in written:
        print(f"  {label:<18} {path}")
    return 0
