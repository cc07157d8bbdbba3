"""Detector options shared by analyze, plot and replay (underscored: not a verb)."""

from __future__ import annotations

import argparse

from bandlog.detect.exercises import ALIASES, CHOICES, PROFILES

EXERCISE_METAVAR = "{" + ",".join(PROFILES) + "}"
EXERCISE_HELP = (
    "which exercise the recording holds, for the detector's gates (default: the one the log's header "
    "names; an unknown one counts as the reverse curl, and the notes say so): "
    + "; ".join(f"{key}: {profile.name}" for key, profile in PROFILES.items())
    + " (any other band exercise with the same sensors: the gates are learned from the set itself). "
    + ", ".join(f"{alias} = {key}" for alias, key in ALIASES.items())
    + ", its older name"
)


def add_exercise_argument(parser: argparse.ArgumentParser) -> None:
    """`--exercise KEY`: the exercise profile (bandlog.detect.exercises) whose gates the detector uses
    to tell a rep from fidgeting; None (not given) lets the log's header decide."""
    parser.add_argument("--exercise", choices=CHOICES, default=None, metavar=EXERCISE_METAVAR, help=EXERCISE_HELP)


def chosen_exercise(given: str | None, header_exercise: str | None) -> str:
    """The profile key the detector ran with: `--exercise` if given, else the header's (for the
    table's footnotes, which hint at another profile when the reverse curl's gates rejected a set)."""
    from bandlog.detect.exercises import exercise_profile, profile_for_header

    return exercise_profile(given).key if given is not None else profile_for_header(header_exercise)[0].key
