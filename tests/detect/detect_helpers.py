"""Shared helpers for detector tests: short simulated sessions and truth matching."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bandlog.core.results import RepMetrics
from bandlog.sim import SimulatedSession, random_spec, simulate_session


@lru_cache(maxsize=32)
def _session(seed: int, items: tuple[tuple[str, Any], ...]) -> SimulatedSession:
    return simulate_session(random_spec(seed, **dict(items)))


def short_session(seed: int, **overrides: Any) -> SimulatedSession:
    """One set of a few reps with little lead-in: a few thousand samples, built once per test run."""
    params = {"n_sets": 1, "reps_per_set": 5, "lead_in_s": 4.0, "tail_s": 3.0, **overrides}
    return _session(seed, tuple(sorted(params.items())))


def matched(reps: list[RepMetrics], session: SimulatedSession) -> list[tuple[RepMetrics, Any]]:
    """Pairs (detected, truth) overlapping in time; every truth rep must find exactly one."""
    pairs = []
    for truth in session.truth_reps:
        hits = [r for r in reps if min(r.ecc_end_s, truth.offset_s) > max(r.ecc_start_s, truth.onset_s)]
        assert len(hits) == 1, f"truth rep at {truth.onset_s:.2f} s matched {len(hits)} detections"
        pairs.append((hits[0], truth))
    return pairs
