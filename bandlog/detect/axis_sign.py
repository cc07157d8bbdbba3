"""Which way round the knee axis points: flexion positive, decided from all the evidence.

A gyro strapped on any way round measures the knee rate up to a sign. Getting it wrong inverts a
whole session (every passive flexion reported as an eccentric), so no single early cue decides it:

1. The pose (accelerometer; knee exercise only): near horizontal the shank's ankle end is in front
   of the knee, never behind it (tilt.py). Geometric, and needs no particular movement.
2. The band force *level* against the knee angle over a whole excursion out and back. Beyond the
   first ~30 degrees the band always lengthens with flexion, whatever the anchor height, so the
   correlation is strongly positive over a rep. (The force *slope* over the first degrees is not:
   an anchor below the knee makes the band shortest at 15-30 degrees, science.md 1.4, and the
   filtered slope lags a fast flexion.)
3. The movement pattern: the loading flexion is much quicker than the controlled return (knee
   exercises), and the limb rests at its rest end between reps (more slow time at that end): the
   extended end for most exercises, the flexed end for one that starts bent (the runner's stretch,
   bandlog.detect.exercises). With the foot planted there is no pose to wait for, so the pattern
   waits for PATTERN_EXCURSIONS whole excursions instead of deciding on the first.

Without a pose, nothing is decided before one whole excursion out and back has been seen; the
analyzer holds those samples and replays them once the sign is known, so the first rep is kept.
"""

from __future__ import annotations

import math

import numpy as np

FORCE_CORRELATION_MIN = 0.3
"""|corr(angle, force)| needed for the force level to decide the sign."""
BAND_SHARE = 0.3
"""An excursion visits the low and the high end: within this share of the span from each end."""
SLOW_DPS = 10.0
"""Slower than this counts as dwelling (resting or holding) for the pattern cue."""
MOVING_SHARE = 0.1
"""by_time: faster than this share of the slower direction's 95th-percentile rate counts as moving."""
MAX_WAIT_S = 60.0
"""Decide with the evidence there is once the knee has been moving this long without a full excursion
(counted from when it first turned half an excursion: an axis learned from a fidget in a long rest
must not decide on the rest's tremor)."""
PATTERN_EXCURSIONS = 3
"""With an accelerometer the pose usually decides within a rep; the pattern alone waits this many
whole excursions for it first."""


