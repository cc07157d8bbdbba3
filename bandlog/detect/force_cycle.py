"""The force-only machine's memory of the cycle in progress, and what a finished cycle becomes.

Once a cycle is over its onset and offset are re-dated by hinge fits over the finished rep
(force_fit.py) on a zero-phase smoothing of its force, the hold before the fall is measured, the
gates (duration, weak, no force drop, grab or isometric hold) are applied, and the cycle leaves as a
RepCandidate or a RepRejected. That is arithmetic over the whole cycle, done once, so it is kept
apart from the per-sample rules that decide when a cycle starts and ends (force_steps.py).
"""

from __future__ import annotations

import functools
import statistics
from bisect import bisect_left
from collections import deque

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.core.robust import MAD_TO_SD
from bandlog.detect import force_fit
from bandlog.detect.filters import Lowpass, Median3
from bandlog.detect.machine import HISTORY_S, MachineBase, State, Trigger, samples_in
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace

DIP_REPS = 5
DIP_NOISE_SDS = 6.0
"""A dip must also exceed this many SDs of the filtered force's noise (a noisy light band wobbles by
a few per cent of its range within a second)."""
LEVEL_NOISE_WINDOW = 400
NOISE_LAG_S = 0.25
"""The force's noise at rest is read from differences this far apart (past the filter's smoothing)."""
NOISE_WINDOW = 600
NOISE_GAIN_SAMPLES = 4000
"""White-noise samples the force filter's noise gain is measured on (the first tenth, while the filter
settles, left out)."""
SETTLED_MIN_S = 0.2
"""The least time after a fall's end whose force says where it settled (a next rise may come sooner)."""
FOOT_NOISE_SDS = 2.0
FOOT_FRACTION = 0.03
"""A rise re-dated from a level (ForceCycle._rise_from_level) starts where the smoothed force was last
within the larger of these of the level: its noise in SDs, or a share of the rise."""
SLOW_FALL_S = 1.0
"""A pull let go falls from half its load to the rest in well under this (0.1-0.3 s); the second half
of an eccentric's fall takes at least this unless it is fast enough for the eccentric gate anyway."""
SMOOTH_PAD = 9
"""Samples sosfiltfilt pads each end with (its default for one 2nd-order section): a shorter cycle
(a rise cut by the recording's end) is used unsmoothed."""


