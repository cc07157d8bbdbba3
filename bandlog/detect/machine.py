"""The streaming eccentric-phase state machine (sans I/O).

Theory of operation
-------------------
One sample at a time the machine reads the knee rate (deg/s, flexion positive, causally filtered),
the knee angle (integrated, unfiltered, so it has no delay) and, when present, the band force.
A rep walks through

    IDLE -> LOADING (passive flexion) -> TOP (hold) -> ECCENTRIC -> SETTLING -> IDLE

Entering a state needs its condition to hold for a debounce time (hysteresis: the eccentric is
entered below -5 deg/s and is only left above -2 deg/s, or near the bottom once the rate has fallen
to the rate a minimum-jerk profile has 1 degree before its end). A short stall mid-range stays
inside the eccentric. Decisions are made late but *dated* early: onset and offset are back-dated
to 1 degree of displacement from the top and the bottom (the ground-truth definition), by reading
the rep's trace. EccentricEnded is the live cue and comes as soon as the end is likely; the rep's
final numbers (RepCompleted, built by bandlog.detect.analysis) wait until the knee has settled, so a
stall near the bottom can still extend the eccentric. Every transition is listed in TRANSITIONS;
`_fire` refuses anything else. The force-only variant (force_machine.py) uses the same table.

Segmenting cycles is kept apart from classifying their phases: every loading cycle that passes the
range gate becomes a row, with or without a timed eccentric (a hold never lowered, a recording cut
mid-rep: flags `no_eccentric`, `truncated`). What is not a rep at all (a fidget, a data gap) leaves
as RepRejected with a reason code. A cycle starts at or after the previous row's end (`last_end_s`),
so rows never overlap and no time is counted twice.

`ImuMachine.run` is `step` over arrays: between the samples at which a handler can do more than
count (a debounce count reached, a timeout passed, a flexion big enough to start a cycle), samples
are taken in bulk with the same comparisons made over the arrays, so batch analysis costs little
per sample while the transitions, and every event, stay exactly those of stepping one by one.
"""

from __future__ import annotations

import enum
import statistics
from bisect import bisect_left
from collections import deque
from itertools import islice

import numpy as np

from bandlog.core.events import EccentricEnded, EccentricStarted, Event, RepRejected, RepStarted
from bandlog.detect.bulk import ACTIVE_SCAN, IDLE_SCAN, run_lengths, streak_starts
from bandlog.detect.levels import MAX_REST_SAMPLES, ForceLevels
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace, count_stalls, falling_crossing, last_above

HISTORY_S = 3.0
SLACK_ZONE_FRACTION = 0.5
"""The band-slack check looks at the upper half of each eccentric only."""


class State(enum.Enum):
    IDLE = "idle"
    LOADING = "loading"
    TOP = "top"
    ECCENTRIC = "eccentric"
    SETTLING = "settling"


class Trigger(enum.Enum):
    FLEXION = "flexion"
    TOP_REACHED = "top reached"
    ECC_ENTER = "eccentric entered"
    ECC_EXIT = "eccentric exited"
    RESUME = "eccentric resumed"
    SETTLED = "settled"
    RELEASED = "released without an eccentric"
    JOINED = "recording began during an eccentric"
    ABORT = "abort"


