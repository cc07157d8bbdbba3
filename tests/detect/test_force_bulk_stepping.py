"""The force-only machine stepped only where its state can change gives what stepping every sample gives.

`ForceMachine.run` takes the samples of a cycle between its state changes in bulk; these tests run
the same force tracks through it, in blocks split mid-cycle, and through `step` one sample at a
time, and require identical output and identical state after.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from detect_helpers import short_session
from test_bulk_stepping import _plain

from bandlog.core.events import RepRejected
from bandlog.detect import force_machine
from bandlog.detect.analysis import Analyzer
from bandlog.detect.bulk import ACTIVE_SCAN
from bandlog.detect.force_machine import ForceMachine
from bandlog.detect.machine import State, Trigger
from bandlog.detect.trace import RepCandidate


class _Recorded(ForceMachine):
    """The machine, noting each transition it makes (to show which exits a test reached)."""

    fired: set[tuple[State, Trigger]]

    def _fire(self, trigger: Trigger) -> None:
        self.__dict__.setdefault("fired", set()).add((self.state, trigger))
        super()._fire(trigger)


def _machine_state(machine: ForceMachine) -> dict[str, object]:
    """Everything a later sample's handling can read (arrays as lists)."""
    skip = {"events", "trace", "levels", "params", "fired"}
    state = {k: (list(v) if hasattr(v, "__iter__") and not isinstance(v, str) else v) for k, v in vars(machine).items() if k not in skip}
    state["trace"] = (machine.trace.t, machine.trace.angle, machine.trace.rate, machine.trace.force)
    state["levels"] = vars(machine.levels)
    return state


def _compare(
    inputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dt_s: float, splits: list[int]
) -> tuple[list[object], set[tuple[State, Trigger]]]:
    """Run `inputs` through run() in blocks cut at `splits` and through step(); assert the same.
    Return the events and the transitions made."""
    bulk, stepped = (_Recorded(Analyzer().params, dt_s, 0.05, 0.1) for _ in range(2))
    edges = [0, *splits, len(inputs[0])]
    for a, b in itertools.pairwise(edges):
        bulk.run(*(x[a:b] for x in inputs))
        assert _machine_state(bulk) == _machine_state_after(stepped, inputs, a, b)
    events = bulk.drain()
    assert [_plain(e) for e in events] == [_plain(e) for e in stepped.drain()]
    return events, stepped.fired


def _machine_state_after(machine: ForceMachine, inputs: tuple[np.ndarray, ...], a: int, b: int) -> dict[str, object]:
    for row in zip(*(x[a:b].tolist() for x in inputs)):
        machine.step(*row)
    return _machine_state(machine)


@pytest.mark.parametrize("seed", [2, 7, 13])
def test_run_in_bulk_equals_stepping_each_sample_on_simulated_sessions(seed: int) -> None:
    block = short_session(seed, reps_per_set=4).record(rate_hz=100.0, channels="force")
    frame = Analyzer()._frontend.push(block)
    assert frame is not None and frame.force_n is not None and frame.dforce_nps is not None and frame.force_raw_n is not None
    inputs = (frame.t_s, frame.force_n, frame.dforce_nps, frame.force_raw_n)
    splits = sorted(np.random.default_rng(seed).choice(np.arange(1, len(frame)), 5, replace=False).tolist())
    events, _ = _compare(inputs, 0.01, splits)
    assert sum(isinstance(e, RepCandidate) for e in events) >= 3, "the test needs reps"


def _ramp(start_n: float, end_n: float, seconds: float, dt_s: float) -> np.ndarray:
    return np.linspace(start_n, end_n, int(round(seconds / dt_s)), endpoint=False)


def _rep(top_n: float, rise_s: float, hold_s: float, fall: list[tuple[float, float]], rest_s: float, dt_s: float) -> list[np.ndarray]:
    """Rest -> rise -> hold -> a fall in pieces (level reached, seconds) -> rest, from 20 N."""
    pieces = [_ramp(20.0, top_n, rise_s, dt_s), np.full(int(round(hold_s / dt_s)), top_n)]
    level = top_n
    for to_n, seconds in fall:
        pieces.append(_ramp(level, to_n, seconds, dt_s))
        level = to_n
    pieces.append(_ramp(level, 20.0, 0.3, dt_s) if level != 20.0 else np.empty(0))
    pieces.append(np.full(int(round(rest_s / dt_s)), 20.0))
    return pieces


