"""Parameter draws honour science.md 6 and overrides; the same spec always gives the same session."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.sim import BAND_COLOURS, random_scenario, random_spec, simulate_session
from bandlog.sim.band import elongation_pct
from bandlog.sim.spec import MAX_ELONGATION_PCT

SHORT = {"n_sets": 1, "reps_per_set": 3, "rest_between_sets_s": 20.0}


def test_overrides_are_applied_and_other_draws_unchanged() -> None:
    base = random_spec(11)
    pinned = random_spec(11, n_sets=1, reps_per_set=8, rest_between_sets_s=20.0, colour="gold")
    assert (pinned.n_sets, pinned.reps_per_set, pinned.rest_between_sets_s, pinned.colour) == (1, 8, 20.0, "gold")
    assert pinned.target_ecc_s == base.target_ecc_s
    assert pinned.gyro_bias_dps == base.gyro_bias_dps


def test_unknown_or_invalid_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown simulation parameter"):
        random_spec(1, n_set=2)
    with pytest.raises(ConfigError, match="colour"):
        random_spec(1, colour="purple")
    with pytest.raises(ConfigError, match="reps_per_set"):
        random_spec(1, reps_per_set=0)
    with pytest.raises(ConfigError, match="seed"):
        random_spec(-3)
    with pytest.raises(ConfigError, match="rotation"):
        simulate_session(dataclasses.replace(random_spec(1), imu_rotation=((2.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))))


@pytest.mark.parametrize("seed", range(12))
def test_draws_fall_in_the_science_ranges(seed: int) -> None:
    s = random_spec(seed)
    assert 1 <= s.n_sets <= 3 and 5 <= s.reps_per_set <= 12
    assert 60 <= s.rest_between_sets_s <= 180 and 3 <= s.target_ecc_s <= 6
    assert 80 <= s.rom_deg <= 115 and 5 <= s.ext_deg <= 20 and 0.8 <= s.flex_s <= 2.0
    assert s.colour in BAND_COLOURS and s.strands in (1, 2) and 0.48 <= s.band_exponent <= 0.60
    assert 0.7 <= s.band_gain <= 1.1 and 0.03 <= s.hysteresis_frac <= 0.10 and 1 <= s.relax_tau_s <= 5
    assert 0.3 <= s.rest_length_m <= 1.0 and 0.5 <= s.anchor_x_m <= 1.5 and -0.55 <= s.anchor_y_m <= 0.25
    assert 0.5 <= np.linalg.norm(s.gyro_bias_dps) <= 10 and 0.004 <= s.gyro_noise_dps_rthz <= 0.014
    assert 75 <= s.acc_noise_ug_rthz <= 160 and 0.15 <= s.sensor_radius_m <= 0.45
    assert 0.05 <= s.force_noise_n <= 0.5 and 0.1 <= abs(s.force_drift_n_per_min) <= 1.0
    assert 0 <= s.ble_loss_frac <= 0.02
    assert np.isclose(np.linalg.norm(s.knee_axis_sensor), 1.0)
    theta = np.linspace(max(0.0, s.ext_deg - 4.0), s.ext_deg + s.rom_deg + 8.0, 200)
    e = elongation_pct(theta, s.shank_m, s.anchor_x_m, s.anchor_y_m, s.rest_length_m)
    # taut where the band is shortest (mid-range when the anchor is below the knee), never over 250 %
    assert np.isclose(e.min(), 100 * max(s.pretension_frac, 0.02), atol=0.5) and e.max() <= MAX_ELONGATION_PCT + 1


def test_anchor_classes_are_drawn_evenly_and_below_the_knee_the_band_is_shortest_mid_range() -> None:
    specs = [random_spec(seed) for seed in range(90)]
    counts = {c: sum(s.anchor_class == c for s in specs) for c in ("below", "at", "above")}
    assert all(20 <= n <= 40 for n in counts.values()), counts
    below = [s for s in specs if s.anchor_class == "below" and s.anchor_y_m < -0.3]
    assert below
    for s in below:
        theta = np.linspace(s.ext_deg, s.ext_deg + s.rom_deg, 300)
        length = elongation_pct(theta, s.shank_m, s.anchor_x_m, s.anchor_y_m, s.rest_length_m)
        assert np.argmin(length) > 0, "the band is shortest inside the movement, not at extension"


def test_scenarios_cover_every_class_and_leave_random_spec_tidy() -> None:
    scenarios = [random_scenario(seed) for seed in range(60)]
    assert 10 <= sum(not s["still_start"] for s in scenarios) <= 30
    assert 5 <= sum(s["cut_end"] for s in scenarios) <= 25
    assert 4 <= sum(s["session_kind"] == "isometric" for s in scenarios) <= 20
    tidy = random_spec(3)
    assert tidy.still_start and not tidy.cut_end and tidy.session_kind == "eccentric"


def test_knee_axis_is_spread_over_the_sphere() -> None:
    axes = np.array([random_spec(seed).knee_axis_sensor for seed in range(200)])
    assert np.all(np.abs(axes.mean(axis=0)) < 0.15)
    assert np.all(np.abs((axes**2).mean(axis=0) - 1 / 3) < 0.1)


def test_same_spec_gives_identical_arrays_and_labels() -> None:
    spec = random_spec(5, **SHORT)
    a, b = simulate_session(spec), simulate_session(dataclasses.replace(spec))
    ra, rb = a.record(80.0), b.record(80.0)
    for name in ("t_s", "force_n", "acc_ms2", "gyro_dps", "t_host_s"):
        np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name))
    assert a.truth_reps == b.truth_reps and a.truth_sets == b.truth_sets and a.distractors == b.distractors
    t = np.array([3.0, 7.25, 7.25, 11.5])
    sa, sb = a.sample(t), a.sample(t[::-1])
    np.testing.assert_array_equal(sa.gyro_dps, sb.gyro_dps[::-1])
    np.testing.assert_array_equal(sa.force_n, sb.force_n[::-1])


def test_different_seeds_differ() -> None:
    a = simulate_session(random_spec(5, **SHORT))
    b = simulate_session(random_spec(6, **SHORT))
    t = np.linspace(0.0, min(a.duration_s, b.duration_s), 500)
    assert not np.allclose(a.knee_angle_deg(t), b.knee_angle_deg(t))
    assert not np.allclose(a.sample(t).gyro_dps, b.sample(t).gyro_dps)
    assert a.truth_reps[0].onset_s != b.truth_reps[0].onset_s
