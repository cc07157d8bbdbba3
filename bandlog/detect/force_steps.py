"""Force-only variant of the machine (science.md 5.5), one sample at a time: its rules.

A rep is a rise of the force well above its rest level and a fall back; its eccentric is the
stretch where the force falls faster than a set fraction of the working range R per second, held
for a minimum time (slower falls are the band relaxing during the hold). The live cues are
back-dated to where the fall rate crossed a share of the entry rate and corrected for the filter
delay; once the rep is over, its onset and offset are re-dated by hinge fits over the finished rep
(force_fit.py), which reach back before the rate gate tripped. Timing is flagged `estimated`;
angles and velocities are unknown. Same states, same TRANSITIONS.

`ForceSteps.step` is the whole detector sample by sample: the idle rest and noise records, a rep's
rise, and the handlers that make every transition (machine.py holds the table). What a cycle
remembers and how a finished one is refined and judged is force_cycle.py; taking the samples
between state changes in bulk is force_machine.py.
"""

from __future__ import annotations

import statistics

import numpy as np

from bandlog.core.events import EccentricEnded, EccentricStarted, RepRejected, RepStarted
from bandlog.core.robust import MAD_TO_SD
from bandlog.detect.force_cycle import ForceCycle
from bandlog.detect.machine import State, Trigger
from bandlog.detect.trace import RepTrace

UNKNOWN_RANGE_STILL_NPS = 1.0
"""Rest test before any rep has set R: force changing slower than this (N/s)."""
BUMP_FRACTION = 0.6
"""A rise of this share of force_first_rise_n that falls back without reaching a rep's height is
reported as a 'weak' candidate (smaller wiggles are load-cell noise and band sway)."""
BELOW_REST_WAIT = 3.0
"""Settling waits this many times longer while the force is still under the rest level."""
DIP_WINDOW_S = 1.0
"""A dip is a fall of the force within this long before the lowest point ahead of a rise."""
DIP_GAP_S = 0.1
"""Noise may lift the force out of a dip this long inside it."""
DIP_MARGIN_SDS = 2.0
"""A dip is force this many noise SDs under the rest: the noise of a resting force crosses the rest
level itself all the time."""
RISE_NOISE_SDS = 10.0
OPENING_MAX_S = 30.0
"""How long the recording's opening samples are kept while looking for its first rest."""
LOWER_REST_S = 1.0
"""Before the first rep, still force this long a rep's rise under the rest level means that level
was a load held (the recording began on a held pull): the rest restarts from the lower level. (If
the lower level was a slack band instead, the first rep settles back up and the rest follows it:
ForceCycle._finalize.)"""
RATE_NOISE_SDS = 3.0
NOISE_UPDATE_EVERY = 50


