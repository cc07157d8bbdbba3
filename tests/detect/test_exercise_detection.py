"""Each planted-foot exercise profile on simulated sets (bandlog.sim.planted): every rep counted, none
inverted, eccentrics timed; the eccentric-first machine (the runner's stretch) stepped in bulk as
sample by sample."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bandlog.core.events import RepCompleted
from bandlog.detect.analysis import Analyzer
from bandlog.detect.imu_machine import ImuMachine
from bandlog.detect.trace import RepCandidate
from bandlog.sim import random_spec, simulate_session


def _detect(exercise: str, seed: int, profile: str | None = None, chunk: int | None = None):  # type: ignore[no-untyped-def]
    session = simulate_session(random_spec(seed, exercise=exercise, n_sets=1, reps_per_set=6))
    block = session.record(rate_hz=100.0, channels="imu")
    analyzer = Analyzer(target_ecc_s=session.spec.target_ecc_s, exercise=profile or exercise, kinematics=False)
    if chunk is None:
        events = analyzer.feed(block)
    else:
        events = [e for i in range(0, len(block), chunk) for e in analyzer.feed(block.slice(i, i + chunk))]
    events += analyzer.finish()
    reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
    return session, reps


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter / (max(a[1], b[1]) - min(a[0], b[0])) if inter > 0 else 0.0


@pytest.mark.parametrize(("exercise", "seed"), [("runners-stretch", 1), ("runners-stretch", 6), ("standing-l", 1), ("standing-l", 6)])
def test_every_rep_is_counted_timed_and_none_inverted(exercise: str, seed: int) -> None:
    session, reps = _detect(exercise, seed)
    truth = session.truth_reps
    assert len(reps) == len(truth) == 6
    onset_ms, offset_ms = [], []
    for rep, true in zip(reps, truth, strict=True):
        assert rep.ecc_start_s is not None and rep.ecc_end_s is not None
        detected = (rep.ecc_start_s, rep.ecc_end_s)
        assert _iou(detected, (true.onset_s, true.offset_s)) > 0.8
        assert _iou(detected, true.flexion_span_s) == 0.0  # not the flexion: the sign is right
        onset_ms.append(1000 * abs(rep.ecc_start_s - true.onset_s))
        offset_ms.append(1000 * abs(rep.ecc_end_s - true.offset_s))
    assert np.median(onset_ms) <= 60 and np.median(offset_ms) <= 60, (onset_ms, offset_ms)


def test_the_profile_matters_the_curls_gates_miss_a_runners_stretch() -> None:
    """With the reverse curl's profile the same recording is misread (its gates expect a knee-sized
    turn led by a flexion); with the runner's stretch's, every rep is found."""
    session, curl = _detect("runners-stretch", 6, profile="reverse-curl")
    truth = [(r.onset_s, r.offset_s) for r in session.truth_reps]
    matched = sum(any(_iou((r.ecc_start_s, r.ecc_end_s), t) > 0.5 for t in truth) for r in curl if r.ecc_start_s is not None)
    assert matched < len(truth)


def test_chunked_feeding_gives_the_same_reps_for_an_eccentric_first_exercise() -> None:
    _, whole = _detect("runners-stretch", 3)
    _, chunked = _detect("runners-stretch", 3, chunk=37)
    assert [dataclasses.astuple(r) for r in whole] == [dataclasses.astuple(r) for r in chunked]
    assert len(whole) == 6


def _plain(item: object) -> object:
    if isinstance(item, RepCandidate):
        return {f.name: (v.tolist() if isinstance(v, np.ndarray) else v) for f in dataclasses.fields(item) for v in [getattr(item, f.name)]}
    return item


def test_eccentric_first_run_in_bulk_equals_stepping_each_sample() -> None:
    """The machine of a profile resting bent (loading_first False) takes samples in bulk exactly as
    stepping them one by one would: fed the shank's own turn (share x knee angle) of a session."""
    from bandlog.detect.exercises import exercise_profile
    from bandlog.sim.planted import planted_geometry, shank_lean_deg

    session = simulate_session(random_spec(2, exercise="runners-stretch", n_sets=1, reps_per_set=5))
    dt = 0.01
    t = np.arange(0.0, session.duration_s, dt)
    lean = shank_lean_deg(planted_geometry(2, "runners-stretch"), session.knee_angle_deg(t), t)
    rate = np.gradient(lean, dt)
    still = np.abs(rate) < 0.2
    zeros = np.zeros_like(t)
    params = exercise_profile("runners-stretch").params()
    bulk, stepped = (ImuMachine(params, dt, False, 0.05, 0.0, loading_first=False) for _ in range(2))
    bulk.run(t, lean, rate, still, zeros, zeros)
    for row in zip(t.tolist(), lean.tolist(), rate.tolist(), still.tolist(), zeros.tolist(), zeros.tolist()):
        stepped.step(*row)
    bulk_events, step_events = bulk.drain(), stepped.drain()
    assert sum(isinstance(e, RepCandidate) for e in step_events) == 5
    assert [_plain(e) for e in bulk_events] == [_plain(e) for e in step_events]
    assert bulk.state is stepped.state


