"""Array forms of the per-sample counters the state machines keep, for stepping them in bulk.

Both machines (imu_machine.py, force_machine.py) take the samples between their state changes in
bulk; these give, for every sample of a block at once, what stepping it would have left in a
debounce counter or a stall start, so the bulk paths and `step` cannot drift apart.
"""

from __future__ import annotations

import numpy as np

IDLE_SCAN = 4096
"""Samples looked ahead at once for the next one that can change an idle machine's state."""
ACTIVE_SCAN = 1024
"""The same inside a cycle (a few seconds at most pass between its changes)."""


def run_lengths(condition: np.ndarray, carry: int) -> np.ndarray:
    """Debounce counters: how many samples in a row, up to each, met `condition` (`carry` before)."""
    index = np.arange(1, condition.shape[0] + 1)
    last_unmet = np.maximum.accumulate(np.where(condition, 0, index))
    return np.where(last_unmet == 0, index + carry, index - last_unmet)


def streak_starts(flag: np.ndarray, t_s: np.ndarray, carried_s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Stall starts: for each sample, the time the run of `flag` it ends began (`carried_s` for a
    run going on from before the block; NaN where `flag` is unmet), and whether that run had begun
    before this sample (a handler checks a stall's length only from its second sample on)."""
    n = flag.shape[0]
    run = run_lengths(flag, 0)
    first = np.arange(n) - run + 1
    carried = (first == 0) & (carried_s is not None)
    since = np.where(carried, carried_s if carried_s is not None else 0.0, t_s[np.minimum(first, n - 1)])
    ongoing = flag & np.concatenate(([carried_s is not None], flag[:-1]))
    return np.where(flag, since, np.nan), ongoing
