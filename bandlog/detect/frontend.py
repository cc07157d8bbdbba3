"""Pre-processing between SampleBlocks and the state machine (science.md 5.2).

Samples arrive at a nominal rate with holes where BLE packets were lost. The front end learns the
rate from the first samples, fills short holes by linear interpolation (so every filter runs on a
regular grid), and produces the filtered channels the machine reads. All of it is causal and
stateful, so any split of the input into blocks yields the same output, sample for sample.

Bad input costs only what is bad: a sample whose time is not a number or does not advance is
dropped; a channel value that is not finite (NaN, +-inf: an empty or corrupt cell) or beyond any
sensor's range is a missing sample of that channel only, filled like a short hole from its finite
neighbours (ValueRepair), so no filter ever sees a non-finite number. Both are counted for the
set's summary. The sample interval learned at the start must be one a sensor produces
(SampleTimeError otherwise), and filling never invents more than FILL_RATIO samples per measured
one, so the work stays linear in the input whatever its times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from bandlog.core.errors import SampleTimeError
from bandlog.core.samples import SampleBlock
from bandlog.detect.filters import Derivative, Lowpass, Median3
from bandlog.detect.params import DetectorParams
from bandlog.detect.repair import ValueRepair

log = logging.getLogger(__name__)

RATE_SAMPLES = 9
"""Samples buffered before the first output: the nominal interval is their median spacing."""
MIN_INTERVAL_S = 1e-4
MAX_INTERVAL_S = 2.0
"""Nominal sample intervals a sensor can produce (10 kHz down to 0.5 Hz); any other is corrupt time."""
GRAVITY_TURN_S = 0.5
"""Span over which the slow gravity's turn is measured (Frame.gyro_bias_reading_dps)."""
FILL_RATIO = 4.0
"""At most this many interpolated samples per measured one (beyond one longest hole)."""


@dataclass(frozen=True)
class Frame:
    """Regular-grid samples ready for the machine; `real` marks samples that were measured."""

    t_s: np.ndarray
    real: np.ndarray
    gap_before: np.ndarray
    """True on the first sample after a hole too long to fill."""
    gyro_dps: np.ndarray | None
    gyro_lp_dps: np.ndarray | None
    gyro_slow_dps: np.ndarray | None
    acc_slow_ms2: np.ndarray | None
    force_n: np.ndarray | None
    dforce_nps: np.ndarray | None
    force_raw_n: np.ndarray | None = None
    """Despiked but unfiltered force, one sample late (3-sample median): for offline fits."""
    acc_ms2: np.ndarray | None = None
    """Unfiltered acceleration (the tilt filter removes the motion terms itself)."""
    gyro_bias_reading_dps: np.ndarray | None = None
    """The slow gyro less the rotation the slow gravity shows across itself (Frontend._bias_reading): what
    a still window reads of the gyro bias even while the knee creeps (a top hold drifting a degree
    or two). The slow gyro itself where there is no accelerometer."""

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def part(self, start: int, stop: int | None = None) -> Frame:
        """Samples [start, stop) as a Frame of their own (views, not copies)."""
        cut = slice(start, stop)
        parts: dict[str, Any] = {f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[cut] for f in fields(self)}
        return replace(self, **parts)