@functools.lru_cache(maxsize=16)
def _noise_gain(cutoff_hz: float, dt_s: float) -> float:
    """How much of the despiked force's sample noise (its SD) the force low-pass lets through. The
    3-sample median correlates neighbouring samples, so the gain is measured on white noise sent
    through both (a fixed seed: the same figure every time) rather than taken from the filter alone."""
    white = np.random.default_rng(0).standard_normal(NOISE_GAIN_SAMPLES)
    despiked = Median3()(white)
    return float(np.std(Lowpass(cutoff_hz, 1.0 / dt_s)(despiked)[NOISE_GAIN_SAMPLES // 10 :]) / np.std(despiked))


class ForceCycle(MachineBase):
    """What the force-only machine remembers, and the finishing of each cycle."""

    def __init__(self, params: DetectorParams, dt_s: float, force_delay_s: float, rate_delay_s: float) -> None:
        super().__init__(params, dt_s)
        p = params
        self.force_delay_s = force_delay_s
        self.rate_delay_s = rate_delay_s
        self.history: deque[tuple[float, float, float, float]] = deque(maxlen=samples_in(HISTORY_S, dt_s))
        self.raw: list[float] = []
        """Despiked unfiltered force alongside the trace (the hinge fits read it)."""
        self.k_top = samples_in(p.debounce_top_s, dt_s)
        self.k_ecc = samples_in(p.force_ecc_min_s, dt_s)
        self.k_resume = samples_in(p.debounce_ecc_enter_s, dt_s)
        self.k_exit = samples_in(p.debounce_exit_s, dt_s)
        self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self.rest_guess_n: float | None = None
        self.armed = True
        """Level hysteresis: a new rep may start only after the force fell back near rest."""
        self.rate_noise_nps = 0.0
        self.level_noise_n = 0.0
        self._rest_forces: deque[float] = deque(maxlen=LEVEL_NOISE_WINDOW)
        self._noise_lag = samples_in(NOISE_LAG_S, dt_s)
        self.dips_n: deque[float] = deque(maxlen=DIP_REPS)
        """How far the force fell under its rest just before each recent rep's rise."""
        self.sample_noise_n: float | None = None
        """The load cell's sample noise (SD), read from the last finished cycle's unfiltered force."""
        self._lp_noise_gain = _noise_gain(p.force_lp_hz, dt_s)
        self.opening: list[tuple[float, float, float, float]] | None = []
        """Samples from the recording's start until its first rest is known (None once checked)."""
        self._lower_still_n: list[float] = []
        """Still opening samples in a row a rep's rise under the rest level (ForceSteps._lower_rest)."""
        self.rest_shifts_down: list[tuple[float, float, float]] = []
        """(t_s, held level, new rest level) each time the opening's rest was found to be a held load."""
        self.rest_shifts_up: list[tuple[float, float, float]] = []
        """(t_s, rest the cycle rose from, level it settled at) each time a cycle settled well above it."""
        self.rises_from_level = 0
        """Of those, reps that had rested at that level before they rose, timed from there (_rise_from_level)."""
        self.bump_n = 0.0
        """Height of a rise in progress that is clear of the noise but short of a rep (0 if none)."""
        self.bump_start_s = 0.0
        self._idle_rates: deque[float] = deque(maxlen=NOISE_WINDOW)
        self._idle_count = 0
        self.flat_ends = 0
        """Eccentrics kept whose end was extrapolated from a flattening force (said in the set's notes)."""
        self._reset_rep()

    def _reset_rep(self) -> None:
        self.rep_rest_n = 0.0
        self.peak_n = 0.0
        self.state_since_s = 0.0
        self.onset_s = 0.0
        self.exit_s = 0.0
        self.end_estimate_s = 0.0
        self.last_move_s = 0.0
        self.stalls = 0
        self.stall_start_s: float | None = None
        self.exit_index = 0
        self.cut_start = False
        """The recording began inside this cycle."""
        self._last_below_rest = False
        self.ended_by_rise = False
        """The cycle was closed by the next rep's rise (its trace ends inside that rise)."""
        self.released = False
        """The load came off without the eccentric gate ever confirming a fall (a release)."""
        self.rest_index = 0
        """Last trace sample at which the force rested after the fall (the cycle's analysable end)."""
        self.cue_sent = False

    def reset(self) -> None:
        if self.state is not State.IDLE:
            self._reject("data_gap", "data gap inside the rep", self.rep_start_s)
        self.history.clear()
        self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self._reset_rep()

    def _range(self) -> float:
        return max(self.peak_n - self.rep_rest_n, 1e-6)

    def _smooth(self) -> np.ndarray:
        """Zero-phase low-pass of the finished cycle's despiked force (peak, bottom and fit windows)."""
        raw = np.asarray(self.raw)
        fs_hz = 1.0 / self.dt_s
        if raw.size <= SMOOTH_PAD:
            return raw
        smooth: np.ndarray = sosfiltfilt(butter(2, min(force_fit.SMOOTH_HZ, 0.4 * fs_hz) / (0.5 * fs_hz), output="sos"), raw, padlen=SMOOTH_PAD)
        return smooth

    def _refined_times(self, smooth: np.ndarray) -> tuple[float, float, bool]:
        """(onset, offset, whether the offset was extrapolated from a flattening force) of the finished
        rep from hinge fits, falling back to the live estimates."""
        p = self.params
        onset, end = self.onset_s, max(self.end_estimate_s, self.onset_s)
        raw = np.asarray(self.raw)
        if raw.size < 4 * force_fit.MIN_BINS:
            return onset, end, False
        # up to where the force last rested: a cycle ended by the next rise must not read that rise
        # (or, anchor below the knee, the dip that starts it) as its own bottom
        rested = self.rest_index + 1 if self.ended_by_rise and self.rest_index > self.exit_index else raw.size
        raw, smooth = raw[:rested], smooth[:rested]
        t = np.asarray(self.trace.t)[:rested] - self.dt_s  # the 3-sample median runs one sample late
        last = min(max(self.exit_index, 1), raw.size - 1)
        peak = int(np.argmax(smooth[: last + 1]))
        bottom = peak + int(np.argmin(smooth[peak:]))
        working = float(smooth[peak] - smooth[bottom])
        if working <= 0.0 or bottom - peak < 2:
            return onset, end, False
        fitted_onset = force_fit.refine_onset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_onset_level)
        fitted_end = force_fit.refine_offset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_offset_level)
        ceiling_n = self.rep_rest_n + p.force_rep_exit * working
        rebound_end = None
        if self._dips_before_rises(working):
            rebound_end = force_fit.refine_rebound(
                t, raw, smooth, bottom, self.dt_s, working, p.rebound_fraction, p.force_fit_window, p.force_offset_level, ceiling_n
            )
        onset = fitted_onset if fitted_onset is not None else onset
        end = fitted_end.end_s if fitted_end is not None else end
        extrapolated = fitted_end is not None and fitted_end.flat
        if rebound_end is not None and rebound_end > end:
            end, extrapolated = rebound_end, False
        return onset, max(end, onset), extrapolated

    def shortest_before_extension(self) -> bool:
        """Whether this set's band is shortest before the knee is straight (an anchor below the knee),
        seen in the dip that starts each rise: the last degrees of an eccentric then barely change the
        force, so force alone reads the eccentrics a little short."""
        working = self.levels.range_n()
        return working is not None and working > 0 and self._dips_before_rises(working)

    def range_over_noise(self) -> float | None:
        """The set's working range in SDs of the load cell's sample noise (None before a cycle is done):
        how well force alone can see the slow end of an eccentric."""
        working = self.levels.range_n()
        if working is None or not self.sample_noise_n:
            return None
        return working / self.sample_noise_n

    def in_dip_n(self) -> float:
        """Force under which a sample after the eccentric is inside the dip of a band shortest
        mid-range (half this set's typical dip under the rest), not resting: -inf in a set whose
        rises do not start with a dip. The rest level must not learn from it."""
        working = self._range()
        if not self._dips_before_rises(working):
            return -np.inf
        return self.rep_rest_n - 0.5 * statistics.median(self.dips_n)

    def _dips_before_rises(self, working_n: float) -> bool:
        """Do this set's rises start with a dip under the rest (the band shortest mid-range)?"""
        return len(self.dips_n) >= 1 and statistics.median(self.dips_n) >= self._dip_floor_n(working_n)

    def _dip_floor_n(self, working_n: float) -> float:
        """The least fall under the rest that counts as a dip."""
        return max(self.params.dip_fraction * working_n, DIP_NOISE_SDS * self._dip_noise_n())

    def _dip_noise_n(self) -> float:
        """The noise dips are judged against, as it is left in the filtered force. From the sample
        noise once a cycle is known: the rest level's own noise also holds what moves slowly at
        rest, and a band shortest mid-range moves there (its dip and rebound) by more than its
        noise."""
        if self.sample_noise_n is None:
            return self.level_noise_n
        return self.sample_noise_n * self._lp_noise_gain

    def _fell_slowly(self, smooth: np.ndarray) -> bool:
        """Whether a load the machine saw come off at once (`released`) in fact took SLOW_FALL_S or
        more from half its range down to the rest: a very slow eccentric on a light band, whose
        force never fell fast enough for the eccentric gate (R / 10 per s), not a pull let go."""
        t = np.asarray(self.trace.t)
        last = min(self.exit_index, smooth.size - 1)
        high = np.flatnonzero(smooth[: last + 1] >= self.rep_rest_n + 0.5 * self._range())
        return bool(high.size) and float(t[last] - t[high[-1]]) >= SLOW_FALL_S

    def _hold_s(self, smooth: np.ndarray, onset_s: float) -> float:
        """How long the force stayed near its peak before the fall began."""
        t = np.asarray(self.trace.t)
        before = t <= onset_s
        if not before.any():
            return 0.0
        peak = float(smooth[before].max())
        near = np.flatnonzero(before & (smooth >= peak - self.params.hold_band * max(peak - self.rep_rest_n, 1e-6)))
        return float(t[near[-1]] - t[near[0]]) if near.size else 0.0

    def _settle_s(self) -> float:
        """How long the force must rest after the fall before the rep is final: slow eccentrics
        approach the bottom too gently to call it sooner."""
        return max(self.params.settle_s, self.params.force_settle_fraction * (self.exit_s - self.onset_s))

    def _finalize(self, t: float, truncated: bool = False, unsettled: bool = False) -> None:
        """Judge and emit the finished cycle. `truncated`: the recording cut its fall (the gates that
        need the whole fall are skipped); `unsettled`: it ended before the force had rested after a
        whole fall (judged as usual, then flagged truncated: the knee may still have been moving)."""
        p = self.params
        self.armed = True  # the force came down (or the next flexion already began)
        force = np.asarray(self.trace.force)
        working = self._range()
        smooth = self._smooth()
        if len(self.raw) > SMOOTH_PAD:
            self.sample_noise_n = MAD_TO_SD * float(np.median(np.abs(np.asarray(self.raw) - smooth)))
        onset, ecc_end, extrapolated = self._refined_times(smooth)
        if self.released and not self._fell_slowly(smooth):  # a hinge fit would read the sag of a held pull as a slow start
            onset = ecc_end = self.onset_s
            extrapolated = False
        truncated = truncated or self.cut_start
        # the force rested well above the rest it rose from, once its fall ended: a new level (the
        # true rest, after a stretch taken for it; a band taken up), from which the next rep rises
        after = bisect_left(self.trace.t, ecc_end)
        settled = force[after : after + samples_in(self._settle_s(), self.dt_s)]
        fell_to_n = float(force[-1])
        if settled.size >= samples_in(SETTLED_MIN_S, self.dt_s) and not truncated:
            level_n = float(np.median(settled))
            if level_n - self.rep_rest_n >= max(p.force_rep_enter * working, p.force_first_rise_n):  # a rise's worth
                self.levels.shift_rest(level_n)
                self.rest_shifts_up.append((t, self.rep_rest_n, level_n))
                # never back at the old rest, the cycle ran on until the next rise: the fall is judged by the
                # level it settled at, not by its last sample, already on that rise
                fell_to_n = min(fell_to_n, level_n)
                self._rise_from_level(smooth, level_n)
        known = self.levels.gate_range_n()
        flags = ["truncated"] if truncated else []
        end_s = ecc_end
        ecc: tuple[float | None, float | None] = (onset, ecc_end)
        rejection = None if truncated else self._duration_gate(ecc_end)
        if ecc_end - onset < p.force_min_ecc_s and not truncated:
            hold_s = self._hold_s(smooth, onset)
            if hold_s >= p.isometric_hold_s:
                flags += ["no_eccentric", "isometric"]
                ecc = (None, None)
                rejection = None
            elif rejection is None:  # force-only cannot tell a let-go knee from a band grabbed or re-tied
                rejection = "grab", f"force fell in {ecc_end - onset:.2f} s after a {hold_s:.1f} s hold: no eccentric"
        if known is not None and working < p.force_weak_fraction * known:
            rejection = "weak", f"force rise {working:.1f} N, under {p.force_weak_fraction:.0%} of the working range"
        elif float(force.max()) - fell_to_n < p.min_force_drop_fraction * working and not truncated:
            rejection = "no_force_drop", "force did not drop"
        if rejection is not None:
            self._reject(*rejection, t)
            return
        if not truncated:
            self.levels.add_rep(self.rep_rest_n, self.peak_n)
        if unsettled and "truncated" not in flags:
            flags.insert(0, "truncated")
        self.flat_ends += int(extrapolated and ecc[1] is not None)
        self._emit(t, end_s, ecc[0], ecc[1], flags, force)

    def _rise_from_level(self, smooth: np.ndarray, level_n: float) -> None:
        """When the force rested at the level it settled at before it rose to its peak (a band back from
        slack to its rest, taken for a rise from the slack level), the rep rose from there: its start
        and rest are that rest's end and level. A cycle that rose from the old rest and settled higher
        (a band re-tied after the rep) never rested at the new level first, and keeps both."""
        peak = int(np.argmax(smooth))
        rise_n = float(smooth[peak]) - level_n
        margin_n = self.params.force_rep_enter * rise_n  # under what starts a rep from there
        at_level = np.abs(smooth[:peak] - level_n) <= margin_n
        if not at_level.any():
            return
        last = int(np.flatnonzero(at_level)[-1])
        first = last
        while first > 0 and at_level[first - 1]:
            first -= 1
        if last - first + 1 >= samples_in(SETTLED_MIN_S, self.dt_s):
            # the rise's foot: where the smoothed force last sat within its noise of the level
            foot_n = level_n + max(FOOT_NOISE_SDS * (self.sample_noise_n or 0.0), FOOT_FRACTION * rise_n)
            foot = next((i for i in range(last, first - 1, -1) if smooth[i] <= foot_n), last)
            self.rep_start_s = float(self.trace.t[foot])
            self.rep_rest_n = level_n
            self.rises_from_level += 1

    def _finalize_held(self, t: float) -> None:
        """The recording ended while the load was still up: a cycle with no eccentric, cut short."""
        end_s = float(self.trace.t[-1]) if len(self.trace) else t
        self._emit(t, end_s, None, None, ["no_eccentric", "truncated"], np.asarray(self.trace.force))

    def _emit(
        self, t: float, end_s: float, ecc_start_s: float | None, ecc_end_s: float | None, flags: list[str], force: np.ndarray
    ) -> None:
        self.events.append(
            RepCandidate(
                start_s=self.rep_start_s,
                end_s=end_s,
                ecc_start_s=ecc_start_s,
                ecc_end_s=ecc_end_s,
                detected_at_s=t,
                t_s=np.asarray(self.trace.t),
                angle_deg=None,
                rate_dps=None,
                force_n=force,
                rom_deg=None,
                rest_force_n=self.rep_rest_n,
                tension_threshold_n=self.levels.threshold_n(self.rep_rest_n),
                stalls=self.stalls,
                flags=tuple(flags),
                estimated=True,
                rate_delay_s=0.0,
                force_delay_s=self.force_delay_s,
            )
        )
        self.last_end_s = end_s
        self.trace = RepTrace()
        self._fire(Trigger.SETTLED)
