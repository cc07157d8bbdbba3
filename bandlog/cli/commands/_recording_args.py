"""Session metadata options shared by record and demo, and their checks (underscored: not a verb)."""

from __future__ import annotations

import argparse

from bandlog.core.errors import ConfigError
from bandlog.core.meta import DEFAULT_TARGET_ECC_S, LEGS, RecordingMeta
from bandlog.detect.exercises import ALIASES, CHOICES, DEFAULT_KEY, exercise_profile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see bandlog/__init__.py
if TYPE_CHECKING:
    from bandlog.coach import Plan


def add_meta_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leg", choices=LEGS, help="which leg is working")
    parser.add_argument("--band", metavar="COLOUR", help="band colour or name, e.g. green or 'blue x2'")
    add_recorded_exercise_argument(parser, CHOICES)
    parser.add_argument("--note", default="", help="free-text note stored in the log")
    parser.add_argument(
        "--target-ecc", type=float, default=DEFAULT_TARGET_ECC_S, metavar="S",
        help="target eccentric duration in seconds (default: %(default)s)",
    )
    parser.add_argument("--shank-cm", type=float, metavar="CM",
                        help="your shank length, knee to ankle cuff, for the knee torque; remembered in the data folder")
    parser.add_argument("--anchor-cm", metavar="FORWARD,HEIGHT",
                        help="where the band is anchored relative to the knee, cm (e.g. 90,-20: 90 in front, 20 below), "
                             "for the knee torque; stored in this recording's header")


def add_recorded_exercise_argument(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    """`--exercise KEY` of record and demo: a profile key (bandlog.detect.exercises); the header
    stores the profile's name, which analyze, plot, replay and the index read back."""
    metavar = "{" + ",".join(key for key in choices if key not in ALIASES) + "}"
    parser.add_argument("--exercise", choices=choices, default=DEFAULT_KEY, metavar=metavar,
                        help="which exercise this set is (default: %(default)s)")


def exercise_name(key: str) -> str:
    """What the header stores for a profile key: the profile's name."""
    return exercise_profile(key).name


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
    return RecordingMeta(leg=args.leg, band=args.band, exercise=exercise_name(args.exercise), notes=args.note, target_ecc_s=args.target_ecc,
                         extra=geometry_from_args(args))


def geometry_from_args(args: argparse.Namespace) -> dict[str, str]:
    """The header's anchor entries from --anchor-cm; --shank-cm is checked and remembered in the data
    folder (bandlog.progress.band_geometry), once, for every later session's torque."""
    from bandlog.progress.band_geometry import anchor_extra, parse_anchor_cm, save_shank_cm

    if getattr(args, "shank_cm", None) is not None:
        from bandlog.io.paths import data_home

        save_shank_cm(data_home(args.data_dir), args.shank_cm)
    if getattr(args, "anchor_cm", None) is None:
        return {}
    return anchor_extra(*parse_anchor_cm(args.anchor_cm))


def check_thigh_target(thigh: str, device: str, imu: str | None) -> None:
    """Refuse, before anything connects, a --thigh that cannot be the thigh's own motion sensor: the
    shank's sensor again, a profile key while the shank's sensor is of that kind (the thigh's connects
    first and could take the shank's unit), or a device that measures no rotation. The shank's sensor
    must measure rotation too."""
    from bandlog.devices import registry
    from bandlog.sources.ble_scan import profile_named

    shank_option, shank = ("--imu", imu) if imu is not None else ("--device", device)
    given = thigh.strip().lower()
    for option, target in (("--device", device), (shank_option, shank)):
        if given == target.strip().lower():
            raise ConfigError(f"--thigh names the same sensor as {option} ({thigh!r}): the thigh needs a sensor of its own; "
                              "name each by its address or advertised name (`bandlog scan` lists them)")
    shank_profile = profile_named(shank)
    if given in registry() and shank_profile is not None and shank_profile.key == given:
        raise ConfigError(f"--thigh {thigh} would take the first {shank_profile.model} found, which may be the shank's: "
                          "name the thigh's sensor by its address or advertised name (`bandlog scan` lists them)")
    for option, target, profile in (("--thigh", thigh, profile_named(thigh)), (shank_option, shank, shank_profile)):
        if profile is not None and not profile.measures_imu:
            where = "the thigh" if option == "--thigh" else "the shank (it is recorded with the thigh's)"
            raise ConfigError(f"{option} {target} is a {profile.model}, which measures no rotation: {where} needs a motion sensor"
                              + (" (add --imu for the shank's)" if option == "--device" else ""))
