"""The band's own force-against-angle curve, fitted per session from any force+IMU log.

A band's tension is a function of its stretch, and with one anchor and one shank the stretch is a
function of the knee angle; so force against angle, over a session, traces the band's law in this
person's setup (science.md 1.4). Rubber is hysteretic (1.3): the force while the knee flexes (the
loading direction for an anchor in front) sits above the force while it extends, so each direction is
its own branch, split by the sign of the knee rate. Still samples (tremor, holds where the band
relaxes) and fast ones (where the band's viscous branch adds up to ~20 % during a 200 deg/s flexion)
are left out and counted; so are samples within TURN_DEG (extending) or FLEXION_TURN_DEG (flexing) of
the knee's last turn, where the band is still passing from one branch to the other. Each branch is a
cubic in angle fitted to 2-degree bin medians (robust to a
drop, a first-rep Mullins overshoot or a spike), over the angles actually visited: the curve has a
range and is never evaluated outside it. The angle is whatever the caller gives (the shank's world
pitch for bandlog's own use, so the assumed thigh pitch never enters).

Given the samples' times, the load cell's zero drift since its tare (linear in time, 0.1-1 N/min,
science.md 6.5) is estimated together with the curve: force = curve(angle, branch) + c t. It is
identifiable because every rep visits the same angles again later. What else changes with time
moves the estimate too (an absolute angle still settling over the first reps, a shrinking range of
motion), so its standard error is the one from leaving each of DRIFT_BLOCKS time blocks out in turn
(not the fit's own, which ignores those), and what is taken out is the estimate weighted against
the drift a load cell has at all (DRIFT_PRIOR_N_PER_MIN): c x prior^2 / (prior^2 + SE^2), the
expected drift given both. A drift the data pin down is taken out whole, a loose estimate mostly
not; the curve is then the one at the tare (t = 0). The estimate, its error and what was taken out
are said in describe().

Given the times, the band's viscous force is estimated and taken out first (science.md 1.3: dF_v/dt =
k_v de/dt - F_v/tau, 2-6 % of the force while stretching at 40 %/s): it lifts the flexion branch (fast)
and lowers the extension branch; with it left in, the fit alone (bench/band_curve.py, the model's own
angle and tension) was off by +1.4 % on flexion and -1.2 % on extension at the median, P95 5.2 and
4.4 %. The stretch e is read from the session's own first curve (F ~ e^n, 1.1), the relaxation time is
taken as VISCOUS_TAU_S, and one k_v, shared by both branches, is fitted with a cubic per branch and the
drift over the samples DRIFT_TURN_DEG past a turn (the hysteresis switch nearer would read as a
viscous force). With it out, samples up to SLOW_FAST_DPS are kept. Estimate and removal are said in
describe(). Pure: arrays in, numbers out.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from bandlog.core.robust import MAD_TO_SD

if TYPE_CHECKING:  # numpy is imported where a curve is fitted or drawn: a warm `bandlog sessions` compares curves without it
    import numpy as np

BRANCHES = ("flexion", "extension")
"""flexion: knee rate > 0 (the band loading for an anchor in front); extension: the eccentric."""
STILL_DPS = 3.0
"""Samples slower than this are holds or tremor: left out (the band relaxes while held)."""
FAST_DPS = 90.0
"""Samples faster than this are transients where the viscous branch dominates: left out (up to
SLOW_FAST_DPS kept once the viscous force is estimated and taken out)."""
BIN_DEG = 2.0
MIN_BIN_SAMPLES = 3
"""A bin needs this many samples to count as visited."""
MAX_GAP_DEG = 6.0
"""The visited bins fall into runs with no hole wider than this; the curve is fitted over the run with
the most samples among those at least MIN_RANGE_DEG wide. It was the widest run: a flexion branch is
mostly too fast to keep, so its few slow samples can form two runs of 18-22 deg, and a sub-degree
change in the angle flipped which was wider (band-curve seed 474: 68-86 deg from 86 samples, then 4-22
deg from 28, where the band is least stretched: 2.4 -> 5.5 % off). bench/band_curve.py, 200 sessions,
flexion end to end P95 (after the check): seeds 200-399 4.78 -> 4.68 % (4.00 -> 3.91), 400-599 4.76 ->
4.51 % (4.24 -> 3.72); 0-199 unchanged (4.44); the same branches in every session."""
MIN_RANGE_DEG = 15.0
"""A branch visiting less than this is not fitted (too short to say anything about the band)."""
DEGREE = 3
SLOW_FAST_DPS = 150.0
"""Once the viscous force is out, the curve keeps samples up to this speed (FAST_DPS still parts a
turn from a jolt and bounds the samples the drift is estimated from): most of a flexion is faster
than FAST_DPS, and without them the flexion branch was missing in 12 % of the bench's sessions (1 %
with them) and short in many (bench/band_curve.py, 200 sessions, flexion end to end: P95 7.6 -> 6.3 %; 250 deg/s gave
5.9 %, but lets more jolts in)."""
TURN_DEG = 3.0
"""Extension samples this close (knee travel, deg) after the knee last turned are left out: the band's
hysteresis switches branch over 3-8 % of elongation, so just after the top the force is still above
the unloading branch (bench/band_curve.py, 60 sessions, extension end to end: median error 2.9 ->
2.5 %, P95 5.8 -> 5.7 %; 5 and 8 deg gave no more). The flexion branch has its own, FLEXION_TURN_DEG."""
FLEXION_TURN_DEG = 8.0
"""Flexion samples this close (knee travel, deg) after the bottom turn are left out: the same switch,
from the unloading branch to the loading one, reads low there (bench/band_curve.py, 200 sessions with
the viscous force out, flexion end to end: median 2.3 -> 2.0 %, P95 6.3 -> 5.7 %; the fit alone's
largest error 4.1 -> 2.0 %; 3 deg did less, 12 no more). On extension 8 deg did worse than TURN_DEG."""
DRIFT_TURN_DEG = 20.0
"""The drift is estimated from samples this far (knee travel) past the knee's last turn only: the
band's hysteresis switches branch over 3-8 % of elongation after a turn, and a range of motion
shrinking with fatigue moves the tops, so the switch near them would read as a drift (on the bench,
with the model's own angle and tension, the spurious drift's P95 fell from 1.4 to 0.5 N/min)."""
DRIFT_BLOCKS = 5
"""Time blocks left out one at a time (jackknife) for the drift's standard error."""
DRIFT_PRIOR_N_PER_MIN = 0.6
"""The size of a load cell's zero drift since its tare (science.md 6.5: 0.1-1 N/min either way, whose
root mean square is 0.6): the estimate is weighted against it by its standard error (module docstring).
Before, the estimate was taken out whole when it stood 4 standard errors clear of none, else not at
all: with the detector's angle (still settling over the first reps, which reads as a drift and
widens the error) in half the sessions only, and the drift left in carried the extension branch's
tail. bench/band_curve.py, 200 sessions, end to end, median / P95: flexion 1.6 / 4.6 -> 1.6 / 4.4 %,
extension 2.0 / 5.0 -> 1.9 / 4.7 %; |taken out - true| P95 0.84 -> 0.56 N/min (largest 1.90 -> 1.33).
Given the true tension, i.e. no drift to find, what is taken out is spurious: P95 0.23 -> 0.50 N/min,
largest 1.05 -> 0.97. Taking it out whole from 2 or 3 standard errors did less (extension P95 4.7 %
both, flexion 4.5 and 4.6 %) with larger spurious ones (largest 1.7 N/min)."""
DRIFT_MIN_SAMPLES = 100
"""With fewer samples past their turns (or fewer distinct time blocks than DRIFT_BLOCKS) no drift is estimated."""
VISCOUS_TAU_S = 2.5
"""The band's relaxation time assumed for its viscous force (science.md 1.3: 1-5 s; the middle). On the
bench (60 sessions, the fit alone, P95 flexion / extension) the sim's own per session gave 1.5 / 1.9 %
against 1.3 / 2.0 % with 2.5 s; the best of 1-5 s chosen per session by the fit's residual 3.1 / 2.6 %."""
STRETCH_EXPONENT = 0.55
"""The band's stretch is read from its force as F^(1 / n) (science.md 1.1: n = 0.5-0.59), for the viscous term."""
HUBER_K = 1.5
"""Residuals beyond this many robust standard deviations are down-weighted (a spike, a drop)."""


