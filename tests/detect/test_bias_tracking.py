"""The gyro bias recurrence (axis.KneeEstimator._track_bias) runs as a linear filter over runs of
still candidates: it must follow the plain per-sample rule (an exponential average of the still
samples inside the gate, the first still sample replacing a bias guessed from movement) and give
the same bits however the samples are split into frames. What each still sample reads of the bias
(frontend.Frame.gyro_bias_reading_dps) leaves out a slow turn the accelerometer sees."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bandlog.core.samples import SampleBlock
from bandlog.detect.axis import KneeEstimator
from bandlog.detect.frontend import Frame, Frontend
from bandlog.detect.params import DetectorParams

DT_S = 0.01


def per_sample_rule(gyro: np.ndarray, candidates: np.ndarray, bias: list[float], from_still: bool,
                    params: DetectorParams) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The rule written one sample at a time: (bias in force at each sample, still flags, final bias)."""
    alpha = min(1.0, DT_S / params.bias_tau_s)
    gate2 = params.still_bias_gate_dps**2
    b = np.array(bias, dtype=float)
    out = np.empty((len(gyro), 3))
    still = np.zeros(len(gyro), bool)
    for i, g in enumerate(gyro):
        if candidates[i]:
            if not from_still:
                b, from_still, still[i] = g.copy(), True, True
            elif float(((g - b) ** 2).sum()) < gate2:
                b = b + alpha * (g - b)
                still[i] = True
        out[i] = b
    return out, still, list(b)


def gyro_with_outliers(seed: int, n: int, params: DetectorParams) -> tuple[np.ndarray, np.ndarray]:
    """Slow gyro near a drifting bias, with bursts outside the gate, and still candidates that come
    and go (runs of every length, some gate misses inside them)."""
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.normal(0, 0.002, (n, 3)), axis=0) + np.array([0.4, -0.3, 0.2])
    gyro = drift + rng.normal(0, 0.05, (n, 3))
    bursts = rng.random(n) < 0.03
    gyro[bursts] += rng.choice([-1, 1], (int(bursts.sum()), 3)) * params.still_bias_gate_dps * rng.uniform(1.2, 3, (int(bursts.sum()), 1))
    runs = np.repeat(rng.random(n // 20 + 1) < 0.6, 20)[:n]
    candidates = runs & (rng.random(n) < 0.95)
    return gyro, candidates


def estimator(bias: list[float], from_still: bool) -> KneeEstimator:
    est = KneeEstimator(DetectorParams(), DT_S, use_force_sign=False)
    est.bias, est.bias_from_still = list(bias), from_still
    return est


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("from_still", [True, False])
def test_bias_follows_the_per_sample_rule(seed: int, from_still: bool) -> None:
    params = DetectorParams()
    gyro, candidates = gyro_with_outliers(seed, 5000, params)
    start = [0.5, -0.2, 0.1]
    want_bias, want_still, want_final = per_sample_rule(gyro, candidates, start, from_still, params)
    assert (candidates & ~want_still).sum() > 0, "the data must contain gate misses"
    est = estimator(start, from_still)
    bias, still = est._track_bias(gyro, candidates)
    np.testing.assert_array_equal(still, want_still)
    np.testing.assert_allclose(bias, want_bias, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.bias, want_final, rtol=1e-12, atol=1e-12)
    assert est.bias_from_still


@pytest.mark.parametrize("seed", range(4))
def test_bias_is_the_same_bits_however_the_frames_are_cut(seed: int) -> None:
    params = DetectorParams()
    gyro, candidates = gyro_with_outliers(100 + seed, 4000, params)
    whole = estimator([0.5, -0.2, 0.1], False)
    bias_whole, still_whole = whole._track_bias(gyro, candidates)
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, 4000), 25, replace=False))
    split = estimator([0.5, -0.2, 0.1], False)
    parts = [split._track_bias(g, c) for g, c in zip(np.split(gyro, cuts), np.split(candidates, cuts))]
    np.testing.assert_array_equal(np.concatenate([b for b, _ in parts]), bias_whole)
    np.testing.assert_array_equal(np.concatenate([s for _, s in parts]), still_whole)
    assert split.bias == whole.bias


def _creeping_hold(n: int, bias_dps: np.ndarray, creep_dps: float) -> SampleBlock:
    """A sensor turning slowly about a level axis (sensor x) for n samples, as a seated top hold
    creeps: the gyro reads the creep plus its bias, the accelerometer gravity turning with it."""
    rng = np.random.default_rng(5)
    t_s = np.arange(n) * DT_S
    turned = Rotation.from_rotvec(np.outer(np.radians(creep_dps * t_s), [1.0, 0.0, 0.0]))
    acc = turned.inv().apply([0.0, 0.0, 9.81]) + rng.normal(0.0, 0.02, (n, 3))
    gyro = np.tile([creep_dps, 0.0, 0.0], (n, 1)) + bias_dps + rng.normal(0.0, 0.05, (n, 3))
    return SampleBlock(t_s=t_s, acc_ms2=acc, gyro_dps=gyro)


def _frames(block: SampleBlock, cuts: list[int], params: DetectorParams) -> list[Frame]:
    frontend = Frontend(params)
    frames = [frontend.push(block.slice(a, b)) for a, b in zip([0, *cuts], [*cuts, len(block)])]
    return [f for f in [*frames, frontend.flush()] if f is not None]


def test_a_creeping_hold_reads_as_the_bias_not_the_creep() -> None:
    """A clip that began mid-rep took its first still window, a top hold creeping 1-3 deg/s, for
    the gyro bias (held-out seeds: 0.2-0.45 s off at both ends of every eccentric after). The
    still windows now read the slow gyro less the turn gravity shows over them."""
    bias = np.array([0.3, -0.5, 0.8])
    block = _creeping_hold(1500, bias, creep_dps=1.5)
    frames = _frames(block, [], DetectorParams())
    reading = np.concatenate([f.gyro_bias_reading_dps for f in frames if f.gyro_bias_reading_dps is not None])
    slow = np.concatenate([f.gyro_slow_dps for f in frames if f.gyro_slow_dps is not None])
    settled = slice(300, None)  # past the slow filters' start-up
    np.testing.assert_allclose(np.median(reading[settled], axis=0), bias, atol=0.05)
    np.testing.assert_allclose(np.median(slow[settled], axis=0), bias + np.array([1.5, 0.0, 0.0]), atol=0.05)  # what it used to take
    off = DetectorParams(bias_less_gravity_turn=False)  # the planted profiles' setting: the slow gyro as it is
    plain = np.concatenate([f.gyro_bias_reading_dps for f in _frames(block, [], off) if f.gyro_bias_reading_dps is not None])
    np.testing.assert_array_equal(plain, slow)


def test_the_bias_reading_is_the_same_bits_however_the_blocks_are_cut() -> None:
    block = _creeping_hold(1200, np.array([0.1, 0.2, -0.3]), creep_dps=2.0)
    whole = np.concatenate([f.gyro_bias_reading_dps for f in _frames(block, [], DetectorParams()) if f.gyro_bias_reading_dps is not None])
    cuts = sorted(np.random.default_rng(2).choice(np.arange(20, 1180), 9, replace=False).tolist())
    split = np.concatenate([f.gyro_bias_reading_dps for f in _frames(block, cuts, DetectorParams()) if f.gyro_bias_reading_dps is not None])
    np.testing.assert_array_equal(split, whole)