TRANSITIONS: dict[State, dict[Trigger, State]] = {
    State.IDLE: {Trigger.FLEXION: State.LOADING, Trigger.JOINED: State.ECCENTRIC},
    State.LOADING: {Trigger.TOP_REACHED: State.TOP, Trigger.ECC_ENTER: State.ECCENTRIC, Trigger.RELEASED: State.SETTLING,
                    Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
    State.TOP: {Trigger.ECC_ENTER: State.ECCENTRIC, Trigger.FLEXION: State.LOADING, Trigger.RELEASED: State.SETTLING,
                Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
    State.ECCENTRIC: {Trigger.ECC_EXIT: State.SETTLING, Trigger.ABORT: State.IDLE},
    State.SETTLING: {Trigger.RESUME: State.ECCENTRIC, Trigger.SETTLED: State.IDLE, Trigger.ABORT: State.IDLE},
}


def _samples(seconds: float, dt_s: float) -> int:
    return max(1, int(round(seconds / dt_s)))


class MachineBase:
    """State, transition table enforcement, outputs, and the rep bookkeeping both variants share."""

    def __init__(self, params: DetectorParams, dt_s: float) -> None:
        self.params = params
        self.dt_s = dt_s
        self.state = State.IDLE
        self.events: list[Event | RepCandidate] = []
        """Output in order; a RepCandidate stands where bandlog.detect.analysis puts its RepCompleted."""
        self.levels = ForceLevels()
        self.trace = RepTrace()
        self.rep_start_s = 0.0
        self.last_end_s = -float("inf")
        """End of the last row: the next cycle starts at or after it (rows never overlap)."""
        self.accepted_roms: list[float] = []

    def _fire(self, trigger: Trigger) -> None:
        allowed = TRANSITIONS[self.state]
        if trigger not in allowed:
            raise RuntimeError(f"detector bug: {trigger.value!r} is not a transition from {self.state.value!r}")
        self.state = allowed[trigger]

    def drain(self) -> list[Event | RepCandidate]:
        events, self.events = self.events, []
        return events

    def close(self, t: float) -> None:
        """The recording ended inside a cycle (each variant finishes it with what it has)."""
        raise NotImplementedError

    def _reject(self, code: str, reason: str, now_s: float) -> None:
        self.events.append(RepRejected(self.rep_start_s, reason, now_s, code))
        self._fire(Trigger.ABORT)
        self.trace = RepTrace()

    def _duration_gate(self, end_s: float) -> tuple[str, str] | None:
        """(code, reason) when the cycle is too short or too long to be a rep, else None."""
        whole_s = end_s - self.rep_start_s
        p = self.params
        if whole_s < p.rep_min_s:
            return "too_short", f"rep lasted {whole_s:.2f} s, under {p.rep_min_s:g} s"
        if whole_s > p.rep_max_s:
            return "too_long", f"rep lasted {whole_s:.1f} s, over {p.rep_max_s:g} s"
        return None

    def _earliest_start(self, times: list[float]) -> int:
        """Index of the first remembered sample a new cycle may start at: never inside the last one."""
        for i, t in enumerate(times):
            if t >= self.last_end_s:
                return i
        return len(times) - 1


class ImuMachine(MachineBase):
    """Knee-rate driven machine (force+imu and imu modes). Force, if given, only gates and flags."""

    def __init__(self, params: DetectorParams, dt_s: float, has_force: bool, rate_delay_s: float, force_delay_s: float) -> None:
        super().__init__(params, dt_s)
        p = params
        self.has_force = has_force
        self.rate_delay_s = rate_delay_s
        self.force_delay_s = force_delay_s
        self.history: deque[tuple[float, float, float, float]] = deque(maxlen=_samples(HISTORY_S, dt_s))
        self.k_flex = _samples(p.debounce_flexion_s, dt_s)
        self.k_top = _samples(p.debounce_top_s, dt_s)
        self.k_ecc = _samples(p.debounce_ecc_enter_s, dt_s)
        self.k_exit = _samples(p.debounce_exit_s, dt_s)
        self.k_settle = _samples(p.settle_s, dt_s)
        self.k_slack = _samples(p.slack_s, dt_s)
        self.seen_cycle = False
        """Whether any cycle has begun: only before the first can the recording join one mid-way."""
        self.n_flex = self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self._reset_rep()

    def _reset_rep(self) -> None:
        self.state_since_s = 0.0
        self.rep_base_deg = 0.0
        self.top_deg = 0.0
        self.onset_s = 0.0
        self.entry_index = 0
        self.exit_s = 0.0
        self.stall_start_s: float | None = None
        self.rep_rest_n = 0.0
        self.slack_n = 0
        self.cue_sent = False
        self.cut_start = False
        """The recording began inside this cycle (its flexion, perhaps its top, were not seen)."""

    def reset(self) -> None:
        """A hole in the data too long to bridge: drop the rep in progress (no guessing)."""
        if self.state is not State.IDLE:
            self.events.append(RepRejected(self.rep_start_s, "data gap inside the rep", self.rep_start_s, "data_gap"))
            self._fire(Trigger.ABORT)
        self.trace = RepTrace()
        self.history.clear()
        self.n_flex = self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self._reset_rep()

    # -- many samples ---------------------------------------------------------------------------
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
        return flex or (ecc and not self.seen_cycle)

    def _idle_bulk(
        self, rows: tuple[np.ndarray, ...], counts: tuple[np.ndarray, np.ndarray], still: np.ndarray, start: int, stop: int
    ) -> int:
        """Take idle samples start.. in bulk up to the first that may act (or stop); return its index.
        A flexion that has not yet risen flexion_min_deg above the lowest remembered angle is not
        acting: _maybe_start would return at once (checked here against the same history)."""
        n_flex, n_ecc = counts[0][start:stop], counts[1][start:stop]
        flexing = n_flex >= self.k_flex
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
            self.levels.rest_samples(force[resting[:MAX_REST_SAMPLES]].tolist())
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

    # -- one sample -------------------------------------------------------------------------------
    def step(self, t: float, angle: float, rate: float, still: bool, force: float, dforce: float) -> None:
        p = self.params
        self.history.append((t, angle, rate, force))
        self.n_flex = self.n_flex + 1 if rate > p.flexion_enter_dps else 0
        self.n_ecc = self.n_ecc + 1 if rate < p.ecc_enter_dps else 0
        state = self.state
        if state is State.IDLE:
            if still and self.has_force:
                self.levels.rest_sample(force)
            if self.n_flex >= self.k_flex:
                self._maybe_start(t, angle)
            elif self.n_ecc >= self.k_ecc and not self.seen_cycle:
                self._join_eccentric(t)
            return
        self.trace.append(t, angle, rate, force)
        if state is State.LOADING:
            self._loading(t, rate)
        elif state is State.TOP:
            self._top(t)
        elif state is State.ECCENTRIC:
            self._eccentric(t, angle, rate, dforce)
        else:
            self._settling(t, rate)

    def _maybe_start(self, t: float, angle: float) -> None:
        history = self.history
        first = 0 if history[0][0] >= self.last_end_s else self._earliest_start([h[0] for h in history])
        # most calls end here (a flexion still too small), so the history is only copied after it
        if angle - min(h[1] for h in islice(history, first, None)) < self.params.flexion_min_deg:
            return
        hist = list(history)[first:]
        angles = [h[1] for h in hist]
        base = min(angles)
        low = len(angles) - 1 - angles[::-1].index(base)
        times = [h[0] for h in hist]
        start = falling_crossing(times[::-1], angles[::-1], base + self.params.refine_deg, 0, len(angles) - low)
        self.levels.close_rest()
        self._reset_rep()
        rest = self.levels.rest_n()
        # no still rest yet (a clip that never holds still): the force where the knee was lowest,
        # as a median of the samples round it, not the single noisiest minimum
        self.rep_rest_n = rest if rest is not None else statistics.median(h[3] for h in hist[max(0, low - self.k_top) : low + self.k_top + 1])
        self.rep_start_s = start if start is not None else times[low]
        self.rep_base_deg = base
        self.trace = RepTrace()
        for h in hist[low:]:
            self.trace.append(*h)
        self.state_since_s = t
        self.n_top = 0
        self.seen_cycle = True
        self.events.append(RepStarted(self.rep_start_s, t))
        self._fire(Trigger.FLEXION)

    def _join_eccentric(self, t: float) -> None:
        """The recording began mid-rep (a clip trimmed to the movement): the knee is already on its
        way down. The cycle is kept, flagged truncated; its eccentric is timed from the highest
        point seen, which is its real onset only if the recording began before the knee left the top."""
        self.seen_cycle = True
        hist = list(self.history)
        self._reset_rep()
        self.cut_start = True
        self.rep_start_s = hist[0][0]
        self.trace = RepTrace()
        for h in hist:
            self.trace.append(*h)
        self.rep_base_deg = min(h[1] for h in hist)
        self.state_since_s = t
        self.events.append(RepStarted(self.rep_start_s, t))
        self._fire(Trigger.JOINED)
        self._enter_eccentric(t, fire=False)

    def _loading(self, t: float, rate: float) -> None:
        p = self.params
        if self.n_ecc >= self.k_ecc:
            self._enter_eccentric(t)
            return
        self.n_top = self.n_top + 1 if rate < p.top_rate_dps else 0
        if self.n_top >= self.k_top:
            self.state_since_s = t
            self._fire(Trigger.TOP_REACHED)
        elif t - self.rep_start_s > p.rep_max_s:
            self._reject("never_stopped", "flexion never stopped", t)

    def _top(self, t: float) -> None:
        p = self.params
        if self.n_ecc >= self.k_ecc:
            self._enter_eccentric(t)
        elif self.n_flex >= self.k_flex:
            self.n_top = 0
            self._fire(Trigger.FLEXION)
        elif t - self.state_since_s > p.top_timeout_s:
            self._finalize_without_eccentric(t, "no_eccentric")

    def _enter_eccentric(self, t: float, fire: bool = True) -> None:
        tr = self.trace
        entry = len(tr) - 1
        top_index = max(range(entry + 1), key=tr.angle.__getitem__)
        self.top_deg = tr.angle[top_index]
        onset = falling_crossing(tr.t, tr.angle, self.top_deg - self.params.refine_deg, top_index, entry + 1)
        self.onset_s = onset if onset is not None else tr.t[entry - self.k_ecc + 1]
        self.entry_index = top_index
        self.stall_start_s = None
        self.n_exit = 0
        self.events.append(EccentricStarted(self.onset_s, t))
        if fire:
            self._fire(Trigger.ECC_ENTER)

    def _eccentric(self, t: float, angle: float, rate: float, dforce: float) -> None:
        p = self.params
        # a band that does not let go as the knee extends is slack or slipped, but only in the upper
        # part of the movement: with the anchor below the knee the band lengthens again over the
        # last 15-30 degrees, so a rising force there is geometry (science.md 1.4)
        upper = angle - self.rep_base_deg > SLACK_ZONE_FRACTION * (self.top_deg - self.rep_base_deg)
        if self.has_force and upper and rate < p.ecc_enter_dps and dforce >= 0.0:
            self.slack_n += 1
        if self.n_flex >= self.k_flex:  # the knee bends again: whatever this was has ended
            self._exit(t, t - self.k_flex * self.dt_s)
            return
        depth = self.top_deg - self.rep_base_deg
        near_bottom = angle - self.rep_base_deg < p.end_zone_fraction * depth
        elapsed = t - self.onset_s
        mean_rate = (self.top_deg - angle) / elapsed if elapsed > 0 else 0.0
        exit_rate = -max(-p.ecc_exit_dps, p.ecc_exit_fraction * mean_rate)
        self.n_exit = self.n_exit + 1 if (near_bottom and rate > exit_rate) else 0
        if self.n_exit >= self.k_exit:
            self._exit(t, t - (self.k_exit - 1) * self.dt_s - self.rate_delay_s)
            return
        if rate > p.ecc_exit_dps:
            if self.stall_start_s is None:
                self.stall_start_s = t
            elif t - self.stall_start_s >= p.stall_max_s:
                self._exit(t, self.stall_start_s - self.rate_delay_s)
        else:
            self.stall_start_s = None

    def _exit(self, t: float, end_estimate_s: float) -> None:
        self.exit_s = t
        self.n_settle = 0
        if not self.cue_sent:
            self.events.append(EccentricEnded(max(end_estimate_s, self.onset_s), self.onset_s, t))
            self.cue_sent = True
        self._fire(Trigger.ECC_EXIT)

    def _settling(self, t: float, rate: float) -> None:
        p = self.params
        if self.n_ecc >= self.k_ecc:
            self.stall_start_s = None
            self.n_exit = 0
            self._fire(Trigger.RESUME)
            return
        self.n_settle = self.n_settle + 1 if p.ecc_exit_dps < rate < p.top_rate_dps else 0
        if self.n_flex >= 1:  # the next flexion began before the knee had rested for long
            self._finalize(t, next_began=True)
        elif self.n_settle >= self.k_settle or t - self.exit_s > p.settle_max_s:
            self._finalize(t)

    def _min_rom(self) -> float:
        p = self.params
        if not self.accepted_roms:
            return p.min_rom_deg
        return max(p.min_rom_deg, p.min_rom_fraction * statistics.median(self.accepted_roms[-15:]))

    def _finalize(self, t: float, truncated: bool = False, next_began: bool = False) -> None:
        p = self.params
        tr = self.trace
        n = len(tr)
        # where the knee came to rest; if the next rep has already begun, the lowest point between
        stop = n
        if next_began:
            low = min(range(self.entry_index, n), key=tr.angle.__getitem__)
            end_deg, stop = tr.angle[low], low + 1
        else:
            end_deg = statistics.fmean(tr.angle[-self.k_exit :])
        # the offset: the knee last passes 1 degree above where it came to rest
        offset = last_above(tr.t, tr.angle, end_deg + p.refine_deg, self.entry_index, stop)
        ecc_end = offset if offset is not None else self.exit_s
        ecc_end = max(ecc_end, self.onset_s)
        rom = self.top_deg - end_deg
        truncated = truncated or self.cut_start
        flags = ["truncated"] if truncated else []
        rejection = None if truncated else self._duration_gate(ecc_end)
        # a cut eccentric is judged by the flexion that loaded it (its own range is partial)
        rejection = self._range_rejection(max(rom, self.top_deg - self.rep_base_deg) if truncated else rom, rom) or rejection
        force = np.asarray(tr.force) if self.has_force else None
        if force is not None:
            if self.slack_n >= self.k_slack or self._force_drop_too_small(force):
                flags.append("band_slack")
        if rejection is not None:
            self._reject(*rejection, t)
            return
        if not truncated:
            self.accepted_roms.append(rom)
        if force is not None and "band_slack" not in flags and not truncated:
            self.levels.add_rep(self.rep_rest_n, float(force.max()))
        self._emit(t, ecc_end, self.onset_s, ecc_end, rom, flags, force)

    def _finalize_without_eccentric(self, t: float, *flags: str) -> None:
        """The knee went up and never came down under control (held past the timeout, or the
        recording ended first): still a loading cycle, with its tension, and no eccentric to time."""
        tr = self.trace
        rom = max(tr.angle) - min(tr.angle) if len(tr) else 0.0
        rejection = self._range_rejection(rom, rom)
        if rejection is not None:
            self._reject(*rejection, t)
            return
        self._emit(t, tr.t[-1] if len(tr) else t, None, None, rom, list(flags), np.asarray(tr.force) if self.has_force else None)

    def _range_rejection(self, judged_deg: float, rom_deg: float) -> tuple[str, str] | None:
        """('small_range', reason) when the movement judged is under the ROM gate, else None."""
        min_rom = self._min_rom()
        if judged_deg < min_rom:
            return "small_range", f"range of motion {rom_deg:.0f} deg, under {min_rom:.0f} deg"
        return None

    def _emit(
        self, t: float, end_s: float, ecc_start_s: float | None, ecc_end_s: float | None, rom: float, flags: list[str],
        force: np.ndarray | None,
    ) -> None:
        """Hand the finished cycle on; its trace becomes arrays once, here."""
        p = self.params
        tr = self.trace
        t_s, angle_deg, rate_dps = np.asarray(tr.t), np.asarray(tr.angle), np.asarray(tr.rate)
        stalls = 0
        if ecc_start_s is not None and ecc_end_s is not None:
            stalls = count_stalls(
                t_s, angle_deg, rate_dps, ecc_start_s, ecc_end_s, self.rate_delay_s,
                min_s=p.debounce_stall_s, rate_fraction=p.stall_rate_fraction, floor_dps=p.stall_floor_dps,
                edge_fraction=p.stall_edge_fraction,
            )
        self.events.append(
            RepCandidate(
                start_s=self.rep_start_s,
                end_s=end_s,
                ecc_start_s=ecc_start_s,
                ecc_end_s=ecc_end_s,
                detected_at_s=t,
                t_s=t_s,
                angle_deg=angle_deg,
                rate_dps=rate_dps,
                force_n=force,
                rom_deg=rom,
                rest_force_n=self.rep_rest_n if force is not None else None,
                tension_threshold_n=self.levels.threshold_n(self.rep_rest_n) if force is not None else None,
                stalls=stalls,
                flags=tuple(flags),
                estimated=False,
                rate_delay_s=self.rate_delay_s,
                force_delay_s=self.force_delay_s,
            )
        )
        self.last_end_s = end_s
        self.trace = RepTrace()
        self._fire(Trigger.SETTLED)

    def close(self, t: float) -> None:
        """The recording ended inside a cycle: finish it with what we have, flagged `truncated`
        when its eccentric was cut (a cycle merely settling at the bottom is complete)."""
        if self.state is State.ECCENTRIC:
            self._exit(t, t - self.rate_delay_s)
            self._finalize(t, truncated=True)
        elif self.state is State.SETTLING:
            self._finalize(t)
        elif self.state in (State.LOADING, State.TOP):
            self._finalize_without_eccentric(t, "no_eccentric", "truncated")

    def _force_drop_too_small(self, force: np.ndarray) -> bool:
        """The knee went down but the band did not let go: it is slack (or slipped)."""
        working = self.levels.range_n()
        if working is None:
            return False
        return float(force.max() - force[-1]) < self.params.min_force_drop_fraction * working