class Frontend:
    """Turns irregular, gappy SampleBlocks into regular filtered Frames."""

    def __init__(self, params: DetectorParams) -> None:
        self.params = params
        self.dt_s: float | None = None
        self._pending: list[SampleBlock] = []
        self._last: SampleBlock | None = None
        self._gyro_lp: Lowpass | None = None
        self._gyro_slow: Lowpass | None = None
        self._acc_slow: Lowpass | None = None
        self._turn_tail: np.ndarray | None = None
        self._turn_seen = 0
        """Samples _bias_reading has taken (its first ones fall in the slow filters' start-up)."""
        self._force_lp: Lowpass | None = None
        self._force_rate_lp: Lowpass | None = None
        self._median = Median3()
        self._derivative: Derivative | None = None
        self._repair = ValueRepair(params.max_fill_s)
        self._last_t = -np.inf
        self.samples_out_of_order = 0
        """Samples dropped because their time was not a number or did not advance."""
        self.holes_unfilled = 0
        """Time holes short enough to fill but left as gaps: filling would have broken FILL_RATIO."""
        self._measured = 0
        self._filled = 0

    @property
    def values_filled(self) -> int:
        """Channel values that were not finite (or absurd) and were filled from their neighbours."""
        return self._repair.values_filled

    @property
    def samples_in_long_runs(self) -> int:
        """Samples dropped inside runs of unusable values too long to fill (analysed as gaps)."""
        return self._repair.samples_dropped

    @property
    def samples_dropped(self) -> int:
        """Samples not analysed, for either reason."""
        return self.samples_out_of_order + self._repair.samples_dropped

    @property
    def force_delay_s(self) -> float:
        """How late the filtered force runs behind the true force."""
        if self.dt_s is None or self._force_lp is None:
            return 0.0
        return self._force_lp.group_delay_s + self.dt_s

    @property
    def force_rate_delay_s(self) -> float:
        """How late dF/dt runs behind the true force slope."""
        if self.dt_s is None or self._force_rate_lp is None:
            return 0.0
        return self._force_rate_lp.group_delay_s + 1.5 * self.dt_s

    @property
    def gyro_delay_s(self) -> float:
        """How late the phase-logic (filtered) gyro runs behind the true rate."""
        return self._gyro_lp.group_delay_s if self._gyro_lp is not None else 0.0

    def push(self, block: SampleBlock) -> Frame | None:
        repaired_before = self.values_filled + self.samples_in_long_runs
        block = self._repair.push(self._monotonic(block))
        if repaired_before == 0 and self.values_filled + self.samples_in_long_runs:
            log.info("channel values that are not finite (empty or corrupt cells): filled from their neighbours, "
                 "or dropped where too many in a row; the set's summary counts them")
        return self._accept(block)

    def flush(self) -> Frame | None:
        """The recording ended: release samples held for repair and those still waiting for the
        rate estimate (a very short recording)."""
        block = self._repair.flush()
        if self.dt_s is not None:
            return self._process(block) if block is not None and len(block) else None
        if block is not None and len(block):
            self._pending.append(block)
        joined = SampleBlock.concat(self._pending)
        self._pending = []
        if len(joined) < 2:
            return None
        self._start(joined)
        return self._process(joined)

    def _accept(self, block: SampleBlock) -> Frame | None:
        if self.dt_s is None:
            if len(block):
                self._pending.append(block)
            if sum(len(b) for b in self._pending) < RATE_SAMPLES:
                return None
            block = SampleBlock.concat(self._pending)
            self._pending = []
            self._start(block)
        if len(block) == 0:
            return None
        return self._process(block)

    def _monotonic(self, block: SampleBlock) -> SampleBlock:
        """Drop samples whose time is not a number or does not advance (duplicates, clock glitches)."""
        t = block.t_s
        if len(t) == 0:
            return block
        finite = np.isfinite(t)
        running = np.maximum.accumulate(np.concatenate([[self._last_t], np.where(finite, t, -np.inf)]))
        keep = finite & (t > running[:-1])
        self._last_t = float(running[-1])
        if keep.all():
            return block
        dropped = int((~keep).sum())
        if self.samples_out_of_order == 0:
            log.warning("dropped %d samples whose time was not a number or did not advance", dropped)
        self.samples_out_of_order += dropped
        return block.take(keep)

    def _start(self, first: SampleBlock) -> None:
        t = first.t_s[:RATE_SAMPLES]  # exactly these samples, however the input was split
        with np.errstate(over="ignore"):
            dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.01
        if not MIN_INTERVAL_S <= dt <= MAX_INTERVAL_S:
            raise SampleTimeError(
                f"the samples are {dt:.3g} s apart, outside the {MIN_INTERVAL_S * 1e3:g} ms to {MAX_INTERVAL_S:g} s "
                "a sensor samples at: their times are corrupt or not in seconds"
            )
        self.dt_s = dt
        fs_hz = 1.0 / dt
        p = self.params
        if first.gyro_dps is not None:
            self._gyro_lp = Lowpass(p.gyro_lp_hz, fs_hz)
            self._gyro_slow = Lowpass(p.still_lp_hz, fs_hz)
        if first.acc_ms2 is not None:
            self._acc_slow = Lowpass(p.still_lp_hz, fs_hz)
        if first.force_n is not None:
            self._force_lp = Lowpass(p.force_lp_hz, fs_hz)
            self._force_rate_lp = Lowpass(p.force_rate_lp_hz, fs_hz)
            self._derivative = Derivative(dt)
        log.debug("detector front end: %.1f Hz", fs_hz)

    def _process(self, block: SampleBlock) -> Frame:
        t, real, gap_before, channels = self._regularise(block)
        self._last = block.slice(len(block) - 1, len(block))
        gyro, acc, force = channels
        gyro_lp = gyro_slow = acc_slow = force_lp = dforce = despiked = None
        if gyro is not None and self._gyro_lp is not None and self._gyro_slow is not None:
            gyro_lp = self._gyro_lp(gyro)
            gyro_slow = self._gyro_slow(gyro)
        if acc is not None and self._acc_slow is not None:
            acc_slow = self._acc_slow(acc)
        bias_reading = gyro_slow
        if gyro_slow is not None and acc_slow is not None and self.params.bias_less_gravity_turn:
            bias_reading = self._bias_reading(gyro_slow, acc_slow)
        if force is not None and self._force_lp is not None and self._force_rate_lp is not None and self._derivative is not None:
            despiked = self._median(force)
            force_lp = self._force_lp(despiked)
            dforce = self._derivative(self._force_rate_lp(despiked))
        return Frame(t, real, gap_before, gyro, gyro_lp, gyro_slow, acc_slow, force_lp, dforce, despiked, acc, bias_reading)

    def _bias_reading(self, gyro_slow_dps: np.ndarray, acc_slow_ms2: np.ndarray) -> np.ndarray:
        """Frame.gyro_bias_reading_dps: the slow gyro's mean over the last GRAVITY_TURN_S less the
        rotation rate that turns the slow gravity as it turned over the same span, across gravity
        only (a turn about it leaves gravity alone): a vector fixed in the world, seen from a sensor
        turning at w, changes as -w x g, so w = -(g x dg/dt) / |g|^2. The previous samples are
        carried, so blocks give the same answer as one pass. Seated, a top hold creeps a degree or
        two, 1-3 deg/s, which the slow gyro alone took for bias when a clip began mid-rep."""
        assert self.dt_s is not None
        lag = max(1, int(round(GRAVITY_TURN_S / self.dt_s)))
        if self._turn_tail is None:  # (gyro running sum, acc) of the lag samples before the first
            self._turn_tail = np.hstack([np.zeros((lag, 3)), np.repeat(acc_slow_ms2[:1], lag, axis=0)])
        n = len(acc_slow_ms2)
        # one running sum over the whole recording, continued from the last block's (the same
        # additions in the same order however the blocks were cut), differenced lag samples apart:
        # the gyro over the lag samples after the one gravity is compared with
        total = np.cumsum(np.concatenate([self._turn_tail[-1:, :3], gyro_slow_dps]), axis=0)[1:]
        joined = np.concatenate([self._turn_tail, np.hstack([total, acc_slow_ms2])])
        self._turn_tail = joined[-lag:]
        gyro_mean = (joined[lag:, :3] - joined[:n, :3]) / lag
        before = joined[:n, 3:]
        turn = -np.cross(acc_slow_ms2, acc_slow_ms2 - before)
        norm2 = np.maximum(np.einsum("ij,ij->i", acc_slow_ms2, acc_slow_ms2), 1e-9)
        reading: np.ndarray = gyro_mean - np.degrees(turn / norm2[:, None] / (lag * self.dt_s))
        # the slow filters start from the first (noisy) sample: gravity's turn over their start-up
        # is that sample's noise settling, not a rotation, so the slow gyro stands alone until then
        start_up = max(0, min(n, lag + int(round(1.0 / (self.params.still_lp_hz * self.dt_s))) - self._turn_seen))
        reading[:start_up] = gyro_slow_dps[:start_up]
        self._turn_seen += n
        return reading

    def _keep_fill_in_budget(self, missing: np.ndarray, too_long: np.ndarray) -> None:
        """Leave a hole unfilled (a gap) once filling it would invent more than FILL_RATIO samples per
        measured one, beyond one longest hole. Real losses stay far inside; times much sparser than
        the learned interval (corrupt, or a rate learned from a burst) would otherwise make the
        filters run over up to max_fill_s / dt invented samples per measured one. In place."""
        assert self.dt_s is not None
        allowance = self.params.max_fill_s / self.dt_s
        real = self._measured + np.arange(1, len(missing) + 1)
        filled = self._filled + np.cumsum(missing)
        if (filled <= FILL_RATIO * real + allowance).all():
            self._filled, self._measured = int(filled[-1]), int(real[-1])
            return
        for i in np.flatnonzero(missing).tolist():
            if self._filled + missing[i] <= FILL_RATIO * real[i] + allowance:
                self._filled += int(missing[i])
            else:
                missing[i], too_long[i] = 0, True
                self.holes_unfilled += 1
        self._measured = int(real[-1])

    def _regularise(
        self, block: SampleBlock
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray | None, ...]]:
        """Insert linearly interpolated samples into holes up to max_fill_s long."""
        assert self.dt_s is not None
        dt = self.dt_s
        names = ("gyro_dps", "acc_ms2", "force_n")
        t_new = block.t_s
        if self._last is None:
            t_prev = np.concatenate([[t_new[0] - dt], t_new[:-1]])
        else:
            t_prev = np.concatenate([self._last.t_s, t_new[:-1]])
        with np.errstate(over="ignore"):  # times far apart differ by inf: a gap like any other
            steps = t_new - t_prev
        too_long = steps > self.params.max_fill_s
        missing = np.zeros(len(steps), np.int64)
        missing[~too_long] = np.maximum(np.rint(steps[~too_long] / dt).astype(np.int64) - 1, 0)
        self._keep_fill_in_budget(missing, too_long)
        if not missing.any():
            channels = tuple(getattr(block, name) for name in names)
            return t_new, np.ones(len(t_new), bool), too_long, channels
        # Times of every output sample: each measured sample preceded by its filled-in points.
        counts = missing + 1
        owner = np.repeat(np.arange(len(t_new)), counts)
        offset_in_run = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        fraction = (offset_in_run + 1) / np.repeat(counts, counts)
        t_out = t_prev[owner] + fraction * steps[owner]
        real = offset_in_run == missing[owner]
        t_out[real] = t_new  # measured samples keep their exact times and values
        gap_before = np.zeros(len(t_out), bool)
        gap_before[real] = too_long
        channels_out: list[np.ndarray | None] = []
        for name in names:
            values = getattr(block, name)
            if values is None:
                channels_out.append(None)
                continue
            previous = values[:1] if self._last is None else getattr(self._last, name)
            with_prev = np.concatenate([previous, values])
            x_known = np.concatenate([t_prev[:1], t_new])
            if values.ndim == 1:
                filled = np.interp(t_out, x_known, with_prev)
            else:
                filled = np.stack([np.interp(t_out, x_known, with_prev[:, k]) for k in range(values.shape[1])], axis=1)
            filled[real] = values
            channels_out.append(filled)
        return t_out, real, gap_before, tuple(channels_out)
