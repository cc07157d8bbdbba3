"""Absolute knee angle (gravity fused with the gyro) and the IMU-only axis sign, against the simulation."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from detect_helpers import matched, short_session

from bandlog.core.samples import SampleBlock
from bandlog.detect.analysis import Analyzer, analyze_block
from bandlog.detect.params import DetectorParams
from bandlog.detect.shank_fit import ShankSolution
from bandlog.detect.tilt import LOOSER_SOLUTION_RATIO, ShankTilt
from bandlog.sim import random_spec, simulate_session


def _angles(block: SampleBlock, params: DetectorParams, chunk: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Stream the block in chunks, as a live recording would, and collect last_kinematics()."""
    t, angle, _ = _streamed(block, params, chunk)
    return t, angle


def _streamed(block: SampleBlock, params: DetectorParams, chunk: int) -> tuple[np.ndarray, np.ndarray, str]:
    """_angles, and the notes of the finished set's summary (what the table and the live view show)."""
    analyzer = Analyzer(params=params)
    t_parts, angle_parts = [], []
    for a in range(0, len(block), chunk):
        analyzer.feed(block.slice(a, min(a + chunk, len(block))))
        kin = analyzer.last_kinematics()
        assert kin is not None and kin.knee_angle_deg is not None
        t_parts.append(kin.t_s)
        angle_parts.append(kin.knee_angle_deg)
    analyzer.finish()
    return np.concatenate(t_parts), np.concatenate(angle_parts), analyzer.summary().notes


def test_angle_is_absolute_and_does_not_drift_over_ten_minutes() -> None:
    spec = random_spec(13)  # 11 minutes, three sets
    session = simulate_session(spec)
    assert session.duration_s > 600
    params = dataclasses.replace(DetectorParams(), thigh_pitch_deg=spec.thigh_pitch_deg)
    t, angle = _angles(session.record(rate_hz=50.0, channels="imu"), params)
    after_first = t > session.truth_reps[0].end_s
    assert np.isfinite(angle[after_first]).all()
    error = angle[after_first] - session.knee_angle_deg(t[after_first])
    assert np.sqrt(np.mean(error**2)) < 5.0
    minutes = t[after_first]
    first = error[minutes < minutes[0] + 120]
    last = error[minutes > minutes[-1] - 120]
    assert np.sqrt(np.mean(last**2)) < 5.0
    assert abs(last.mean()) < abs(first.mean()) + 2.0, "the angle drifted over the session"


def test_angle_needs_no_particular_mounting() -> None:
    tilted = ((0.0, 0.0, 1.0), (0.6, 0.8, 0.0), (-0.8, 0.6, 0.0))
    session = short_session(41, n_sets=2, reps_per_set=6, rest_between_sets_s=20.0, imu_rotation=tilted, thigh_pitch_deg=0.0)
    t, angle = _angles(session.record(rate_hz=100.0, channels="imu"), DetectorParams())
    # the shank direction is learned over the first set's flexions; by the second set it is settled.
    # The gyro's 1-3 % scale error bent the gravity reference during the fast flexions the shank fit
    # learns from, and the angle with it (RMS 2.0 deg, at most 3.8 here); with the scale solved in the
    # shank fit and taken out of the gravity's turn (tilt.py), RMS 0.15 deg, at most 1.2
    second_set = t > session.truth_sets[1].start_s
    error = angle[second_set] - session.knee_angle_deg(t[second_set])
    assert np.sqrt(np.mean(error**2)) < 1.0
    assert np.abs(error).max() < 3.0
    # before anything is known the angle is NaN, never a guess
    assert np.isnan(angle[0])


def test_imu_sign_holds_when_the_recording_starts_with_the_knee_bent() -> None:
    session = short_session(12, reps_per_set=6)
    block = session.record(rate_hz=100.0, channels="imu")
    first = session.truth_reps[0]
    # start in the hold at the top of the first rep: the first big excursion is an extension
    start = int(np.searchsorted(block.t_s, first.top_s + 0.05))
    assert first.onset_s > block.t_s[start]
    reps, _ = analyze_block(block.slice(start, len(block)), session.spec.target_ecc_s)
    later = session.truth_reps[1:]
    assert len(reps) >= len(later)
    for truth in later:
        hits = [r for r in reps if min(r.ecc_end_s, truth.offset_s) > max(r.ecc_start_s, truth.onset_s)]
        assert len(hits) == 1
        assert abs(hits[0].ecc_start_s - truth.onset_s) < 0.2 and abs(hits[0].ecc_end_s - truth.offset_s) < 0.3