class ForceSteps(ForceCycle):
    """The force-only machine stepped one sample at a time."""

    def step(self, t: float, force: float, dforce: float, raw: float) -> None:
        self.history.append((t, force, dforce, raw))
        state = self.state
        if state is State.IDLE:
            self._idle(t, force, dforce, raw)
            return
        self.trace.append(t, 0.0, 0.0, force)
        self.raw.append(raw)
        if force > self.peak_n:
            self.peak_n = force
        enter_rate = -self.params.force_ecc_enter_rate * self._range()
        self.n_ecc = self.n_ecc + 1 if dforce < enter_rate else 0
        if state is State.LOADING or state is State.TOP:
            self._loading_or_top(t, force, dforce)
        elif state is State.ECCENTRIC:
            self._eccentric(t, force, dforce)
        else:
            self._settling(t, force, dforce)


    def _still_rate(self, working_n: float | None) -> float:
        """|dF/dt| under which the force counts as resting: a share of R, but never inside the
        load cell's own noise (a noisy cell would otherwise never be seen at rest)."""
        share = self.params.force_still_rate * working_n if working_n is not None else UNKNOWN_RANGE_STILL_NPS
        return max(share, RATE_NOISE_SDS * self.rate_noise_nps)

    def _track_level_noise(self, force_n: float) -> None:
        """Robust SD of the (filtered) force at rest, from differences a quarter second apart: the
        filter's own smoothing is past by then, while slow changes of level (drift, a slow movement
        taken for rest) hardly enter."""
        self._rest_forces.append(force_n)
        lag = self._noise_lag
        if len(self._rest_forces) > 2 * lag and self._idle_count % NOISE_UPDATE_EVERY == 0:
            values = np.asarray(self._rest_forces)
            self.level_noise_n = MAD_TO_SD * float(np.median(np.abs(values[lag:] - values[:-lag]))) / np.sqrt(2.0)

    def _track_rate_noise(self, dforce: float) -> None:
        """Robust SD of dF/dt at rest: from the lower quartile of |dF/dt| over recent idle samples
        (3.13 x it, for Gaussian noise), which holds while up to three quarters of them move."""
        self._idle_rates.append(abs(dforce))
        self._idle_count += 1
        if self._idle_count % NOISE_UPDATE_EVERY == 0 and len(self._idle_rates) >= NOISE_UPDATE_EVERY:
            self.rate_noise_nps = 3.13 * float(np.percentile(self._idle_rates, 25))

    def _idle(self, t: float, force: float, dforce: float, raw: float) -> None:
        p = self.params
        if self.opening is not None:
            self.opening.append((t, force, dforce, raw))
        working = self.levels.gate_range_n()
        self._track_rate_noise(dforce)
        still_rate = self._still_rate(working)
        if abs(dforce) < still_rate:
            self._track_level_noise(force)
            self.levels.rest_sample(force)
            self.rest_guess_n = force if self.rest_guess_n is None else min(self.rest_guess_n, force)
        rest = self.levels.rest_n()
        if rest is None:
            rest = self.rest_guess_n if self.rest_guess_n is not None else force
        floor_n = max(p.force_first_rise_n, RISE_NOISE_SDS * self.level_noise_n)
        rise_needed = max(p.force_rep_enter * working, floor_n) if working is not None else floor_n
        if self.opening is not None and abs(dforce) < still_rate:
            rest = self._lower_rest(t, force, rest, rise_needed)
        low_enough = min(p.force_rep_exit * working, 0.5 * floor_n) if working is not None else 0.5 * floor_n
        height = force - rest
        if self.opening is not None and len(self.opening) * self.dt_s > OPENING_MAX_S:
            self._check_opening(t, rest, rise_needed, low_enough)
        if height < low_enough:
            self.armed = True
            if self.bump_n > 0.0:  # a clear rise that never reached a rep's height: say so
                self.events.append(RepRejected(
                    self.bump_start_s, f"force rose {self.bump_n:.1f} N, under the {rise_needed:.1f} N a rep needs here", t, "weak"
                ))
                self.bump_n = 0.0
        elif height >= BUMP_FRACTION * floor_n and height < rise_needed and self.armed:
            if self.bump_n == 0.0:
                self.bump_start_s = t - self.force_delay_s
            self.bump_n = max(self.bump_n, height)
        if height < rise_needed or not self.armed:
            return
        self.bump_n = 0.0
        if self.opening is not None:
            self._check_opening(t, rest, rise_needed, low_enough)
        self.armed = False
        self.levels.close_rest()
        self._reset_rep()
        self.rep_rest_n = rest
        self.peak_n = force
        # the rise starts from the rest just before it (the zero drifts between reps)
        history = list(self.history)
        first = self._earliest_start([h[0] + 0.0 - self.force_delay_s for h in history])
        forces = [h[1] for h in history[first:]]
        # anchor below the knee: the band first shortens as the knee flexes, so the force falls
        # into a dip just before it rises; every rep that does so says the same of its own end.
        # (A force still recovering from the last rep rises into the next one: no dip.)
        under_n = rest - DIP_MARGIN_SDS * self._dip_noise_n()
        dip = _dip_bottom(forces, under_n, int(round(DIP_GAP_S / self.dt_s)))
        if dip is None:
            self.dips_n.append(0.0)
        else:
            fell_from_n = max(forces[max(0, dip - int(round(DIP_WINDOW_S / self.dt_s))) : dip + 1])
            # a dip falls from the rest; a fall from well above it is the foot of a rep this machine
            # did not see (the recording's first), whose undershoot says nothing of the band
            if fell_from_n - rest < max(rest - forces[dip], self._dip_floor_n(working if working is not None else 0.0)):
                self.dips_n.append(fell_from_n - forces[dip])
        floor_from = max(first, _past_last_fall(history, rest + low_enough, under_n, still_rate))
        level = min(h[1] for h in history[floor_from:]) + 0.1 * rise_needed
        start_index = floor_from
        for i in range(len(history) - 1, floor_from - 1, -1):
            if history[i][1] <= level:
                start_index = i
                break
        self.rep_start_s = max(history[start_index][0] - self.force_delay_s, self.last_end_s)
        self.trace = RepTrace()
        self.raw = []
        for h in history[start_index:]:
            self.trace.append(h[0], 0.0, 0.0, h[1])
            self.raw.append(h[3])
        self.n_top = self.n_ecc = 0
        self.events.append(RepStarted(self.rep_start_s, t))
        self._fire(Trigger.FLEXION)

    def _lower_rest(self, t: float, force_n: float, rest_n: float, rise_needed_n: float) -> float:
        """While the opening is judged: a still force a rep's rise under the rest level, at one level
        for LOWER_REST_S, shows that level to be a held load (the recording began on a held pull, or
        the band was re-tied slacker); the rest restarts from the lower level. Otherwise a long
        opening hold would stand as the rest and hide the pulls after it. Returns the rest level."""
        if force_n > rest_n - rise_needed_n:
            self._lower_still_n = []
            return rest_n
        if self._lower_still_n and abs(force_n - self._lower_still_n[0]) > 0.5 * rise_needed_n:
            self._lower_still_n = []  # not one level: the force is still on its way down
        self._lower_still_n.append(force_n)
        if len(self._lower_still_n) * self.dt_s < LOWER_REST_S:
            return rest_n
        level_n = statistics.median(self._lower_still_n)
        self.levels.shift_rest(level_n)
        self.levels.rest_samples(self._lower_still_n)
        self._lower_still_n = []
        self.rest_shifts_down.append((t, rest_n, level_n))
        return level_n

    def _check_opening(self, t: float, rest_n: float, rise_needed_n: float, low_enough_n: float) -> None:
        """At the first rep (or after OPENING_MAX_S): did the recording begin with the band already
        loaded (a clip trimmed to the movement)? Then that falling load is a cycle of its own, kept
        as a row flagged truncated, ending where the force reached its rest. Not once the rest was
        taken from a lower level the force settled at (_lower_rest): that opening is no row."""
        opening, self.opening = self.opening, None
        assert opening is not None
        if self.rest_shifts_down:
            # the force rested a rise lower after the opening: a load held when the recording began,
            # or the band's rest before it went slack as the knee flexed (anchored below the knee),
            # which the force cannot tell apart here; no row, the notes say what was taken
            return
        first_s = max(1, int(round(1.0 / self.dt_s)))
        start_height_n = max(h[1] for h in opening[:first_s]) - rest_n
        if start_height_n < rise_needed_n:
            if start_height_n >= BUMP_FRACTION * self.params.force_first_rise_n:
                self.events.append(RepRejected(
                    opening[0][0], f"the recording began {start_height_n:.1f} N above rest, inside a cycle too far gone to count", t, "cut_start"
                ))
            return
        rested = [i for i, h in enumerate(opening) if h[1] - rest_n < low_enough_n]
        if not rested:
            return
        self._reset_rep()
        self.cut_start = True
        self.rep_rest_n = rest_n
        self.peak_n = max(h[1] for h in opening)
        self.rep_start_s = self.onset_s = opening[0][0]
        self.trace = RepTrace()
        self.raw = []
        for h in opening:
            self.trace.append(h[0], 0.0, 0.0, h[1])
            self.raw.append(h[3])
        self.events.append(RepStarted(self.rep_start_s, t))
        self._fire(Trigger.JOINED)
        self._exit(t, opening[rested[0]][0] - self.force_delay_s)
        self.exit_index = rested[0]
        self.rest_index = rested[-1]
        self._finalize(t)

    def _loading_or_top(self, t: float, force: float, dforce: float) -> None:
        p = self.params
        if self.n_ecc >= self.k_ecc:
            self._enter_eccentric(t)
            return
        if force - self.rep_rest_n < p.force_rep_exit * self._range():
            # the load came off faster than the eccentric gate can confirm: a release, not a fall
            self.onset_s = self.end_estimate_s = t - self.force_delay_s
            self.released = True
            self.exit_s = t
            self.exit_index = len(self.trace) - 1
            self.n_settle = 0
            self.cue_sent = True
            self._fire(Trigger.RELEASED)
            return
        if self.state is State.LOADING:
            self.n_top = self.n_top + 1 if dforce < p.force_ecc_exit_rate * self._range() else 0
            if self.n_top >= self.k_top:
                self.state_since_s = t
                self._fire(Trigger.TOP_REACHED)
            elif t - self.rep_start_s > p.rep_max_s:
                self._reject("never_stopped", "force never stopped rising", t)
        elif t - self.state_since_s > p.force_top_timeout_s:
            # no pull is held this long: the force found a new resting level (a slack band taken
            # up, the band re-tied); it is the rest from here on, not a rep
            held = [f for ts, f in zip(self.trace.t, self.trace.force) if ts >= self.state_since_s]
            self._reject("rest_shift", f"force stayed {self.peak_n - self.rep_rest_n:.1f} N up for over {p.force_top_timeout_s:g} s", t)
            self.levels.shift_rest(statistics.median(held) if held else force)
            self.levels.close_rest()
            self.armed = True

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
        resting = abs(dforce) < self._still_rate(working)
        # still below the rest the rep started from: the band has not come back (shortest mid-range,
        # anchor below the knee), so the eccentric may not be over
        below_rest = force < self.rep_rest_n - p.rebound_fraction * working
        self._last_below_rest = below_rest
        self.n_settle = self.n_settle + 1 if resting and not below_rest else 0
        if resting:
            self.rest_index = len(self.trace) - 1
        if resting and self.in_dip_n() < force < self.rep_rest_n + p.force_rep_exit * working:
            self.levels.rest_sample(force)  # the bottom rest starts here: track the drifting zero
        # a new rise above the rest level is the next rep; a rise back up *to* the rest level is the
        # band passing its shortest length near extension (anchor below the knee) and belongs here
        rising = dforce > p.force_ecc_enter_rate * working and force > self.rep_rest_n + p.force_rep_exit * working
        # a slow eccentric creeps into the bottom: wait in proportion (and never while the force
        # still falls), so the offset fit sees the rest
        settle_s = self._settle_s()
        settle_max_s = self._settle_max_s()
        if abs(dforce) >= self._still_rate(working):
            self.last_move_s = t
        calm_s = t - max(self.last_move_s, self.exit_s)
        if below_rest:  # still under the rest it started from: a slow knee may still be creeping back up
            settle_max_s *= BELOW_REST_WAIT
        timed_out = (t - self.exit_s > settle_max_s and calm_s >= settle_s) or t - self.exit_s > p.rep_max_s
        self.ended_by_rise = rising
        if self.n_settle * self.dt_s >= settle_s or rising or timed_out:
            self._finalize(t)

    def _settle_max_s(self) -> float:
        """How long settling may wait for that rest, once the force is calm (longer after a slow eccentric)."""
        return max(self.params.settle_max_s, 2.0 * self.params.force_settle_fraction * (self.exit_s - self.onset_s))

    def close(self, t: float) -> None:
        """The recording ended inside a cycle: finish it with what we have, flagged `truncated`
        when its fall was cut or the force had not yet rested after it for the settle time."""
        if self.state is State.ECCENTRIC:
            self._exit(t, t - self.force_delay_s)
            self._finalize(t, truncated=True)
        elif self.state is State.SETTLING:
            # the fall had slowed, but the force had not rested as long as settling asks, or had not
            # come back up to the rest (band shortest mid-range): the knee may still have been moving
            # (a load let go in one drop is over once it is down)
            unsettled = not self.released and self.n_settle * self.dt_s < self._settle_s()
            self._finalize(t, truncated=self._last_below_rest and self._dips_before_rises(self._range()), unsettled=unsettled)
        elif self.state in (State.LOADING, State.TOP):
            self._finalize_held(t)
        elif self.opening is not None:  # no rep began at all: was the recording's start a cut one?
            rest_n = self.levels.rest_n() if self.levels.rest_n() is not None else self.rest_guess_n
            if rest_n is not None:
                p = self.params
                self._check_opening(t, rest_n, p.force_first_rise_n, 0.5 * p.force_first_rise_n)


