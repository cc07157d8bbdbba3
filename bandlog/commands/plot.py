"""`bandlog plot FILE`: one session's figure (force, knee angle, eccentric duration per rep)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bandlog.commands._detector_args import add_exercise_argument
from bandlog.errors import ConfigError, LogWriteError

NAME = "plot"
HELP = "chart one session: force and knee angle with eccentric phases shaded, and eccentric duration per rep"
ORDER = 62
FORMATS = (".png", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a recording (bandlog log or a supported export)")
    parser.add_argument("--out", type=Path, help="image to write, .png or .svg (default: FILE with .png beside it)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's)")
    add_exercise_argument(parser)


def run(args: argparse.Namespace) -> int:
    from bandlog.session_chart import load_session_chart

    out = args.out or args.file.with_suffix(".png")
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out must end in .png or .svg, not {out.name!r}")
    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    fig = load_session_chart(args.file, target_ecc_s=args.target_ecc, exercise=args.exercise).figure()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=110)
    except OSError as error:
        raise LogWriteError(f"cannot write the chart {out}: {error.strerror or error}") from error
    print(f"wrote {out}")
    return 0