@pytest.mark.parametrize("scan", [ACTIVE_SCAN, 7])
def test_run_in_bulk_equals_stepping_through_every_exit(scan: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Synthetic force cycles that reach every exit of every state: plain reps, a short stall
    (counted) and a long one (ends the eccentric, which then resumes), a release, a pull held past
    the top timeout (rest shift), a rise that never stops, the next rep rising straight from the
    bottom, a fall that overshoots under the rest and creeps back (settling timed out), a weak
    bump (one falling slowly, one at once), and noise that makes every counter flicker. A short look-ahead cuts the bulk stretches
    often, so every carried counter is carried somewhere."""
    monkeypatch.setattr(force_machine, "ACTIVE_SCAN", scan)
    dt_s = 0.01
    pieces = [np.full(300, 20.0)]
    for _ in range(3):
        pieces += _rep(60.0, 1.0, 1.0, [(20.0, 2.0)], 3.0, dt_s)
    pieces += _rep(60.0, 1.0, 0.5, [(45.0, 1.0), (45.0, 0.5), (20.0, 1.0)], 3.0, dt_s)  # a stall counted
    pieces += _rep(60.0, 1.0, 0.5, [(45.0, 1.0), (45.0, 1.8), (20.0, 1.0)], 3.0, dt_s)  # one too long: resumed
    pieces += _rep(60.0, 1.0, 1.0, [(20.0, 0.05)], 3.0, dt_s)  # released from the top
    pieces += _rep(60.0, 1.0, 0.0, [(20.0, 0.03)], 3.0, dt_s)  # released while rising
    pieces += [20.0 + 7.0 * np.exp(0.1 * np.arange(0.0, 22.0, dt_s)), _ramp(20.0 + 7.0 * np.exp(2.2), 20.0, 2.0, dt_s), np.full(300, 20.0)]
    pieces += _rep(60.0, 1.0, 16.0, [(20.0, 2.0)], 3.0, dt_s)  # held past the top timeout
    pieces += _rep(60.0, 1.0, 1.0, [(20.0, 2.0)], 0.0, dt_s)  # the next one rises from the bottom
    pieces += _rep(60.0, 1.0, 1.0, [(12.0, 2.0), (19.0, 20.0)], 4.0, dt_s)  # under the rest, creeping back
    pieces += [_ramp(20.0, 23.0, 0.5, dt_s), _ramp(23.0, 20.0, 0.5, dt_s), np.full(300, 20.0)]  # a weak bump
    pieces += [_ramp(20.0, 23.0, 0.47, dt_s), np.full(300, 20.0)]  # one that drops at once
    pieces += _rep(60.0, 1.0, 1.0, [(20.0, 4.0)], 3.0, dt_s)
    clean = np.concatenate(pieces)
    rng = np.random.default_rng(1)
    force = clean + rng.normal(0.0, 0.05, clean.size)
    dforce = np.gradient(clean, dt_s) + rng.normal(0.0, 0.25, clean.size)
    t = np.arange(clean.size) * dt_s
    splits = sorted(rng.choice(np.arange(1, clean.size), 400, replace=False).tolist())
    events, fired = _compare((t, force, dforce, force + rng.normal(0.0, 0.05, clean.size)), dt_s, splits)
    reps = [e for e in events if isinstance(e, RepCandidate)]
    codes = {e.code for e in events if isinstance(e, RepRejected)}
    assert len(reps) >= 8 and any(r.stalls for r in reps)
    assert {"rest_shift", "never_stopped"} <= codes
    # every exit but loading -> eccentric (the top debounce is shorter than the eccentric's, so a
    # fall straight from a rise always passes the top first)
    exits = {
        (State.IDLE, Trigger.FLEXION), (State.LOADING, Trigger.TOP_REACHED), (State.LOADING, Trigger.RELEASED),
        (State.LOADING, Trigger.ABORT), (State.TOP, Trigger.ECC_ENTER), (State.TOP, Trigger.RELEASED), (State.TOP, Trigger.ABORT),
        (State.ECCENTRIC, Trigger.ECC_EXIT), (State.SETTLING, Trigger.RESUME), (State.SETTLING, Trigger.SETTLED),
        (State.SETTLING, Trigger.ABORT),
    }
    assert exits <= fired


@pytest.mark.parametrize("bump_s", [0.47, 0.5, 0.53])
def test_a_bump_dropping_at_once_is_reported_where_stepping_reports_it(bump_s: float) -> None:
    """Idle samples are taken in bulk only where the rest level cannot make them act: a bump that
    drops straight back under the rest must still be reported at the sample it lands."""
    dt_s = 0.01
    clean = np.concatenate([np.full(300, 20.0), *_rep(60.0, 1.0, 1.0, [(20.0, 2.0)], 3.0, dt_s), _ramp(20.0, 23.0, bump_s, dt_s), np.full(300, 20.0)])
    rng = np.random.default_rng(1)
    force = clean + rng.normal(0.0, 0.05, clean.size)
    dforce = np.gradient(clean, dt_s) + rng.normal(0.0, 0.25, clean.size)
    events, _ = _compare((np.arange(clean.size) * dt_s, force, dforce, force), dt_s, [])
    assert [e.code for e in events if isinstance(e, RepRejected)] == ["weak"]