def test_rom_matches_the_simulated_range() -> None:
    session = short_session(42, reps_per_set=6)
    reps, _ = analyze_block(session.record(rate_hz=100.0, channels="imu"), session.spec.target_ecc_s)
    errors = [rep.rom_deg - truth.rom_deg for rep, truth in matched(reps, session)]
    assert np.abs(errors).max() < 6.0


def _shank_pitch_errors(seed: int, **spec_overrides: float) -> tuple[np.ndarray, str]:
    """Detector's shank pitch (thigh_pitch_deg = 0) minus the model's, after the first rep, streamed;
    and the set's notes."""
    session = simulate_session(random_spec(seed, **spec_overrides))
    t, angle, notes = _streamed(session.record(rate_hz=100.0, channels="force+imu"),
                                dataclasses.replace(DetectorParams(), thigh_pitch_deg=0.0), chunk=500)
    keep = t > session.truth_reps[0].end_s
    assert np.isfinite(angle[keep]).all()
    grid_t = np.arange(len(session._alpha_deg)) / 1000.0
    return angle[keep] - np.interp(t[keep], grid_t, session._alpha_deg), notes


@pytest.mark.parametrize("seed", [1, 2, 11])
def test_absolute_angle_has_no_per_session_bias(seed: int) -> None:
    # the angle was 4-6 deg off in these sessions (accelerometer offsets of 70 mg) when the offset came
    # from a free-radius circle fit over a few spaced still poses and the shank direction assumed the
    # tracked gravity's length; now 0.15-0.5 deg (bench/knee_angle.py measures 60 sessions)
    error, notes = _shank_pitch_errors(seed)
    assert np.median(np.abs(error)) < 1.2
    assert np.percentile(np.abs(error), 95) < 2.5
    assert "absolute knee angle unsure" not in notes and "abrupt motion" not in notes


@pytest.mark.parametrize(("seed", "median_deg", "p95_deg"), [(43, 1.0, 2.0), (68, 1.0, 2.0), (76, 2.5, 5.0)])
def test_abrupt_stops_do_not_turn_the_shank_around(seed: int, median_deg: float, p95_deg: float) -> None:
    # these sessions stop dead at each rep's top (a 1-2 deg drift within 4-8 ms): a sample or two read
    # up to the 16 g range on an axis and the knee rate jumps faster than 100 Hz can follow. Fitted, those
    # samples put the learned shank direction 30-180 deg off, and the angle with it (median 24-185 deg);
    # left out and said, with the 1 Hz poses the knocks went through, median 0.3-0.6 deg, P95 0.7-0.9.
    # Seed 76 (median 2.2, P95 4.6, and said unsure) is 0.7 deg worse since the gyro's scale is solved
    # whatever came before: its dead stops pull the scale found to +0.4 % against a true +1.9 %
    error, notes = _shank_pitch_errors(seed)
    assert np.median(np.abs(error)) < median_deg
    assert np.percentile(np.abs(error), 95) < p95_deg
    assert "samples of abrupt motion (a knock, a jolt, a reading at the sensor's range) left out" in notes


def test_a_shank_direction_the_data_cannot_pin_down_is_said_to_be_unsure() -> None:
    # a sensor 1 cm from the knee axis feels almost no motion terms: the shank direction learned from
    # them is ~60 deg off here, and the angle with it; it is given, but said to be unsure
    error, notes = _shank_pitch_errors(2, sensor_radius_m=0.01)
    assert np.median(np.abs(error)) > 10.0
    assert "absolute knee angle unsure: the data pin the shank's direction in the sensor down to " in notes