@dataclass(frozen=True)
class BranchCurve:
    """One branch: force (N) = polynomial in angle, valid over [lo_deg, hi_deg] only."""

    lo_deg: float
    hi_deg: float
    coef: tuple[float, ...]
    """Coefficients in x = (2 angle - lo - hi) / (hi - lo), lowest power first."""
    samples: int
    """Samples the fit used."""

    def force_at(self, angle_deg: float) -> float:
        """force_n for one angle, in plain Python (NaN outside the range)."""
        if not self.lo_deg - 1e-9 <= angle_deg <= self.hi_deg + 1e-9:
            return math.nan
        x = (2 * angle_deg - self.lo_deg - self.hi_deg) / (self.hi_deg - self.lo_deg)
        return sum(c * x**k for k, c in enumerate(self.coef))

    def force_n(self, angle_deg: np.ndarray | float) -> np.ndarray:
        """Fitted force at angle_deg; NaN outside the fitted range (never extrapolated)."""
        import numpy as np

        a = np.asarray(angle_deg, dtype=np.float64)
        x = (2 * a - self.lo_deg - self.hi_deg) / (self.hi_deg - self.lo_deg)
        f = np.polynomial.polynomial.polyval(x, np.asarray(self.coef))
        return np.where((a >= self.lo_deg - 1e-9) & (a <= self.hi_deg + 1e-9), f, np.nan)


