"""Two device clocks on one time line: the half of clock alignment that does not depend on the signals.

A recording merged from two devices puts the partner's samples (a force sensor's, a thigh IMU's) on
the line device's time line (the shank IMU's). LineClock maps line time to partner time in three
steps (science.md 5.1, 6.5):

(a) coarse: each device's time line is mapped to host time by a lower-envelope fit of arrival times
    (host_clock.py), which also gives the drift between the two clocks;
(b) fine: over windows where both devices saw the same movement, the lag at which the two signals
    line up best, refined between grid points by a parabola. What is compared is each subclass's
    own: ClockAligner (clock_sync.py) fits the band force to the knee rate, ThighAligner
    (thigh_sync.py) correlates the two gyros' turns about the knee;
(c) tracking: the window slides on; the median offset of the newest windows, with the drift from
    their spread once they span MIN_DRIFT_SPAN_S (before that from the coarse fit, shrunk towards
    zero by its uncertainty), is the current estimate.

The estimate maps line time to partner time: partner_time(t) = t + offset, offset = level + drift *
(t - t_ref). Reconnecting either device restarts its time line segment, so the measurements start
over, carrying the last fine correction over the coarse fit as a first guess. Sans-I/O.
"""

from __future__ import annotations

import abc
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.sources.host_clock import HostClockFit

logger = logging.getLogger(__name__)

MEASUREMENT_HORIZON_S = 90.0
"""Measurements older than this (line seconds) no longer count: the drift is re-learned as it moves."""
LEVEL_MEASUREMENTS = 4
"""The offset level is the median over the newest this-many measurements (robust to an odd window)."""
DRIFT_PRIOR = 300e-6
"""Typical clock drift between two devices (science.md 6.5: 20-500 ppm), the scale a noisy rate is
weighed against."""
MAX_DRIFT = 2e-3
"""Clock drift beyond 2000 ppm is not a crystal: a coarse slope past it is noise and is clipped."""


@dataclass(frozen=True)
class OffsetEstimate:
    """Where the partner's time line stands relative to the line device's (the IMU's, the shank's):
    t_partner = t_imu + offset_s at t_imu_s."""

    t_imu_s: float
    offset_s: float
    drift_ppm: float
    confidence: float
    """0-1: how well the signals matched in the measurements behind it (0 = host arrival only)."""
    confident: bool
    method: str
    """The fine measurement's name (LineClock.method), or 'host-arrival' before any window was measured."""
    measurements: int


@dataclass(frozen=True)
class Measurement:
    """One fine measurement: at line time t_s the partner's line was offset_s ahead; fit = how well
    the signals matched (0-1); travel_deg = the line device's turn in the window."""

    t_s: float
    offset_s: float
    fit: float
    travel_deg: float


