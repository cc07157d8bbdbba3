"""Fixed-size ring buffers for the live view, so a long recording never grows its memory.

Appending is O(block) numpy slicing; reading the last few seconds copies only what is shown.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """The most recent `capacity` rows of (t_s, value columns), oldest first when read."""

    def __init__(self, capacity: int, n_values: int) -> None:
        if capacity < 2:
            raise ValueError("a ring buffer needs room for at least two rows")
        self.capacity = capacity
        # filled now, not left empty: the OS maps untouched pages lazily, so an empty buffer grew the
        # RSS as a long recording filled it (the live view's 25 Hz overview by ~3 MB over its first hour)
        self._t_s = np.full(capacity, np.nan)
        self._values = np.full((capacity, n_values), np.nan)
        self._head = 0
        self._size = 0
        self.rows_total = 0
        """Every row ever appended, including the ones since overwritten."""

    def __len__(self) -> int:
        return self._size

    def extend(self, t_s: np.ndarray, values: np.ndarray) -> None:
        """Append rows; `values` has shape (n, n_values). Keeps only the newest rows if n > capacity."""
        n = int(t_s.shape[0])
        self.rows_total += n
        if n == 0:
            return
        if n > self.capacity:
            t_s, values, n = t_s[-self.capacity :], values[-self.capacity :], self.capacity
        first = min(n, self.capacity - self._head)
        self._t_s[self._head : self._head + first] = t_s[:first]
        self._values[self._head : self._head + first] = values[:first]
        rest = n - first
        if rest:
            self._t_s[:rest] = t_s[first:]
            self._values[:rest] = values[first:]
        self._head = (self._head + n) % self.capacity
        self._size = min(self.capacity, self._size + n)

    def last_t_s(self) -> float | None:
        return None if self._size == 0 else float(self._t_s[self._head - 1])

    def since(self, t_min_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows with t_s >= t_min_s (copies), oldest first. Assumes time increases, as streams do."""
        start = (self._head - self._size) % self.capacity
        if start + self._size <= self.capacity:
            t_s = self._t_s[start : start + self._size]
            values = self._values[start : start + self._size]
            first = int(np.searchsorted(t_s, t_min_s, side="left"))
            return t_s[first:].copy(), values[first:].copy()
        t_s = np.concatenate([self._t_s[start:], self._t_s[: self._head]])
        values = np.concatenate([self._values[start:], self._values[: self._head]])
        first = int(np.searchsorted(t_s, t_min_s, side="left"))
        return t_s[first:], values[first:]

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        return self.since(-np.inf)

    def clear(self) -> None:
        self._head = 0
        self._size = 0


def decimate_keep(t_s: np.ndarray, rate_hz: float, last_bucket: int | None) -> tuple[np.ndarray, int | None]:
    """A mask keeping the first sample of each 1/rate_hz bucket, and the last bucket seen.

    Used for the whole-set overview the final view draws: bounded at rate_hz however fast the device.
    """
    if t_s.shape[0] == 0:
        return np.zeros(0, dtype=bool), last_bucket
    buckets = np.floor(t_s * rate_hz).astype(np.int64)
    keep = np.empty(buckets.shape[0], dtype=bool)
    keep[0] = last_bucket is None or buckets[0] != last_bucket
    keep[1:] = buckets[1:] != buckets[:-1]
    return keep, int(buckets[-1])
