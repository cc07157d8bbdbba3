"""Band wear or a moved anchor: the drift of a band's curve across the sessions it was used in.

Each session's eccentric branch is compared with the first session's of the same band label: the
median log ratio of their forces at the same angles over the range both cover. One ratio is noisy:
setting up again moves the anchor and re-ties the band, and McMaster 2010 found 3.5-5.2 % of resting
length worth 8-19 % of tension within one colour (science.md 1.2). So a single session says little;
the trend does. A straight line through the ratios against days (Theil-Sen: the median of the
slopes between pairs of sessions, so one badly set-up session does not tilt it) gives the drift over
the span, and the scatter of the sessions about that line (the person's own re-setup noise, as a
median absolute deviation) gives its standard error. The drift is flagged when it is both beyond
drift_margin standard errors (2 at 12 sessions, more with fewer) and beyond MIN_DRIFT in size: a drop is a wearing band (or an anchor moved closer), a rise a moved anchor
or another band under the same label. Pure: days and curves in, a verdict with its figures out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bandlog.core.robust import MAD_TO_SD
from bandlog.detect.explain import counted
from bandlog.progress.band_curve import BranchCurve, log_ratio

MIN_SESSIONS = 5
"""Fewer sessions with a curve cannot separate a trend from re-setup scatter."""
T975 = {3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179,
        13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086}
"""Student's t, 97.5 % quantile, by degrees of freedom (sessions - 2); see drift_margin."""
DRIFT_SE = 2.0
"""Standard errors a drift must pass at 12 sessions. Chosen on 100 + 100 simulated histories of 12
sessions (people 1100-1199 of bench/band_curve.py, not the ones it reports): 2.0 detected 91 % of 15 %
losses with 4 % false alarms, 2.5 89 % / 4 %, 3.0 79 % / 3 %."""


def drift_margin(sessions: int) -> float:
    """DRIFT_SE at 12 sessions, widened or narrowed as Student's t is for more or fewer (a line through
    6 sessions needs 2.5 standard errors); beyond 22 sessions t is taken as 2.0."""
    return DRIFT_SE * T975.get(sessions - 2, 2.0) / T975[10]
MIN_DRIFT = 0.07
"""... and only when it is at least this large (log ratio, ~7 %): a smaller one changes no prescription."""


@dataclass(frozen=True)
class BandDrift:
    """The curve's drift across one band label's sessions, with the figures that justify the verdict."""

    label: str
    sessions: int
    """Sessions whose curve was compared (with the reference)."""
    skipped: int
    """Sessions without an eccentric branch or overlapping the reference by too little."""
    span_days: float
    drift: float
    """Fitted change over the span, as a fraction (-0.14: force down 14 %); NaN with too few sessions."""
    scatter: float
    """Session-to-session scatter about the trend (fraction)."""
    drift_se: float
    lo_deg: float
    hi_deg: float
    flagged: bool

    def sentence(self) -> str:
        """What `sessions` and the report show."""
        if math.isnan(self.drift):
            skipped = f"; {self.skipped} without a usable curve" if self.skipped else ""
            return f"{self.label}: band curve in {counted(self.sessions, 'session')}{skipped}, {MIN_SESSIONS} needed to judge wear"
        way = "down" if self.drift < 0 else "up"
        weeks = self.span_days / 7
        span = f"{weeks:.0f} weeks" if weeks >= 1.5 else f"{self.span_days:.0f} days"
        figures = (f"{self.label}: force at {self.lo_deg:.0f} to {self.hi_deg:.0f} deg {way} {abs(self.drift) * 100:.0f} % "
                   f"over {span} ({self.sessions} sessions; ")
        noise = f"the {self.threshold * 100:.0f} % their {self.scatter * 100:.0f} % session-to-session scatter explains)"
        if not self.flagged:
            return figures + "within " + noise
        why = "band wearing, or the anchor moved" if self.drift < 0 else "the anchor moved, or another band under this label"
        return figures + "beyond " + noise + f": {why}"

    @property
    def threshold(self) -> float:
        """The smallest drift flagged (fraction): drift_margin standard errors, at least MIN_DRIFT."""
        return math.expm1(max(drift_margin(self.sessions) * self.drift_se, MIN_DRIFT))


def band_drift(label: str, days: Sequence[float], curves: Sequence[BranchCurve | None]) -> BandDrift:
    """Drift of one label's eccentric-branch curves (oldest first, `days` since any fixed day)."""
    reference = next((c for c in curves if c is not None), None)
    ratios, when, los, his = [], [], [], []
    for day, curve in zip(days, curves, strict=True):
        if curve is None or reference is None:
            continue
        ratio, lo, hi = log_ratio(curve, reference)
        if math.isnan(ratio):
            continue
        ratios.append(ratio)
        when.append(float(day))
        los.append(lo)
        his.append(hi)
    n = len(ratios)
    skipped = len(curves) - n
    lo_deg, hi_deg = (statistics.median(los), statistics.median(his)) if n else (math.nan, math.nan)
    span = (max(when) - min(when)) if n else 0.0
    if n < MIN_SESSIONS or span <= 0:
        return BandDrift(label, n, skipped, span, math.nan, math.nan, math.nan, lo_deg, hi_deg, False)
    pairs = [(ratios[j] - ratios[i]) / (when[j] - when[i]) for i in range(n) for j in range(i + 1, n) if when[j] > when[i]]
    slope = statistics.median(pairs)  # Theil-Sen: one session set up badly does not tilt the line
    residual = [y - slope * t for t, y in zip(when, ratios, strict=True)]
    centre = statistics.median(residual)
    scatter = MAD_TO_SD * statistics.median(abs(r - centre) for r in residual)  # the person's re-setup scatter, robustly
    mean_day = statistics.fmean(when)
    se = scatter / math.sqrt(sum((t - mean_day) ** 2 for t in when)) * span
    drift_log = slope * span
    flagged = abs(drift_log) >= max(drift_margin(n) * se, MIN_DRIFT)
    return BandDrift(label, n, skipped, span, math.expm1(drift_log), math.expm1(scatter), se, lo_deg, hi_deg, flagged)
