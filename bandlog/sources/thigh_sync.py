"""Put a thigh IMU on the shank IMU's time base. Sans-I/O.

The coarse and tracking steps are clock_model.LineClock's (host arrival times, then the median of the
newest fine measurements); the fine step is this module's. Both sensors turn about the knee's lateral
axis, each axis being the first principal component of its own gyro over the window (its sign is
arbitrary). With the foot planted, a bend turns the thigh 0.3-0.6 of the knee's angle the other way
from the shank, and a sway turns both alike, so during movement the two rates about those axes are
strongly correlated or anti-correlated (bandlog.sim: |r| > 0.99 at the true lag). The lag that
maximises |cross-correlation| of the two low-passed axis rates, refined by a parabola, is the fine
offset, and |r| at that lag is the measurement's fit.

Seated, the thigh rests on the chair and hardly turns: no window has the thigh travel a measurement
needs, so the offset stays the host-arrival estimate (the detector does not use a seated thigh).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.sources.clock_model import LineClock, Measurement, axis_rate_dps, parabola_peak

logger = logging.getLogger(__name__)

GRID_HZ = 100.0
"""Rate of the common grid both gyros are resampled onto."""
LOWPASS_HZ = 10.0
"""Zero-phase low-pass on both rates before correlating: keeps the movement and its edges, which
place the peak (simulated standing sets, seeds 0-9, per-measurement |error| median / P95 / max: 4 Hz
0.8 / 5.5 / 15 ms, 10 Hz 0.4 / 2.6 / 6 ms); the two sensors' noise is their own, so it lowers |r|
rather than moving the peak."""
WINDOW_S = 20.0
"""Shank seconds correlated per measurement: two or three standing reps."""
MIN_WINDOW_S = 8.0
"""The first measurement may use a shorter window: one rep already lines the two turns up."""
STEP_S = 2.0
SEARCH_S = 0.75
TRACK_SEARCH_S = 0.2
MIN_FIT = 0.8
"""|r| a tracking window needs: both sensors see one movement, so anything weaker is not the reps."""
MIN_FIRST_FIT = 0.9
"""|r| the first (wide) window needs: a wrong lag found then would be tracked from there on."""
MAX_MISSES = 6
MIN_SHANK_TRAVEL_DEG = 40.0
"""Shank turn (sum of |dθ|) a window needs: about one standing rep (the shank turns 0.4-0.7 of a
30-60 deg knee bend, there and back)."""
MIN_THIGH_TRAVEL_DEG = 15.0
"""Thigh turn a window needs: seated, the thigh's wobble stays far below it and says nothing of the lag."""
MIN_DRIFT_SPAN_S = 120.0
"""Measurements must span this long before their own slope replaces the coarse drift: each one
scatters by a few ms with the reps in its window (their slope over 60 s was 50-75 ppm off on
simulated sets, the host clock's 10)."""
EDGE_S = 1.0


class ThighAligner(LineClock):
    """Feed shank and thigh blocks as they arrive; ask thigh_time() / estimate() at any point."""

    method = "gyro-correlation"
    partner_label, line_label = "thigh", "shank"
    window_s, min_window_s, step_s = WINDOW_S, MIN_WINDOW_S, STEP_S
    search_s, track_search_s = SEARCH_S, TRACK_SEARCH_S
    min_fit, min_first_fit, max_misses = MIN_FIT, MIN_FIRST_FIT, MAX_MISSES
    min_drift_span_s, edge_s = MIN_DRIFT_SPAN_S, EDGE_S

    def __init__(self) -> None:
        super().__init__()
        self._sos = butter(2, LOWPASS_HZ, fs=GRID_HZ, output="sos")

    def thigh_time(self, t_shank_s: np.ndarray | float) -> np.ndarray:
        """Thigh-sensor time of the instant the shank sensor stamped t_shank_s (requires `ready`)."""
        return self.partner_time(t_shank_s)

    def _partner_signal(self, block: SampleBlock) -> np.ndarray:
        if block.gyro_dps is None:
            raise ConfigError("the thigh sensor's samples carry no gyro channel")
        return block.gyro_dps

    def _measure(self, start_s: float, end_s: float, search_s: float, min_fit: float) -> Measurement | None:
        """Correlate the two axis rates over [start_s, end_s] of shank time at lags within ±search_s."""
        w = self._window(start_s, end_s, search_s, GRID_HZ)
        if len(w.line_t_s) < GRID_HZ or len(w.partner_t_s) < GRID_HZ:
            return None
        edge, lag_n = int(EDGE_S * GRID_HZ), w.lag_n
        shank = sosfiltfilt(self._sos, axis_rate_dps(w.grid_s, w.line_t_s, w.line_values))[edge:-edge]
        thigh = sosfiltfilt(self._sos, axis_rate_dps(self.thigh_time(w.wide_s), w.partner_t_s, w.partner_values))[edge:-edge]
        shank_deg = float(np.sum(np.abs(shank)) / GRID_HZ)
        thigh_deg = float(np.sum(np.abs(thigh[lag_n:-lag_n])) / GRID_HZ)
        if shank_deg < MIN_SHANK_TRAVEL_DEG or thigh_deg < MIN_THIGH_TRAVEL_DEG:
            logger.debug("no thigh clock measurement over shank %.1f-%.1f s: the shank turned %.0f deg, the thigh %.0f deg",
                         start_s, end_s, shank_deg, thigh_deg)
            return None
        r = correlation_at_lags(shank, thigh, lag_n)
        best = int(np.argmax(np.abs(r)))
        fit = float(abs(r[best]))
        if best in (0, len(r) - 1) or fit < min_fit:
            self._missed()
            logger.debug("no thigh clock measurement over shank %.1f-%.1f s: |r| %.2f at lag index %d/%d",
                         start_s, end_s, fit, best, len(r) - 1)
            return None
        sign = math.copysign(1.0, r[best])
        lag_s = (best - lag_n + parabola_peak(*(sign * r[best - 1 : best + 2]))) / GRID_HZ
        t_mid = 0.5 * (start_s + end_s)
        return Measurement(t_mid, float(self.thigh_time(t_mid) - t_mid) + lag_s, fit, shank_deg)


def correlation_at_lags(x: np.ndarray, y: np.ndarray, lag_n: int) -> np.ndarray:
    """Normalised correlation of x (n points) with y (n + 2 lag_n points, y[lag_n + i] at x[i]'s
    instant at zero lag) for lags -lag_n..lag_n: r[k] pairs x[i] with y[i + k]. A positive best lag
    means y's samples are late."""
    n = len(x)
    windows = np.lib.stride_tricks.sliding_window_view(y, n)
    numerator = windows @ x
    energy = np.cumsum(np.concatenate(([0.0], y * y)))
    y_energy = energy[n:] - energy[:-n]
    return np.asarray(numerator / np.sqrt(np.maximum(y_energy * float(x @ x), 1e-12)))
