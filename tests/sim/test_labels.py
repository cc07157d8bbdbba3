"""Truth labels agree with the trajectory they describe (science.md 5.9, 6.3)."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.core.results import tempo_class, tension_threshold_n
from bandlog.sim import SimulatedSession, random_spec, simulate_session
from bandlog.sim.plan import FAST_RANGE_S, MIN_COMPLIANT_S, VERY_SLOW_RANGE_S

EVENTFUL = {"p_fast": 0.2, "p_very_slow": 0.1, "p_drop": 0.3, "p_stall": 0.5, "rest_between_sets_s": 20.0}


@pytest.fixture(scope="module")
def sessions() -> list[SimulatedSession]:
    return [simulate_session(random_spec(seed, n_sets=2, reps_per_set=6, **EVENTFUL)) for seed in range(6)]


def test_angle_is_one_degree_from_top_and_bottom_at_onset_and_offset(sessions: list[SimulatedSession]) -> None:
    for s in sessions:
        for r in s.truth_reps:
            assert s.knee_angle_deg(np.array([r.onset_s]))[0] == pytest.approx(r.top_deg - 1.0, abs=0.02)
            assert s.knee_angle_deg(np.array([r.offset_s]))[0] == pytest.approx(r.bottom_deg + 1.0, abs=0.02)
            before = np.linspace(r.start_s, r.onset_s - 0.002, 400)
            assert s.knee_angle_deg(before).max() == pytest.approx(r.top_deg, abs=0.01)
            after = np.linspace(r.offset_s + 0.002, r.ecc_move_end_s, 100)
            assert np.all(s.knee_angle_deg(after) < r.bottom_deg + 1.0)
            assert r.start_s < r.top_s <= r.ecc_move_start_s < r.onset_s < r.offset_s < r.ecc_move_end_s < r.end_s


def test_durations_follow_the_prescription(sessions: list[SimulatedSession]) -> None:
    kinds = set()
    for s in sessions:
        target = s.spec.target_ecc_s
        for r in s.truth_reps:
            kinds.add(r.kind)
            assert r.ecc_duration_s == pytest.approx(r.offset_s - r.onset_s)
            assert r.tempo == tempo_class(r.ecc_duration_s, target)
            if r.kind == "fast":
                assert FAST_RANGE_S[0] - 0.1 <= r.ecc_duration_s < 2.0
                assert r.tempo == "fast"
            elif r.kind == "very_slow":
                assert VERY_SLOW_RANGE_S[0] - 0.1 <= r.ecc_duration_s <= VERY_SLOW_RANGE_S[1] + 0.1
            else:
                assert MIN_COMPLIANT_S - 0.1 <= r.ecc_duration_s <= 1.45 * target + 0.1
            assert 60.0 <= r.rom_deg <= 125.0
            assert r.mean_ecc_velocity_dps == pytest.approx((r.rom_deg - 2.0) / r.ecc_duration_s)
            assert r.peak_ecc_velocity_dps > r.mean_ecc_velocity_dps
    assert kinds == {"compliant", "fast", "very_slow"}


def test_eccentric_is_monotonic_except_in_stalls_and_drops_are_fast(sessions: list[SimulatedSession]) -> None:
    n_stalled = n_dropped = 0
    for s in sessions:
        for r in s.truth_reps:
            rate = s.knee_rate_dps(np.linspace(r.onset_s, r.offset_s, 3000))
            if r.stalls == 0:
                assert rate.max() < 0.0
            else:
                n_stalled += 1
                # a near-still stretch of about the stall's length (>= 0.2 s) inside the eccentric
                assert np.mean(np.abs(rate) < 2.0) * r.ecc_duration_s > 0.15
            if r.drop:
                n_dropped += 1
                assert -rate.min() > 3.0 * np.median(-rate)
    assert n_stalled > 0 and n_dropped > 0


def test_reps_sets_and_distractors_are_consistent(sessions: list[SimulatedSession]) -> None:
    for s in sessions:
        assert [r.rep for r in s.truth_reps] == list(range(1, 7)) * 2
        assert [ts.set_index for ts in s.truth_sets] == [0, 1]
        for ts in s.truth_sets:
            members = [r for r in s.truth_reps if r.set_index == ts.set_index]
            assert ts.reps == len(members) and ts.start_s == members[0].start_s and ts.end_s == members[-1].end_s
        for d in s.distractors:
            assert d.kind in ("fidget", "reanchor", "slack") and 0.0 <= d.start_s < d.end_s <= s.duration_s
            for ts in s.truth_sets:
                assert d.end_s < ts.start_s or d.start_s > ts.end_s
    assert any(s.distractors for s in sessions)


def test_set_tut_is_computed_as_specified(sessions: list[SimulatedSession]) -> None:
    for s in sessions:
        for ts in s.truth_sets:
            members = [r for r in s.truth_reps if r.set_index == ts.set_index]
            assert ts.tut_ecc_s == pytest.approx(sum(r.ecc_duration_s for r in members))
            rests = np.concatenate([s.true_force_n(np.arange(r.ecc_move_end_s, r.end_s, 1e-3)) for r in members])
            assert ts.rest_force_n == pytest.approx(np.median(rests), rel=0.01)
            assert ts.peak_force_n == pytest.approx(np.median([r.peak_force_n for r in members]))
            assert ts.tension_threshold_n == pytest.approx(tension_threshold_n(ts.rest_force_n, ts.peak_force_n))
            t = np.arange(ts.start_s, ts.end_s, 1e-4)
            expected = np.count_nonzero(s.true_force_n(t) > ts.tension_threshold_n) * 1e-4
            assert ts.tut_tension_s == pytest.approx(expected, abs=0.01)
            # tension spans each rep's whole loaded part, so it exceeds the eccentric time alone
            assert ts.tut_ecc_s < ts.tut_tension_s < ts.end_s - ts.start_s


def test_a_clip_that_starts_mid_rep_never_holds_still_and_labels_its_cut_reps() -> None:
    from bandlog.detect.params import DetectorParams

    spec = random_spec(2, still_start=False, cut_end=True)
    s = simulate_session(spec)
    start_s, end_s = s.record_window_s
    assert spec.n_sets == 1 and start_s > 0 and end_s < s.duration_s
    assert s.truth_reps[0].truncated and s.truth_reps[-1].truncated
    assert not any(r.truncated for r in s.truth_reps[1:-1])
    block = s.record(rate_hz=100.0, channels="imu", ble_loss=False)
    assert block.t_s[0] >= start_s and block.t_s[-1] <= end_s
    # it begins moving: no half second of its first 1.5 s passes the detector's still test (later,
    # the slow ends of a minimum-jerk movement come near it at the top and bottom of some reps)
    from bandlog.detect.filters import Lowpass

    slow = Lowpass(DetectorParams().still_lp_hz, 100.0)(block.gyro_dps)[50:150]
    window = 50
    spans = [np.ptp(slow[i : i + window], axis=0).max() for i in range(0, slow.shape[0] - window, 5)]
    assert min(spans) > DetectorParams().still_gyro_range_dps


def test_isometric_sessions_are_square_pulls_that_weaken() -> None:
    s = simulate_session(random_spec(4, session_kind="isometric", n_sets=1))
    pulls = s.truth_reps
    assert 10 <= len(pulls) <= 24 and all(r.kind == "isometric" and r.ecc_duration_s == 0.0 for r in pulls)
    assert s.truth_sets[0].tut_ecc_s == 0.0 and s.truth_sets[0].tut_tension_s > 3.0 * len(pulls)
    holds = [r.onset_s - r.top_s for r in pulls]
    assert min(holds) >= 3.0 and max(holds) <= 10.0
    assert np.ptp(s.knee_angle_deg(np.linspace(0, s.duration_s, 500))) == 0.0
    peaks = [r.peak_force_n for r in pulls]
    assert np.mean(peaks[-3:]) <= np.mean(peaks[:3]) * 1.1
