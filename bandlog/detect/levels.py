"""Force levels learned online: the band's rest (bottom) force and the working range of the reps.

Load cells drift (0.1-1 N/min), so the rest level that matters is the latest one, and each rep's
range is measured from the rest just before it: R = median over reps of (peak - rest). The
TUT_tension threshold of a rep is then its own rest + 20 % R (results.tension_threshold_n), which
stays right however far the zero has wandered. Nothing here needs configuring per band.
"""

from __future__ import annotations

import statistics

from bandlog.core.results import tension_threshold_n

MAX_REST_SAMPLES = 4000
"""Rest samples a rest period's level is the median of: its newest, since the zero drifts through a
long rest (up to twice as many are held between trims)."""
MIN_REST_SAMPLES = 5
RECENT_REST = 400
RECENT_REPS = 15
GATE_REPS = 3


class ForceLevels:
    def __init__(self) -> None:
        self.last_rest_n: float | None = None
        self.ranges_n: list[float] = []
        self.peaks_n: list[float] = []
        self._current_rest: list[float] = []

    def rest_sample(self, force_n: float) -> None:
        """A force sample taken while the leg rests at the bottom."""
        self._current_rest.append(force_n)
        self._trim()

    def rest_samples(self, forces_n: list[float]) -> None:
        """Force samples taken while the leg rests, in order (rest_sample for each)."""
        self._current_rest.extend(forces_n)
        self._trim()

    def _trim(self) -> None:
        """Drop all but the newest MAX_REST_SAMPLES once twice that many are held (memory stays
        bounded; every reader looks at the newest MAX_REST_SAMPLES or fewer)."""
        if len(self._current_rest) > 2 * MAX_REST_SAMPLES:
            del self._current_rest[:-MAX_REST_SAMPLES]

    def close_rest(self) -> None:
        """The rest period ended: the median of its newest samples becomes the latest rest level.
        (The oldest would hold a level the zero has since drifted from: through a 2.5 min rest
        between sets a load cell can wander by more than a light band's pull.)"""
        if len(self._current_rest) >= MIN_REST_SAMPLES:
            self.last_rest_n = statistics.median(self._current_rest[-MAX_REST_SAMPLES:])
        self._current_rest = []

    def shift_rest(self, level_n: float) -> None:
        """The force settled at a new resting level (a band slack and taken up again, re-tied, moved
        to the other leg): it is the rest from here on, not the start of a rep."""
        self.last_rest_n = level_n
        self._current_rest = []

    def add_rep(self, rest_n: float, peak_n: float) -> None:
        if peak_n > rest_n:
            self.ranges_n.append(peak_n - rest_n)
            self.peaks_n.append(peak_n)

    def rest_n(self) -> float | None:
        """The latest rest level (the rest in progress once it has a few samples)."""
        if len(self._current_rest) >= MIN_REST_SAMPLES:
            return statistics.median(self.rest_window_n())
        return self.last_rest_n

    def rest_window_n(self) -> list[float]:
        """The rest samples the level in progress is the median of (the newest RECENT_REST)."""
        return self._current_rest[-RECENT_REST:]

    def range_n(self) -> float | None:
        """Working range R = typical rep peak - rest, or None before the first rep."""
        return statistics.median(self.ranges_n[-RECENT_REPS:]) if self.ranges_n else None

    def gate_range_n(self) -> float | None:
        """The range the start and 'weak' gates compare a new rep with: the last GATE_REPS reps
        only, so a set that weakens (fatigue, a lighter band) is followed within a few reps."""
        return statistics.median(self.ranges_n[-GATE_REPS:]) if self.ranges_n else None

    def peak_n(self) -> float | None:
        return statistics.median(self.peaks_n[-RECENT_REPS:]) if self.peaks_n else None

    def threshold_n(self, rest_n: float) -> float | None:
        """TUT_tension threshold for a rep whose bottom rest force is rest_n."""
        working = self.range_n()
        if working is None:
            return None
        return tension_threshold_n(rest_n, rest_n + working)
