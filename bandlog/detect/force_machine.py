"""Force-only variant of the machine (science.md 5.5): no IMU, so phases come from the band force.

A rep is a rise of the force well above its rest level and a fall back; its eccentric is the
stretch where the force falls faster than a set fraction of the working range R per second, held
for a minimum time (slower falls are the band relaxing during the hold). The live cues are
back-dated to where the fall rate crossed a share of the entry rate and corrected for the filter
delay; once the rep is over, its onset and offset are re-dated by hinge fits over the finished rep
(force_fit.py), which reach back before the rate gate tripped. Timing is flagged `estimated`;
angles and velocities are unknown. Same states, same TRANSITIONS.

`ForceMachine.run` is `step` over arrays, as `ImuMachine.run` is: the samples up to the next one at
which a handler can do more than count (or, idle, than keep the rest and noise records) are taken
in bulk, with the same comparisons made over the arrays.
"""

from __future__ import annotations

import statistics
from collections import deque

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.core.events import EccentricEnded, EccentricStarted, RepRejected, RepStarted
from bandlog.detect import force_fit
from bandlog.detect.bulk import ACTIVE_SCAN, run_lengths, streak_starts
from bandlog.detect.levels import MAX_REST_SAMPLES, MIN_REST_SAMPLES, RECENT_REST
from bandlog.detect.machine import HISTORY_S, MachineBase, State, Trigger, _samples
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace

