"""Small parts of the detector: filters, parameters, the transition table, analyzer input errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bandlog.core.errors import ConfigError
from bandlog.core.samples import SampleBlock
from bandlog.detect.analysis import Analyzer, mode_for
from bandlog.detect.filters import Derivative, Lowpass, Median3
from bandlog.detect.imu_machine import ImuMachine
from bandlog.detect.machine import TRANSITIONS, State, Trigger
from bandlog.detect.params import DetectorParams
from bandlog.detect.trace import falling_crossing, last_above


def test_filters_carry_state_across_calls() -> None:
    x = np.random.default_rng(1).normal(size=(500, 3))
    for make in (lambda: Lowpass(5.0, 100.0), Median3, lambda: Derivative(0.01)):
        whole = make()(x[:, 0].copy())
        split = make()
        parts = np.concatenate([split(x[:7, 0].copy()), split(x[7:300, 0].copy()), split(x[300:, 0].copy())])
        assert np.array_equal(whole, parts)


def test_lowpass_passes_dc_and_removes_tremor() -> None:
    t = np.arange(0, 10, 0.01)
    y = Lowpass(1.0, 100.0)(3.0 + np.sin(2 * np.pi * 6.0 * t))
    assert abs(y[-200:].mean() - 3.0) < 0.01 and np.ptp(y[-200:]) < 0.1


def test_crossings_interpolate() -> None:
    t = [0.0, 1.0, 2.0, 3.0]
    assert falling_crossing(t, [10.0, 8.0, 6.0, 4.0], 7.0, 0, 4) == pytest.approx(1.5)
    assert last_above(t, [10.0, 8.0, 6.0, 4.0], 5.0, 0, 4) == pytest.approx(2.5)
    assert falling_crossing(t, [10.0, 10.0, 10.0, 10.0], 7.0, 0, 4) is None


def test_params_are_validated() -> None:
    with pytest.raises(ConfigError):
        DetectorParams(ecc_enter_dps=3.0)
    with pytest.raises(ConfigError):
        DetectorParams(ecc_enter_dps=-1.0, ecc_exit_dps=-2.0)
    with pytest.raises(ConfigError):
        DetectorParams(min_rom_deg=0.0)
    assert dataclasses.replace(DetectorParams(), min_rom_deg=40.0).min_rom_deg == 40.0


def test_transition_table_is_enforced() -> None:
    assert set(TRANSITIONS) == set(State)
    machine = ImuMachine(DetectorParams(), 0.01, has_force=False, rate_delay_s=0.0, force_delay_s=0.0)
    with pytest.raises(RuntimeError, match="not a transition"):
        machine._fire(Trigger.ECC_EXIT)
    machine._fire(Trigger.FLEXION)
    assert machine.state is State.LOADING


def test_analyzer_rejects_bad_input() -> None:
    with pytest.raises(ConfigError):
        mode_for(SampleBlock(t_s=np.arange(3.0)))
    with pytest.raises(ConfigError):
        Analyzer(target_ecc_s=0.0)
    analyzer = Analyzer()
    analyzer.feed(SampleBlock(t_s=np.arange(20) * 0.01, force_n=np.zeros(20)))
    with pytest.raises(ConfigError, match="channels changed"):
        analyzer.feed(SampleBlock(t_s=0.2 + np.arange(5) * 0.01, gyro_dps=np.zeros((5, 3))))


def test_quiet_recording_has_no_reps_and_empty_summary() -> None:
    n = 3000
    rng = np.random.default_rng(2)
    block = SampleBlock(
        t_s=np.arange(n) * 0.01,
        force_n=8.0 + 0.2 * rng.normal(size=n),
        acc_ms2=np.tile([0.0, 0.0, 9.81], (n, 1)) + 0.01 * rng.normal(size=(n, 3)),
        gyro_dps=np.array([1.0, -2.0, 0.5]) + 0.05 * rng.normal(size=(n, 3)),
    )
    analyzer = Analyzer()
    events = analyzer.feed(block) + analyzer.finish()
    summary = analyzer.summary()
    assert events == [] and summary.reps == 0 and summary.tut_ecc_s == 0.0 and summary.mode == "force+imu"


def test_time_going_backwards_is_dropped_not_fatal() -> None:
    t = np.arange(400) * 0.01
    t[200] = t[150]
    block = SampleBlock(t_s=t, force_n=np.full(400, 5.0))
    analyzer = Analyzer()
    assert analyzer.feed(block) == []
