"""Detector options shared by analyze and replay (underscored: not a verb)."""

from __future__ import annotations

import argparse

from bandlog.detect.params import EXERCISES

EXERCISE_HELP = (
    "knee (default): the seated reverse knee curl, with knee-tuned gates (range of motion at least "
    "30 deg, reps of 1.5-20 s); other: any other band exercise with the same sensors (rows, "
    "shoulder rotations...), with the gates learned from the set itself"
)


def add_exercise_argument(parser: argparse.ArgumentParser) -> None:
    """`--exercise {knee,other}`: which gates the detector uses to tell a rep from fidgeting."""
    parser.add_argument("--exercise", choices=EXERCISES, default="knee", help=EXERCISE_HELP)
