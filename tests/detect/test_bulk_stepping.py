"""The machine stepped only where its state can change gives what stepping every sample gives.

`ImuMachine.run` takes the samples between state changes in bulk; these tests run the same knee
tracks through it and through `step` one sample at a time and require identical output, and check
the pieces it is built from against their one-sample definitions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from detect_helpers import short_session

from bandlog.detect.analysis import Analyzer
from bandlog.detect.bulk import run_lengths
from bandlog.detect.imu_machine import ImuMachine
from bandlog.detect.metrics import TensionRecord, tension_time_s
from bandlog.detect.trace import RepCandidate


def _plain(item: object) -> object:
    """An event or candidate as comparable values (arrays as lists)."""
    if isinstance(item, RepCandidate):
        return {f.name: (v.tolist() if isinstance(v, np.ndarray) else v) for f in dataclasses.fields(item) for v in [getattr(item, f.name)]}
    return item


def _knee_inputs(mode: str, seed: int) -> tuple[Analyzer, list[tuple[np.ndarray, ...]]]:
    """A session's signed knee inputs to the machine, one tuple of arrays per frame."""
    block = short_session(seed, reps_per_set=4).record(rate_hz=100.0, channels=mode)
    analyzer = Analyzer(target_ecc_s=4.0)
    frame = analyzer._frontend.push(block)
    assert frame is not None
    analyzer._machine = analyzer._setup()
    assert analyzer._knee is not None
    inputs = []
    for f, track in analyzer._knee.process(frame) + analyzer._knee.finish():
        sign = float(analyzer._knee.sign)
        force = f.force_n if f.force_n is not None else np.zeros(len(f))
        dforce = f.dforce_nps if f.dforce_nps is not None else np.zeros(len(f))
        inputs.append((f.t_s, sign * track.angle_u_deg, sign * track.rate_u_dps, track.still, force, dforce))
    return analyzer, inputs


@pytest.mark.parametrize(("mode", "seed"), [("force+imu", 3), ("imu", 5), ("force+imu", 11)])
def test_run_in_bulk_equals_stepping_each_sample(mode: str, seed: int) -> None:
    analyzer, inputs = _knee_inputs(mode, seed)
    machine = analyzer._machine
    assert isinstance(machine, ImuMachine)
    stepped = ImuMachine(machine.params, machine.dt_s, machine.has_force, machine.rate_delay_s, machine.force_delay_s)
    for arrays in inputs:
        machine.run(*arrays)
        for t, angle, rate, still, force, dforce in zip(*(a.tolist() for a in arrays)):
            stepped.step(t, angle, rate, still, force, dforce)
    bulk_events, step_events = machine.drain(), stepped.drain()
    assert sum(isinstance(e, RepCandidate) for e in step_events) >= 3, "the test needs reps"
    assert [_plain(e) for e in bulk_events] == [_plain(e) for e in step_events]
    assert machine.state is stepped.state
    assert list(machine.history) == list(stepped.history)


def _piece(rate_dps: float, seconds: float, dt_s: float) -> np.ndarray:
    return np.full(int(round(seconds / dt_s)), rate_dps)


