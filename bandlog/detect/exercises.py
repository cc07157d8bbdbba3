"""Exercise profiles: everything the detector needs to know about the exercise being done, in one place.

A profile names the exercise (its key on the command line, its name in a log's header), the gates
that differ from DetectorParams' knee-curl defaults, the pose model the knee-axis sign may use, where
the limb rests between reps and what the reported angle means. A new exercise is one new entry in
PROFILES; nothing else changes.

Pose models (axis_sign.py, tilt.py):
- 'seated': thigh on a chair, the shank swings about the knee; near horizontal its ankle end is in
  front of the knee, never behind it, which gives the axis sign from gravity (science.md 3.3).
- 'planted': the foot stays on the floor, so the shank pivots about the ankle and stays within ~45
  degrees of vertical; it can lean either way of vertical, so gravity does not tell which way is
  flexion. The sign comes from the movement pattern only (over the whole of several reps, the
  loading flexion takes less time than the controlled straightening), decided after three reps.
- 'none': another band exercise: the movement pattern, with where the limb rests weighed first.

Shank sensors see the shank turn, not the knee. Seated, the two are the same motion; with the foot
planted the shank turns by only part of the knee's motion (bandlog/sim/planted.py: 0.4-0.7 of it),
so the planted profiles' angle and rate gates are scaled down to match, and their reported angle is
the shank's own turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bandlog.core.errors import ConfigError
from bandlog.detect.params import DetectorParams

POSE_MODELS = ("seated", "planted", "none")
REST_ENDS = ("extended", "flexed")


@dataclass(frozen=True)
class ExerciseProfile:
    key: str
    """What `--exercise` takes."""
    name: str
    """What a log's header stores as meta.exercise."""
    gates: Mapping[str, Any] = field(default_factory=dict)
    """DetectorParams fields that differ from the knee-curl defaults."""
    pose: str = "seated"
    rest_end: str = "extended"
    """Where the limb rests between reps: 'extended' (each rep begins with the loading flexion) or
    'flexed' (each rep begins with the eccentric, straightening from a bent rest)."""
    quick_loading: bool = True
    """The loading flexion is much quicker than the controlled return (a cue for the axis sign)."""
    angle_meaning: str = "knee flexion (deg, 0 = straight)"
    """What the reported absolute angle is, in words (plots, live view)."""
    angle_label: str = "knee flexion angle"
    """The same in a few words, for a chart's title and axis."""
    lead_in_reason: str = "the sensor first learns its resting reading and which way the knee bends"
    """Why the angle starts late, for the chart and the live views (detect/axis.py: the gyro bias, the
    turning axis and its flexion direction come from a still moment and the first movement)."""
    band_optional: bool = False
    """The exercise may be done without a band (the force channel then reads only the load cell's
    zero): reps without band tension keep their timing and lose their force figures, counted in the
    notes, instead of each being flagged band_slack."""
    timing_note: str | None = None
    """How sure this exercise's eccentric starts and ends are, when less than the reverse curl's: said
    in the notes of every set with reps, so eccentric times are read with it."""

    def params(self, base: DetectorParams | None = None) -> DetectorParams:
        """The detector settings for this exercise, on top of `base` (default DetectorParams())."""
        return replace(base or DetectorParams(), **self.gates)

    def with_thigh(self) -> ExerciseProfile:
        """This exercise measured with a second IMU on the thigh (bandlog.detect.thigh): the angle is
        the knee's own turn, timed as surely as the reverse curl's."""
        return replace(self, angle_meaning=THIGH_ANGLE, angle_label=THIGH_LABEL, timing_note=None)

    @property
    def loading_first(self) -> bool:
        return self.rest_end == "extended"

    def __post_init__(self) -> None:
        if self.pose not in POSE_MODELS or self.rest_end not in REST_ENDS:
            raise ConfigError(f"exercise profile {self.key!r}: pose must be one of {POSE_MODELS}, rest_end one of {REST_ENDS}")
        object.__setattr__(self, "gates", MappingProxyType(dict(self.gates)))


