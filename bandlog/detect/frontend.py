"""Pre-processing between SampleBlocks and the state machine (science.md 5.2).

Samples arrive at a nominal rate with holes where BLE packets were lost. The front end learns the
rate from the first samples, fills short holes by linear interpolation (so every filter runs on a
regular grid), and produces the filtered channels the machine reads. All of it is causal and
stateful, so any split of the input into blocks yields the same output, sample for sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bandlog.detect.filters import Derivative, Lowpass, Median3
from bandlog.detect.params import DetectorParams
from bandlog.samples import SampleBlock

log = logging.getLogger(__name__)

RATE_SAMPLES = 9
"""Samples buffered before the first output: the nominal interval is their median spacing."""


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

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


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
        self._force_lp: Lowpass | None = None
        self._force_rate_lp: Lowpass | None = None
        self._median = Median3()
        self._derivative: Derivative | None = None
        self._dropped_backwards = 0

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
        block = self._monotonic(block)
        if self.dt_s is None:
            self._pending.append(block)
            joined = SampleBlock.concat(self._pending)
            if len(joined) < RATE_SAMPLES:
                return None
            self._pending = []
            self._start(joined)
            block = joined
        if len(block) == 0:
            return None
        return self._process(block)

    def flush(self) -> Frame | None:
        """Process samples still waiting for the rate estimate (a very short recording)."""
        if self.dt_s is not None or not self._pending:
            return None
        joined = SampleBlock.concat(self._pending)
        self._pending = []
        if len(joined) < 2:
            return None
        self._start(joined)
        return self._process(joined)

    def _monotonic(self, block: SampleBlock) -> SampleBlock:
        """Drop samples whose time does not advance (duplicates, clock glitches); keep the rest."""
        last_t = self._last_time()
        t = block.t_s
        if len(t) == 0:
            return block
        running = np.maximum.accumulate(np.concatenate([[last_t], t]))[:-1]
        keep = t > running
        if not keep.all():
            self._dropped_backwards += int((~keep).sum())
            log.warning("dropped %d samples whose time did not advance", int((~keep).sum()))
            index = np.flatnonzero(keep)
            return SampleBlock.concat([block.slice(i, i + 1) for i in index]) if len(index) else block.slice(0, 0)
        return block

    def _last_time(self) -> float:
        if self._pending:
            return float(self._pending[-1].t_s[-1]) if len(self._pending[-1]) else -np.inf
        if self._last is not None:
            return float(self._last.t_s[-1])
        return -np.inf

    def _start(self, first: SampleBlock) -> None:
        t = first.t_s[:RATE_SAMPLES]  # exactly these samples, however the input was split
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.01
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
        if force is not None and self._force_lp is not None and self._force_rate_lp is not None and self._derivative is not None:
            despiked = self._median(force)
            force_lp = self._force_lp(despiked)
            dforce = self._derivative(self._force_rate_lp(despiked))
        return Frame(t, real, gap_before, gyro, gyro_lp, gyro_slow, acc_slow, force_lp, dforce, despiked, acc)

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
        steps = t_new - t_prev
        missing = np.rint(steps / dt).astype(np.int64) - 1
        too_long = steps > self.params.max_fill_s
        missing[too_long] = 0
        missing = np.maximum(missing, 0)
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
