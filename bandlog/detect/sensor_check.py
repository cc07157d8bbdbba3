"""What a sensor's samples at rest and under a known load say about it: `bandlog check`'s figures.

Pure computation over SampleBlocks (the app feeds it a live stream; tests feed it arrays). At rest:
the sample rate actually reached (against the nominal one), the noise and drift of the force, the
gyro's noise and bias, and gravity as the accelerometer reads it. Under a known load (a bag of
known mass hung from the hook): the sign (a pull must read positive) and the gain, within 2 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bandlog.core.calibration import MAX_SCALE, ForceCalibration
from bandlog.core.errors import CheckFailedError, ConfigError
from bandlog.core.motion import STANDARD_GRAVITY_MS2
from bandlog.core.samples import SampleBlock

GAIN_TOLERANCE = 0.02
"""A force sensor reading a known load within 2 % is left as it is (the issue's bound)."""
RATE_OK_FRACTION = 0.97
"""The rate reached should be within 3 % of the nominal: below, notifications are being lost."""
FORCE_NOISE_OK_N = 0.5
"""Load-cell noise at rest is 0.05-0.5 N on the supported sensors; above, a pull's start blurs."""
GYRO_NOISE_OK_DPS = 1.0
"""Gyro noise at rest (SD per axis); MEMS gyros of the supported sensors show 0.05-0.5 deg/s."""
GRAVITY_TOLERANCE = 0.03
"""At rest the accelerometer must read 1 g within 3 % (the knee angle comes from its tilt)."""
LOAD_WINDOW_S = 1.5
"""The load is read as the mean over the first window this long that is still."""
LOAD_STILL_SD_N = 0.5
"""Largest force SD in a still load window (or 3 % of the load, if more): a bag still bouncing is not read."""
LOAD_SEEN_FRACTION = 0.25
"""A still window counts as the load only if it differs from rest by at least this share of the
expected load (a still window before the bag was hung is not the load)."""


@dataclass(frozen=True)
class RestFigures:
    """A sensor at rest: how fast it streams and how noisy it is."""

    duration_s: float
    samples: int
    rate_hz: float | None
    """Samples per second reached on the stream's time line (lost notifications leave holes in it)."""
    nominal_rate_hz: float | None
    force_mean_n: float | None
    force_noise_n: float | None
    """SD of the force about its straight-line trend."""
    force_drift_n_per_min: float | None
    gyro_noise_dps: float | None
    """The largest per-axis SD of the gyro."""
    gyro_bias_dps: float | None
    """Size of the gyro's mean reading (all of it is bias: the sensor is still)."""
    gravity_ms2: float | None
    """Size of the mean acceleration: 1 g (9.81 m/s2) on a sensor that reads acceleration right."""

    @property
    def rate_ok(self) -> bool:
        if self.rate_hz is None or self.nominal_rate_hz is None:
            return True  # nothing to compare with: the rate is shown, not judged
        return self.rate_hz >= RATE_OK_FRACTION * self.nominal_rate_hz

    @property
    def noise_ok(self) -> bool:
        force_ok = self.force_noise_n is None or self.force_noise_n <= FORCE_NOISE_OK_N
        gyro_ok = self.gyro_noise_dps is None or self.gyro_noise_dps <= GYRO_NOISE_OK_DPS
        return force_ok and gyro_ok

    @property
    def gravity_error(self) -> float | None:
        """Relative error of the gravity read at rest (0.01 = 1 % high)."""
        return None if self.gravity_ms2 is None else self.gravity_ms2 / STANDARD_GRAVITY_MS2 - 1.0

    @property
    def gravity_ok(self) -> bool:
        error = self.gravity_error
        return error is None or abs(error) <= GRAVITY_TOLERANCE


def rest_figures(samples: SampleBlock, nominal_rate_hz: float | None) -> RestFigures:
    """The figures of a stretch of samples taken with the sensor still and unloaded."""
    n = len(samples)
    if n < 2:
        raise ConfigError(f"the sensor sent {n} sample(s) while at rest: too few to check it")
    t = samples.t_s
    span_s = float(t[-1] - t[0])
    rate_hz = (n - 1) / span_s if span_s > 0 else None
    force_mean = force_noise = drift = None
    if samples.force_n is not None:
        force = samples.force_n
        slope, intercept = np.polyfit(t - t[0], force, 1)
        force_noise = float(np.std(force - (slope * (t - t[0]) + intercept)))
        force_mean, drift = float(np.mean(force)), float(slope * 60.0)
    gyro_noise = gyro_bias = gravity = None
    if samples.gyro_dps is not None:
        gyro_noise = float(np.max(np.std(samples.gyro_dps, axis=0)))
        gyro_bias = float(np.linalg.norm(np.mean(samples.gyro_dps, axis=0)))
    if samples.acc_ms2 is not None:
        gravity = float(np.linalg.norm(np.mean(samples.acc_ms2, axis=0)))
    return RestFigures(
        duration_s=span_s, samples=n, rate_hz=rate_hz, nominal_rate_hz=nominal_rate_hz,
        force_mean_n=force_mean, force_noise_n=force_noise, force_drift_n_per_min=drift,
        gyro_noise_dps=gyro_noise, gyro_bias_dps=gyro_bias, gravity_ms2=gravity,
    )


@dataclass(frozen=True)
class LoadStep:
    """The known load as the sensor read it: the mean of a still window less the rest level."""

    expected_n: float
    measured_n: float
    window_start_s: float
    window_end_s: float
    spread_n: float
    """SD of the force within the window."""

    @property
    def sign_ok(self) -> bool:
        """A hanging load pulls on the hook: it must read positive."""
        return self.measured_n > 0

    @property
    def gain(self) -> float:
        """How the size of the reading compares with the load (1.0 = right)."""
        return abs(self.measured_n) / self.expected_n

    @property
    def gain_ok(self) -> bool:
        return abs(self.gain - 1.0) <= GAIN_TOLERANCE

    @property
    def plausible(self) -> bool:
        """False when the reading is so far off that the load, not the sensor, is likely wrong."""
        return 1.0 / MAX_SCALE <= self.gain <= MAX_SCALE

    def correction_scale(self) -> float:
        """What to multiply the sensor's force by: 1 when sign and gain are right, -1 for a sign
        alone, otherwise the load over the reading (it fixes both)."""
        if self.gain_ok:
            return 1.0 if self.sign_ok else -1.0
        return self.expected_n / self.measured_n

    def calibration(self, source: str) -> ForceCalibration:
        if not self.plausible:
            raise CheckFailedError(
                f"the sensor read {self.measured_n:+.2f} N for a load of {self.expected_n:.2f} N ({self.gain:.2f}x): "
                "that is not a miscalibrated sensor; check the mass given (--load-kg) and that the load hung freely"
            )
        return ForceCalibration(scale=self.correction_scale(), source=source)


def find_load_step(samples: SampleBlock, rest_level_n: float, expected_n: float) -> LoadStep | None:
    """The first still window of LOAD_WINDOW_S whose level differs from rest by a quarter of the
    load or more, in samples taken after the user said the load hangs; None until there is one."""
    if samples.force_n is None:
        raise ConfigError("this sensor streams no force: there is no load to check")
    if not (math.isfinite(expected_n) and expected_n > 0):
        raise ConfigError(f"the known load must be a positive force, not {expected_n} N")
    t, force = samples.t_s, samples.force_n - rest_level_n
    if len(t) < 3:
        return None
    sums = np.concatenate([[0.0], np.cumsum(force)])
    squares = np.concatenate([[0.0], np.cumsum(force * force)])
    starts = np.searchsorted(t, t - LOAD_WINDOW_S, side="left")  # the window ending at each sample
    stops = np.arange(1, len(t) + 1)
    counts = stops - starts
    full = (t - t[starts]) >= 0.95 * LOAD_WINDOW_S
    full &= counts >= 3
    mean = (sums[stops] - sums[starts]) / np.maximum(counts, 1)
    variance = np.maximum((squares[stops] - squares[starts]) / np.maximum(counts, 1) - mean * mean, 0.0)
    still = np.sqrt(variance) <= max(LOAD_STILL_SD_N, 0.03 * expected_n)
    seen = np.abs(mean) >= LOAD_SEEN_FRACTION * expected_n
    found = np.flatnonzero(full & still & seen)
    if len(found) == 0:
        return None
    end = int(found[0])
    start = int(starts[end])
    window = force[start : end + 1]
    return LoadStep(
        expected_n=expected_n, measured_n=float(np.mean(window)), window_start_s=float(t[start]),
        window_end_s=float(t[end]), spread_n=float(np.std(window)),
    )
