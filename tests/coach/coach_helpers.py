"""Shared helpers for the coach tests: simulated sessions run live (bench/coach_accuracy.py's own
code), and hand-made detector events for the rules' edge cases."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bench_loader import load_bench

from bandlog.core.events import EccentricEnded, EccentricStarted, Event, RepCompleted, RepRejected, RepStarted
from bandlog.core.results import RepMetrics

bench = load_bench("coach_accuracy")


@lru_cache(maxsize=16)
def live_run(seed: int, block: int = 25, mode: str = "force+imu", plan_reps: int | None = None, stop_on: str = "") -> Any:
    """Seed's 2-3 set session (5 reps a set, 40 s rests: short), run live in blocks of `block` samples."""
    session = short_session(seed)
    return bench.run(session, bench.plan_for(session, stop_on, plan_reps), mode, block)


@lru_cache(maxsize=8)
def short_session(seed: int) -> Any:
    return bench.session_for(seed, reps_per_set=5, rest_between_sets_s=40.0, lead_in_s=4.0, tail_s=3.0)


def rep_events(rep: int, start_s: float, ecc_s: float | None, flags: str = "") -> list[Event]:
    """What the detector sends for one rep: flexion at start_s, a 1 s hold, the eccentric, completion
    1.3 s after its end (ecc_s None: a cycle without an eccentric)."""
    ecc_start_s = start_s + 2.0
    end_s = ecc_start_s + (ecc_s if ecc_s is not None else 0.5)
    metrics = RepMetrics(
        rep=rep, start_s=start_s, end_s=end_s, ecc_start_s=ecc_start_s if ecc_s is not None else None,
        ecc_end_s=end_s if ecc_s is not None else None, ecc_duration_s=ecc_s, tut_tension_s=None, peak_force_n=None,
        mean_ecc_force_n=None, ecc_impulse_ns=None, rom_deg=None, mean_ecc_velocity_dps=None,
        peak_ecc_velocity_dps=None, tempo="slow", stalls=0, flags=flags, estimated=False,
    )
    events: list[Event] = [RepStarted(start_s, start_s + 0.25)]
    if ecc_s is not None:
        events += [EccentricStarted(ecc_start_s, ecc_start_s + 0.1), EccentricEnded(end_s, ecc_start_s, end_s + 0.1)]
    return [*events, RepCompleted(metrics, end_s + 1.3)]


def rejected(start_s: float) -> list[Event]:
    """A movement that started like a rep and was not one."""
    return [RepStarted(start_s, start_s + 0.25), RepRejected(start_s, "movement too small for a rep", start_s + 1.0)]


def set_of(first_rep: int, start_s: float, durations: list[float | None], gap_s: float = 6.0) -> list[Event]:
    """Reps one after the other, each starting gap_s after the previous one's end."""
    events: list[Event] = []
    for i, ecc_s in enumerate(durations):
        events += rep_events(first_rep + i, start_s, ecc_s)
        start_s += 2.0 + (ecc_s or 0.5) + gap_s
    return events


def feed_all(tracker: Any, events: list[Event], until_s: float) -> list[Any]:
    """Each detector event in its own block ending at its detection time, then samples up to until_s."""
    out: list[Any] = []
    for event in events:
        out += tracker.feed([event], event.detected_at_s)
    out += tracker.feed([], until_s)
    return out