class DeviceTrack:
    """One device's current time line segment: host clock fit plus the recent signal."""

    def __init__(self, history_s: float, prior_slope: float | None = None) -> None:
        self.history_s = history_s
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
        while len(self._chunks) > 1 and self._chunks[1][0][0] < self.last_s - self.history_s:
            self._chunks.popleft()

    def between(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        parts = [c for c in self._chunks if c[0][-1] >= start_s and c[0][0] <= end_s]
        if not parts:
            return np.empty(0), np.empty((0,))
        t = np.concatenate([p[0] for p in parts])
        v = np.concatenate([p[1] for p in parts])
        keep = (t >= start_s) & (t <= end_s)
        return t[keep], v[keep]

    def restarted(self) -> DeviceTrack:
        """A fresh segment after a reconnect, its host clock rate carried over as a prior."""
        return DeviceTrack(self.history_s, self.fit.line().slope if self.fit.ready else None)


class LineClock(abc.ABC):
    """Feed the line device's and the partner's blocks as they arrive; ask partner_time() / estimate()
    at any point. Subclasses say what a fine measurement compares (`_measure`) and how wide it looks."""

    method: ClassVar[str]
    """The fine measurement's name, for OffsetEstimate.method and the log header."""
    partner_label: ClassVar[str]
    line_label: ClassVar[str]
    """The two devices in the log lines ('force', 'IMU')."""
    window_s: ClassVar[float]
    """Line seconds fitted per measurement."""
    min_window_s: ClassVar[float]
    """The first measurement may use a shorter window, so alignment is ready early."""
    step_s: ClassVar[float]
    """A new measurement is tried every step_s of line time."""
    search_s: ClassVar[float]
    """Lag searched either side of the coarse (host-arrival) estimate before the first fine measurement."""
    track_search_s: ClassVar[float]
    """Lag searched either side of the current estimate once it is confident."""
    min_fit: ClassVar[float]
    min_first_fit: ClassVar[float]
    """The fit a tracking / the first (wide) measurement needs to be accepted."""
    max_misses: ClassVar[int]
    """Tracking windows with movement that find no peak in the narrow range before searching wide again."""
    min_drift_span_s: ClassVar[float]
    """Measurements must span this long before their own slope replaces the coarse drift."""
    edge_s: ClassVar[float]
    """Kept clear at both window ends so a zero-phase filter's start-up does not bias the lag."""

    def __init__(self) -> None:
        history_s = self.window_s + 2 * self.search_s + 5.0
        self._partner = DeviceTrack(history_s)
        self._line = DeviceTrack(history_s)
        self._measurements: deque[Measurement] = deque()
        self._carry_s = 0.0
        self._next_try_s: float | None = None
        self._confident = False
        self._misses = 0
        self.history: list[Measurement] = []
        """Every accepted measurement, for reports and tests."""
        self._model_key: tuple[object, ...] | None = None
        self._model_cache = (0.0, 0.0, 0.0)

    # -- what subclasses provide --------------------------------------------------------------

    @abc.abstractmethod
    def _partner_signal(self, block: SampleBlock) -> np.ndarray:
        """The partner's signal the fine step compares (ConfigError when the block lacks it)."""

    def _line_signal(self, block: SampleBlock) -> np.ndarray:
        """The line device's signal the fine step compares: the shank IMU's gyro, for every partner."""
        if block.gyro_dps is None:
            raise ConfigError(f"the {self.line_label} sensor's samples carry no gyro channel")
        return block.gyro_dps

    @abc.abstractmethod
    def _measure(self, start_s: float, end_s: float, search_s: float, min_fit: float) -> Measurement | None:
        """A fine measurement over [start_s, end_s] of line time at lags within ±search_s, or None."""

    # -- input -------------------------------------------------------------------------------

    def feed_partner(self, block: SampleBlock) -> None:
        self._partner.add(block.t_s, host_times(block), self._partner_signal(block))
        self._maybe_measure()

    def feed_line(self, block: SampleBlock) -> None:
        self._line.add(block.t_s, host_times(block), self._line_signal(block))
        self._maybe_measure()

    def new_partner_segment(self) -> None:
        """The partner reconnected: its time line continues from an estimated point."""
        self._carry_fine_correction()
        self._partner = self._partner.restarted()

    def new_line_segment(self) -> None:
        """The line device reconnected: its time line continues from an estimated point."""
        self._carry_fine_correction()
        self._line = self._line.restarted()
        self._next_try_s = None

    # -- output ------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Both devices have delivered samples on their current segments, so a mapping exists."""
        return self._partner.fit.ready and self._line.fit.ready

    @property
    def confident(self) -> bool:
        """A fine measurement has confirmed the offset since the recording started."""
        return self._confident

    def partner_time(self, t_line_s: np.ndarray | float) -> np.ndarray:
        """Partner-device time of the instant the line device stamped t_line_s (requires `ready`)."""
        t = np.asarray(t_line_s, dtype=np.float64)
        level_s, drift, t_ref_s = self._model()
        return t + level_s + drift * (t - t_ref_s)

    def host_arrival_partner_time(self, t_line_s: np.ndarray | float) -> np.ndarray:
        """partner_time from host arrival times alone (step a): the baseline the fine steps improve on."""
        t = np.asarray(t_line_s, dtype=np.float64)
        offset_s, drift, t_ref_s = self._coarse()
        return t + offset_s + drift * (t - t_ref_s)

    def line_time(self, t_partner_s: np.ndarray | float) -> np.ndarray:
        """The inverse of partner_time."""
        t = np.asarray(t_partner_s, dtype=np.float64)
        level_s, drift, t_ref_s = self._model()
        return (t - level_s + drift * t_ref_s) / (1.0 + drift)

    def estimate(self, t_line_s: float | None = None) -> OffsetEstimate:
        """The current offset (at t_line_s, default the newest line sample) and how sure it is."""
        if not self.ready:
            raise ConfigError("no offset yet: both devices must have sent samples")
        t = self._line.last_s if t_line_s is None else t_line_s
        assert t is not None
        level_s, drift, t_ref_s = self._model()
        recent = list(self._measurements)[-LEVEL_MEASUREMENTS:]
        return OffsetEstimate(
            t_imu_s=float(t),
            offset_s=float(level_s + drift * (t - t_ref_s)),
            drift_ppm=drift * 1e6,
            confidence=float(np.mean([m.fit for m in recent])) if recent else 0.0,
            confident=self._confident,
            method=self.method if recent else "host-arrival",
            measurements=len(self.history),
        )

    # -- the model ---------------------------------------------------------------------------

    def _coarse(self) -> tuple[float, float, float]:
        """(offset at t_ref, drift, t_ref) from host arrival times alone."""
        line, partner = self._line.fit.line(), self._partner.fit.line()
        t_ref_s = line.t0_s
        t_partner_s = float(partner.device_time(line.host0_s))
        measured = line.slope / partner.slope - 1.0
        # shrink towards zero by how well the host clock pins the rate down (little at real time
        # over a minute; a lot when an emulated sensor runs 20x faster, so host jitter counts 20x)
        variance = line.slope_sd**2 + partner.slope_sd**2
        prior = DRIFT_PRIOR**2
        drift = float(np.clip(measured * prior / (prior + variance), -MAX_DRIFT, MAX_DRIFT))
        return t_partner_s - t_ref_s, drift, t_ref_s

    def _model(self) -> tuple[float, float, float]:
        """(offset at t_ref, drift, t_ref); recomputed only when a fit or the measurements changed."""
        key = (self._partner.fit.version, self._line.fit.version, id(self._partner), id(self._line), len(self.history), self._carry_s)
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
        if len(ms) >= 4 and t[-1] - t[0] >= self.min_drift_span_s:
            centre = np.average(t, weights=weight)
            slope = np.sum(weight * (t - centre) * offset) / np.sum(weight * (t - centre) ** 2)
            drift = float(np.clip(slope, -MAX_DRIFT, MAX_DRIFT))
        recent = slice(-LEVEL_MEASUREMENTS, None)
        t_ref_s = float(t[-1])
        level_s = float(np.median(offset[recent] + drift * (t_ref_s - t[recent])))
        return level_s, drift, t_ref_s

    def _carry_fine_correction(self) -> None:
        """Keep what the fine step added to the host-arrival estimate (a latency difference)."""
        if not self.ready:
            return
        if self._measurements:
            t = float(self._measurements[-1].t_s)
            coarse_s, coarse_drift, t_ref_s = self._coarse()
            self._carry_s = float(self.partner_time(t) - t) - (coarse_s + coarse_drift * (t - t_ref_s))
        self._measurements.clear()

    # -- measuring ---------------------------------------------------------------------------

    def _maybe_measure(self) -> None:
        partner, line = self._partner, self._line
        if not self.ready or line.last_s is None or partner.start_s is None or partner.last_s is None:
            return
        if self._next_try_s is None:
            self._next_try_s = line.last_s + self.min_window_s
        if line.last_s < self._next_try_s:
            return
        tracking = bool(self._measurements) and self._misses < self.max_misses
        search_s = self.track_search_s if tracking else self.search_s
        end_s = min(line.last_s, float(self.line_time(partner.last_s))) - search_s - self.edge_s
        start_s = max(end_s - self.window_s, line.start_s or 0.0, float(self.line_time(partner.start_s))) + search_s + self.edge_s
        if end_s - start_s < self.min_window_s:
            return
        self._next_try_s = line.last_s + self.step_s
        found = self._measure(start_s, end_s, search_s, self.min_fit if tracking else self.min_first_fit)
        if found is not None:
            self._misses = 0
            self._accept(found)

    def _window(self, start_s: float, end_s: float, search_s: float, grid_hz: float) -> Window:
        """The line's samples over [start_s, end_s] (and edge_s beyond), and the partner's over the same
        stretch widened by search_s either side, at the current estimate."""
        grid = np.arange(start_s - self.edge_s, end_s + self.edge_s, 1.0 / grid_hz)
        line_t, line = self._line.between(grid[0] - 0.1, grid[-1] + 0.1)
        lag_n = int(math.ceil(search_s * grid_hz))
        wide = grid[0] + (np.arange(len(grid) + 2 * lag_n) - lag_n) / grid_hz
        partner_t, partner = self._partner.between(float(self.partner_time(wide[0])) - 0.1, float(self.partner_time(wide[-1])) + 0.1)
        return Window(grid, wide, lag_n, line_t, line, partner_t, partner)

    def _missed(self) -> None:
        """A window with movement found no peak (counts towards searching wide again)."""
        self._misses += 1

    def _accept(self, m: Measurement) -> None:
        self._measurements.append(m)
        self.history.append(m)
        while self._measurements and self._measurements[0].t_s < m.t_s - MEASUREMENT_HORIZON_S:
            self._measurements.popleft()
        if not self._confident:
            self._confident = True
            logger.info("clocks aligned: %s time = %s time %+.1f ms (fit %.2f)", self.partner_label, self.line_label,
                        1e3 * m.offset_s, m.fit)
        else:
            logger.debug("%s clock offset %+.1f ms at %s %.1f s (fit %.2f)", self.partner_label, 1e3 * m.offset_s,
                         self.line_label, m.t_s, m.fit)


@dataclass(frozen=True)
class Window:
    """The samples one fine measurement compares (LineClock._window)."""

    grid_s: np.ndarray
    """Line times on a regular grid, edge_s beyond each end of the window."""
    wide_s: np.ndarray
    """The grid widened by lag_n steps either side: where the partner's samples are read at each lag."""
    lag_n: int
    line_t_s: np.ndarray
    line_values: np.ndarray
    partner_t_s: np.ndarray
    partner_values: np.ndarray


def axis_rate_dps(at_s: np.ndarray, t_s: np.ndarray, gyro_dps: np.ndarray) -> np.ndarray:
    """A gyro's rate about its own main axis (the first principal component, its sign arbitrary), with
    its median over the window (a bias, at rest most of the time) taken off, at the times at_s."""
    rates = np.stack([np.interp(at_s, t_s, gyro_dps[:, k]) for k in range(3)], axis=1)
    rates -= np.median(rates, axis=0)
    axis = np.linalg.svd(rates - rates.mean(axis=0), full_matrices=False)[2][0]
    return np.asarray(rates @ axis)


def parabola_peak(a: float, b: float, c: float) -> float:
    """Where a parabola through (-1, a), (0, b), (1, c) peaks, in grid steps from the middle point
    (0 when the three do not bend down)."""
    return 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0


def host_times(block: SampleBlock) -> np.ndarray:
    if block.t_host_s is None:
        raise ConfigError("aligning two devices needs the host arrival time of every sample")
    return block.t_host_s