@dataclass(frozen=True)
class BandCurve:
    """A session's band curve: each branch (None when too little of it was seen), and what was left out."""

    flexion: BranchCurve | None
    extension: BranchCurve | None
    still: int
    fast: int
    unknown: int
    """Samples without a knee estimate (NaN: the detector had not yet found the knee axis's sign)."""
    first_rep: int = 0
    """Samples up to the start of each set's second rep, left out by the caller (band_session says why)."""
    drift_n_per_min: float | None = None
    """The load cell's zero drift estimated with the curve (N/min; None: too few samples to say)."""
    drift_se_n_per_min: float | None = None
    """Its standard error (jackknife over time blocks)."""
    drift_taken_n_per_min: float = 0.0
    """The drift taken out of the force (the estimate weighted against DRIFT_PRIOR_N_PER_MIN by its
    standard error): the curve is the one at the tare."""
    turning: int = 0
    """Samples within TURN_DEG (extending) or FLEXION_TURN_DEG (flexing) of the knee's last turn, left out."""
    viscous_n: float | None = None
    """The band's viscous force estimated (N, P95 of its size over the moving samples; None: not estimated)."""
    viscous_removed: bool = False
    """It was taken out of the force before the fit (its k_v came out above 0; a viscous force only resists the motion)."""

    def branch(self, name: str) -> BranchCurve | None:
        return self.flexion if name == "flexion" else self.extension

    def describe(self) -> str:
        """"flexion 15 to 100 deg (412 samples), extension 12 to 104 deg (1830 samples); left out: 900 still, ..."."""
        parts = []
        for name in BRANCHES:
            c = self.branch(name)
            parts.append(f"{name} {c.lo_deg:.0f} to {c.hi_deg:.0f} deg ({c.samples} samples)" if c else f"{name}: too little range")
        left = f"left out: {self.still} still, {self.fast} fast (> {SLOW_FAST_DPS if self.viscous_removed else FAST_DPS:g} deg/s)"
        if self.unknown:
            left += f", {self.unknown} before the knee was found"
        if self.first_rep:
            left += f", {self.first_rep} of first reps"
        if self.turning:
            left += f", {self.turning} within {TURN_DEG:g} (extending) or {FLEXION_TURN_DEG:g} deg (flexing) of a turn"
        notes = [note for note in (self.viscous_note, self.drift_note) if note]
        return ", ".join(parts) + "; " + left + "".join("; " + note for note in notes)

    @property
    def viscous_note(self) -> str | None:
        """What was estimated of the band's viscous force and whether it was taken out (None: not estimated)."""
        if self.viscous_n is None:
            return None
        if not self.viscous_removed:
            return "band's viscous force estimated as none: nothing taken out"
        return (f"band's viscous force up to {self.viscous_n:.1f} N while moving (relaxation time taken as {VISCOUS_TAU_S:g} s) "
                "estimated and taken out: the curve is the band's slow one")

    @property
    def drift_note(self) -> str | None:
        """What was estimated of the load cell's zero drift and how much of it was taken out (None: not estimated)."""
        if self.drift_n_per_min is None:
            return None
        return (f"load-cell zero drift {self.drift_n_per_min:+.2f} N/min (+-{self.drift_se_n_per_min or 0.0:.2f}) estimated, "
                f"{self.drift_taken_n_per_min:+.2f} N/min of it taken out (weighted by its error against the "
                f"{DRIFT_PRIOR_N_PER_MIN:g} N/min a load cell drifts): the curve is at the tare")

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str | None) -> BandCurve | None:
        """The curve stored by to_json; None for an empty or unreadable value (an index cell)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            branches = {name: None if data[name] is None else BranchCurve(
                float(data[name]["lo_deg"]), float(data[name]["hi_deg"]), tuple(float(c) for c in data[name]["coef"]),
                int(data[name]["samples"])) for name in BRANCHES}
            drift, drift_se = data.get("drift_n_per_min"), data.get("drift_se_n_per_min")
            taken = data.get("drift_taken_n_per_min", drift if data.get("drift_removed") else 0.0)  # stored before: all or none
            return BandCurve(branches["flexion"], branches["extension"], int(data["still"]), int(data["fast"]), int(data["unknown"]),
                             int(data.get("first_rep", 0)), None if drift is None else float(drift),
                             None if drift_se is None else float(drift_se), float(taken or 0.0),
                             int(data.get("turning", 0)), None if data.get("viscous_n") is None else float(data["viscous_n"]),
                             bool(data.get("viscous_removed", False)))
        except (ValueError, KeyError, TypeError):
            return None


def fit_branch(angle_deg: np.ndarray, force_n: np.ndarray) -> BranchCurve | None:
    """Cubic through the 2-degree bin medians (weighted by sqrt of each bin's count) over the visited run
    of angles with the most samples among those MIN_RANGE_DEG wide or more (MAX_GAP_DEG); None without one."""
    import numpy as np

    if angle_deg.size < MIN_BIN_SAMPLES:
        return None
    bins = np.floor(angle_deg / BIN_DEG).astype(np.int64)
    order = np.argsort(bins, kind="stable")
    keys, starts, counts = np.unique(bins[order], return_index=True, return_counts=True)
    visited = counts >= MIN_BIN_SAMPLES
    keys, starts, counts = keys[visited], starts[visited], counts[visited]
    if keys.size < 2:
        return None
    breaks = np.flatnonzero(np.diff(keys) * BIN_DEG > MAX_GAP_DEG)
    def span_deg(run: np.ndarray) -> float:
        return float((keys[run[-1]] + 1 - keys[run[0]]) * BIN_DEG)

    runs = [r for r in np.split(np.arange(keys.size), breaks + 1) if span_deg(r) >= MIN_RANGE_DEG]
    if not runs:
        return None
    run = max(runs, key=lambda r: (int(counts[r].sum()), span_deg(r)))
    lo, hi = float(keys[run[0]] * BIN_DEG), float((keys[run[-1]] + 1) * BIN_DEG)
    sorted_force = force_n[order]
    medians = np.array([np.median(sorted_force[starts[i]:starts[i] + counts[i]]) for i in run])
    centres = np.array([np.median(angle_deg[order][starts[i]:starts[i] + counts[i]]) for i in run])
    x = (2 * centres - lo - hi) / (hi - lo)
    degree = min(DEGREE, len(run) - 1)
    coef = np.polynomial.polynomial.polyfit(x, medians, degree, w=np.sqrt(counts[run]))
    return BranchCurve(lo, hi, tuple(float(c) for c in coef), int(counts[run].sum()))


def fit_band_curve(angle_deg: np.ndarray, rate_dps: np.ndarray, force_n: np.ndarray, t_s: np.ndarray | None = None) -> BandCurve:
    """A session's curve from per-sample angle (deg), knee rate (deg/s, flexion positive) and force (N),
    in time order; with t_s (seconds since the load cell's tare), the band's viscous force and the zero drift too
    (module docstring)."""
    import numpy as np

    angle = np.asarray(angle_deg, dtype=np.float64)
    rate = np.asarray(rate_dps, dtype=np.float64)
    force = np.asarray(force_n, dtype=np.float64)
    known = np.isfinite(angle) & np.isfinite(rate) & np.isfinite(force)
    speed = np.abs(rate)
    still = known & (speed < STILL_DPS)
    fast = known & (speed > FAST_DPS)
    used = known & ~still & ~fast
    sides = _by_direction(used, rate)
    travel = turn_travel_deg(angle, rate)
    drift = se = viscous = None
    taken = 0.0
    viscous_removed = False
    if t_s is not None:
        t = np.asarray(t_s, dtype=np.float64)
        far = (travel >= DRIFT_TURN_DEG) & np.isfinite(t)
        moving = known & ~still & far
        found = viscous_force_n(sides, _by_direction(moving, rate), angle, force, t)
        if found is not None:
            viscous_now, k_v = found
            viscous = float(np.percentile(np.abs(viscous_now[known & ~still]), 95))
            viscous_removed = k_v > 0
            force = force - viscous_now
        estimate = drift_n_per_s({name: sel & far for name, sel in sides.items()}, angle, force, t)
        if estimate is not None:
            drift, se = 60.0 * estimate[0], 60.0 * estimate[1]
            taken = drift * DRIFT_PRIOR_N_PER_MIN**2 / (DRIFT_PRIOR_N_PER_MIN**2 + se**2)
            force = force - taken / 60.0 * t
    if viscous_removed:
        fast = known & (speed > SLOW_FAST_DPS)
        used = known & ~still & ~fast
        sides = _by_direction(used, rate)
    turning = (sides["extension"] & (travel < TURN_DEG)) | (sides["flexion"] & (travel < FLEXION_TURN_DEG))
    sides = {name: sel & ~turning for name, sel in sides.items()}
    branches = {name: fit_branch(angle[sel], force[sel]) for name, sel in sides.items()}
    return BandCurve(branches["flexion"], branches["extension"], int(still.sum()), int(fast.sum()), int((~known).sum()),
                     drift_n_per_min=drift, drift_se_n_per_min=se, drift_taken_n_per_min=taken, turning=int(turning.sum()),
                     viscous_n=viscous, viscous_removed=viscous_removed)


def _by_direction(mask: np.ndarray, rate_dps: np.ndarray) -> dict[str, np.ndarray]:
    """The samples `mask` selects, split by the knee's direction into the two branches."""
    return {"flexion": mask & (rate_dps > 0), "extension": mask & (rate_dps < 0)}


def turn_travel_deg(angle_deg: np.ndarray, rate_dps: np.ndarray) -> np.ndarray:
    """Per sample, how far (deg) the knee has travelled since it last turned: the direction is the
    rate's sign, kept through still (< STILL_DPS), fast (> FAST_DPS: a jolt's spike must not make a
    turn; a real turn passes through slow samples) and unknown samples."""
    import numpy as np

    moving = np.isfinite(rate_dps) & (np.abs(rate_dps) >= STILL_DPS) & (np.abs(rate_dps) <= FAST_DPS)
    last = np.maximum.accumulate(np.where(moving, np.arange(rate_dps.size), -1))
    direction = np.where(last >= 0, np.sign(rate_dps[np.maximum(last, 0)]), 0.0)
    step = np.abs(np.diff(angle_deg, prepend=angle_deg[:1]))
    step = np.where(np.isfinite(step), step, 0.0)
    turned = np.concatenate(([True], direction[1:] != direction[:-1]))
    total = np.cumsum(step)
    run = np.cumsum(turned) - 1
    return total - (total - step)[turned][run]


def viscous_force_n(sides: dict[str, np.ndarray], moving: dict[str, np.ndarray], angle_deg: np.ndarray, force_n: np.ndarray,
                    t_s: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(per sample, the band's viscous force k_v x relaxing_stretch; k_v) from force = cubic(angle) per
    branch + c t + k_v x relaxing_stretch, robustly fitted over the `moving` samples (fast ones too:
    they say most about k_v), the stretch read from a first fit of the `sides` samples; the force is
    0 where k_v is not above 0 (a viscous force only resists the motion). None without a branch to
    read the stretch from or with fewer than DRIFT_MIN_SAMPLES samples."""
    import numpy as np

    first = [b for b in (fit_branch(angle_deg[sel], force_n[sel]) for sel in sides.values()) if b is not None]
    if not first:
        return None
    widest = max(first, key=lambda b: b.hi_deg - b.lo_deg)
    level = np.clip(widest.force_n(np.clip(np.nan_to_num(angle_deg, nan=widest.lo_deg), widest.lo_deg, widest.hi_deg)), 0.0, None)
    stretch = (level / max(float(level.max()), 1e-9)) ** (1.0 / STRETCH_EXPONENT)
    relaxing = relaxing_stretch(np.where(np.isfinite(angle_deg), stretch, np.nan), t_s, VISCOUS_TAU_S)
    built = _branch_design(moving, angle_deg, [t_s, relaxing])
    if built is None or built[1].sum() < DRIFT_MIN_SAMPLES:
        return None
    k_v = _robust_slope(built[0], force_n[built[1]])
    return max(k_v, 0.0) * relaxing, k_v


def relaxing_stretch(stretch: np.ndarray, t_s: np.ndarray, tau_s: float) -> np.ndarray:
    """Per sample, the stretch gained lately: its steps, each fading with exp(-age / tau_s) (the viscous
    force over k_v). A sample without a stretch (NaN) adds no step; a gap in the times lets it fade.
    Summed in closed form over stretches of at most 50 tau_s (so exp(age / tau_s) stays finite)."""
    import numpy as np

    step = np.diff(stretch, prepend=stretch[:1])
    step = np.where(np.isfinite(step), step, 0.0)
    age = np.cumsum(np.clip(np.diff(t_s, prepend=t_s[:1]), 0.0, None)) / tau_s
    out = np.empty_like(step)
    state, start = 0.0, 0
    for stop in [*np.flatnonzero(np.diff(np.floor(age / 50.0)) > 0) + 1, age.size]:
        rel = age[start:stop] - age[start]
        carried = state * math.exp(-(age[start] - age[start - 1])) if start else 0.0
        out[start:stop] = (carried + np.cumsum(step[start:stop] * np.exp(rel))) * np.exp(-rel)
        state, start = float(out[stop - 1]), stop
    return out


def drift_n_per_s(sides: dict[str, np.ndarray], angle_deg: np.ndarray, force_n: np.ndarray, t_s: np.ndarray) -> tuple[float, float] | None:
    """(zero drift c in N/s, its jackknife standard error) from force = cubic(angle) per branch + c t,
    fitted over the samples each mask of `sides` selects; None with too few of them."""
    import numpy as np

    built = _branch_design(sides, angle_deg, [t_s])
    if built is None:
        return None
    design, rows = built
    force, t = force_n[rows], t_s[rows]
    edges = np.quantile(t, np.linspace(0.0, 1.0, DRIFT_BLOCKS + 1))
    block = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, DRIFT_BLOCKS - 1)
    if force.size < DRIFT_MIN_SAMPLES or np.unique(block).size < DRIFT_BLOCKS:
        return None
    drift = _robust_slope(design, force)
    left_out = np.array([_robust_slope(design[block != b], force[block != b]) for b in range(DRIFT_BLOCKS)])
    se = math.sqrt((DRIFT_BLOCKS - 1) / DRIFT_BLOCKS * float(np.sum((left_out - left_out.mean()) ** 2)))
    return drift, se


def _branch_design(sides: dict[str, np.ndarray], angle_deg: np.ndarray, extra: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """(design of a cubic in angle per branch and the `extra` columns, over the rows any mask of `sides`
    selects; those rows), each branch with DRIFT_MIN_SAMPLES / 2 samples and MIN_RANGE_DEG at least;
    None without such a branch."""
    import numpy as np

    columns, masks = [], []
    for sel in sides.values():
        if sel.sum() < DRIFT_MIN_SAMPLES // 2:
            continue
        lo, hi = float(angle_deg[sel].min()), float(angle_deg[sel].max())
        if hi - lo < MIN_RANGE_DEG:
            continue
        x = np.where(sel, (2 * angle_deg - lo - hi) / (hi - lo), 0.0)
        columns += [np.where(sel, x**k, 0.0) for k in range(DEGREE + 1)]
        masks.append(sel)
    if not masks:
        return None
    rows = np.logical_or.reduce(masks)
    return np.column_stack([*columns, *extra])[rows], rows


def _robust_slope(design: np.ndarray, force_n: np.ndarray, iterations: int = 5) -> float:
    """The last column's coefficient of a least-squares fit, residuals beyond HUBER_K robust SDs down-weighted."""
    import numpy as np

    weight = np.ones(force_n.size)
    coef = np.zeros(design.shape[1])
    for _ in range(iterations):
        root = np.sqrt(weight)
        coef = np.linalg.lstsq(design * root[:, None], force_n * root, rcond=None)[0]
        residual = force_n - design @ coef
        scale = MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual)))) + 1e-9
        weight = np.minimum(1.0, HUBER_K * scale / np.maximum(np.abs(residual), 1e-12))
    return float(coef[-1])


