"""Put a force sensor and a separate shank IMU on one time base (science.md 5.1, 6.5). Sans-I/O.

Two BLE devices each stamp samples on their own clock (or count them), so their time lines differ by
an offset that moves with clock drift, and host arrival times alone are off by whatever latency each
device adds before sending. ClockAligner works in the three steps of clock_model.LineClock (coarse
from host arrival, fine, tracking); its fine step is this module's: over windows with movement, the
force's rate of change is fitted to the knee angular velocity at a range of lags (lag_fit.py): dF/dt
= dF/dθ · ω_knee with the band's stiffness, hysteresis and relaxation in the fit, so the fit is best
where the signals line up. The knee axis is the first principal component of the gyro; its sign does
not matter to the fit. The best lag is refined between grid points by a parabola.

The estimate maps IMU time to force time: force_time(t_imu) = t_imu + offset (LineClock.partner_time).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.sources.clock_model import LineClock, Measurement, axis_rate_dps, parabola_peak
from bandlog.sources.lag_fit import GRID_HZ, lag_fit

logger = logging.getLogger(__name__)

LOWPASS_HZ = 4.0
"""Zero-phase low-pass on both signals before the lag fit: keeps the movement, drops noise and tremor."""
WINDOW_S = 30.0
"""IMU seconds fitted per measurement: three to five reps (each rep moves the result by ~10 ms)."""
MIN_WINDOW_S = 12.0
"""The first measurement may use a shorter window, so alignment is ready after about two reps."""
STEP_S = 2.0
"""A new measurement is tried every STEP_S of IMU time."""
SEARCH_S = 0.75
"""Lag searched either side of the coarse (host-arrival) estimate before the first fine measurement."""
TRACK_SEARCH_S = 0.2
"""Lag searched either side of the current estimate once it is confident."""
MIN_FIT = 0.6
"""Share of dF/dt the knee rate must explain: below this the window holds too little of the reps."""
MIN_FIRST_FIT = 0.85
"""The first measurement searches wide, so it must explain more: a band re-anchored by hand (force
with no knee motion) can otherwise win at a wrong lag, and tracking would stay there."""
MAX_MISSES = 6
"""Tracking windows with movement that find no peak in the narrow range before searching wide again."""
MIN_TRAVEL_DEG = 350.0
"""Knee travel (sum of |dθ|) a window needs: two reps (one rep alone, in a window that is mostly
rest, left the lag 50-100 ms off in the emulated recordings)."""
MIN_DRIFT_SPAN_S = 120.0
"""Measurements must span this long before their own slope replaces the coarse drift: each one
scatters by ~10 ms with the reps in its window, so a shorter span gives a worse drift than the host clock."""
EDGE_S = 1.0
"""Kept clear at both window ends so the zero-phase filter's start-up does not bias the lag."""


class ClockAligner(LineClock):
    """Feed force and IMU blocks as they arrive; ask force_time() / estimate() at any point."""

    method = "lag-fit"
    partner_label, line_label = "force", "IMU"
    window_s, min_window_s, step_s = WINDOW_S, MIN_WINDOW_S, STEP_S
    search_s, track_search_s = SEARCH_S, TRACK_SEARCH_S
    min_fit, min_first_fit, max_misses = MIN_FIT, MIN_FIRST_FIT, MAX_MISSES
    min_drift_span_s, edge_s = MIN_DRIFT_SPAN_S, EDGE_S

    def __init__(self) -> None:
        super().__init__()
        self._sos = butter(2, LOWPASS_HZ, fs=GRID_HZ, output="sos")

    # the force pair's names for LineClock's partner (force) and line (IMU)

    def feed_force(self, block: SampleBlock) -> None:
        self.feed_partner(block)

    def feed_imu(self, block: SampleBlock) -> None:
        self.feed_line(block)

    def new_force_segment(self) -> None:
        """The force device reconnected: its time line continues from an estimated point."""
        self.new_partner_segment()

    def new_imu_segment(self) -> None:
        """The IMU reconnected: its time line continues from an estimated point."""
        self.new_line_segment()

    def force_time(self, t_imu_s: np.ndarray | float) -> np.ndarray:
        """Force-device time of the instant the IMU stamped t_imu_s (requires `ready`)."""
        return self.partner_time(t_imu_s)

    def host_arrival_force_time(self, t_imu_s: np.ndarray | float) -> np.ndarray:
        """force_time from host arrival times alone (step a): the baseline the fine steps improve on."""
        return self.host_arrival_partner_time(t_imu_s)

    def imu_time(self, t_force_s: np.ndarray | float) -> np.ndarray:
        """The inverse of force_time."""
        return self.line_time(t_force_s)

    # -- the fine step -----------------------------------------------------------------------

    def _partner_signal(self, block: SampleBlock) -> np.ndarray:
        if block.force_n is None:
            raise ConfigError("the force device's samples carry no force channel")
        return block.force_n

    def _measure(self, start_s: float, end_s: float, search_s: float, min_fit: float) -> Measurement | None:
        """Fit dF/dt to the knee rate over [start_s, end_s] of IMU time at lags within ±search_s."""
        w = self._window(start_s, end_s, search_s, GRID_HZ)
        if len(w.line_t_s) < GRID_HZ or len(w.partner_t_s) < GRID_HZ / 2:
            return None
        inner = slice(int(EDGE_S * GRID_HZ), len(w.grid_s) - int(EDGE_S * GRID_HZ))
        knee = sosfiltfilt(self._sos, axis_rate_dps(w.grid_s, w.line_t_s, w.line_values))[inner]
        travel_deg = float(np.sum(np.abs(knee)) / GRID_HZ)
        if travel_deg < MIN_TRAVEL_DEG:
            logger.debug("no clock measurement over IMU %.1f-%.1f s: only %.0f deg of knee travel", start_s, end_s, travel_deg)
            return None
        f = sosfiltfilt(self._sos, np.interp(self.force_time(w.wide_s), w.partner_t_s, w.partner_values))
        lags_s, fit = lag_fit(knee, f, w.lag_n, inner.start + w.lag_n)
        best = int(np.argmax(fit))
        if best in (0, len(fit) - 1) or fit[best] < min_fit:
            self._missed()
            logger.debug("no clock measurement over IMU %.1f-%.1f s: fit %.2f at lag index %d/%d",
                         start_s, end_s, fit[best], best, len(fit) - 1)
            return None
        lag_s = float(lags_s[best]) + parabola_peak(*fit[best - 1 : best + 2]) / GRID_HZ
        t_mid = 0.5 * (start_s + end_s)
        return Measurement(t_mid, float(self.force_time(t_mid) - t_mid) + lag_s, float(fit[best]), travel_deg)
