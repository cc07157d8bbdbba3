"""Per-rep and per-set results, with exactly the column names `bandlog analyze` prints.

A field the signals cannot give (no IMU: no ROM; no force: no impulse) is None, never invented.
Every loading cycle the detector segments is a row, whether or not it held a controlled eccentric:
a cycle without one keeps its tension fields, its `ecc_*` fields are None, and `flags` says why.
Candidates that were not reps at all (fidgeting, re-anchoring, a data gap) are not rows; they are
RejectedCandidates, counted in the summary and listed beside the reps.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from bandlog.core.errors import ConfigError

TEMPO_CLASSES = ("slow", "moderate", "fast")
NO_TEMPO = "none"
"""Tempo of a cycle with no eccentric to time (an isometric pull, a hold released at once)."""
MODES = ("force+imu", "force", "imu")

REP_FLAGS: dict[str, str] = {
    "no_eccentric": "the load came off without a controlled eccentric to time",
    "isometric": "force held near its peak with little movement, then released (a pull or hold)",
    "fast_release": "the eccentric took under 1 s: the band was let go rather than lowered",
    "truncated": "the recording started or ended inside this cycle; its numbers are partial",
    "drop": "control lost: a burst over 3x the eccentric's median moving speed (stalls left out)",
    "band_slack": "the knee moved but the band force did not follow (slack band or slipped sensor)",
    "saturated": "the force reached the sensor's range limit and clipped: peak, mean force and impulse read low",
}
"""Every flag a rep row can carry, with the sentence the CLI and report show for it."""


@dataclass(frozen=True)
class RepMetrics:
    rep: int
    start_s: float
    """Where the cycle began (flexion or force rise); never before the previous row's end_s."""
    end_s: float
    """Where the cycle ended (the eccentric's end, or the force back at rest)."""
    ecc_start_s: float | None
    ecc_end_s: float | None
    ecc_duration_s: float | None
    """None when the cycle had no eccentric to time (see flags)."""
    tut_tension_s: float | None
    peak_force_n: float | None
    mean_ecc_force_n: float | None
    ecc_impulse_ns: float | None
    rom_deg: float | None
    mean_ecc_velocity_dps: float | None
    peak_ecc_velocity_dps: float | None
    tempo: str
    """One of TEMPO_CLASSES, or NO_TEMPO when ecc_duration_s is None."""
    stalls: int
    flags: str
    """Semicolon-separated REP_FLAGS keys, e.g. 'drop;band_slack'; empty when none."""
    estimated: bool
    """True when eccentric timing comes from force alone (no IMU)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RejectedCandidate:
    """Something that started like a rep but was not one; `code` is a REJECT_REASONS key."""

    start_s: float
    detected_at_s: float
    code: str
    reason: str
    """One sentence with the measured numbers, e.g. 'range of motion 12 deg, under 30 deg'."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REJECT_REASONS: dict[str, str] = {
    "small_range": "movement too small for a rep",
    "too_short": "over too quickly for a rep",
    "too_long": "lasted too long for a rep",
    "no_force_drop": "the force never came down",
    "grab": "force up and straight down again (the band grabbed or re-tied)",
    "weak": "force rise far below the set's working range",
    "data_gap": "a hole in the data",
    "cut_start": "the recording began inside a cycle, too late in it to count",
    "rest_shift": "the force settled at a new resting level (slack taken up, band re-tied)",
    "never_stopped": "flexion or force rise never stopped",
    "off_axis": "the sensor turned more across the knee than about it (handled, or the leg moved as a whole)",
    "sensor_moved": "the sensor was moved on the leg during it",
    "axis_reversed": "the knee axis was found to point the other way during it",
}
"""Why a candidate is not a rep: code -> the words the table's footnote uses."""
REJECTED_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RejectedCandidate))


@dataclass(frozen=True)
class SetSummary:
    reps: int
    """Loading cycles (rows), with or without an eccentric."""
    tut_ecc_s: float
    tut_tension_s: float | None
    mean_ecc_duration_s: float | None
    peak_force_n: float | None
    mode: str
    eccentrics: int = 0
    """Rows with a timed eccentric (the others are flagged no_eccentric)."""
    rejected: int = 0
    """Candidates the detector saw and did not count as reps (listed as RejectedCandidates)."""
    notes: str = ""
    """Semicolon-separated guesses the detector had to make, e.g. how it started without a still
    window; empty when it made none."""
    samples_filled: int = 0
    """Channel values that were missing (NaN, +-inf, an empty or corrupt cell) and were filled by
    interpolation from the same channel's neighbours, like a lost packet: each costs one value."""
    samples_dropped: int = 0
    """Samples not analysed: their time was not a number or did not advance, or they sat in a run of
    missing values too long to fill (analysed as a gap in the data)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SetRating:
    """How a set felt, rated by the user after it (Exxentric kMeter's per-set RPE and pain, 0-10).

    Either may be None (not asked, or skipped). `t_s` is the recording's device time when it was
    given, so a replay puts it back in the same place."""

    set_number: int
    rpe: int | None
    pain: int | None
    t_s: float

    def __post_init__(self) -> None:
        if isinstance(self.set_number, bool) or not isinstance(self.set_number, int) or self.set_number < 1:
            raise ConfigError(f"a set rating needs a set number from 1, not {self.set_number!r}")
        for name in ("rpe", "pain"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10):
                raise ConfigError(f"{'RPE' if name == 'rpe' else 'pain'} is a whole number from 0 to 10, not {value!r}")
        if not math.isfinite(self.t_s):
            raise ConfigError(f"a set rating needs a finite time, not {self.t_s!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RepMetrics))
SUMMARY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SetSummary))


FAST_UNDER_S = 2.0
"""An eccentric shorter than this is 'fast', whatever the target."""


ADHERENCE_TOLERANCE = 0.2
"""A rep adheres to its prescribed tempo when its eccentric lasts target +- 20 % (tensr's adherence
rule, science.md 4): the one rule behind the index's adherence, the charts' "on target" colour and a
plan's reps on tempo."""


def adheres(ecc_duration_s: Any, target_ecc_s: Any) -> Any:
    """Whether an eccentric (or each of a Series or array) lies in the target band."""
    return abs(ecc_duration_s - target_ecc_s) <= ADHERENCE_TOLERANCE * target_ecc_s


def tempo_class(ecc_duration_s: float | None, target_ecc_s: float) -> str:
    """'slow' at or above the target, 'moderate' from FAST_UNDER_S up to it, 'fast' under it, 'none' without one."""
    if ecc_duration_s is None:
        return NO_TEMPO
    if ecc_duration_s >= target_ecc_s:
        return "slow"
    if ecc_duration_s >= FAST_UNDER_S:
        return "moderate"
    return "fast"


TENSION_FRACTION = 0.2
"""The band counts as 'under tension' above rest + 20 % of the working range (science.md 5.4)."""


def tension_threshold_n(rest_force_n: float, peak_force_n: float) -> float:
    """Force above which time counts toward TUT_tension: F_rest + 20 % (F_peak - F_rest).

    F_rest is the band force at the bottom rests (slack level), F_peak the typical (median) rep peak.
    Simulation truth and the detector both use this one definition, so their TUTs are comparable.
    """
    return rest_force_n + TENSION_FRACTION * (peak_force_n - rest_force_n)
