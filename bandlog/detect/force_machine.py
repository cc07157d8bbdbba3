"""The force-only machine the analyzer runs: `ForceSteps` with `run`, its steps taken in bulk.

`ForceMachine.run` is `step` over arrays, as `ImuMachine.run` is: the samples up to the next one at
which a handler can do more than count (or, idle, than keep the rest and noise records) are taken
in bulk, with the same comparisons made over the arrays. The rules themselves are in
force_steps.py; this is bookkeeping (what a stretch of samples would have left behind), kept apart
so the rules read without it.
"""

from __future__ import annotations

import numpy as np

from bandlog.detect.bulk import ACTIVE_SCAN, run_lengths, streak_starts
from bandlog.detect.force_steps import (
    BELOW_REST_WAIT,
    BUMP_FRACTION,
    NOISE_UPDATE_EVERY,
    RATE_NOISE_SDS,
    RISE_NOISE_SDS,
    ForceSteps,
)
from bandlog.detect.levels import MIN_REST_SAMPLES, RECENT_REST
from bandlog.detect.machine import State

IDLE_RETRY = 16
"""Idle samples stepped one by one after a look ahead found the first of them unquiet."""


class ForceMachine(ForceSteps):
    """The force-only machine (force_steps.py), with `run` for many samples at once."""

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
        settle_s = self._settle_s()
        settle_max_s = self._settle_max_s()
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
                "rest_sample": resting & (force < rest + p.force_rep_exit * working) & (force > self.in_dip_n())}

    def _settle_bulk(self, settle: dict[str, np.ndarray], force: np.ndarray, start: int, end: int) -> None:
        """What the settling samples before `end` leave behind (stepping would set the same)."""
        last = end - 1
        self._last_below_rest = bool(settle["below_rest"][last])
        self.ended_by_rise = False  # a rise acts, so none of these rose
        self.last_move_s = float(settle["last_move"][last])
        resting = np.flatnonzero(settle["resting"][:end])
        if resting.size:
            self.rest_index = len(self.trace) + int(resting[-1])
        samples = np.flatnonzero(settle["rest_sample"][:end])
        self.levels.rest_samples(force[samples].tolist())