class SignEvidence:
    """Collects unsigned knee angle, rate and force until the sign can be decided."""

    def __init__(
        self, dt_s: float, excursion_deg: float, use_force: bool, quick_loading: bool = True, rest_flexed: bool = False,
        by_time: bool = False,
    ) -> None:
        self.dt_s = dt_s
        self.quick_loading = quick_loading
        """Knee exercise: the loading (passive flexion) is much quicker than the return."""
        self.rest_flexed = rest_flexed
        """The limb rests bent between reps (each rep starts with the eccentric): the dwell cue and the
        first-movement guess point the other way."""
        self.by_time = by_time
        """Which way is the loading is read from the time spent moving each way over all the reps
        seen, not from the fastest moments: with the foot planted the shank turns slowly both ways,
        and one rushed eccentric must not outrun the flexions (exercise profiles, pose 'planted')."""
        self.excursion_deg = excursion_deg
        self.use_force = use_force
        self.angle_deg: list[float] = []
        self.rate_dps: list[float] = []
        self.force_n: list[float] = []
        self._lo = math.inf
        self._hi = -math.inf
        self._end = 0
        """-1 low end, +1 high end, 0 neither yet."""
        self.switches = 0
        self._moving_from: int | None = None
        """Samples seen when the angle had first spanned half an excursion (MAX_WAIT_S counts from there)."""
        self._tried_at = -1
        """`switches` at the last decide(): a new try waits for the next end of an excursion."""
        self.how = ""
        """Which cue decided, in words."""
        self.guessed = False
        """True when only the movement pattern (or less) decided: weak enough to tell the user."""

    def fresh(self) -> SignEvidence:
        """An empty collector with the same settings (the knee axis is being learned afresh)."""
        return SignEvidence(self.dt_s, self.excursion_deg, self.use_force, self.quick_loading, self.rest_flexed, self.by_time)

    def add(self, angle_u_deg: float, rate_u_dps: float, force_n: float) -> None:
        self.angle_deg.append(angle_u_deg)
        self.rate_dps.append(rate_u_dps)
        self.force_n.append(force_n)
        self._lo = min(self._lo, angle_u_deg)
        self._hi = max(self._hi, angle_u_deg)
        span = self._hi - self._lo
        if self._moving_from is None and span >= 0.5 * self.excursion_deg:
            self._moving_from = len(self.angle_deg)
        if span < self.excursion_deg:
            return
        end = -1 if angle_u_deg < self._lo + BAND_SHARE * span else 1 if angle_u_deg > self._hi - BAND_SHARE * span else 0
        if end != 0 and end != self._end:
            if self._end != 0:
                self.switches += 1
            self._end = end

    def ready(self) -> bool:
        """One whole excursion out and back (two end-to-end passes), or waited long enough; and
        something new since the last try (decide reads the whole buffer, so not every sample)."""
        return self._timed_out() or (self.switches >= 2 and self.switches != self._tried_at)

    def _timed_out(self) -> bool:
        return self._moving_from is not None and (len(self.angle_deg) - self._moving_from) * self.dt_s >= MAX_WAIT_S

    def decide(self, patient: bool = False) -> int:
        """+1 or -1 from the force level if it is clear, else from the movement pattern; 0 to keep
        waiting when `patient` (a pose may still come, or the foot is planted and no pose will) and
        fewer than PATTERN_EXCURSIONS whole excursions have been seen."""
        self._tried_at = self.switches
        angle = np.asarray(self.angle_deg)
        if self.use_force:
            force = np.asarray(self.force_n)
            if angle.std() > 0 and force.std() > 0:
                r = float(np.corrcoef(angle, force)[0, 1])
                if abs(r) >= FORCE_CORRELATION_MIN:
                    self.how = f"axis sign from the band force rising with flexion (r = {abs(r):.2f})"
                    return 1 if r > 0 else -1
        if patient and self.switches < 2 * PATTERN_EXCURSIONS and not self._timed_out():
            return 0
        return self._from_pattern(angle, np.asarray(self.rate_dps))

    def _from_pattern(self, angle: np.ndarray, rate: np.ndarray) -> int:
        span = float(angle.max() - angle.min()) if angle.size else 0.0
        slow = np.abs(rate) < SLOW_DPS
        low_end = angle < angle.min() + BAND_SHARE * span
        high_end = angle > angle.max() - BAND_SHARE * span
        dwell = float(np.count_nonzero(slow & low_end) - np.count_nonzero(slow & high_end))
        dwell_vote = float(np.sign(dwell)) if abs(dwell) * self.dt_s >= 0.5 else 0.0
        rest = -1 if self.rest_flexed else 1
        dwell_vote *= rest
        up = float(np.percentile(rate[rate > 0], 95)) if (rate > 0).any() else 0.0
        down = float(np.percentile(-rate[rate < 0], 95)) if (rate < 0).any() else 0.0
        speed_vote = float(np.sign(up - down)) if max(up, down) > 1.2 * min(up, down) else 0.0
        if self.by_time:  # the loading is the shorter way over the whole set, whatever the fastest reps did
            moving = MOVING_SHARE * min(up, down)
            time_up, time_down = float(np.count_nonzero(rate > moving)), float(np.count_nonzero(rate < -moving))
            speed_vote = float(np.sign(time_down - time_up)) if max(time_up, time_down) > 1.2 * min(time_up, time_down) else 0.0
        # the knee is pushed into flexion passively (0.8-2 s) and lowered slowly (3-6 s): speed
        # first; other exercises load and return at similar speeds, so where the limb rests first
        score = speed_vote + 0.5 * dwell_vote if self.quick_loading else dwell_vote + 0.5 * speed_vote
        self.guessed = True
        self.how = "axis sign from the movement (the leg rests at its rest end between reps; loading is the quicker way)"
        if score == 0.0:
            self.how = "axis sign guessed: the first movement taken as leaving the rest end (no force, pose or pattern to tell)"
            first_move = angle[np.argmax(np.abs(angle - angle[0]) > 0.2 * span)] - angle[0] if span > 0 else 1.0
            return rest if first_move >= 0 else -rest
        return 1 if score > 0 else -1


REVIEW_CORRELATION = -0.3
"""A finished rep whose band force correlates below this with its knee angle contradicts the sign."""
REVIEW_CONTRADICTIONS = 2
"""Consecutive contradicting reps that reverse the sign."""


class SignReview:
    """Keeps checking the decided sign against every finished force+IMU rep (the force level must
    rise with flexion over a whole rep, whatever the anchor): two contradicting reps in a row
    reverse it, so one early guess cannot invert the rest of a session."""

    def __init__(self) -> None:
        self.contradicting = 0

    def contradicts(self, angle_deg: np.ndarray, force_n: np.ndarray) -> bool:
        """True when this rep makes REVIEW_CONTRADICTIONS in a row: the sign should be reversed."""
        if angle_deg.size < 3 or angle_deg.std() == 0 or force_n.std() == 0:
            return False
        r = float(np.corrcoef(angle_deg, force_n)[0, 1])
        self.contradicting = self.contradicting + 1 if r < REVIEW_CORRELATION else 0
        if self.contradicting >= REVIEW_CONTRADICTIONS:
            self.contradicting = 0
            return True
        return False
