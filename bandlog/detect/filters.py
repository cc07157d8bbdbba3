"""Causal filters that carry their state between blocks.

Every filter here gives the same output whether a signal arrives in one piece or in many, because
its state (scipy `sosfilt` zi -> zf, the last samples of a median) is handed from one call to the
next. That is what lets the streaming detector promise chunking-independent events.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi


class Lowpass:
    """2nd-order Butterworth low-pass over one or more channels (columns), causal and stateful."""

    def __init__(self, cutoff_hz: float, fs_hz: float) -> None:
        nyquist_hz = 0.5 * fs_hz
        self.cutoff_hz = min(cutoff_hz, 0.45 * fs_hz)
        self.sos = butter(2, self.cutoff_hz / nyquist_hz, output="sos")
        self._zi: np.ndarray | None = None

    @property
    def group_delay_s(self) -> float:
        """Low-frequency delay of a 2nd-order Butterworth: sqrt(2) / (2 pi fc)."""
        return float(np.sqrt(2.0) / (2.0 * np.pi * self.cutoff_hz))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter x (shape (n,) or (n, k)) along axis 0, continuing from the previous call."""
        if x.shape[0] == 0:
            return x.copy()
        if self._zi is None:
            # Start in steady state at the first value, so a non-zero start has no transient.
            base = sosfilt_zi(self.sos)
            first = x[0]
            self._zi = base[..., None] * first if x.ndim == 2 else base * first
        y: np.ndarray
        y, self._zi = sosfilt(self.sos, x, axis=0, zi=self._zi)
        return y


class Median3:
    """Causal 3-sample median (spike and BLE-glitch removal on force), one sample of delay."""

    def __init__(self) -> None:
        self._history: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return x.copy()
        history = np.repeat(x[:1], 2) if self._history is None else self._history
        padded = np.concatenate([history, x])
        self._history = padded[-2:].copy()
        stacked = np.stack([padded[:-2], padded[1:-1], padded[2:]])
        median: np.ndarray = np.median(stacked, axis=0)
        return median


class Derivative:
    """Backward difference at a fixed sample interval, continuing across blocks."""

    def __init__(self, dt_s: float) -> None:
        self.dt_s = dt_s
        self._last: float | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 0:
            return x.copy()
        previous = x[0] if self._last is None else self._last
        self._last = float(x[-1])
        return np.diff(x, prepend=previous) / self.dt_s
