"""Put a force sensor and a separate shank IMU on one time base (science.md 5.1, 6.5). Sans-I/O.

Two BLE devices each stamp samples on their own clock (or count them), so their time lines differ by
an offset that moves with clock drift, and host arrival times alone are off by whatever latency each
device adds before sending. ClockAligner therefore works in three steps:

(a) coarse: each device's time line is mapped to host time by a lower-envelope fit of arrival times
    (host_clock.py), which also gives the drift between the two clocks;
(b) fine: over windows with movement, the force's rate of change is fitted to the knee angular
    velocity at a range of lags (lag_fit.py): dF/dt = dF/dθ · ω_knee with the band's stiffness,
    hysteresis and relaxation in the fit, so the fit is best where the signals line up. The knee
    axis is the first principal component of the gyro; its sign does not matter to the fit. The
    best lag is refined between grid points by a parabola;
(c) tracking: the window slides on; the median offset of the newest windows, with the drift from
    their spread once they span two minutes (before that from the coarse fit, shrunk towards zero
    by its uncertainty), is the current estimate.

The estimate maps IMU time to force time: force_time(t_imu) = t_imu + offset, offset = level +
drift * (t_imu - t_ref). Reconnecting either device restarts its time line segment, so the
measurements start over, carrying the last fine correction over the coarse fit as a first guess.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.sources.host_clock import HostClockFit
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
MEASUREMENT_HORIZON_S = 90.0
"""Measurements older than this (IMU seconds) no longer count: the drift is re-learned as it moves."""
LEVEL_MEASUREMENTS = 4
"""The offset level is the median over the newest this-many measurements (robust to an odd window)."""
MIN_DRIFT_SPAN_S = 120.0
"""Measurements must span this long before their own slope replaces the coarse drift: each one
scatters by ~10 ms with the reps in its window, so a shorter span gives a worse drift than the host clock."""
DRIFT_PRIOR = 300e-6
"""Typical clock drift between two devices (science.md 6.5: 20-500 ppm), the scale a noisy rate is
weighed against."""
MAX_DRIFT = 2e-3
"""Clock drift beyond 2000 ppm is not a crystal: a coarse slope past it is noise and is clipped."""
HISTORY_S = WINDOW_S + 2 * SEARCH_S + 5.0
EDGE_S = 1.0
"""Kept clear at both window ends so the zero-phase filter's start-up does not bias the lag."""


@dataclass(frozen=True)
class OffsetEstimate:
    """Where the force time line stands relative to the IMU's: t_force = t_imu + offset_s at t_imu_s."""

    t_imu_s: float
    offset_s: float
    drift_ppm: float
    confidence: float
    """0-1: the share of dF/dt the knee rate explained in the measurements behind it (0 = host arrival only)."""
    confident: bool
    method: str
    """'lag-fit' (force against knee rate), or 'host-arrival' before any window with reps was measured."""
    measurements: int


@dataclass(frozen=True)
class Measurement:
    """One fine measurement: at IMU time t_s the force line was offset_s ahead; fit = share of dF/dt explained."""

    t_s: float
    offset_s: float
    fit: float
    travel_deg: float