PLANTED_GATES: dict[str, Any] = {
    # the slow ends of a shank excursion look still to the knee curl's gates and would bias the gyro
    "still_gyro_range_dps": 0.4, "still_tilt_deg": 0.1, "still_bias_gate_dps": 1.0,
    # the shank turns ~0.4-0.7x the knee, and a standing knee moves 30-60 deg, not 80-115: angles
    # and rates scaled down to match (a 12 s eccentric of 20 deg knee turns the shank at ~1.5 deg/s)
    "flexion_enter_dps": 3.0, "top_rate_dps": 2.0, "ecc_enter_dps": -1.0, "ecc_exit_dps": -0.8,
    "stall_floor_dps": 0.8, "motion_dps": 0.8, "flexion_min_deg": 4.0, "min_rom_deg": 8.0,
    "sign_excursion_deg": 8.0,
    # 1 deg of knee (the truth's onset/offset, science.md 5.9) is 0.4-0.7 deg of shank: the middle
    "refine_deg": 0.55,
    # the gates above keep a creeping shank out of the still windows already; read less gravity's
    # turn, the bias only took in the accelerometer's noise and the sway: on 60 simulated sessions,
    # runner's stretch onset |error| median 59 -> 61 ms (seeds 0-59), 51 -> 55 ms (240-299)
    "bias_less_gravity_turn": False,
}
STANDING_L_SHARE = {"knee_share_min": 0.4, "knee_share_max": 0.7, "knee_rom_min_deg": 30.0, "knee_rom_max_deg": 60.0}
"""The standing "L" bends the knee 30-60 deg and its shank turns 0.4-0.7 of that (bandlog.sim.planted):
a set's shank range then narrows the share, and each rep's refine_deg follows it (ImuSteps.refine_deg)."""
RUNNERS_STRETCH_SHARE = {"knee_share_min": 0.4, "knee_share_max": 0.7, "knee_rom_min_deg": 20.0, "knee_rom_max_deg": 67.0}
"""The runner's stretch straightens the knee from 35-70 deg to 3-15 deg, 20-67 deg in all
(bandlog.sim.planted), with the same share. That range says less about the share than the standing
"L"'s, and with onsets dated from the rest's top it made the onset P95 worse (seeds 0-59: 270 -> 281
ms). Dated from the rest's level (imu_steps.REST_LAG_S) it helps; bench/accuracy.py's scoring, onset
and offset |error| median / P95 (ms) without -> with it: seeds 0-59 48 / 239 -> 48 / 229 and 54 / 241 ->
52 / 234; 180-239 45 / 226 -> 41 / 224 and 50 / 259 -> 48 / 257; held out, 240-299 45 / 201 -> 42 / 206
and 56 / 253 -> 51 / 247, 480-539 44 / 194 -> 41 / 192 and 45 / 257 -> 42 / 245, 600-659 45 / 215 ->
41 / 204 and 57 / 246 -> 53 / 243."""
PLANTED_ANGLE = (
    "the shank's turn (deg, flexion positive) from where the recording began, not knee flexion: a planted "
    "shank turns too slowly for its direction in the sensor, hence its lean, to be learned from its motion"
)