UNKNOWN_RANGE_STILL_NPS = 1.0
"""Rest test before any rep has set R: force changing slower than this (N/s)."""
BUMP_FRACTION = 0.6
"""A rise of this share of force_first_rise_n that falls back without reaching a rep's height is
reported as a 'weak' candidate (smaller wiggles are load-cell noise and band sway)."""
BELOW_REST_WAIT = 3.0
"""Settling waits this many times longer while the force is still under the rest level."""
DIP_REPS = 5
DIP_WINDOW_S = 1.0
"""A dip is a fall of the force within this long before the lowest point ahead of a rise."""
DIP_NOISE_SDS = 6.0
"""A dip must also exceed this many SDs of the force's noise at rest (a noisy light band wobbles
by a few per cent of its range within a second)."""
LEVEL_NOISE_WINDOW = 400
NOISE_LAG_S = 0.25
"""The force's noise at rest is read from differences this far apart (past the filter's smoothing)."""
RISE_NOISE_SDS = 10.0
OPENING_MAX_S = 30.0
"""How long the recording's opening samples are kept while looking for its first rest."""
RATE_NOISE_SDS = 3.0
NOISE_WINDOW = 600
NOISE_UPDATE_EVERY = 50
IDLE_RETRY = 16
"""Idle samples stepped one by one after a look ahead found the first of them unquiet."""
SMOOTH_HZ = 2.0
"""Zero-phase low-pass used only to find a finished rep's peak, bottom and fit windows."""
SMOOTH_PAD = 9
"""Samples sosfiltfilt pads each end with (its default for one 2nd-order section): a shorter cycle
(a rise cut by the recording's end) is used unsmoothed."""


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
        self.rate_noise_nps = 0.0
        self.level_noise_n = 0.0
        self._rest_forces: deque[float] = deque(maxlen=LEVEL_NOISE_WINDOW)
        self._noise_lag = _samples(NOISE_LAG_S, dt_s)
        self.dips_n: deque[float] = deque(maxlen=DIP_REPS)
        """How far the force fell under its rest just before each recent rep's rise."""
        self.opening: list[tuple[float, float, float, float]] | None = []
        """Samples from the recording's start until its first rest is known (None once checked)."""
        self.bump_n = 0.0
        """Height of a rise in progress that is clear of the noise but short of a rep (0 if none)."""
        self.bump_start_s = 0.0
        self._idle_rates: deque[float] = deque(maxlen=NOISE_WINDOW)
        self._idle_count = 0
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

    # -- many samples ---------------------------------------------------------------------------
    def run(self, t: np.ndarray, force: np.ndarray, dforce: np.ndarray, raw: np.ndarray) -> None:
        """`step` over consecutive samples (no gap among them), stepped one by one only where the
        state can change (the first sample at which a handler may act). The samples between are
        taken in bulk (history, trace, peak, debounce counters, stall start and count, rest and
        noise records), set as stepping would set them. Non-finite values are all stepped."""
        rows = [a.tolist() for a in (t, force, dforce, raw)]
        t_l, force_l, dforce_l, raw_l = rows
        n = len(t_l)
        bulk = bool(np.isfinite(force).all() and np.isfinite(dforce).all())  # NaN compares as max() would not
        i = retry = 0
        while i < n:
            if bulk:
                if self.state is State.IDLE:
                    if i < retry:  # the last look found the rest too unsettled to judge: step a while
                        self.step(t_l[i], force_l[i], dforce_l[i], raw_l[i])
                        i += 1
                        continue
                    stop = min(n, i + NOISE_UPDATE_EVERY)
                    j = self._idle_bulk(rows, t[i:stop], force[i:stop], dforce[i:stop], i)
                    retry = i + IDLE_RETRY if j == i else 0
                else:
                    stop = min(n, i + ACTIVE_SCAN)
                    j = self._active_bulk(rows, t[i:stop], force[i:stop], dforce[i:stop], i)
                if j > i:
                    i = j
                    continue
            self.step(t_l[i], force_l[i], dforce_l[i], raw_l[i])
            i += 1

    def _idle_bulk(self, rows: list[list[float]], t: np.ndarray, force: np.ndarray, dforce: np.ndarray, start: int) -> int:
        """Take idle samples in bulk from `start` up to the first that may do more than keep the
        rest and noise records (that one is stepped); return its index. Stepped too: the opening
        (until the recording's first rest is judged), and every sample at which the noise
        estimates update, so both are constant over a bulk stretch. The rest level moves with each
        rest sample, so a sample counts as quiet only if it is quiet for any rest level these
        samples can lead to (_rest_bounds)."""
        levels = self.levels
        window = levels.rest_window_n()
        if self.opening is not None or (len(window) < MIN_REST_SAMPLES and levels.last_rest_n is None and self.rest_guess_n is None):
            return start
        p = self.params
        working = levels.gate_range_n()
        count = self._idle_count + np.arange(1, len(t) + 1)  # _idle_count after each sample
        still = np.abs(dforce) < self._still_rate(working)
        low_rest_n, high_rest_n = self._rest_bounds(window, force[still].tolist())
        floor_n = max(p.force_first_rise_n, RISE_NOISE_SDS * self.level_noise_n)
        rise_needed = max(p.force_rep_enter * working, floor_n) if working is not None else floor_n
        low_enough = min(p.force_rep_exit * working, 0.5 * floor_n) if working is not None else 0.5 * floor_n
        surely_low = force - low_rest_n < low_enough
        above_low = force - high_rest_n >= low_enough
        armed = self.armed | (np.cumsum(surely_low) - surely_low > 0)  # armed when each sample comes
        quiet_armed = above_low & (force - low_rest_n < BUMP_FRACTION * floor_n)
        quiet = (surely_low & (self.bump_n == 0.0)) | np.where(armed, quiet_armed, above_low)
        acts = ~quiet | (count % NOISE_UPDATE_EVERY == 0)
        end = int(np.argmax(acts)) if acts.any() else len(t)
        if end == 0:
            return start
        stop = start + end
        t_l, force_l, dforce_l, raw_l = rows
        self._idle_rates.extend(np.abs(dforce[:end]).tolist())
        self._idle_count += end
        rests = force[:end][still[:end]].tolist()
        self._rest_forces.extend(rests)
        levels.rest_samples(rests)
        if rests:
            self.rest_guess_n = min(rests) if self.rest_guess_n is None else min(self.rest_guess_n, *rests)
        self.armed = bool(self.armed or surely_low[:end].any())
        first = max(start, stop - (self.history.maxlen or 0))
        self.history.extend(zip(t_l[first:stop], force_l[first:stop], dforce_l[first:stop], raw_l[first:stop]))
        return stop

    def _rest_bounds(self, window: list[float], new_n: list[float]) -> tuple[float, float]:
        """Lowest and highest the rest level can be while the rest samples `new_n` join `window`
        (levels.rest_window_n). A median of the window with c samples added and d of its oldest
        dropped lies between its order statistics r - c and r + d (r: the median's rank), so a
        settled window bounds it tightly even while the last rep's tail is still in it."""
        if len(window) < MIN_REST_SAMPLES:  # until then the rest is the last one, or the lowest seen
            pool = [*window, *new_n, self.levels.last_rest_n if self.levels.last_rest_n is not None else self.rest_guess_n]
            return min(x for x in pool if x is not None), max(x for x in pool if x is not None)
        ranked = sorted(window)
        m, k = len(ranked), len(new_n)
        longest = min(m + k, RECENT_REST)  # the window's length, m to this
        low_rank, high_rank = (m - 1) // 2 - k, longest // 2 + (m + k - longest)
        low = ranked[low_rank] if low_rank >= 0 else min(ranked[0], *new_n)
        high = ranked[high_rank] if high_rank < m else max(ranked[-1], *new_n)
        return low, high

    def _active_bulk(self, rows: list[list[float]], t: np.ndarray, force: np.ndarray, dforce: np.ndarray, start: int) -> int:
        """Take samples of a cycle in progress in bulk, from `start` up to the first at which the
        state's handler may do more than count (that one is stepped); return its index."""
        p = self.params
        state = self.state
        rest = self.rep_rest_n
        peak = np.maximum.accumulate(np.maximum(force, self.peak_n))
        working = np.maximum(peak - rest, 1e-6)  # _range() after each sample
        n_ecc = run_lengths(dforce < -p.force_ecc_enter_rate * working, self.n_ecc)
        height = force - rest
        counters: dict[str, np.ndarray] = {"n_ecc": n_ecc}
        if state is State.LOADING or state is State.TOP:
            acts = (n_ecc >= self.k_ecc) | (height < p.force_rep_exit * working)
            if state is State.LOADING:
                counters["n_top"] = run_lengths(dforce < p.force_ecc_exit_rate * working, self.n_top)
                acts |= (counters["n_top"] >= self.k_top) | (t - self.rep_start_s > p.rep_max_s)
            else:
                acts |= t - self.state_since_s > p.force_top_timeout_s
        elif state is State.ECCENTRIC:
            flat = dforce > -p.force_ecc_exit_rate * working
            done = (flat & (height < p.force_bottom_zone * working)) | (height < p.force_rep_exit * working)
            counters["n_exit"] = run_lengths(done, self.n_exit)
            since, ongoing = streak_starts(flat, t, self.stall_start_s)
            acts = (counters["n_exit"] >= self.k_exit) | (ongoing & (t - since >= p.stall_max_s))
        else:
            settle = self._settling_arrays(t, force, dforce, working, n_ecc, counters)
            acts = settle["acts"]
        end = int(np.argmax(acts)) if acts.any() else len(t)
        if end == 0:
            return start
        last = end - 1
        for name, values in counters.items():
            setattr(self, name, int(values[last]))
        self.peak_n = float(peak[last])
        if state is State.ECCENTRIC:
            # a stall that ended (a non-flat sample after a flat run) long enough counts
            before = np.concatenate(([np.nan if self.stall_start_s is None else self.stall_start_s], since[: end - 1]))
            ended = ~flat[:end] & (t[:end] - before >= p.debounce_stall_s)
            self.stalls += int(np.count_nonzero(ended))
            self.stall_start_s = None if np.isnan(since[last]) else float(since[last])
        elif state is State.SETTLING:
            self._settle_bulk(settle, force, start, end)
        stop = start + end
        t_l, force_l, dforce_l, raw_l = rows
        first = max(start, stop - (self.history.maxlen or 0))
        self.history.extend(zip(t_l[first:stop], force_l[first:stop], dforce_l[first:stop], raw_l[first:stop]))
        tr = self.trace
        zeros = [0.0] * end
        tr.t.extend(t_l[start:stop])
        tr.angle.extend(zeros)
        tr.rate.extend(zeros)
        tr.force.extend(force_l[start:stop])
        self.raw.extend(raw_l[start:stop])
        return stop

    def _settling_arrays(
        self, t: np.ndarray, force: np.ndarray, dforce: np.ndarray, working: np.ndarray, n_ecc: np.ndarray,
        counters: dict[str, np.ndarray],
    ) -> dict[str, np.ndarray]:
        """_settling over arrays: where it acts (a resumed fall, a rise, settled, timed out) and
        what it keeps track of on the way (rest, below-rest, last movement)."""
        p = self.params
        rest = self.rep_rest_n
        above = force > rest + p.force_rep_exit * working
        still_rate = np.maximum(p.force_still_rate * working, RATE_NOISE_SDS * self.rate_noise_nps)
        resting = np.abs(dforce) < still_rate
        below_rest = force < rest - p.rebound_fraction * working
        counters["n_settle"] = run_lengths(resting & ~below_rest, self.n_settle)
        rising = (dforce > p.force_ecc_enter_rate * working) & above
        ecc_s = self.exit_s - self.onset_s
        settle_s = max(p.settle_s, p.force_settle_fraction * ecc_s)
        settle_max_s = max(p.settle_max_s, 2.0 * p.force_settle_fraction * ecc_s)
        moved = np.abs(dforce) >= still_rate
        last_move = np.maximum.accumulate(np.where(moved, t, -np.inf))
        last_move = np.where(np.isneginf(last_move), self.last_move_s, last_move)
        calm_s = t - np.maximum(last_move, self.exit_s)
        waited_s = t - self.exit_s
        limit_s = np.where(below_rest, settle_max_s * BELOW_REST_WAIT, settle_max_s)
        timed_out = ((waited_s > limit_s) & (calm_s >= settle_s)) | (waited_s > p.rep_max_s)
        settled = counters["n_settle"] * self.dt_s >= settle_s
        acts = ((n_ecc >= self.k_resume) & above) | settled | rising | timed_out
        return {"acts": acts, "resting": resting, "below_rest": below_rest, "last_move": last_move,
                "rest_sample": resting & (force < rest + p.force_rep_exit * working)}

    def _settle_bulk(self, settle: dict[str, np.ndarray], force: np.ndarray, start: int, end: int) -> None:
        """What the settling samples before `end` leave behind (stepping would set the same)."""
        last = end - 1
        self._last_below_rest = bool(settle["below_rest"][last])
        self.ended_by_rise = False  # a rise acts, so none of these rose
        self.last_move_s = float(settle["last_move"][last])
        resting = np.flatnonzero(settle["resting"][:end])
        if resting.size:
            self.rest_index = len(self.trace) + int(resting[-1])
        samples = np.flatnonzero(settle["rest_sample"][:end])[:MAX_REST_SAMPLES]
        self.levels.rest_samples(force[samples].tolist())

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
            self.level_noise_n = 1.4826 * float(np.median(np.abs(values[lag:] - values[:-lag]))) / np.sqrt(2.0)

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
        lowest = min(range(len(forces)), key=forces.__getitem__)
        lowest_n = forces[lowest]
        # anchor below the knee: the band first shortens as the knee flexes, so the force falls
        # into a dip just before it rises; every rep that does so says the same of its own end.
        # (A force still recovering from the last rep rises into the next one: no dip.)
        before = forces[max(0, lowest - int(round(DIP_WINDOW_S / self.dt_s))) : lowest + 1]
        self.dips_n.append(max(before) - lowest_n)
        level = lowest_n + 0.1 * rise_needed
        start_index = first
        for i in range(len(history) - 1, first - 1, -1):
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

    def _check_opening(self, t: float, rest_n: float, rise_needed_n: float, low_enough_n: float) -> None:
        """At the first rep (or after OPENING_MAX_S): did the recording begin with the band already
        loaded (a clip trimmed to the movement)? Then that falling load is a cycle of its own, kept
        as a row flagged truncated, ending where the force reached its rest."""
        opening, self.opening = self.opening, None
        assert opening is not None
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
            self._reject("rest_shift", f"force stayed {self.peak_n - self.rep_rest_n:.1f} N up for over {p.force_top_timeout_s:g} s", t)
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
        if resting and force < self.rep_rest_n + p.force_rep_exit * working:
            self.levels.rest_sample(force)  # the bottom rest starts here: track the drifting zero
        # a new rise above the rest level is the next rep; a rise back up *to* the rest level is the
        # band passing its shortest length near extension (anchor below the knee) and belongs here
        rising = dforce > p.force_ecc_enter_rate * working and force > self.rep_rest_n + p.force_rep_exit * working
        # a slow eccentric creeps into the bottom: wait in proportion (and never while the force
        # still falls), so the offset fit sees the rest
        ecc_s = self.exit_s - self.onset_s
        settle_s = max(p.settle_s, p.force_settle_fraction * ecc_s)
        settle_max_s = max(p.settle_max_s, 2.0 * p.force_settle_fraction * ecc_s)
        if abs(dforce) >= self._still_rate(working):
            self.last_move_s = t
        calm_s = t - max(self.last_move_s, self.exit_s)
        if below_rest:  # still under the rest it started from: a slow knee may still be creeping back up
            settle_max_s *= BELOW_REST_WAIT
        timed_out = (t - self.exit_s > settle_max_s and calm_s >= settle_s) or t - self.exit_s > p.rep_max_s
        self.ended_by_rise = rising
        if self.n_settle * self.dt_s >= settle_s or rising or timed_out:
            self._finalize(t)

    def close(self, t: float) -> None:
        """The recording ended inside a cycle: finish it with what we have, flagged `truncated`
        when its fall was cut (a cycle settling at the bottom is complete)."""
        if self.state is State.ECCENTRIC:
            self._exit(t, t - self.force_delay_s)
            self._finalize(t, truncated=True)
        elif self.state is State.SETTLING:
            # the fall had slowed, but the force had not come back to rest: it may still be moving
            self._finalize(t, truncated=self._last_below_rest and self._dips_before_rises(self._range()))
        elif self.state in (State.LOADING, State.TOP):
            self._finalize_held(t)
        elif self.opening is not None:  # no rep began at all: was the recording's start a cut one?
            rest_n = self.levels.rest_n() if self.levels.rest_n() is not None else self.rest_guess_n
            if rest_n is not None:
                p = self.params
                self._check_opening(t, rest_n, p.force_first_rise_n, 0.5 * p.force_first_rise_n)

    def _smooth(self) -> np.ndarray:
        """Zero-phase low-pass of the finished cycle's despiked force (peak, bottom and fit windows)."""
        raw = np.asarray(self.raw)
        fs_hz = 1.0 / self.dt_s
        if raw.size <= SMOOTH_PAD:
            return raw
        return sosfiltfilt(butter(2, min(SMOOTH_HZ, 0.4 * fs_hz) / (0.5 * fs_hz), output="sos"), raw, padlen=SMOOTH_PAD)

    def _refined_times(self, smooth: np.ndarray) -> tuple[float, float]:
        """(onset, offset) of the finished rep from hinge fits, falling back to the live estimates."""
        p = self.params
        onset, end = self.onset_s, max(self.end_estimate_s, self.onset_s)
        raw = np.asarray(self.raw)
        if raw.size < 4 * force_fit.MIN_BINS:
            return onset, end
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
            return onset, end
        fitted_onset = force_fit.refine_onset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_onset_level)
        fitted_end = force_fit.refine_offset(t, raw, smooth, peak, bottom, self.dt_s, working, p.force_fit_window, p.force_offset_level)
        ceiling_n = self.rep_rest_n + p.force_rep_exit * working
        rebound_end = None
        if self._dips_before_rises(working):
            rebound_end = force_fit.refine_rebound(
                t, raw, smooth, bottom, self.dt_s, working, p.rebound_fraction, p.force_fit_window, p.force_offset_level, ceiling_n
            )
        onset = fitted_onset if fitted_onset is not None else onset
        end = fitted_end if fitted_end is not None else end
        if rebound_end is not None:
            end = max(end, rebound_end)
        return onset, max(end, onset)

    def shortest_before_extension(self) -> bool:
        """Whether this set's band is shortest before the knee is straight (an anchor below the knee),
        seen in the dip that starts each rise: the last degrees of an eccentric then barely change the
        force, so force alone reads the eccentrics a little short."""
        working = self.levels.range_n()
        return working is not None and working > 0 and self._dips_before_rises(working)

    def _dips_before_rises(self, working_n: float) -> bool:
        """Do this set's rises start with a dip under the rest (the band shortest mid-range)?"""
        floor_n = max(self.params.dip_fraction * working_n, DIP_NOISE_SDS * self.level_noise_n)
        return len(self.dips_n) >= 1 and statistics.median(self.dips_n) >= floor_n

    def _hold_s(self, smooth: np.ndarray, onset_s: float) -> float:
        """How long the force stayed near its peak before the fall began."""
        t = np.asarray(self.trace.t)
        before = t <= onset_s
        if not before.any():
            return 0.0
        peak = float(smooth[before].max())
        near = np.flatnonzero(before & (smooth >= peak - self.params.hold_band * max(peak - self.rep_rest_n, 1e-6)))
        return float(t[near[-1]] - t[near[0]]) if near.size else 0.0

    def _finalize(self, t: float, truncated: bool = False) -> None:
        p = self.params
        self.armed = True  # the force came down (or the next flexion already began)
        force = np.asarray(self.trace.force)
        working = self._range()
        known = self.levels.gate_range_n()
        smooth = self._smooth()
        onset, ecc_end = self._refined_times(smooth)
        if self.released:  # a hinge fit would read the sag of a held pull as a slow start
            onset = ecc_end = self.onset_s
        truncated = truncated or self.cut_start
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
        elif float(force.max() - force[-1]) < p.min_force_drop_fraction * working and not truncated:
            rejection = "no_force_drop", "force did not drop"
        if rejection is not None:
            self._reject(*rejection, t)
            return
        if not truncated:
            self.levels.add_rep(self.rep_rest_n, self.peak_n)
        self._emit(t, end_s, ecc[0], ecc[1], flags, force)

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
