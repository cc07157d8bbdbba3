"""Labelled motion model of seated reverse-curl sessions (science.md sections 1, 2, 5.9, 6).

    spec = random_spec(seed, n_sets=1, reps_per_set=8)    # every parameter drawn, overrides pinned
    spec = random_spec(seed, **random_scenario(seed))     # ... recorded the way real clips go wrong
    spec = random_spec(seed, exercise="standing-l")       # the seed's standing exercises (planted.py)
    session = simulate_session(spec)                        # deterministic for a given spec
    session.truth_reps, session.truth_sets, session.distractors
    session.sample(t_s) -> SampleBlock                      # a bandlog.core.motion.MotionSource
    session.record(rate_hz=100.0, channels="force+imu", ble_loss=True) -> SampleBlock
"""

from bandlog.sim.band import BAND_COLOURS
from bandlog.sim.session import SimulatedSession, simulate_session
from bandlog.sim.spec import SessionSpec, random_scenario, random_spec
from bandlog.sim.truth import Distractor, TruthRep, TruthSet

__all__ = [
    "BAND_COLOURS",
    "Distractor",
    "SessionSpec",
    "SimulatedSession",
    "TruthRep",
    "TruthSet",
    "random_scenario",
    "random_spec",
    "simulate_session",
]