PLANTED_TIMING = (
    "foot planted: the shin turns only part of the knee's movement and sways with the body, so each eccentric's "
    "start and end are less sure than in the reverse curl (typically within 0.06 s, but up to ~0.25 s against ~0.15 s); "
    "a second motion sensor on the thigh (record --thigh) takes both out"
)
"""bench/accuracy.py, 60 simulated sessions of each: onset/offset |error| median 45-52 ms, P95 222-234 ms
(seeds 0-59; 240-299: 39-51 and 206-247 ms; the reverse curl's IMU mode: 8-10 and 42 ms). The P95 needs the
sway and the share of the knee's turn the shin sees, and a shin sensor alone measures neither.
bench/standing_limits.py, seeds 0-59, the detector unchanged: with the model's sway taken out, P95 119-162
ms; with the true share given as well, 75-116 ms (the true share alone: 191-222 ms). A second IMU on the
thigh sees both (bandlog.detect.thigh, ExerciseProfile.with_thigh, which drops this note): median 8-11 ms,
P95 35-113 ms over the same two seed sets."""
PLANTED_LABEL = "shank turn from the start"
THIGH_ANGLE = (
    "the knee's turn (deg, flexion positive) from where the recording began: the shank sensor's turn less the "
    "thigh sensor's, so the body's sway cancels; not knee flexion from straight"
)
THIGH_LABEL = "knee turn from the start"
PLANTED_LEAD_IN = "the sensor first learns which way the shank turns, over the first three reps (gravity cannot tell it)"

DEFAULT_KEY = "reverse-curl"
PROFILES: dict[str, ExerciseProfile] = {
    p.key: p
    for p in (
        ExerciseProfile(DEFAULT_KEY, "reverse hamstring curl"),
        ExerciseProfile(
            "runners-stretch", "active runner's stretch", {**PLANTED_GATES, **RUNNERS_STRETCH_SHARE, "rep_min_s": 0.8},
            pose="planted", rest_end="flexed", angle_meaning=PLANTED_ANGLE, angle_label=PLANTED_LABEL, band_optional=True,
            lead_in_reason=PLANTED_LEAD_IN, timing_note=PLANTED_TIMING,
        ),
        ExerciseProfile(
            "standing-l", 'standing "L"', {**PLANTED_GATES, **STANDING_L_SHARE}, pose="planted", angle_meaning=PLANTED_ANGLE, angle_label=PLANTED_LABEL,
            band_optional=True, lead_in_reason=PLANTED_LEAD_IN, timing_note=PLANTED_TIMING,
        ),
        ExerciseProfile(
            "other", "other band exercise", {"min_rom_deg": 10.0, "rep_min_s": 0.8, "sign_excursion_deg": 20.0},
            pose="none", quick_loading=False,
            angle_meaning="angle about the main rotation axis (deg; from gravity with an accelerometer, else from the start)",
            angle_label="angle about the main axis",
        ),
    )
}
"""'other': any band exercise with the same sensors (shoulder rotations, rows...): absolute floors
only; above them the ROM gate is learned from the set (half the median range of the reps accepted
so far, min_rom_fraction), not from knee anatomy."""
ALIASES = {"knee": DEFAULT_KEY}
"""Older keys still accepted (scripts and logs from before the profiles)."""
CHOICES = (*PROFILES, *ALIASES)
"""Everything `--exercise` accepts."""


def exercise_profile(key: str) -> ExerciseProfile:
    """The profile for a key or alias; ConfigError naming the choices otherwise."""
    found = PROFILES.get(ALIASES.get(key, key))
    if found is None:
        raise ConfigError(f"exercise must be one of {', '.join(CHOICES)}, not {key!r}")
    return found


def profile_for_header(exercise: str | None) -> tuple[ExerciseProfile, str | None]:
    """(profile, note) for the exercise a log's header names (a key, alias or display name, any
    case). An unknown one (an old or foreign log's free text) falls back to the reverse curl, and the
    note says so; the note is None when the header named a profile."""
    text = (exercise or "").strip()
    folded = text.casefold()
    for profile in PROFILES.values():
        if folded in (profile.key, profile.name.casefold()):
            return profile, None
    if folded in ALIASES:
        return PROFILES[ALIASES[folded]], None
    fallback = PROFILES[DEFAULT_KEY]
    said = f"exercise {text!r}" if text else "no exercise"
    return fallback, f"the log names {said}, not a known profile: analysed as the {fallback.name} (--exercise picks another)"
