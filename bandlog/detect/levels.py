"""Force levels learned online: the band's rest (slack-side) force and the typical rep peak.

Both TUT_tension's threshold and the force gates of the detector are relative to these, so they
adapt to any band colour, strand count or tare without configuration (science.md 5.3-5.4).
"""

from __future__ import annotations

import statistics

from bandlog.results import tension_threshold_n

MAX_REST_SAMPLES = 4000
"""Cap on samples kept per rest period (its median is all that is used)."""


class ForceLevels:
    def __init__(self) -> None:
        self.rest_levels_n: list[float] = []
        self.peaks_n: list[float] = []
        self._current_rest: list[float] = []

    def rest_sample(self, force_n: float) -> None:
        """A force sample taken while the leg rests at the bottom."""
        if len(self._current_rest) < MAX_REST_SAMPLES:
            self._current_rest.append(force_n)

    def close_rest(self) -> None:
        """The rest period ended: keep its median as one rest level."""
        if self._current_rest:
            self.rest_levels_n.append(statistics.median(self._current_rest))
            self._current_rest = []

    def add_peak(self, peak_n: float) -> None:
        self.peaks_n.append(peak_n)

    def rest_n(self) -> float | None:
        if self.rest_levels_n:
            return statistics.median(self.rest_levels_n[-15:])
        if self._current_rest:
            return statistics.median(self._current_rest)
        return None

    def peak_n(self) -> float | None:
        return statistics.median(self.peaks_n[-15:]) if self.peaks_n else None

    def range_n(self) -> float | None:
        """Working range R = typical peak - rest, or None before the first rep."""
        rest, peak = self.rest_n(), self.peak_n()
        if rest is None or peak is None or peak <= rest:
            return None
        return peak - rest

    def threshold_n(self) -> float | None:
        rest, peak = self.rest_n(), self.peak_n()
        if rest is None or peak is None:
            return None
        return tension_threshold_n(rest, peak)