class _Track:
    """One device's current time line segment: host clock fit plus the recent signal."""

    def __init__(self, prior_slope: float | None = None) -> None:
        self.fit = HostClockFit(prior_slope)
        self.start_s: float | None = None
        self.last_s: float | None = None
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()

    def add(self, t_s: np.ndarray, t_host_s: np.ndarray, values: np.ndarray) -> None:
        self.fit.add(t_s, t_host_s)
        if self.start_s is None:
            self.start_s = float(t_s[0])
        self.last_s = float(t_s[-1])
        self._chunks.append((t_s, values))
        while len(self._chunks) > 1 and self._chunks[1][0][0] < self.last_s - HISTORY_S:
            self._chunks.popleft()

    def between(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        parts = [c for c in self._chunks if c[0][-1] >= start_s and c[0][0] <= end_s]
        if not parts:
            return np.empty(0), np.empty((0,))
        t = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        keep = (t >= start_s) & (t <= end_s)
        return t[keep], v[keep]


class ClockAligner:
    """Feed force and IMU blocks as they arrive; ask force_time() / estimate() at any point."""

    def __init__(self) -> None:
        self._force = _Track()
        self._imu = _Track()
        self._measurements: deque[Measurement] = deque()
        self._carry_s = 0.0
        self._next_try_s: float | None = None
        self._confident = False
        self._misses = 0
        self.history: list[Measurement] = []
        """Every accepted measurement, for reports and tests."""
        self._sos = butter(2, LOWPASS_HZ, fs=GRID_HZ, output="sos")
        self._model_key: tuple[object, ...] | None = None
        self._model_cache = (0.0, 0.0, 0.0)

    # -- input -------------------------------------------------------------------------------

    def feed_force(self, block: SampleBlock) -> None:
        if block.force_n is None:
            raise ConfigError("the force device's samples carry no force channel")
        self._force.add(block.t_s, _host_times(block), block.force_n)
        self._maybe_measure()

    def feed_imu(self, block: SampleBlock) -> None:
        if block.gyro_dps is None:
            raise ConfigError("the motion device's samples carry no gyro channel")
        self._imu.add(block.t_s, _host_times(block), block.gyro_dps)
        self._maybe_measure()

    def new_force_segment(self) -> None:
        """The force device reconnected: its time line continues from an estimated point."""
        self._carry_fine_correction()
        self._force = _Track(self._force.fit.line().slope if self._force.fit.ready else None)

    def new_imu_segment(self) -> None:
        """The IMU reconnected: its time line continues from an estimated point."""
        self._carry_fine_correction()
        self._imu = _Track(self._imu.fit.line().slope if self._imu.fit.ready else None)
        self._next_try_s = None

    # -- output ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Both devices have delivered samples on their current segments, so a mapping exists."""
        return self._force.fit.ready and self._imu.fit.ready

    @property
    def confident(self) -> bool:
        """A fine measurement has confirmed the offset since the recording started."""
        return self._confident

    def force_time(self, t_imu_s: np.ndarray | float) -> np.ndarray:
        """Force-device time of the instant the IMU stamped t_imu_s (requires `ready`)."""
        t = np.asarray(t_imu_s, dtype=np.float64)
        level_s, drift, t_ref_s = self._model()
        return t + level_s + drift * (t - t_ref_s)

    def host_arrival_force_time(self, t_imu_s: np.ndarray | float) -> np.ndarray:
        """force_time from host arrival times alone (step a): the baseline the fine steps improve on."""
        t = np.asarray(t_imu_s, dtype=np.float64)
        offset_s, drift, t_ref_s = self._coarse()
        return t + offset_s + drift * (t - t_ref_s)

    def imu_time(self, t_force_s: np.ndarray | float) -> np.ndarray:
        """The inverse of force_time."""
        t = np.asarray(t_force_s, dtype=np.float64)
        level_s, drift, t_ref_s = self._model()
        return (t - level_s + drift * t_ref_s) / (1.0 + drift)

    def estimate(self, t_imu_s: float | None = None) -> OffsetEstimate:
        """The current offset (at t_imu_s, default the newest IMU sample) and how sure it is."""
        if not self.ready:
            raise ConfigError("no offset yet: both devices must have sent samples")
        t = self._imu.last_s if t_imu_s is None else t_imu_s
        assert t is not None
        level_s, drift, t_ref_s = self._model()
        recent = list(self._measurements)[-LEVEL_MEASUREMENTS:]
        return OffsetEstimate(
            t_imu_s=float(t),
            offset_s=float(level_s + drift * (t - t_ref_s)),
            drift_ppm=drift * 1e6,
            confidence=float(np.mean([m.fit for m in recent])) if recent else 0.0,
            confident=self._confident,
            method="lag-fit" if recent else "host-arrival",
            measurements=len(self.history),
        )

    # -- the model ---------------------------------------------------------------------------

    def _coarse(self) -> tuple[float, float, float]:
        """(offset at t_ref, drift, t_ref) from host arrival times alone."""
        imu_line, force_line = self._imu.fit.line(), self._force.fit.line()
        t_ref_s = imu_line.t0_s
        t_force_s = float(force_line.device_time(imu_line.host0_s))
        measured = imu_line.slope / force_line.slope - 1.0
        # shrink towards zero by how well the host clock pins the rate down (little at real time
        # over a minute; a lot when an emulated sensor runs 20x faster, so host jitter counts 20x)
        variance = imu_line.slope_sd**2 + force_line.slope_sd**2
        prior = DRIFT_PRIOR**2
        drift = float(np.clip(measured * prior / (prior + variance), -MAX_DRIFT, MAX_DRIFT))
        return t_force_s - t_ref_s, drift, t_ref_s

    def _model(self) -> tuple[float, float, float]:
        """(offset at t_ref, drift, t_ref); recomputed only when a fit or the measurements changed."""
        key = (self._force.fit.version, self._imu.fit.version, id(self._force), id(self._imu), len(self.history), self._carry_s)
        if key != self._model_key:
            self._model_cache = self._compute_model()
            self._model_key = key
        return self._model_cache

    def _compute_model(self) -> tuple[float, float, float]:
        coarse_s, coarse_drift, t_ref_s = self._coarse()
        if not self._measurements:
            return coarse_s + self._carry_s, coarse_drift, t_ref_s
        ms = list(self._measurements)
        t = np.array([m.t_s for m in ms])
        offset = np.array([m.offset_s for m in ms])
        weight = np.array([m.fit for m in ms]) ** 2
        drift = coarse_drift
        if len(ms) >= 4 and t[-1] - t[0] >= MIN_DRIFT_SPAN_S:
            centre = np.average(t, weights=weight)
            slope = np.sum(weight * (t - centre) * offset) / np.sum(weight * (t - centre) ** 2)
            drift = float(np.clip(slope, -MAX_DRIFT, MAX_DRIFT))
        recent = slice(-LEVEL_MEASUREMENTS, None)
        t_ref_s = float(t[-1])
        level_s = float(np.median(offset[recent] + drift * (t_ref_s - t[recent])))
        return level_s, drift, t_ref_s

    def _carry_fine_correction(self) -> None:
        """Keep what the lag fit added to the host-arrival estimate (a latency difference)."""
        if not self.ready:
            return
        if self._measurements:
            t = float(self._measurements[-1].t_s)
            coarse_s, coarse_drift, t_ref_s = self._coarse()
            self._carry_s = float(self.force_time(t) - t) - (coarse_s + coarse_drift * (t - t_ref_s))
        self._measurements.clear()

    # -- measuring ---------------------------------------------------------------------------

    def _maybe_measure(self) -> None:
        force = self._force
        if not self.ready or self._imu.last_s is None or force.start_s is None or force.last_s is None:
            return
        if self._next_try_s is None:
            self._next_try_s = self._imu.last_s + MIN_WINDOW_S
        if self._imu.last_s < self._next_try_s:
            return
        search_s = TRACK_SEARCH_S if self._measurements and self._misses < MAX_MISSES else SEARCH_S
        end_s = min(self._imu.last_s, float(self.imu_time(force.last_s))) - search_s - EDGE_S
        start_s = max(end_s - WINDOW_S, self._imu.start_s or 0.0, float(self.imu_time(force.start_s))) + search_s + EDGE_S
        if end_s - start_s < MIN_WINDOW_S:
            return
        self._next_try_s = self._imu.last_s + STEP_S
        found = self._measure(start_s, end_s, search_s, MIN_FIT if search_s == TRACK_SEARCH_S else MIN_FIRST_FIT)
        if found is not None:
            self._misses = 0
            self._accept(found)

    def _accept(self, m: Measurement) -> None:
        self._measurements.append(m)
        self.history.append(m)
        while self._measurements and self._measurements[0].t_s < m.t_s - MEASUREMENT_HORIZON_S:
            self._measurements.popleft()
        if not self._confident:
            self._confident = True
            logger.info("clocks aligned: force time = IMU time %+.1f ms (fit %.2f)", 1e3 * m.offset_s, m.fit)
        else:
            logger.debug("clock offset %+.1f ms at IMU %.1f s (fit %.2f)", 1e3 * m.offset_s, m.t_s, m.fit)

    def _measure(self, start_s: float, end_s: float, search_s: float, min_fit: float) -> Measurement | None:
        """Fit dF/dt to the knee rate over [start_s, end_s] of IMU time at lags within ±search_s."""
        grid = np.arange(start_s - EDGE_S, end_s + EDGE_S, 1.0 / GRID_HZ)
        t_imu, gyro = self._imu.between(grid[0] - 0.1, grid[-1] + 0.1)
        lag_n = int(math.ceil(search_s * GRID_HZ))
        wide = grid[0] + (np.arange(len(grid) + 2 * lag_n) - lag_n) / GRID_HZ
        t_force, force = self._force.between(float(self.force_time(wide[0])) - 0.1, float(self.force_time(wide[-1])) + 0.1)
        if len(t_imu) < GRID_HZ or len(t_force) < GRID_HZ / 2:
            return None
        rates = np.stack([np.interp(grid, t_imu, gyro[:, k]) for k in range(3)], axis=1)
        rates -= np.median(rates, axis=0)
        axis = np.linalg.svd(rates - rates.mean(axis=0), full_matrices=False)[2][0]
        inner = slice(int(EDGE_S * GRID_HZ), len(grid) - int(EDGE_S * GRID_HZ))
        knee = sosfiltfilt(self._sos, rates @ axis)[inner]
        travel_deg = float(np.sum(np.abs(knee)) / GRID_HZ)
        if travel_deg < MIN_TRAVEL_DEG:
            logger.debug("no clock measurement over IMU %.1f-%.1f s: only %.0f deg of knee travel", start_s, end_s, travel_deg)
            return None
        f = sosfiltfilt(self._sos, np.interp(self.force_time(wide), t_force, force))
        lags_s, fit = lag_fit(knee, f, lag_n, inner.start + lag_n)
        best = int(np.argmax(fit))
        if best in (0, len(fit) - 1) or fit[best] < min_fit:
            self._misses += 1
            logger.debug("no clock measurement over IMU %.1f-%.1f s: fit %.2f at lag index %d/%d",
                         start_s, end_s, fit[best], best, len(fit) - 1)
            return None
        a, b, c = fit[best - 1 : best + 2]
        shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
        lag_s = float(lags_s[best]) + shift / GRID_HZ
        t_mid = 0.5 * (start_s + end_s)
        return Measurement(t_mid, float(self.force_time(t_mid) - t_mid) + lag_s, float(fit[best]), travel_deg)


def _host_times(block: SampleBlock) -> np.ndarray:
    if block.t_host_s is None:
        raise ConfigError("aligning two devices needs the host arrival time of every sample")
    return block.t_host_s
