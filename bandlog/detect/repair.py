"""Channel values no sensor produced (NaN, +-inf, absurd magnitudes) as missing samples of their channel.

An empty or corrupt cell must cost that one value, not the set: a NaN reaching a causal filter
poisons every later output, and an SVD or least-squares fit on one raises. ValueRepair, run by the
front end before anything else sees the samples, fills each such value from the same channel's
usable neighbours, as a lost packet is filled, or drops the samples where it cannot.
"""

from __future__ import annotations

import numpy as np

from bandlog.core.samples import SampleBlock

MAX_ABS_VALUE = 1e9
"""No channel (N, m/s^2, deg/s) reaches this: a larger value is corrupt, and would overflow the filters."""


def _columns(block: SampleBlock) -> np.ndarray:
    """The block's channel values as one (n, k) matrix: force, then acceleration x-z, then gyro x-z."""
    parts = [a.reshape(len(block), -1) for a in (block.force_n, block.acc_ms2, block.gyro_dps) if a is not None]
    return np.concatenate(parts, axis=1) if parts else np.empty((len(block), 0))


def _with_columns(block: SampleBlock, values: np.ndarray) -> SampleBlock:
    """`block` with its channel values replaced by the columns of `values` (inverse of _columns)."""
    k = 0
    out: dict[str, np.ndarray | None] = {}
    for name, width in (("force_n", 1), ("acc_ms2", 3), ("gyro_dps", 3)):
        if getattr(block, name) is None:
            out[name] = None
            continue
        out[name] = values[:, k] if width == 1 else values[:, k : k + width]
        k += width
    return SampleBlock(t_s=block.t_s, t_host_s=block.t_host_s, **out)


class ValueRepair:
    """Fills unusable channel values from their finite neighbours, causally and chunk-independently.

    A value is unusable when it is not finite or its magnitude passes MAX_ABS_VALUE. Each channel
    column is repaired on its own: a run of unusable values is filled by linear interpolation in time
    between the column's last usable value before the run and its first after it, when those are at
    most max_fill_s apart. A longer run, one at the very start (nothing before it) or one still open
    when the recording ends has no fill: its samples are dropped, which leaves a time hole the front
    end treats like any other. Samples whose run is still open are held until it closes, so the
    output does not depend on how the input is split into blocks.
    """

    def __init__(self, max_fill_s: float) -> None:
        self.max_fill_s = max_fill_s
        self.values_filled = 0
        """Channel values filled by interpolation."""
        self.samples_dropped = 0
        """Samples dropped inside runs of unusable values too long (or too open-ended) to fill."""
        self._held: list[SampleBlock] = []
        self._waiting: np.ndarray | None = None
        """Columns with an open run in the held samples."""
        self._wait_until_s = np.inf
        self._last_t = np.empty(0)
        self._last_v = np.empty(0)
        """Per column: time and value of the last usable value already released (NaN: none yet)."""

    def push(self, block: SampleBlock) -> SampleBlock:
        """The samples ready to go on, repaired, in order (some may be held until a run closes)."""
        if self._held and self._still_waiting(block):
            self._held.append(block)
            return block.slice(0, 0)
        return self._release([*self._held, block], final=False)

    def flush(self) -> SampleBlock | None:
        """The recording ended: the held samples, runs still open dropped; None if none were held."""
        return self._release(self._held, final=True) if self._held else None

    def _release(self, blocks: list[SampleBlock], final: bool) -> SampleBlock:
        joined = SampleBlock.concat(blocks) if len(blocks) > 1 else blocks[0]
        self._held = []
        self._waiting = None
        if len(joined) == 0:
            return joined
        values = _columns(joined)
        if self._last_t.shape[0] != values.shape[1]:
            self._last_t = np.full(values.shape[1], np.nan)
            self._last_v = np.full(values.shape[1], np.nan)
        usable = np.abs(values) <= MAX_ABS_VALUE
        if usable.all():
            self._last_t[:] = joined.t_s[-1]
            self._last_v[:] = values[-1]
            return joined
        return self._repair(joined, values, usable, final)

    def _still_waiting(self, block: SampleBlock) -> bool:
        """True when `block` cannot close any open run: nothing usable where one is waiting, and not
        late enough to make it a gap (the cheap test that keeps a long run linear in time)."""
        if len(block) == 0:
            return True
        if self._waiting is None or block.t_s[-1] > self._wait_until_s:
            return False
        values = _columns(block)[:, self._waiting]
        return not (np.abs(values) <= MAX_ABS_VALUE).any()

    def _repair(self, block: SampleBlock, values: np.ndarray, usable: np.ndarray, final: bool) -> SampleBlock:
        t = block.t_s
        n, k = values.shape
        index = np.arange(n)
        drop = np.zeros(n, bool)
        hold_from = n
        fills: list[tuple[int, np.ndarray, np.ndarray]] = []
        waiting = np.zeros(k, bool)
        wait_until_s = np.inf
        for c in range(k):
            good = usable[:, c]
            if good.all():
                continue
            prev = np.maximum.accumulate(np.where(good, index, -1))
            after = np.minimum.accumulate(np.where(good, index, n)[::-1])[::-1]
            bad = np.flatnonzero(~good)
            p, a = prev[bad], after[bad]
            t_prev = np.where(p >= 0, t[np.maximum(p, 0)], self._last_t[c])
            v_prev = np.where(p >= 0, values[np.maximum(p, 0), c], self._last_v[c])
            closed = a < n
            t_after = np.where(closed, t[np.minimum(a, n - 1)], np.inf)
            with np.errstate(over="ignore", invalid="ignore"):
                span_s = t_after - t_prev  # NaN when nothing came before
                late = t[-1] - t_prev > self.max_fill_s
            fill = closed & (span_s <= self.max_fill_s)
            gone = ~fill & (np.isnan(t_prev) | closed | late | final)
            drop[bad[gone]] = True
            open_run = ~fill & ~gone
            if open_run.any():
                hold_from = min(hold_from, int(bad[open_run][0]))
                waiting[c] = True
                wait_until_s = min(wait_until_s, float(t_prev[open_run][0]) + self.max_fill_s)
            rows = bad[fill]
            if len(rows):
                v_after = values[a[fill], c]
                weight = (t[rows] - t_prev[fill]) / span_s[fill]
                fills.append((c, rows, v_prev[fill] + weight * (v_after - v_prev[fill])))
        repaired = values.copy()
        for c, rows, filled in fills:
            repaired[rows, c] = filled
        released = index < hold_from
        keep = released & ~drop
        self.values_filled += sum(int(keep[rows].sum()) for _, rows, _ in fills)
        self.samples_dropped += int((released & drop).sum())
        self._remember(t[:hold_from], values[:hold_from], usable[:hold_from])
        if hold_from < n:
            self._held = [block.slice(hold_from, n)]
            self._waiting = waiting
            self._wait_until_s = wait_until_s
        return _with_columns(block, repaired).take(keep)

    def _remember(self, t: np.ndarray, values: np.ndarray, usable: np.ndarray) -> None:
        """Keep each column's last usable value among the released samples (run starts look back to it)."""
        if len(t) == 0:
            return
        seen = usable.any(axis=0)
        last = len(t) - 1 - np.argmax(usable[::-1], axis=0)
        columns = np.flatnonzero(seen)
        self._last_t[columns] = t[last[columns]]
        self._last_v[columns] = values[last[columns], columns]