SLOPE_FLOOR_PER_DEG = 0.003
"""Weights 1 / (slope^2 + floor^2): see log_ratio."""
STRETCHED_FRAC = 0.5
"""Curves are compared only where the reference force is at least this share of its largest: see log_ratio."""


def log_ratio(curve: BranchCurve, reference: BranchCurve, step_deg: float = 1.0) -> tuple[float, float, float]:
    """(weighted median of log(curve / reference) over their common range, lowest and highest angle
    compared); NaN ratio when they overlap by less than MIN_RANGE_DEG or a force there is not positive.

    An error of d degrees in a session's knee angle moves its log force by slope x d, where slope is
    d log F / d angle; so each angle is weighted by 1 / (slope^2 + floor^2): the steep part of the
    curve (the band barely stretched) says least about the band, the flat part (well stretched) most.
    And where the band is barely stretched, a re-tie changes the force most (d log F / d log L0 =
    -n (1 + e) / e: x6 at 10 % elongation, x1.1 at 100 %), so angles where the reference force is
    under STRETCHED_FRAC of its largest are left out."""
    lo, hi = max(curve.lo_deg, reference.lo_deg), min(curve.hi_deg, reference.hi_deg)
    if hi - lo < MIN_RANGE_DEG:
        return math.nan, lo, hi
    grid = [lo + i * step_deg for i in range(int((hi - lo) / step_deg + 1e-9) + 1)]
    pairs = [(curve.force_at(x), reference.force_at(x)) for x in grid]
    log_ref = [math.log(b) if b > 0 else math.nan for _, b in pairs]  # NaN compares False below: left out
    strongest = max((b for a, b in pairs if a > 0 and b > 0), default=math.nan)
    values, weights, compared = [], [], []
    for i, (a, b) in enumerate(pairs):
        if not (a > 0 and b >= STRETCHED_FRAC * strongest):
            continue
        compared.append(grid[i])
        ends = [j for j in (i - 1, i, i + 1) if 0 <= j < len(grid) and not math.isnan(log_ref[j])]
        slope = (log_ref[ends[-1]] - log_ref[ends[0]]) / ((ends[-1] - ends[0]) * step_deg) if len(ends) > 1 else 0.0
        values.append(math.log(a / b))
        weights.append(1.0 / (slope**2 + SLOPE_FLOOR_PER_DEG**2))
    if len(values) < 2:
        return math.nan, lo, hi
    return weighted_median(values, weights), min(compared), max(compared)


def weighted_median(values: list[float], weights: list[float]) -> float:
    """The value where the cumulative weight first reaches half the total."""
    order = sorted(range(len(values)), key=values.__getitem__)
    half, total = 0.5 * sum(weights), 0.0
    for i in order:
        total += weights[i]
        if total >= half:
            return values[i]
    return values[order[-1]]
