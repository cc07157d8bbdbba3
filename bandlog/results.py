"""Per-rep and per-set results, with exactly the column names `bandlog analyze` prints.

A field the signals cannot give (no IMU: no ROM; no force: no impulse) is None, never invented.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

TEMPO_CLASSES = ("slow", "moderate", "fast")
MODES = ("force+imu", "force", "imu")


@dataclass(frozen=True)
class RepMetrics:
    rep: int
    start_s: float
    ecc_start_s: float
    ecc_end_s: float
    ecc_duration_s: float
    tut_tension_s: float | None
    peak_force_n: float | None
    mean_ecc_force_n: float | None
    ecc_impulse_ns: float | None
    rom_deg: float | None
    mean_ecc_velocity_dps: float | None
    peak_ecc_velocity_dps: float | None
    tempo: str
    stalls: int
    flags: str
    """Semicolon-separated flags, e.g. 'drop;band_slack'; empty when none."""
    estimated: bool
    """True when eccentric timing comes from force alone (no IMU)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SetSummary:
    reps: int
    tut_ecc_s: float
    tut_tension_s: float | None
    mean_ecc_duration_s: float | None
    peak_force_n: float | None
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REP_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RepMetrics))
SUMMARY_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SetSummary))


def tempo_class(ecc_duration_s: float, target_ecc_s: float) -> str:
    """'slow' at or above the target, 'moderate' from 2 s up to it, 'fast' under 2 s."""
    if ecc_duration_s >= target_ecc_s:
        return "slow"
    if ecc_duration_s >= 2.0:
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