def _excursions(dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned (flexion positive) angle and rate of four reps of 20 deg: a 1.5 s flexion, a 2.5 s
    hold at the top, an eccentric (one rushed in 1.2 s, then three of 5 s), a 1 s rest at the bottom."""
    pieces = [(0.0, 1.0)]
    for ecc_s in (1.2, 5.0, 5.0, 5.0):
        pieces += [(20.0 / 1.5, 1.5), (0.0, 2.5), (-20.0 / ecc_s, ecc_s), (0.0, 1.0)]
    rate = np.concatenate([np.full(int(round(s / dt_s)), r) for r, s in pieces])
    return np.cumsum(rate) * dt_s, rate


def test_with_the_foot_planted_the_sign_comes_from_the_time_spent_moving_each_way() -> None:
    """One rushed eccentric is faster than the flexions and the top holds outlast the rests, so the
    fastest moments and the dwell both point the wrong way; the time spent moving each way does not."""
    from bandlog.detect.axis_sign import SignEvidence

    dt = 0.02
    angle, rate = _excursions(dt)
    decided = {}
    for by_time in (False, True):
        evidence = SignEvidence(dt, excursion_deg=8.0, use_force=False, by_time=by_time)
        sign = 0
        for a, r in zip(angle.tolist(), rate.tolist(), strict=True):
            evidence.add(a, r, 0.0)
            if evidence.ready() and (sign := evidence.decide(patient=True)) != 0:
                break
        decided[by_time] = sign
    assert decided == {False: -1, True: 1}


def test_a_planted_profile_reports_the_shanks_turn_not_a_knee_angle() -> None:
    """Its angle (ExerciseProfile.angle_meaning) is the shank's turn from where the recording began:
    it spans share x the knee's range, where the seated curl's gravity angle would be NaN forever (a
    slowly turning planted shank never shows its direction in the sensor)."""
    from bandlog.sim.planted import planted_geometry

    session = simulate_session(random_spec(2, exercise="standing-l", n_sets=1, reps_per_set=6))
    block = session.record(rate_hz=100.0, channels="imu")
    analyzer = Analyzer(exercise="standing-l")
    angles = []
    for i in range(0, len(block), 250):
        analyzer.feed(block.slice(i, i + 250))
        kinematics = analyzer.last_kinematics()
        if kinematics is not None and kinematics.knee_angle_deg is not None:
            angles.append(kinematics.knee_angle_deg)
    angle = np.concatenate(angles)
    assert np.isfinite(angle).mean() > 0.3
    knee_span = max(r.top_deg - r.bottom_deg for r in session.truth_reps)
    span = float(np.nanmax(angle) - np.nanmin(angle))
    assert span == pytest.approx(planted_geometry(2, "standing-l").share * knee_span, rel=0.25)


@pytest.mark.parametrize("exercise", ["standing-l", "runners-stretch"])
def test_a_force_channel_without_a_band_keeps_the_timing_and_drops_only_the_force(exercise: str) -> None:
    """A force+IMU sensor strapped on for an exercise done without a band (the GDX-FOR in the demo) reads
    only its zero: every rep keeps its eccentric, loses its force figures instead of being flagged
    band_slack, the set has no tension time, and the notes say why."""
    session = simulate_session(random_spec(1, exercise=exercise, n_sets=1, reps_per_set=6))
    block = session.record(rate_hz=100.0, channels="force+imu")
    analyzer = Analyzer(target_ecc_s=session.spec.target_ecc_s, exercise=exercise)
    events = analyzer.feed(block) + analyzer.finish()
    reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
    summary = analyzer.summary()
    assert len(reps) == 6 and all(r.ecc_duration_s is not None for r in reps)
    assert all(r.peak_force_n is None and r.mean_ecc_force_n is None and r.tut_tension_s is None for r in reps)
    assert not any("band_slack" in r.flags for r in reps)
    assert summary.tut_tension_s is None and summary.peak_force_n is None
    assert "no band tension in every rep" in summary.notes


def test_without_a_band_the_reverse_curl_still_says_slack() -> None:
    """The reverse curl needs its band: the same empty force channel is a slack band, flagged on each rep."""
    session = simulate_session(random_spec(1, exercise="standing-l", n_sets=1, reps_per_set=6))
    block = session.record(rate_hz=100.0, channels="force+imu")
    analyzer = Analyzer(target_ecc_s=3.0, exercise="standing-l")
    analyzer.profile = dataclasses.replace(analyzer.profile, band_optional=False)  # the planted gates, the curl's band rule
    events = analyzer.feed(block) + analyzer.finish()
    reps = [e.metrics for e in events if isinstance(e, RepCompleted)]
    assert reps and all("band_slack" in r.flags for r in reps)
    assert "no band tension" not in analyzer.summary().notes
