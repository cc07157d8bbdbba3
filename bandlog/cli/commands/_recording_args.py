"""Session metadata options shared by record and demo (underscored: not a verb)."""

from __future__ import annotations

import argparse

from bandlog.core.errors import ConfigError
from bandlog.core.meta import DEFAULT_TARGET_ECC_S, LEGS, RecordingMeta

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    from bandlog.coach import Plan


def add_meta_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leg", choices=LEGS, help="which leg is working")
    parser.add_argument("--band", metavar="COLOUR", help="band colour or name, e.g. green or 'blue x2'")
    parser.add_argument("--exercise", default="reverse hamstring curl", help="exercise name (default: %(default)s)")
    parser.add_argument("--note", default="", help="free-text note stored in the log")
    parser.add_argument(
        "--target-ecc", type=float, default=DEFAULT_TARGET_ECC_S, metavar="S",
        help="target eccentric duration in seconds (default: %(default)s)",
    )


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plan", metavar="SPEC|FILE.toml",
        help="follow a prescription hands-free, e.g. '3x8@4 r90 LR' (sets x reps @ eccentric s, rest s, legs L, R, "
             "LR alternating or LLRR) or a plan file; the recording stops itself at the end of the plan",
    )
    parser.add_argument("--stop-on", default="", metavar="RULES", help="with --plan: end a set early, e.g. '2 fast' or 'drop'")


def plan_from_args(args: argparse.Namespace) -> Plan | None:
    """The plan `--plan` names (text, or a .toml plan file), with `--stop-on`; None without --plan."""
    from pathlib import Path

    from bandlog.coach import parse_plan, parse_stop_on, plan_from_toml

    if args.plan is None:
        if args.stop_on:
            raise ConfigError("--stop-on ends the sets of a plan: add --plan")
        return None
    if args.plan.strip().lower().endswith(".toml"):
        path = Path(args.plan).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read the plan file {path}: {error.strerror or error}") from None
        plan = plan_from_toml(text)
        if args.stop_on:
            from dataclasses import replace

            plan = replace(plan, stop_on=parse_stop_on(args.stop_on))
        return plan
    return parse_plan(args.plan, stop_on=args.stop_on)


def meta_from_args(args: argparse.Namespace) -> RecordingMeta:
    if not args.target_ecc > 0:
        raise ConfigError(f"--target-ecc must be a positive number of seconds, not {args.target_ecc}")
    return RecordingMeta(leg=args.leg, band=args.band, exercise=args.exercise, notes=args.note, target_ecc_s=args.target_ecc)
