"""The knee-axis sign from all the evidence, and the gyro bias without a still window."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.detect.axis import fallback_bias
from bandlog.detect.axis_sign import SignEvidence, SignReview

DT_S = 0.01


def reps(n: int, flex_s: float = 1.0, ecc_s: float = 4.0, rest_s: float = 2.0, rom_deg: float = 90.0) -> tuple[np.ndarray, np.ndarray]:
    """Knee angle (flexion positive) and rate of n reps: quick flexion, slow eccentric, rest at extension."""
    pieces = []
    for _ in range(n):
        pieces.append(rom_deg * 0.5 * (1 - np.cos(np.linspace(0, np.pi, int(flex_s / DT_S)))))
        pieces.append(rom_deg * 0.5 * (1 + np.cos(np.linspace(0, np.pi, int(ecc_s / DT_S)))))
        pieces.append(np.zeros(int(rest_s / DT_S)))
    angle = np.concatenate(pieces) + 10.0
    return angle, np.gradient(angle, DT_S)


def below_knee_force(angle_deg: np.ndarray) -> np.ndarray:
    """Band force with the band shortest at 25 deg (anchor below the knee): falls, then rises."""
    return 8.0 + 0.004 * (angle_deg - 25.0) ** 2


def decide(angle: np.ndarray, rate: np.ndarray, force: np.ndarray | None, sign: int) -> tuple[int, SignEvidence]:
    evidence = SignEvidence(DT_S, excursion_deg=40.0, use_force=force is not None)
    values = force if force is not None else np.zeros_like(angle)
    for a, r, f in zip(sign * angle, sign * rate, values):
        evidence.add(float(a), float(r), float(f))
        if evidence.ready():
            return evidence.decide(), evidence
    raise AssertionError("never ready")


@pytest.mark.parametrize("mounted", [1, -1])
def test_force_level_gives_the_sign_even_with_the_anchor_below_the_knee(mounted: int) -> None:
    angle, rate = reps(2, flex_s=0.8)
    sign, evidence = decide(angle, rate, below_knee_force(angle), mounted)
    assert sign == mounted  # +1: the unsigned angle already grows with flexion
    assert "force" in evidence.how


@pytest.mark.parametrize("mounted", [1, -1])
def test_without_force_the_rest_end_and_the_quicker_loading_give_the_sign(mounted: int) -> None:
    angle, rate = reps(2)
    sign, evidence = decide(angle, rate, None, mounted)
    assert sign == mounted and "movement" in evidence.how


def test_nothing_is_decided_before_a_whole_excursion_out_and_back() -> None:
    angle, rate = reps(1)
    evidence = SignEvidence(DT_S, excursion_deg=40.0, use_force=False)
    flexion_end = int(1.0 / DT_S)
    for a, r in zip(angle[:flexion_end], rate[:flexion_end]):
        evidence.add(float(a), float(r), 0.0)
    assert not evidence.ready()


def test_two_contradicting_reps_in_a_row_reverse_the_sign() -> None:
    angle, _ = reps(1)
    review = SignReview()
    inverted_force = below_knee_force(-angle + 100.0)
    assert not review.contradicts(angle, below_knee_force(angle))
    assert not review.contradicts(angle, inverted_force)
    assert not review.contradicts(angle, below_knee_force(angle))  # not in a row
    assert not review.contradicts(angle, inverted_force)
    assert review.contradicts(angle, inverted_force)


def _rotate(v: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rodrigues: v (3,) turned about unit axis by each angle -> (n, 3)."""
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    return v * c + np.cross(axis, v) * s + axis * (axis @ v) * (1 - c)


@pytest.mark.parametrize("with_acc", [True, False])
def test_fallback_bias_without_a_still_moment(with_acc: bool) -> None:
    rng = np.random.default_rng(1)
    angle, rate = reps(6, flex_s=1.2, ecc_s=2.0, rest_s=0.2)
    axis = np.array([0.3, -0.8, 0.52])
    axis /= np.linalg.norm(axis)
    true_bias = np.array([2.5, -1.5, 4.0])
    gyro = rate[:, None] * axis + true_bias + rng.normal(0.0, 0.3, (rate.size, 3))
    gravity = _rotate(np.array([0.0, 0.0, 9.81]), axis, -np.radians(angle))
    estimate = np.asarray(fallback_bias(gyro, gravity if with_acc else None, DT_S))
    assert np.linalg.norm(estimate - true_bias) < (0.3 if with_acc else 1.0)
    assert np.linalg.norm(np.median(gyro, axis=0) - true_bias) > 1.0  # a plain median would not do