def _past_last_fall(rows: list[tuple[float, float, float, float]], high_n: float, under_n: float, still_nps: float) -> int:
    """Index in `rows` (t, force, dforce, raw) from which a rise's floor is searched: past the foot
    of a fall just before it (a release, the recording's first cycle), where the filtered force
    rings under the rest before it settles, so that ringing is not taken for where the rise began.
    0 when no fall is in `rows`, or the force never rested between the fall and the rise."""
    climb = len(rows) - 1
    while climb > 0 and rows[climb][1] >= high_n:
        climb -= 1
    fall = climb
    while fall >= 0 and rows[fall][1] < high_n:
        fall -= 1
    if fall < 0:
        return 0
    for i in range(fall + 1, climb + 1):
        if abs(rows[i][2]) < still_nps and rows[i][1] >= under_n:
            return i
    return 0


def _dip_bottom(forces_n: list[float], under_n: float, gap_samples: int) -> int | None:
    """Index of the lowest force in the last stretch under `under_n` (the rest less a margin) before
    a rise: the dip that starts it, or None. Not the lowest since the last rep ended, which with an
    anchor below the knee can be that rep's own force minimum, before its rebound to the rest."""
    under = [i for i, f in enumerate(forces_n) if f < under_n]
    if not under:
        return None
    first = len(under) - 1
    while first > 0 and under[first] - under[first - 1] <= gap_samples + 1:
        first -= 1
    return min(range(under[first], under[-1] + 1), key=forces_n.__getitem__)
