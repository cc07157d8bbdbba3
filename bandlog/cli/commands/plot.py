"""`bandlog plot FILE`: one session's figure (force, knee angle, eccentric duration per rep)."""

from __future__ import annotations

from bandlog.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    import argparse
    from pathlib import Path

NAME = "plot"
HELP = "chart one session: force and knee angle with eccentric phases shaded, and eccentric duration per rep"
ORDER = 62
FORMATS = (".png", ".svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pathlib import Path

    from bandlog.cli.commands._detector_args import add_exercise_argument

    parser.add_argument("file", type=Path, help="a recording (bandlog log or a supported export)")
    parser.add_argument("--out", type=Path, help="image to write, .png or .svg (default: FILE with .png beside it)")
    parser.add_argument("--target-ecc", type=float, metavar="S", help="target eccentric duration in s (default: the log's)")
    add_exercise_argument(parser)
    parser.add_argument("--force", action="store_true", help="overwrite the image if it exists (default: refuse)")


def run(args: argparse.Namespace) -> int:
    from bandlog.io.paths import check_new_output, write_output
    from bandlog.progress.session_chart import load_session_chart

    out: Path = args.out or args.file.with_suffix(".png")
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out must end in .png or .svg, not {out.name!r}")
    if args.target_ecc is not None and not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    check_new_output(out, "chart", overwrite=args.force)  # before the analysis, not after it
    fig = load_session_chart(args.file, target_ecc_s=args.target_ecc, exercise=args.exercise).figure()
    image_format = out.suffix.lower().lstrip(".")
    write_output(out, "chart", lambda handle: fig.savefig(handle, format=image_format, dpi=110), overwrite=args.force)
    print(f"wrote {out}")
    return 0
