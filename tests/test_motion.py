"""The stand-in motion source must be physically consistent: its gyro is the rate of its tilt."""

from __future__ import annotations

import numpy as np

from bandlog.core.motion import PeriodicMotion


def test_gyro_is_the_derivative_of_the_accelerometer_tilt() -> None:
    motion = PeriodicMotion(period_s=6.0)
    t = np.arange(0.0, 12.0, 0.001)
    block = motion.sample(t)
    assert block.acc_ms2 is not None and block.gyro_dps is not None
    tilt_deg = np.degrees(np.arctan2(block.acc_ms2[:, 0], block.acc_ms2[:, 2]))
    rate_from_tilt_dps = np.gradient(tilt_deg, t)
    assert np.allclose(block.gyro_dps[5:-5, 1], rate_from_tilt_dps[5:-5], atol=0.05)
    assert 50.0 < np.max(np.abs(block.gyro_dps[:, 1])) < 60.0  # 100 deg in 3 s peaks near 52 deg/s
