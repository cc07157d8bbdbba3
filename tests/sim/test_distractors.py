"""Distractors look like what they are: IMU-only fidgets, force-only re-anchoring and slack."""

from __future__ import annotations

import numpy as np
import pytest

from bandlog.sim import SimulatedSession, random_spec, simulate_session


@pytest.fixture(scope="module")
def session() -> SimulatedSession:
    for seed in range(40):
        s = simulate_session(random_spec(seed, n_sets=3, reps_per_set=2, rest_between_sets_s=40.0,
                                         fidget=True, reanchor=True, slack=True, fidgets_per_min=4.0))
        if {d.kind for d in s.distractors} == {"fidget", "reanchor", "slack"}:
            return s
    raise AssertionError("no seed produced every distractor kind")


def test_fidget_moves_the_gyro_but_not_the_knee_or_band(session: SimulatedSession) -> None:
    for d in (d for d in session.distractors if d.kind == "fidget"):
        t = np.linspace(d.start_s, d.end_s, 61)
        gyro = session.sample(t).gyro_dps
        before = session.sample(np.array([d.start_s - 0.2])).gyro_dps[0]
        assert np.linalg.norm(gyro - before, axis=1).max() == pytest.approx(abs(d.magnitude), rel=0.1, abs=1.0)
        assert np.ptp(session.knee_angle_deg(t)) < 0.3
        assert np.ptp(session.true_force_n(t)) < 0.5


def test_reanchor_spikes_force_without_knee_motion(session: SimulatedSession) -> None:
    for d in (d for d in session.distractors if d.kind == "reanchor"):
        t = np.linspace(d.start_s - 0.5, d.end_s + 0.5, 400)
        force = session.true_force_n(t)
        assert force.max() - force[0] == pytest.approx(d.magnitude, rel=0.05)
        assert np.abs(session.knee_rate_dps(t)).max() < 3.0


def test_slack_drops_force_to_zero_and_it_comes_back(session: SimulatedSession) -> None:
    for d in (d for d in session.distractors if d.kind == "slack"):
        rise, hold, _ = d.shape
        middle = np.linspace(d.start_s + rise, d.start_s + rise + hold, 50)
        assert np.all(session.true_force_n(middle) < 1e-3)
        around = session.true_force_n(np.array([d.start_s - 0.2, d.end_s + 0.2]))
        if session.spec.pretension_frac > 0.01:
            assert np.all(around > 0.5)


def test_default_random_specs_include_distractors() -> None:
    spec = random_spec(3)
    assert spec.fidget and spec.reanchor
    assert simulate_session(random_spec(3, n_sets=2, reps_per_set=2, rest_between_sets_s=90.0)).distractors
