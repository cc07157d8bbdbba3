"""Software tare on plain blocks: the first still second, never a moving one."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.samples import SampleBlock
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


def test_waits_for_stillness_after_initial_movement() -> None:
    t_s = np.arange(500) / 100.0
    force = np.where(t_s < 2.0, 10.0 * np.sin(3 * t_s) ** 2, 2.5)
    tare = SoftwareTare()
    feed_in_chunks(tare, t_s, force)
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
