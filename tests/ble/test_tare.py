"""Software tare on plain blocks: the first still second, never a moving one."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.samples import SampleBlock
from bandlog.sources.tare import SoftwareTare


def feed_in_chunks(tare: SoftwareTare, t_s: np.ndarray, force_n: np.ndarray, gyro_dps: np.ndarray | None = None) -> None:
    for start in range(0, len(t_s), 7):
        stop = start + 7
        gyro = None if gyro_dps is None else gyro_dps[start:stop]
        if tare.feed(SampleBlock(t_s=t_s[start:stop], force_n=force_n[start:stop], gyro_dps=gyro)):
            return


def test_mean_of_the_first_still_second() -> None:
    t_s = np.arange(600) / 100.0
    rng = np.random.default_rng(1)
    pull = np.where(t_s < 1.5, 0.0, 30.0 * np.sin(t_s - 1.5) ** 2)
    force = 4.0 + pull + rng.normal(0, 0.05, t_s.size)
    tare = SoftwareTare()
    feed_in_chunks(tare, t_s, force)
    assert tare.done and tare.offset_n == pytest.approx(4.0, abs=0.02)


def test_waits_for_stillness_after_initial_fidgeting() -> None:
    """The leg fidgets first (gyro busy, band barely loaded), then rests: the tare is the rest."""
    t_s = np.arange(500) / 100.0
    force = np.where(t_s < 2.0, 2.5 + 0.8 * np.sin(9 * t_s), 2.5)
    gyro = np.zeros((t_s.size, 3))
    gyro[t_s < 2.0, 0] = 30.0 * np.sin(7 * t_s[t_s < 2.0])
    tare = SoftwareTare()
    feed_in_chunks(tare, t_s, force, gyro)
    assert tare.offset_n == pytest.approx(2.5)


def test_a_turning_leg_is_not_still_even_with_flat_force() -> None:
    t_s = np.arange(700) / 100.0
    gyro = np.zeros((t_s.size, 3))
    gyro[t_s < 3.0, 1] = 40.0
    tare = SoftwareTare()
    force = np.where(t_s < 3.0, 3.0, 1.0)  # flat while turning, so only the gyro can reject it
    feed_in_chunks(tare, t_s, force, gyro)
    assert tare.done and tare.offset_n == pytest.approx(1.0)


def test_gives_up_when_never_still() -> None:
    t_s = np.arange(800) / 100.0
    tare = SoftwareTare(search_limit_s=5.0)
    feed_in_chunks(tare, t_s, 20.0 * np.sin(2 * t_s) ** 2)
    assert tare.done and tare.offset_n is None


def test_a_still_hold_with_the_band_stretched_is_not_a_tare() -> None:
    """Noisy rest (rejected as too noisy for a strict spread rule once), a pull, then a still hold at the
    top: the hold is far above the rest level, so it must not become the zero."""
    t_s = np.arange(600) / 100.0
    rng = np.random.default_rng(3)
    pull = np.clip((t_s - 1.0) / 0.8, 0.0, 1.0) * 13.0
    force = 0.3 + pull + rng.normal(0, 0.9, t_s.size) * (t_s < 1.0) + rng.normal(0, 0.2, t_s.size)
    tare = SoftwareTare()
    feed_in_chunks(tare, t_s, force)
    assert tare.offset_n is None or tare.offset_n < 2.0


def test_real_sensor_noise_and_gyro_bias_still_tare() -> None:
    t_s = np.arange(400) / 100.0
    rng = np.random.default_rng(4)
    force = 1.2 + rng.normal(0, 0.45, t_s.size)
    gyro = np.array([8.0, -6.0, 3.0]) + rng.normal(0, 0.8, (t_s.size, 3))
    tare = SoftwareTare()
    feed_in_chunks(tare, t_s, force, gyro)
    assert tare.done and tare.offset_n == pytest.approx(1.2, abs=0.2)
