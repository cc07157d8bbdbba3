"""Loss-of-eccentric-control rules, applied live to the detector's events within one set.

All three are decided on the finished rep (RepCompleted), about 1.3 s after the eccentric's end: the
detector sends it once the knee has settled, and no earlier event carries what the rules need.

- fast: the eccentric lasted under FAST_FRACTION of the plan's (and never less than the detector's
  own `fast_release` line, 1 s, so every rep it flags is one). The earlier EccentricEnded
  (about 0.1 s after the end) is not used: its end is an estimate that a stall near the bottom makes
  early, and on the motion model it called stalled 2.7 s eccentrics fast (3 false cues in 6 sessions,
  bench/coach_accuracy.py), where the final timing does not.
- drop: the detector flags `drop` (a burst over 3x the eccentric's median moving speed) only when the rep
  is complete; no earlier event carries it. It needs a motion sensor: force alone cannot see the
  knee's speed.
- under: a rep short of the plan's tempo band (Plan.under: under ecc_s - 20 %, final timing; a row
  with no eccentric counts as short) right after another one in the same set; every further one in
  the run fires again. A rep slower than the band is off tempo but not a loss of control.
"""

from __future__ import annotations

from bandlog.coach.events import ControlLost
from bandlog.coach.plan import Plan
from bandlog.core.events import RepCompleted

FAST_FRACTION = 0.5
"""An eccentric under half the planned one was let go, not lowered: with the motion model's fast
reps (1.0-1.9 s) and compliant ones (2.1 s and up) a 4 s plan puts the line in the gap between them."""
FAST_RELEASE_S = 1.0
"""The detector's `fast_release` flag line (README: 'the eccentric took under 1 s')."""


class ControlRules:
    """Per-set state of the rules; `reset()` at each set's start (runs do not cross sets)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.fast_limit_s = max(FAST_FRACTION * plan.ecc_s, FAST_RELEASE_S)
        self._under_run = 0

    def reset(self) -> None:
        self._under_run = 0

    def on_rep(self, event: RepCompleted, set_number: int, rep: int) -> list[ControlLost]:
        """The ControlLost events a finished rep gives (drop, fast, under), in that order."""
        m = event.metrics
        at_s = m.ecc_end_s if m.ecc_end_s is not None else m.end_s
        flags = m.flags.split(";")
        lost: list[ControlLost] = []
        if "drop" in flags:
            speed = f"peak {m.peak_ecc_velocity_dps:.0f} deg/s" if m.peak_ecc_velocity_dps is not None else "a burst"
            lost.append(ControlLost("drop", set_number, rep, at_s, event.detected_at_s, f"{speed}: over 3x the eccentric's median moving speed"))
        if m.ecc_duration_s is not None and m.ecc_duration_s < self.fast_limit_s:  # covers the detector's fast_release
            lost.append(ControlLost("fast", set_number, rep, at_s, event.detected_at_s, self._fast_words(m.ecc_duration_s)))
        if not self.plan.under(m.ecc_duration_s):
            self._under_run = 0
        else:
            self._under_run += 1
            if self._under_run >= 2:
                timed = f"{m.ecc_duration_s:.1f} s" if m.ecc_duration_s is not None else "none timed"
                lost.append(ControlLost(
                    "under", set_number, rep, at_s, event.detected_at_s,
                    f"{self._under_run} eccentrics in a row short of the planned {self.plan.ecc_s:g} s -20 % (this one {timed})",
                ))
        return lost

    def _fast_words(self, duration_s: float) -> str:
        line = f"half the planned {self.plan.ecc_s:g} s" if self.fast_limit_s > FAST_RELEASE_S else "the fast-release line"
        return f"eccentric {duration_s:.1f} s, under {self.fast_limit_s:.1f} s ({line})"
