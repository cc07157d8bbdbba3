"""Per-rep metrics a recording's measured sample rate cannot support, and the rate it measures.

A metric is left None in a rep when the rate measured in this recording (not the nominal one a
header claims) is below the metric's minimum in RATE_LIMITS, and the set summary says so. The
minimums are measured, not guessed: `python bench/rate_limits.py --sessions 30 --rates
5,8,10,12,15,20,25,30,40,50,100` simulates the motion model at each rate (BLE loss on, so 98.7 % of
the nominal rate is measured) and compares each metric with the truth. A rate passes while the P95
|error| stays within 2 points of the 100 Hz figure of the same run (agreement within 0.03):

- peak_ecc_velocity_dps: P95 |error| 6.3 % at 100 Hz, 6.6-7.7 % at 25-50 Hz, 8.2 % at 20 Hz, then
  8.9-9.1 % at 10-15 Hz and 13.5 % at 8 Hz: the peak of a velocity with 4-8 Hz tremor falls between
  samples. Lowest passing: 20 Hz nominal, 19.74 Hz measured; the table says 19.5 Hz (measured).
- peak_force_n: 11.4-11.7 % at every rate from 5 Hz (the band force changes slowly): no minimum.
- ecc_duration_s, mean_ecc_velocity_dps, rom_deg, the `drop` flag: within the 100 Hz figures from
  10 Hz (duration P95 3.9 % vs 2.5 %); at 8 Hz the motion detector finds the reps themselves only
  with F1 0.65 (0.935 at 10 Hz, 1.000 from 12 Hz), so they fail with it rather than on their own.
- stalls: 0.87 of reps agree with the truth at 10 Hz against 0.94 at 100 Hz (0.92 from 12 Hz); it is
  an integer column that is never None, so it is not in this table yet (making it nullable changes
  the reps columns every reader and the session index take).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RateLimit:
    """A metric the measured rate must reach min_rate_hz for, and its name in words for the note."""

    metric: str
    """A RepMetrics field that may be None."""
    label: str
    min_rate_hz: float


RATE_LIMITS: tuple[RateLimit, ...] = (RateLimit("peak_ecc_velocity_dps", "peak eccentric speed", 19.5),)
"""Minimums in measured Hz (what MeasuredRate gives), from the bench figures above."""
SEGMENTATION_MIN_RATE_HZ = 12.0
"""Below this measured rate the reps themselves are uncertain (rep F1 1.000 from 12 Hz, 0.935 at
10 Hz, 0.65 at 8 Hz in the bench above), and with them every tempo: the set's notes say so, as
tensr flags segmentation and tempo at 8 Hz. Their values stay (a rough count beats none), marked."""


def segmentation_note(rate_hz: float | None) -> str | None:
    """The set note for a recording too sparse to segment reliably; None when the rate suffices."""
    if rate_hz is None or rate_hz >= SEGMENTATION_MIN_RATE_HZ:
        return None
    return (f"reps and tempo uncertain: {rate_hz:.1f} Hz measured, {SEGMENTATION_MIN_RATE_HZ:g} Hz needed "
            "for reliable rep detection (a sensor set to a higher rate, or closer to the computer)")


class MeasuredRate:
    """Samples per second of covered time, gaps excluded, up to any time a rep ends.

    Each measured sample after the first of a gap-free stretch is one interval, covering the time
    since the measured sample before it (samples the front end filled in do not count). Intervals
    are held until a rep's end asks for the rate up to it, so the answer does not depend on how the
    samples were split into blocks: live and replay decide every rep alike.
    """

    def __init__(self) -> None:
        self._last_t_s: float | None = None
        self._intervals = 0
        self._covered_s = 0.0
        self._held_t_s: list[np.ndarray] = []
        self._held_covered_s: list[np.ndarray] = []

    def push(self, t_s: np.ndarray, real: np.ndarray, gap_before: np.ndarray) -> None:
        """One front-end frame: its sample times, which are measured, which follow a gap."""
        measured_t_s = t_s[real]
        if len(measured_t_s) == 0:
            return
        previous = np.concatenate([[np.nan if self._last_t_s is None else self._last_t_s], measured_t_s[:-1]])
        covered_s = np.where(gap_before[real] | np.isnan(previous), np.nan, measured_t_s - previous)
        self._last_t_s = float(measured_t_s[-1])
        self._held_t_s.append(measured_t_s)
        self._held_covered_s.append(covered_s)

    def until(self, t_s: float) -> float | None:
        """The rate (Hz) over the samples up to t_s; None before any interval."""
        if self._held_t_s:
            held_t = np.concatenate(self._held_t_s)
            held_covered = np.concatenate(self._held_covered_s)
            upto = int(np.searchsorted(held_t, t_s, side="right"))
            self._fold(held_covered[:upto])
            self._held_t_s, self._held_covered_s = [held_t[upto:]], [held_covered[upto:]]
        return self._intervals / self._covered_s if self._covered_s > 0 else None

    def overall(self) -> float | None:
        """The rate (Hz) over every sample pushed so far (the held ones stay held for later reps)."""
        held = np.concatenate(self._held_covered_s) if self._held_covered_s else np.empty(0)
        counted = held[np.isfinite(held)]
        covered_s = self._covered_s + float(counted.sum())
        return (self._intervals + len(counted)) / covered_s if covered_s > 0 else None

    def _fold(self, covered_s: np.ndarray) -> None:
        counted = covered_s[np.isfinite(covered_s)]
        self._intervals += len(counted)
        self._covered_s += float(counted.sum())
