"""The knee-rate machine one sample at a time: its handlers, which make every transition.

`ImuSteps.step` reads one sample and acts as the state's handler says (machine.py explains the
states and holds the table); it is the whole detector, sample by sample. imu_machine.py builds the
machine the analyzer runs on top of it, taking the samples between state changes in bulk: kept
apart so the rules read in one place, without the array bookkeeping that only makes them fast.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque
from dataclasses import replace
from itertools import islice

import numpy as np

from bandlog.core.events import EccentricEnded, EccentricStarted, RepRejected, RepStarted
from bandlog.detect.machine import HISTORY_S, MachineBase, State, Trigger, samples_in
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import RepCandidate, RepTrace, count_stalls, falling_crossing, last_above

SLACK_ZONE_FRACTION = 0.5
"""The band-slack check looks at the upper half of each eccentric only."""
REST_LAG_S = 0.5
"""An eccentric from a rest (the runner's stretch) is dated from the rest's level, read over the
REST_WINDOW_S that end this long before the knee first fell refine_deg below its highest: a slow
start has left the rest some 0.4 s before it has moved 1 deg (science.md 5.9)."""
REST_WINDOW_S = 0.5
"""How long the rest's level is read over (its median). The highest point of a rest is the top of
the body's sway, not the level the knee left: dated from it, runner's stretch onsets came out early.
bench/accuracy.py's scoring, before the share was narrowed (exercises.RUNNERS_STRETCH_SHARE):
- seeds 0-59 and 180-239 together: signed median -28 -> -8 ms, |error| median 60 -> 47 ms, P95
  261 -> 237 ms;
- seven other sets of 60 seeds (60-179, 240-419, 480-539, 600-659): |error| median 47-56 -> 40-46
  ms, P95 233-261 -> 194-243 ms, lower in every set;
- ending the window 0.4-0.6 s before, or reading it over 1 s: within 3 ms of the median; 0.3 s over
  0.3 s: P95 282 ms; ending it 3 x the time from 1 to 2 refine_deg before (so that a slow start is
  not read as the rest): P95 up to 259 ms;
- under a sway the model does not make (12 sines at 0.05-1 Hz, amplitude ~ 1/f; seeds 0-59, the
  share narrowed), |error| median / P95 from the rest's top -> its level: at the model's RMS 36 / 171
  -> 29 / 175 ms, at twice it 52 / 308 -> 40 / 234 ms.
What it costs: the late tail of slow, small reps of a shank turning a low share of the knee (1-2 s
late at worst) grows, so without the model's sway (bench/standing_limits.py) the onset P95 is worse
(140 -> 184 ms)."""


class ImuSteps(MachineBase):
    """Knee-rate driven machine (force+imu and imu modes), stepped one sample at a time. Force, if
    given, only gates and flags."""

    def __init__(
        self, params: DetectorParams, dt_s: float, has_force: bool, rate_delay_s: float, force_delay_s: float,
        loading_first: bool = True,
        slow_ends: bool = False,
        band_optional: bool = False,
    ) -> None:
        super().__init__(params, dt_s)
        p = params
        self.has_force = has_force
        self.band_optional = band_optional
        """The exercise may be done without a band: a rep whose force never rose no_band_n above its
        rest is handed on without force (counted in reps_without_band) rather than flagged band_slack."""
        self.reps_without_band = 0
        self.loading_first = loading_first
        """Each rep begins with the loading flexion from an extended rest (the reverse curl, the standing
        "L"); False: with the eccentric from a bent rest (the runner's stretch), and a flexion back to
        the rest is no rep of its own."""
        self.slow_ends = slow_ends
        """The shank turns only a few deg/s (a planted foot, bandlog.detect.exercises): the eccentric
        is entered before it has moved refine_deg from the top, so its onset is dated once the rep is
        done; and where it came to rest is read where it first halts, not once settled, because a
        body standing on one foot sways, and the shank with it."""
        self._share_params = params
        self.whole_knee = False
        """The angle is the knee's own (a thigh sensor's turn taken out, bandlog.detect.thigh), not a
        planted shank's share of it."""
        self.rate_delay_s = rate_delay_s
        self.force_delay_s = force_delay_s
        self.history: deque[tuple[float, float, float, float]] = deque(maxlen=samples_in(HISTORY_S, dt_s))
        self.k_flex = samples_in(p.debounce_flexion_s, dt_s)
        self.k_top = samples_in(p.debounce_top_s, dt_s)
        self.k_ecc = samples_in(p.debounce_ecc_enter_s, dt_s)
        self.k_exit = samples_in(p.debounce_exit_s, dt_s)
        self.k_settle = samples_in(p.settle_s, dt_s)
        self.k_slack = samples_in(p.slack_s, dt_s)
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
        self.onset_pending = False
        """The eccentric was entered before it had left the top by refine_deg (slow_ends)."""

    def reset(self, code: str = "data_gap", reason: str = "data gap inside the rep", now_s: float | None = None) -> None:
        """A hole in the data too long to bridge, or knee angles that no longer continue the ones
        before (the axis learned afresh or turned round): drop the rep in progress (no guessing),
        rejected as `code` (a REJECT_REASONS key) with `reason`, detected at `now_s` (default: when
        the rep began)."""
        if self.state is not State.IDLE:
            detected_s = self.rep_start_s if now_s is None else max(now_s, self.rep_start_s)
            self.events.append(RepRejected(self.rep_start_s, reason, detected_s, code))
            self._fire(Trigger.ABORT)
        self.trace = RepTrace()
        self.history.clear()
        self.n_flex = self.n_top = self.n_ecc = self.n_exit = self.n_settle = 0
        self._reset_rep()


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
            if not self.loading_first:
                if self.n_ecc >= self.k_ecc:
                    self._start_eccentric(t)
            elif self.n_flex >= self.k_flex:
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
        start = falling_crossing(times[::-1], angles[::-1], base + self.refine_deg(), 0, len(angles) - low)
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

    def _start_eccentric(self, t: float) -> None:
        """An eccentric-first rep (loading_first False) begins: the knee leaves its bent rest. The
        cycle starts at the onset (the top is the rest, read from the history since the last row);
        where the bottom lies is only known from the reps before (the first is judged on its rate)."""
        hist = list(self.history)
        first = 0 if hist[0][0] >= self.last_end_s else self._earliest_start([h[0] for h in hist])
        self.levels.close_rest()
        self._reset_rep()
        self.trace = RepTrace()
        for h in hist[first:]:
            self.trace.append(*h)
        self._fire(Trigger.FROM_REST)
        self._enter_eccentric(t, fire=False)
        self.rep_start_s = self.onset_s
        # no rest seen before the first eccentric: the recording began on its way down
        self.cut_start = not self.seen_cycle and self.onset_s <= hist[first][0] + self.dt_s
        self.seen_cycle = True
        rest = self.levels.rest_n()
        self.rep_rest_n = rest if rest is not None else hist[first][3]
        self.rep_base_deg = self.top_deg - (statistics.median(self.accepted_roms[-15:]) if self.accepted_roms else 0.0)
        self.state_since_s = t
        self.events.insert(len(self.events) - 1, RepStarted(self.rep_start_s, t))

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
        onset = self._onset_crossing(top_index, entry + 1)
        self.onset_s = onset if onset is not None else tr.t[entry - self.k_ecc + 1]
        self.onset_pending = onset is None and self.slow_ends
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

    def _onset_crossing(self, top_index: int, stop: int) -> float | None:
        """When the knee first fell refine_deg below the top (trace samples top_index..stop-1); None if
        not yet. A loading cycle's top is its highest point. An eccentric from a rest (loading_first
        False) is dated from the rest's level instead (REST_LAG_S): None until the knee has fallen
        refine_deg below that too."""
        tr = self.trace
        refine = self.refine_deg()
        first = falling_crossing(tr.t, tr.angle, self.top_deg - refine, top_index, stop)
        if first is None or self.loading_first:
            return first
        end = bisect.bisect_left(tr.t, first - REST_LAG_S, top_index, stop)
        begin = bisect.bisect_left(tr.t, first - REST_LAG_S - REST_WINDOW_S, top_index, end)
        if end - begin < 3:  # the highest point came just before the fall: it is the level
            return first
        level = statistics.median(tr.angle[begin:end])
        return falling_crossing(tr.t, tr.angle, level - refine, end, stop)

    def set_whole_knee(self, whole_knee: bool) -> None:
        """Whether the angle from here on is the knee's whole turn (a thigh sensor's taken out): then
        1 deg of it is 1 deg of knee, not a planted shank's guessed share. The ranges learned so far
        were in the other angle's degrees, so the range gate learns afresh."""
        if whole_knee == self.whole_knee:
            return
        self.whole_knee = whole_knee
        self.accepted_roms.clear()  # ranges in the other angle's degrees: the range gate learns afresh
        if whole_knee:
            self._share_params = self.params
            self.params = replace(self.params, knee_share_min=1.0, knee_share_max=1.0, refine_deg=DetectorParams().refine_deg)
        else:
            self.params = self._share_params

    def refine_deg(self) -> float:
        """The displacement (deg of the measured angle) onset and offset are dated at: 1 deg of knee.
        Where the angle turns an unknown share of the knee's (knee_share_min < knee_share_max, a
        planted shank), refine_deg scaled by the share most likely given the median range of the
        reps accepted so far: with share g and knee range K both uniform, a range S = g K leaves g
        with density ~ 1/g between max(share_min, S/K_max) and min(share_max, S/K_min), whose mean
        is (b - a) / ln(b / a). Before the first accepted rep, and for a range the two cannot make,
        the middle share (refine_deg itself)."""
        p = self.params
        middle = (p.knee_share_min + p.knee_share_max) / 2
        if p.knee_share_min == p.knee_share_max or not self.accepted_roms:
            return p.refine_deg
        rom = statistics.median(self.accepted_roms[-15:])
        low, high = max(p.knee_share_min, rom / p.knee_rom_max_deg), min(p.knee_share_max, rom / p.knee_rom_min_deg)
        share = (high - low) / math.log(high / low) if high > low > 0 else middle
        return p.refine_deg * share / middle

    def _min_rom(self) -> float:
        p = self.params
        if not self.accepted_roms:
            return p.min_rom_deg
        return max(p.min_rom_deg, p.min_rom_fraction * statistics.median(self.accepted_roms[-15:]))

    def _finalize(self, t: float, truncated: bool = False, next_began: bool = False, unsettled: bool = False) -> None:
        """Judge and emit the finished cycle. `truncated`: the recording cut its eccentric (the gates
        that need all of it are skipped); `unsettled`: it ended before the knee had rested at the
        bottom for settle_s (judged as usual, then flagged truncated: it may still have been moving)."""
        tr = self.trace
        n = len(tr)
        # where the knee came to rest; if the next rep has already begun, the lowest point between
        stop = n
        if next_began:
            low = min(range(self.entry_index, n), key=tr.angle.__getitem__)
            end_deg, stop = tr.angle[low], low + 1
        elif self.slow_ends:
            exit_index = bisect.bisect_left(tr.t, self.exit_s)
            halt = next((i for i in range(exit_index, n) if tr.rate[i] >= 0.0), n - 1)
            end_deg = min(tr.angle[self.entry_index : halt + 1])
        else:
            end_deg = statistics.fmean(tr.angle[-self.k_exit :])
        refine = self.refine_deg()
        if self.onset_pending:  # the knee has now left the top by refine_deg
            onset = self._onset_crossing(self.entry_index, stop)
            self.onset_s = onset if onset is not None else self.onset_s
            if not self.loading_first:
                self.rep_start_s = self.onset_s
        # the offset: the knee last passes 1 degree above where it came to rest
        offset = last_above(tr.t, tr.angle, end_deg + refine, self.entry_index, stop)
        ecc_end = offset if offset is not None else self.exit_s
        ecc_end = max(ecc_end, self.onset_s)
        rom = self.top_deg - end_deg
        truncated = truncated or self.cut_start
        flags = ["truncated"] if truncated else []
        rejection = None if truncated else self._duration_gate(ecc_end)
        # a cut eccentric is judged by the flexion that loaded it (its own range is partial)
        rejection = self._range_rejection(max(rom, self.top_deg - self.rep_base_deg) if truncated else rom, rom) or rejection
        force = self._band_force()
        if force is not None and (self.slack_n >= self.k_slack or self._force_drop_too_small(force)):
            flags.append("band_slack")
        if rejection is not None:
            self._reject(*rejection, t)
            return
        if not truncated:
            self.accepted_roms.append(rom)
        if force is not None and "band_slack" not in flags and not truncated:
            self.levels.add_rep(self.rep_rest_n, float(force.max()))
        if unsettled and not truncated:
            flags.insert(0, "truncated")
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
        self._emit(t, tr.t[-1] if len(tr) else t, None, None, rom, list(flags), self._band_force())

    def _band_force(self) -> np.ndarray | None:
        """The finished cycle's force, or None without a force channel, or when the exercise may be
        done without a band and the force never rose no_band_n above its rest (no band was on)."""
        if not self.has_force or not self.trace.force:
            return None
        force = np.asarray(self.trace.force)
        if self.band_optional and float(np.nanmax(force)) - self.rep_rest_n < self.params.no_band_n:
            return None
        return force

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
        """Hand the finished cycle on; its trace becomes arrays once, here. A cycle handed on without
        force from a force channel had no band on (_band_force): counted in reps_without_band."""
        p = self.params
        if self.has_force and force is None:
            self.reps_without_band += 1
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
        when its eccentric was cut, or when the knee had slowed but not yet been seen resting at
        the bottom for as long as settling asks (it may still have been creeping down)."""
        if self.state is State.ECCENTRIC:
            self._exit(t, t - self.rate_delay_s)
            self._finalize(t, truncated=True)
        elif self.state is State.SETTLING:
            self._finalize(t, unsettled=self.n_settle < self.k_settle)
        elif self.state in (State.LOADING, State.TOP):
            self._finalize_without_eccentric(t, "no_eccentric", "truncated")

    def _force_drop_too_small(self, force: np.ndarray) -> bool:
        """The knee went down but the band did not let go: it is slack (or slipped)."""
        working = self.levels.range_n()
        if working is None:
            return False
        return float(force.max() - force[-1]) < self.params.min_force_drop_fraction * working