@pytest.mark.parametrize("seed", [0, 3])
def test_the_angle_is_right_in_the_rest_after_the_first_rep(seed: int) -> None:
    # the shank fit restarts when the accelerometer's offset is first solved (within the first rep):
    # without the interim fit from the samples before it, the angle sat 10-12 deg off in this rest
    spec = random_spec(seed, n_sets=1, reps_per_set=6, lead_in_s=4.0, tail_s=3.0)
    session = simulate_session(spec)
    block = session.record(rate_hz=50.0, channels="force+imu")
    t, angle = _angles(block, dataclasses.replace(DetectorParams(), thigh_pitch_deg=0.0))
    first = session.truth_reps[0]
    rest = (t > first.offset_s) & (t < first.end_s) & np.isfinite(angle)
    assert rest.sum() > 10
    error = angle[rest] - (session.knee_angle_deg(t[rest]) - spec.thigh_pitch_deg)
    assert float(np.median(np.abs(error))) < 3.0


def _band_session_errors(seed: int) -> tuple[np.ndarray, np.ndarray, str, Any]:
    """(t_s, the detector's shank pitch minus the model's, the set's notes, the session) of a one-set
    session as bench/band_curve.py makes it, streamed at 50 Hz."""
    spec = random_spec(seed, n_sets=1, reps_per_set=6, lead_in_s=4.0, tail_s=3.0)
    session = simulate_session(spec)
    t, angle, notes = _streamed(session.record(rate_hz=50.0, channels="force+imu"),
                                dataclasses.replace(DetectorParams(), thigh_pitch_deg=0.0), chunk=250)
    known = np.isfinite(angle)
    return t[known], angle[known] - (session.knee_angle_deg(t[known]) - spec.thigh_pitch_deg), notes, session


def test_a_dead_stop_after_the_first_rep_does_not_turn_the_shank_around() -> None:
    # after a dead stop at the second rep's top the shank fit's standard error went from 4.5 to 186 deg in
    # one block and its direction turned ~150 deg round: the angle read 180-200 deg off for 5 s (and the
    # band curve's flexion branch 16 % off). Setting the looser solution aside kept it to a P95 of 4.2 deg;
    # with one-sample spikes left out of the fit (tilt.ShankTilt._settle_held_row) no solution needs it: 2.1
    t, error, notes, session = _band_session_errors(256)
    after_first = t > session.truth_reps[0].end_s
    assert float(np.max(np.abs(error[after_first]))) < 15.0
    assert float(np.percentile(np.abs(error[after_first]), 95)) < 3.0
    assert "samples of abrupt motion (a knock, a jolt, a reading at the sensor's range) left out" in notes


def test_a_one_sample_spike_at_the_first_top_does_not_turn_the_shank_around() -> None:
    # at the first rep's top the knee settles 0.4 deg within one 50 Hz sample: the rate reads -44 deg/s
    # for that sample alone and the accelerometer 2.9 g. The rate's change passed the jump gate on that
    # sample (it shows twice as large on the next); fitted, it turned the shank direction 176 deg round
    # before the accelerometer's offset was solved, the angle read 180 deg off for 9 s, then 12-17 deg off
    # (P95 16 deg after the first rep, and the band curve's flexion branch 12 % off). Now at most 12 deg
    # from the first top on, P95 5.9 after the first rep
    t, error, notes, session = _band_session_errors(215)
    first = session.truth_reps[0]
    assert float(np.max(np.abs(error[t > first.top_s]))) < 20.0
    assert float(np.percentile(np.abs(error[t > first.end_s]), 95)) < 8.0
    assert "samples of abrupt motion (a knock, a jolt, a reading at the sensor's range) left out" in notes


def test_a_far_looser_shank_solution_is_set_aside_and_said() -> None:
    # the rule on its own (dead stops still bring it into play: 6 updates set aside in band-curve seed
    # 474): once the shank is settled, a solution over LOOSER_SOLUTION_RATIO times looser is not used
    tilt = ShankTilt(0.02, 1.0)
    tilt._offset_solved = True
    tilt._use(ShankSolution([1.0, 0.0, 0.0], 0.3, 1.0, 1.0))
    tilt._use(ShankSolution([-1.0, 0.0, 0.0], 0.3, 1.0 * LOOSER_SOLUTION_RATIO + 0.5, 1.0))
    assert tilt.shank == [1.0, 0.0, 0.0] and tilt.solutions_set_aside == 1
    assert any("updates of the shank's learned direction set aside" in note for note in tilt.notes())
    tilt._use(ShankSolution([0.0, 1.0, 0.0], 0.3, 1.0 * LOOSER_SOLUTION_RATIO - 0.5, 1.0))
    assert tilt.shank == [0.0, 1.0, 0.0] and tilt.solutions_set_aside == 1
