"""The knee-rate machine the analyzer runs: `ImuSteps` with `run`, its per-sample steps taken in bulk.

Between the samples at which a handler can do more than count (a debounce count reached, a timeout
passed, a flexion big enough to start a cycle), samples are taken in bulk with the same comparisons
made over the arrays, so batch analysis costs little per sample while the transitions, and every
event, stay exactly those of stepping one by one (imu_steps.py, which holds the rules). Kept apart
from the rules because this is bookkeeping: what a stretch of samples would have left behind.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from bandlog.detect.bulk import ACTIVE_SCAN, IDLE_SCAN, run_lengths, streak_starts
from bandlog.detect.imu_steps import SLACK_ZONE_FRACTION, ImuSteps
from bandlog.detect.machine import State


class ImuMachine(ImuSteps):
    """Knee-rate driven machine (force+imu and imu modes), with `run` for many samples at once."""

    def run(
        self, t: np.ndarray, angle: np.ndarray, rate: np.ndarray, still: np.ndarray, force: np.ndarray, dforce: np.ndarray
    ) -> None:
        """`step` over consecutive samples (no gap among them), stepped one by one only where the
        state can change. Between those, samples are taken in bulk: what they touch (history,
        trace, debounce counters, rest samples, the stall start and the slack count) is set here as
        stepping would set it, from the same comparisons made over the arrays."""
        rows = (t, angle, rate, force)  # what the history and trace keep (as lists, a slice at a time)
        n = len(t)
        p = self.params
        # step counts these in every state from the rate alone, so they are known for all samples now
        counts = (run_lengths(rate > p.flexion_enter_dps, self.n_flex), run_lengths(rate < p.ecc_enter_dps, self.n_ecc))
        i = 0
        while i < n:
            if self.state is State.IDLE:
                if not self._acts_at(float(rate[i])):
                    i = self._idle_bulk(rows, counts, still, i, min(n, i + IDLE_SCAN))
                    continue
            else:
                stop = min(n, i + ACTIVE_SCAN)
                j = self._active_bulk(rows, counts, t[i:stop], angle[i:stop], rate[i:stop], dforce[i:stop], i)
                if j > i:
                    i = j
                    continue
            self.step(float(t[i]), float(angle[i]), float(rate[i]), bool(still[i]), float(force[i]), float(dforce[i]))
            i += 1

    def _acts_at(self, rate: float) -> bool:
        """Whether an idle sample with this rate reaches a debounce count (so must be stepped)."""
        p = self.params
        flex = rate > p.flexion_enter_dps and self.n_flex + 1 >= self.k_flex
        ecc = rate < p.ecc_enter_dps and self.n_ecc + 1 >= self.k_ecc
        if not self.loading_first:
            return ecc
        return flex or (ecc and not self.seen_cycle)

    def _idle_bulk(
        self, rows: tuple[np.ndarray, ...], counts: tuple[np.ndarray, np.ndarray], still: np.ndarray, start: int, stop: int
    ) -> int:
        """Take idle samples start.. in bulk up to the first that may act (or stop); return its index.
        A flexion that has not yet risen flexion_min_deg above the lowest remembered angle is not
        acting: _maybe_start would return at once (checked here against the same history)."""
        n_flex, n_ecc = counts[0][start:stop], counts[1][start:stop]
        flexing = n_flex >= self.k_flex
        if not self.loading_first:  # only an eccentric starts a cycle
            flexing = np.zeros_like(flexing)
            acts = n_ecc >= self.k_ecc
        else:
            acts = flexing | (n_ecc >= self.k_ecc) if not self.seen_cycle else flexing.copy()
        t, angle, force = rows[0], rows[1], rows[3]
        if flexing.any():
            self._drop_small_flexions(acts, flexing, t, angle, start, stop)
        end = start + int(np.argmax(acts)) if acts.any() else stop
        if end == start:
            return start
        self.n_flex, self.n_ecc = int(n_flex[end - start - 1]), int(n_ecc[end - start - 1])
        first = max(start, end - (self.history.maxlen or 0))
        self.history.extend(zip(*(a[first:end].tolist() for a in rows)))
        if self.has_force:
            resting = np.flatnonzero(still[start:end]) + start
            self.levels.rest_samples(force[resting].tolist())
        return end

    def _drop_small_flexions(
        self, acts: np.ndarray, flexing: np.ndarray, t: np.ndarray, angle: np.ndarray, start: int, stop: int
    ) -> None:
        """Clear `acts` at flexing samples before the first one _maybe_start would act on. In place."""
        keep = self.history.maxlen or 0
        angles = np.concatenate([np.fromiter((h[1] for h in self.history), float, len(self.history)), angle[start:stop]])
        times = [h[0] for h in self.history] + t[start:stop].tolist()
        since = bisect_left(times, self.last_end_s)  # a cycle may not start inside the last one
        offset = len(self.history)
        other = acts & ~flexing
        limit = int(np.argmax(other)) if other.any() else len(acts)
        for k in np.flatnonzero(flexing[:limit]).tolist():
            at = offset + k
            low = max(since, at - keep + 1) if since <= at else at
            if float(angle[start + k]) - float(angles[low : at + 1].min()) >= self.params.flexion_min_deg:
                return
            acts[k] = False

    def _active_bulk(
        self, rows: tuple[np.ndarray, ...], counts: tuple[np.ndarray, np.ndarray], t: np.ndarray, angle: np.ndarray,
        rate: np.ndarray, dforce: np.ndarray, start: int,
    ) -> int:
        """Take samples of a cycle in progress in bulk, from `start` up to the first at which the
        state's handler may do more than count (that one is stepped); return its index."""
        p = self.params
        n_flex, n_ecc = counts[0][start : start + len(t)], counts[1][start : start + len(t)]
        state = self.state
        counters: dict[str, np.ndarray] = {}
        if state is State.LOADING:
            counters["n_top"] = run_lengths(rate < p.top_rate_dps, self.n_top)
            acts = (n_ecc >= self.k_ecc) | (counters["n_top"] >= self.k_top) | (t - self.rep_start_s > p.rep_max_s)
        elif state is State.TOP:
            acts = (n_ecc >= self.k_ecc) | (n_flex >= self.k_flex) | (t - self.state_since_s > p.top_timeout_s)
        elif state is State.SETTLING:
            counters["n_settle"] = run_lengths((p.ecc_exit_dps < rate) & (rate < p.top_rate_dps), self.n_settle)
            acts = (n_ecc >= self.k_ecc) | (n_flex >= 1) | (counters["n_settle"] >= self.k_settle) | (t - self.exit_s > p.settle_max_s)
        else:
            acts, stall_from, slack = self._eccentric_acts(t, angle, rate, n_flex, counters)
        end = int(np.argmax(acts)) if acts.any() else len(t)
        if end == 0:
            return start
        last = end - 1
        self.n_flex, self.n_ecc = int(n_flex[last]), int(n_ecc[last])
        for name, values in counters.items():
            setattr(self, name, int(values[last]))
        if state is State.ECCENTRIC:
            self.stall_start_s = None if np.isnan(stall_from[last]) else float(stall_from[last])
            if self.has_force:
                self.slack_n += int(np.count_nonzero(slack[:end] & (dforce[:end] >= 0.0)))
        stop = start + end
        taken = [a[start:stop].tolist() for a in rows]
        kept = stop - max(start, stop - (self.history.maxlen or 0))
        self.history.extend(zip(*(column[len(column) - kept :] for column in taken)))
        tr = self.trace
        for trace_column, column in zip((tr.t, tr.angle, tr.rate, tr.force), taken):
            trace_column.extend(column)
        return stop

    def _eccentric_acts(
        self, t: np.ndarray, angle: np.ndarray, rate: np.ndarray, n_flex: np.ndarray, counters: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """_eccentric over arrays: (where it exits: flexion, the end near the bottom, a long stall;
        the stall start in force after each sample, NaN for none; where the band may be slack)."""
        p = self.params
        base, top = self.rep_base_deg, self.top_deg
        slack = (angle - base > SLACK_ZONE_FRACTION * (top - base)) & (rate < p.ecc_enter_dps)
        near_bottom = angle - base < p.end_zone_fraction * (top - base)
        elapsed = t - self.onset_s
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_rate = np.where(elapsed > 0, (top - angle) / elapsed, 0.0)
        exit_rate = -np.maximum(-p.ecc_exit_dps, p.ecc_exit_fraction * mean_rate)
        counters["n_exit"] = run_lengths(near_bottom & (rate > exit_rate), self.n_exit)
        since, ongoing = streak_starts(rate > p.ecc_exit_dps, t, self.stall_start_s)
        long_stall = ongoing & (t - since >= p.stall_max_s)
        acts = (n_flex >= self.k_flex) | (counters["n_exit"] >= self.k_exit) | long_stall
        return acts, since, slack