def test_run_in_bulk_equals_stepping_through_stalls_slack_and_rushed_reps() -> None:
    """Synthetic reps that reach every exit of every state: a plain rep, a stall longer than
    stall_max_s, a band that stays loaded (slack), the next flexion straight from the bottom, a
    flexion held past the top timeout, a twitch too small to start a cycle, and a jerky lowering
    whose stalls come and go."""
    dt_s = 0.01
    rng = np.random.default_rng(0)
    rates = [_piece(0.0, 2.0, dt_s)]
    for stall_s, slack, rest_s in ((0.0, False, 2.0), (1.6, False, 2.0), (0.4, True, 2.0), (0.0, False, 0.0), (0.0, False, 1.5)):
        rates += [_piece(90.0, 1.0, dt_s), _piece(0.0, 1.0, dt_s), _piece(-30.0, 1.5, dt_s), _piece(0.0, stall_s, dt_s),
                  _piece(-30.0, 1.5, dt_s), _piece(0.0, rest_s, dt_s)]
        if slack:
            rates[-4][:] = -30.0
    rates += [_piece(30.0, 0.25, dt_s), _piece(0.0, 0.5, dt_s), _piece(-30.0, 0.25, dt_s), _piece(0.0, 1.0, dt_s)]  # a twitch
    rates += [_piece(90.0, 1.0, dt_s), _piece(0.0, 11.0, dt_s), _piece(-45.0, 2.0, dt_s), _piece(0.0, 2.0, dt_s)]
    rates += [_piece(90.0, 1.0, dt_s), rng.choice([-60.0, 0.0, 3.0], 600), _piece(0.0, 3.0, dt_s)]
    rate = np.concatenate(rates) + rng.normal(0.0, 0.5, sum(len(r) for r in rates))
    t = np.arange(rate.size) * dt_s
    angle = np.cumsum(rate) * dt_s
    force = 20.0 + 0.5 * angle
    force[(t > 17.0) & (t < 21.0)] = force[(t > 17.0) & (t < 21.0)].max()  # the slack rep's band stays loaded
    dforce = np.gradient(force, dt_s)
    still = np.abs(rate) < 1.0
    machines = [ImuMachine(Analyzer().params, dt_s, True, 0.05, 0.05) for _ in range(2)]
    for a, b in ((0, 700), (700, 2500), (2500, rate.size)):  # blocks split mid-cycle too
        machines[0].run(t[a:b], angle[a:b], rate[a:b], still[a:b], force[a:b], dforce[a:b])
    for row in zip(t.tolist(), angle.tolist(), rate.tolist(), still.tolist(), force.tolist(), dforce.tolist()):
        machines[1].step(*row)
    bulk, stepped = (m.drain() for m in machines)
    reps = [e for e in stepped if isinstance(e, RepCandidate)]
    assert len(reps) >= 6 and any("band_slack" in r.flags for r in reps) and any(r.stalls for r in reps)
    assert [_plain(e) for e in bulk] == [_plain(e) for e in stepped]


def test_batch_without_kinematics_gives_the_same_events() -> None:
    """Batch analysis skips the gravity tracking only a display needs; the reps cannot change."""
    block = short_session(4, reps_per_set=3).record(rate_hz=100.0, channels="force+imu")
    live = Analyzer(target_ecc_s=4.0)
    live_events = [e for i in range(0, len(block), 10) for e in live.feed(block.slice(i, i + 10))] + live.finish()
    batch = Analyzer(target_ecc_s=4.0, kinematics=False)
    batch_events = batch.feed(block) + batch.finish()
    # the absolute angle's own notes (the gyro scale it corrects for) come with the kinematics only
    assert live._knee is not None and live._knee.tilt.notes()
    angle_notes = live._knee.tilt.notes()
    live_summary = dataclasses.replace(live.summary(), notes="; ".join(n for n in live.notes() if n not in angle_notes))
    assert batch_events == live_events and batch.summary() == live_summary
    assert batch.last_kinematics() is None


@pytest.mark.parametrize("carry", [0, 1, 7])
def test_run_lengths_are_debounce_counters(carry: int) -> None:
    condition = np.random.default_rng(carry).random(300) < 0.7
    expected, count = [], carry
    for met in condition.tolist():
        count = count + 1 if met else 0
        expected.append(count)
    assert run_lengths(condition, carry).tolist() == expected


def test_tension_record_counts_as_the_trace_did() -> None:
    rng = np.random.default_rng(2)
    t_s = np.arange(500) * 0.01
    force_n = np.round(rng.normal(30.0, 8.0, 500), 1)  # ties with the thresholds below
    candidate = RepCandidate(0.0, 5.0, 1.0, 4.0, 5.0, t_s, None, None, force_n, None, 20.0, None, 0, (), True, 0.0, 0.0)
    record = TensionRecord.of(candidate)
    assert record is not None
    for threshold_n in (10.0, 29.9, 30.0, float(force_n.max()), 100.0):
        assert record.time_above_s(threshold_n) == tension_time_s(t_s, force_n, threshold_n)
