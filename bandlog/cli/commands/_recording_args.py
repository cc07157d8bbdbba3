"""Session metadata options shared by record and demo (underscored: not a verb)."""

from __future__ import annotations

import argparse

from bandlog.core.errors import ConfigError
from bandlog.core.meta import DEFAULT_TARGET_ECC_S, LEGS, RecordingMeta


def add_meta_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leg", choices=LEGS, help="which leg is working")
    parser.add_argument("--band", metavar="COLOUR", help="band colour or name, e.g. green or 'blue x2'")
    parser.add_argument("--exercise", default="reverse hamstring curl", help="exercise name (default: %(default)s)")
    parser.add_argument("--note", default="", help="free-text note stored in the log")
    parser.add_argument(
        "--target-ecc", type=float, default=DEFAULT_TARGET_ECC_S, metavar="S",
        help="target eccentric duration in seconds (default: %(default)s)",
    )


def meta_from_args(args: argparse.Namespace) -> RecordingMeta:
    if not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    return RecordingMeta(leg=args.leg, band=args.band, exercise=args.exercise, notes=args.note, target_ecc_s=args.target_ecc)
