"""Band mechanics: geometry of science.md 1.4, the colour chart of 1.1, hysteresis and relaxation."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.sim import BAND_COLOURS, random_spec, simulate_session
from bandlog.sim.band import (
    REFERENCE_GEOMETRY,
    band_tension_n,
    elongation_pct,
    manufacturer_force_n,
    power_law_k,
    static_force_n,
)

TABLE_THETA_DEG = np.array([10, 30, 50, 70, 90, 110, 120], dtype=float)
TABLE_ELONGATION_PCT = np.array([13.5, 30.8, 58.3, 89.1, 118.9, 145.1, 156.3])
TABLE_FORCE_N = np.array([13.8, 21.6, 30.6, 38.5, 45.0, 50.2, 52.3])


def test_reference_geometry_reproduces_the_worked_example() -> None:
    e = elongation_pct(TABLE_THETA_DEG, **REFERENCE_GEOMETRY)
    np.testing.assert_allclose(e, TABLE_ELONGATION_PCT, atol=0.2)
    force = static_force_n(e, "green", 2, 0.543, 1.0)
    np.testing.assert_allclose(force, TABLE_FORCE_N, rtol=0.02)


def test_force_rises_monotonically_with_knee_flexion_on_the_reference_geometry() -> None:
    theta = np.linspace(5.0, 130.0, 500)
    e = elongation_pct(theta, **REFERENCE_GEOMETRY)
    for colour in BAND_COLOURS:
        assert np.all(np.diff(static_force_n(e, colour, 2, 0.54, 0.9)) > 0)


@pytest.mark.parametrize("colour", BAND_COLOURS)
@pytest.mark.parametrize("exponent", [0.48, 0.54, 0.60])
def test_calibrated_power_law_matches_the_chart(colour: str, exponent: float) -> None:
    for e in (100.0, 200.0):
        model = float(static_force_n(e, colour, 1, exponent, 1.0))
        assert model == pytest.approx(manufacturer_force_n(colour, e), rel=0.05)
    assert power_law_k(colour, exponent) > 0


def test_slack_band_pulls_nothing() -> None:
    assert float(static_force_n(-5.0, "gold", 2, 0.55, 1.0)) == 0.0
    e = np.array([-10.0, -1.0, 0.0, 5.0])
    force = band_tension_n(e, e, 0.001, colour="red", strands=1, exponent=0.55, gain=1.0, hysteresis_frac=0.05,
                           hysteresis_switch_pct=5.0, relax_tau_s=2.0, relax_overshoot_frac=0.04)
    assert np.all(force[:3] == 0.0) and force[3] > 0.0


def _tension(e: np.ndarray, hysteresis: float, overshoot: float, tau: float = 2.0) -> np.ndarray:
    return band_tension_n(e, e, 0.001, colour="green", strands=2, exponent=0.54, gain=1.0, hysteresis_frac=hysteresis,
                          hysteresis_switch_pct=5.0, relax_tau_s=tau, relax_overshoot_frac=overshoot)


def test_unloading_runs_below_loading_by_the_loop_width() -> None:
    up = np.linspace(10.0, 150.0, 14001)
    e = np.concatenate([up, up[::-1]])
    force = _tension(e, hysteresis=0.08, overshoot=0.0)
    loading, unloading = force[: up.size], force[up.size :][::-1]
    gap = (loading - unloading) / static_force_n(up, "green", 2, 0.54, 1.0)
    # away from the turnaround (switching takes a few % elongation) the loop is the full width
    assert np.all(gap[(up > 40) & (up < 110)] == pytest.approx(0.08, abs=0.005))


def test_force_relaxes_during_a_hold_after_stretching() -> None:
    ramp = np.linspace(20.0, 140.0, 3001)  # 40 %/s for 3 s at 1 kHz
    e = np.concatenate([ramp, np.full(10000, 140.0)])
    force = _tension(e, hysteresis=0.0, overshoot=0.05, tau=2.0)
    static = float(static_force_n(140.0, "green", 2, 0.54, 1.0))
    at_top = force[ramp.size - 1]
    assert at_top > static * 1.03
    after_tau = force[ramp.size - 1 + 2000]
    assert (after_tau - static) == pytest.approx((at_top - static) * np.exp(-1), rel=0.05)
    assert force[-1] == pytest.approx(static, rel=0.002)


def test_session_force_falls_through_every_eccentric() -> None:
    s = simulate_session(random_spec(21, n_sets=1, reps_per_set=6, rest_between_sets_s=20.0))
    for r in s.truth_reps:
        f_on, f_off = s.true_force_n(np.array([r.onset_s, r.offset_s]))
        assert f_off < f_on - 0.25 * (r.peak_force_n - s.truth_sets[0].rest_force_n)
        assert r.peak_force_n > s.truth_sets[0].rest_force_n
