"""Force-only variant of the machine (science.md 5.5): no IMU, so phases come from the band force.

A rep is a rise of the force well above its rest level and a fall back; its eccentric is the
stretch where the force falls faster than a set fraction of the working range R per second, held
for a minimum time (slower falls are the band relaxing during the hold). The live cues are
back-dated to where the fall rate crossed a share of the entry rate and corrected for the filter
delay; once the rep is over, its onset and offset are re-dated by hinge fits over the finished rep
(force_fit.py), which reach back before the rate gate tripped. Timing is flagged `estimated`;
angles and velocities are unknown. Same states, same TRANSITIONS.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.detect import force_fit
from bandlog.detect.events import EccentricEnded, EccentricStarted, RepStarted
from bandlog.detect.machine import HISTORY_S, MachineBase, State, Trigger, _samples
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace

UNKNOWN_RANGE_STILL_NPS = 1.0
"""Rest test before any rep has set R: force changing slower than this (N/s)."""
SMOOTH_HZ = 2.0
"""Zero-phase low-pass used only to find a finished rep's peak, bottom and fit windows."""


class ForceMachine(MachineBase):
    def __init__(self, params: DetectorParams, dt_s: float, force_delay_s: float, rate_delay_s: float) -> None:
        super().__init__(params, dt_s)
        p = params
        self.force_delay_s = force_delay_s
        self.rate_delay_s = rate_delay_s
        self.history: deque[tuple[float, float, float, float]] = deque(maxlen=_samples(HISTORY_S, dt_s))
        self.raw: list[float] = []
        """Despiked unfiltered force alongside the trace (the hinge fits read it)."""
        self.k_top = _samples(p.debounce_top_s, dt_s)
        self.k_ecc = _samples(p.force_ecc_min_s, dt_s)
        self.k_resume = _samples(p.debounce_ecc_enter_s, dt_s)
        self.k_exit = _samples(p.debounce_exit_s, dt_s)
        self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self.rest_guess_n: float | None = None
        self.armed = True
        """Level hysteresis: a new rep may start only after the force fell back near rest."""
        self._reset_rep()

    def _reset_rep(self) -> None:
        self.rep_rest_n = 0.0
        self.peak_n = 0.0
        self.state_since_s = 0.0
        self.onset_s = 0.0
        self.exit_s = 0.0
        self.end_estimate_s = 0.0
        self.last_fall_s = 0.0
        self.stalls = 0
        self.stall_start_s: float | None = None
        self.exit_index = 0
        self.cue_sent = False

    def reset(self) -> None:
        if self.state is not State.IDLE:
            self._reject("data gap", self.rep_start_s)
        self.history.clear()
        self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self._reset_rep()

    def _range(self) -> float:
        return max(self.peak_n - self.rep_rest_n, 1e-6)

    def step(self, t: float, force: float, dforce: float, raw: float) -> None:
        self.history.append((t, force, dforce, raw))
        state = self.state
        if state is State.IDLE:
            self._idle(t, force, dforce)
            return
        self.trace.append(t, 0.0, 0.0, force)
        self.raw.append(raw)
        if force > self.peak_n:
            self.peak_n = force
        enter_rate = -self.params.force_ecc_enter_rate * self._range()
        self.n_ecc = self.n_ecc + 1 if dforce < enter_rate else 0
        if state is State.LOADING or state is State.TOP:
            self._loading_or_top(t, dforce)
        elif state is State.ECCENTRIC:
            self._eccentric(t, force, dforce)
        else:
            self._settling(t, force, dforce)

    def _idle(self, t: float, force: float, dforce: float) -> None:
        p = self.params
        working = self.levels.range_n()
        still_rate = p.force_still_rate * working if working is not None else UNKNOWN_RANGE_STILL_NPS
        if abs(dforce) < still_rate:
            self.levels.rest_sample(force)
            self.rest_guess_n = force if self.rest_guess_n is None else min(self.rest_guess_n, force)
        rest = self.levels.rest_n()
        if rest is None:
            rest = self.rest_guess_n if self.rest_guess_n is not None else force
        rise_needed = p.force_rep_enter * working if working is not None else p.force_first_rise_n
        low_enough = p.force_rep_exit * working if working is not None else 0.5 * p.force_first_rise_n
        if force - rest < low_enough:
            self.armed = True
        if force - rest < rise_needed or not self.armed:
            return
        self.armed = False
        self.levels.close_rest()
        self._reset_rep()
        self.rep_rest_n = rest
        self.peak_n = force
        # the rise starts from the rest just before it (the zero drifts between reps)
        level = min(h[1] for h in self.history) + 0.1 * rise_needed
        start_index = 0
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i][1] <= level:
                start_index = i
                break
        self.rep_start_s = self.history[start_index][0] - self.force_delay_s
        self.trace = RepTrace()
        self.raw = []
        for h in list(self.history)[start_index:]:
            self.trace.append(h[0], 0.0, 0.0, h[1])
            self.raw.append(h[3])
        self.n_top = self.n_ecc = 0
        self.events.append(RepStarted(self.rep_start_s, t))
        self._fire(Trigger.FLEXION)

    def _loading_or_top(self, t: float, dforce: float) -> None:
        p = self.params
        if self.n_ecc >= self.k_ecc:
            self._enter_eccentric(t)
            return
        if self.state is State.LOADING:
            self.n_top = self.n_top + 1 if dforce < p.force_ecc_exit_rate * self._range() else 0
            if self.n_top >= self.k_top:
                self.state_since_s = t
                self._fire(Trigger.TOP_REACHED)
            elif t - self.rep_start_s > p.rep_max_s:
                self._reject("force never stopped rising", t)
        elif t - self.state_since_s > p.top_timeout_s:
            self._reject(f"no eccentric within {p.top_timeout_s:g} s of the top", t)

    def _enter_eccentric(self, t: float) -> None:
        """Back-date to where the fall rate first passed half the entry rate."""
        half_rate = -self.params.force_backdate_frac * self.params.force_ecc_enter_rate * self._range()
        rates = [h[2] for h in self.history]
        first = len(rates) - self.k_ecc
        i = first
        while i > 0 and rates[i - 1] < half_rate:
            i -= 1
        self.onset_s = self.history[i][0] - self.rate_delay_s
        self.n_exit = 0
        self.events.append(EccentricStarted(self.onset_s, t))
        self._fire(Trigger.ECC_ENTER)

    def _eccentric(self, t: float, force: float, dforce: float) -> None:
        p = self.params
        working = self._range()
        height = force - self.rep_rest_n
        flat = dforce > -p.force_ecc_exit_rate * working
        done = (flat and height < p.force_bottom_zone * working) or height < p.force_rep_exit * working
        self.n_exit = self.n_exit + 1 if done else 0
        if flat:
            if self.stall_start_s is None:
                self.stall_start_s = t
            elif t - self.stall_start_s >= p.stall_max_s:
                self._exit(t, self.stall_start_s - self.rate_delay_s)
                return
        else:
            if self.stall_start_s is not None and t - self.stall_start_s >= p.debounce_stall_s:
                self.stalls += 1
            self.stall_start_s = None
        if self.n_exit >= self.k_exit:
            self._exit(t, t - (self.k_exit - 1) * self.dt_s - self.rate_delay_s)

    def _exit(self, t: float, end_estimate_s: float) -> None:
        self.exit_s = t
        self.exit_index = len(self.trace) - 1
        self.end_estimate_s = end_estimate_s
        self.n_settle = 0
        if not self.cue_sent:
            self.events.append(EccentricEnded(max(self.end_estimate_s, self.onset_s), self.onset_s, t))
            self.cue_sent = True
        self._fire(Trigger.ECC_EXIT)

    def _settling(self, t: float, force: float, dforce: float) -> None:
        p = self.params
        working = self._range()
        if self.n_ecc >= self.k_resume and force > self.rep_rest_n + p.force_rep_exit * working:
            self.stalls += 1
            self.n_exit = 0
            self._fire(Trigger.RESUME)
            return
        resting = abs(dforce) < p.force_still_rate * working
        self.n_settle = self.n_settle + 1 if resting else 0
        if resting and force < self.rep_rest_n + p.force_rep_exit * working:
            self.levels.rest_sample(force)  # the bottom rest starts here: track the drifting zero
        rising = dforce > p.force_ecc_enter_rate * working
        # a slow eccentric creeps into the bottom: wait in proportion (and never while the force
        # still falls), so the offset fit sees the rest
        ecc_s = self.exit_s - self.onset_s
        settle_s = max(p.settle_s, p.force_settle_fraction * ecc_s)
        settle_max_s = max(p.settle_max_s, 2.0 * p.force_settle_fraction * ecc_s)
        if dforce < -p.force_still_rate * working:
            self.last_fall_s = t
        calm_s = t - max(self.last_fall_s, self.exit_s)
        timed_out = (t - self.exit_s > settle_max_s and calm_s >= settle_s) or t - self.exit_s > p.rep_max_s
        if self.n_settle * self.dt_s >= settle_s or rising or timed_out:
            self._finalize(t)

    def close(self, t: float) -> None:
        """The recording ended mid-eccentric or while settling: finish the rep with what we have."""
        if self.state is State.ECCENTRIC:
            self._exit(t, t - self.force_delay_s)
        self._finalize(t)

    def _refined_times(self) -> tuple[float, float]:
        """(onset, offset) of the finished rep from hinge fits, falling back to the live estimates."""
        p = self.params
        onset, end = self.onset_s, max(self.end_estimate_s, self.onset_s)
        raw = np.asarray(self.raw)
        if raw.size < 4 * force_fit.MIN_BINS:
            return onset, end
        t = np.asarray(self.trace.t) - self.dt_s  # the 3-sample median runs one sample late
        fs_hz = 1.0 / self.dt_s
        smooth = sosfiltfilt(butter(2, min(SMOOTH_HZ, 0.4 * fs_hz) / (0.5 * fs_hz), output="sos"), raw)
        last = min(max(self.exit_index, 1), raw.size - 1)
        peak = int(np.argmax(smooth[: last + 1]))
        bottom = peak + int(np.argmin(smooth[peak:]))
        working = float(smooth[peak] - smooth[bottom])
        if working <= 0.0 or bottom - peak < 2:
            return onset, end
        fitted_onset = force_fit.refine_onset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_onset_level)
        fitted_end = force_fit.refine_offset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_offset_level)
        onset = fitted_onset if fitted_onset is not None else onset
        end = fitted_end if fitted_end is not None else end
        return onset, max(end, onset)

    def _finalize(self, t: float) -> None:
        p = self.params
        self.armed = True  # the force came down (or the next flexion already began)
        force = np.asarray(self.trace.force)
        working = self._range()
        known = self.levels.range_n()
        self.onset_s, ecc_end = self._refined_times()
        reason = self._duration_gate(ecc_end)
        if ecc_end - self.onset_s < p.force_min_ecc_s:
            reason = f"force fell in {ecc_end - self.onset_s:.2f} s, too fast for an eccentric"
        if known is not None and working < p.min_force_drop_fraction * known:
            reason = f"force rise {working:.1f} N, under {p.min_force_drop_fraction:.0%} of the working range"
        elif float(force.max() - force[-1]) < p.min_force_drop_fraction * working:
            reason = "force did not drop"
        if reason is not None:
            self._reject(reason, t)
            return
        self.levels.add_rep(self.rep_rest_n, self.peak_n)
        self.events.append(
            RepCandidate(
                start_s=self.rep_start_s,
                ecc_start_s=self.onset_s,
                ecc_end_s=ecc_end,
                detected_at_s=t,
                t_s=np.asarray(self.trace.t),
                angle_deg=None,
                rate_dps=None,
                force_n=force,
                rom_deg=None,
                rest_force_n=self.rep_rest_n,
                tension_threshold_n=self.levels.threshold_n(self.rep_rest_n),
                stalls=self.stalls,
                flags=(),
                estimated=True,
                rate_delay_s=0.0,
                force_delay_s=self.force_delay_s,
            )
        )
        self.trace = RepTrace()
        self._fire(Trigger.SETTLED)
