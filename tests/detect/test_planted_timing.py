"""Onset/offset dating of the standing exercises (issue 17): a planted shank turns an unknown 0.4-0.7
of the knee angle, so the 1-degree-of-knee displacement the truth is dated at is refined by the share
the set's shank range suggests (ImuSteps.refine_deg, bandlog.detect.exercises.STANDING_L_SHARE and
RUNNERS_STRETCH_SHARE); and the runner's stretch, which leaves a bent rest, is dated from that rest's
level, not its sway's highest point (ImuSteps._onset_crossing)."""

from __future__ import annotations

import numpy as np
import pytest
from bench_loader import load_bench

from bandlog.core.errors import ConfigError
from bandlog.core.events import RepCompleted
from bandlog.detect.analysis import Analyzer
from bandlog.detect.exercises import exercise_profile
from bandlog.detect.imu_machine import ImuMachine
from bandlog.detect.params import DetectorParams
from bandlog.sim import random_spec, simulate_session
from bandlog.sim.planted import planted_geometry


def _machine(exercise: str, roms_deg: list[float]) -> ImuMachine:
    profile = exercise_profile(exercise)
    machine = ImuMachine(profile.params(), 0.01, False, 0.0, 0.0, loading_first=profile.loading_first, slow_ends=True)
    machine.accepted_roms.extend(roms_deg)
    return machine


@pytest.mark.parametrize(("roms_deg", "low", "high"), [([13.0] * 5, 0.40, 0.44), ([24.0] * 5, 0.52, 0.56), ([40.0] * 5, 0.66, 0.70)])
def test_the_standing_l_refine_follows_the_share_its_range_suggests(roms_deg: list[float], low: float, high: float) -> None:
    # a 13 deg shank range cannot come from a 30-60 deg knee at more than 0.43 of it, 40 deg at less than 0.67
    assert low <= _machine("standing-l", roms_deg).refine_deg() <= high


@pytest.mark.parametrize(("roms_deg", "low", "high"), [([13.0] * 5, 0.50, 0.53), ([40.0] * 5, 0.63, 0.67)])
def test_the_runners_stretch_refine_follows_its_wider_knee_range(roms_deg: list[float], low: float, high: float) -> None:
    # its knee straightens 20-67 deg: a 13 deg shank range narrows the share less than the standing "L"'s 30-60 does
    assert low <= _machine("runners-stretch", roms_deg).refine_deg() <= high


def test_without_a_range_or_a_share_to_learn_the_refine_is_the_profiles() -> None:
    assert _machine("standing-l", []).refine_deg() == 0.55  # before the first accepted rep: the middle share
    assert _machine("reverse-curl", [13.0] * 5).refine_deg() == 1.0  # a seated shank turns with the knee


def test_a_share_or_knee_range_upside_down_is_refused() -> None:
    with pytest.raises(ConfigError, match="must not exceed"):
        DetectorParams(knee_share_min=0.7, knee_share_max=0.4)
    with pytest.raises(ConfigError, match="must not exceed"):
        DetectorParams(knee_rom_min_deg=60.0, knee_rom_max_deg=30.0)


def _mean_abs_errors_ms(seed: int) -> tuple[float, float]:
    """Mean |onset error| and |offset error| (ms) of a standing "L" session, reps matched to the truth by time."""
    session = simulate_session(random_spec(seed, exercise="standing-l"))
    analyzer = Analyzer(exercise="standing-l", kinematics=False)
    events = analyzer.feed(session.record(rate_hz=100.0, channels="imu")) + analyzer.finish()
    reps = [e.metrics for e in events if isinstance(e, RepCompleted) and e.metrics.ecc_start_s is not None]
    onset, offset = [], []
    for truth in (r for r in session.truth_reps if not r.truncated):
        rep = min(reps, key=lambda r: abs(r.ecc_start_s - truth.onset_s) + abs(r.ecc_end_s - truth.offset_s))  # type: ignore[operator]
        assert rep.ecc_start_s is not None and rep.ecc_end_s is not None
        onset.append(rep.ecc_start_s - truth.onset_s)
        offset.append(rep.ecc_end_s - truth.offset_s)
    return float(np.mean(np.abs(onset))) * 1000, float(np.mean(np.abs(offset))) * 1000


@pytest.mark.parametrize(("seed", "onset_ms", "offset_ms"), [(28, 200.0, 170.0), (20, 80.0, 25.0)])
def test_a_shank_at_the_edge_of_the_share_range_is_dated_closer(seed: int, onset_ms: float, offset_ms: float) -> None:
    """Seed 28's shank turns 0.41 of the knee, seed 20's 0.68: with the middle share (0.55 deg of shank
    for every rep) their mean errors were 292/230 ms and 105/40 ms (onset/offset)."""
    share = planted_geometry(seed, "standing-l").share
    assert share < 0.45 or share > 0.65  # the sessions chosen for it
    onset, offset = _mean_abs_errors_ms(seed)
    assert onset < onset_ms and offset < offset_ms


def test_the_standing_exercises_can_be_benched_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench/accuracy.py --sessions 0` (the quick loop over the standing exercises) reports them with no
    reverse-curl sessions, hence no naive force baseline to compare with (it raised KeyError before)."""
    bench = load_bench("accuracy")
    figures = bench.figures(bench.Tally(sessions=1, tp=8, onset_err_s=[0.05], offset_err_s=[-0.04]))
    bench.print_report({"imu": {"standing-l": figures}}, 0, 1.0, n_exercise=1)
    out = capsys.readouterr().out
    assert "imu        standing-l" in out and "baseline" not in out


def test_the_standing_p95_is_mostly_the_sway_and_share_a_shin_sensor_cannot_see() -> None:
    # bench/standing_limits.py --quick (12 sessions of each exercise), in its own process (it patches the
    # model and the detector in its workers). Standing "L": taking the model's sway out nearly halves the
    # onset/offset P95s (x0.58-0.65), telling the detector the true share as well takes them to a third
    # (x0.26-0.32). The runner's stretch's onsets are dated from the rest's level, which already takes
    # part of the sway out: no sway x0.75-0.85, both x0.48-0.74. What a second, thigh sensor would have
    # to give (issue 17's closing notes)
    import re
    import subprocess
    import sys

    from bench_loader import BENCH_DIR

    out = subprocess.run([sys.executable, str(BENCH_DIR / "standing_limits.py"), "--quick"], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    ratios: dict[tuple[str, str], tuple[float, float]] = {}  # (exercise, variant): P95 ratios to 'as it is'
    exercise = ""
    for line in out.splitlines():
        if line.startswith("  ") and not line.startswith("    ") and not line.startswith("  |"):
            exercise = line.strip()
        elif found := re.match(r"^    (as it is|true share|no sway|both)\s.*x([\d.]+) x([\d.]+)", line):
            ratios[(exercise, found[1])] = (float(found[2]), float(found[3]))
    assert {e for e, _ in ratios} == {"runners-stretch", "standing-l"} and len(ratios) == 8, out
    assert max(ratios[("standing-l", "no sway")]) < 0.75 and max(ratios[("standing-l", "both")]) < 0.45, out
    assert max(ratios[("runners-stretch", "no sway")]) < 0.9 and max(ratios[("runners-stretch", "both")]) < 0.8, out


def _rest_then_fall(sway_peak_s: float) -> tuple[list[float], list[float]]:
    """100 Hz shank angle: a bent rest at 30 deg, with one sway bump 0.3 deg high centred at
    sway_peak_s, then a minimum-jerk fall of 15 deg over 6 s from t = 3 s."""
    t = np.arange(0.0, 9.0, 0.01)
    bump = 0.3 * np.clip(1 - np.abs(t - sway_peak_s) / 0.4, 0.0, None)
    tau = np.clip((t - 3.0) / 6.0, 0.0, 1.0)
    return t.tolist(), (30.0 + bump - 15.0 * tau**3 * (10 - 15 * tau + 6 * tau**2)).tolist()


def _onset_s(exercise: str, t: list[float], angle: list[float]) -> float | None:
    machine = _machine(exercise, [])
    for time_s, angle_deg in zip(t, angle, strict=True):
        machine.trace.append(time_s, angle_deg, 0.0, 0.0)
    top = int(np.argmax(angle))
    machine.top_deg = angle[top]
    return machine._onset_crossing(top, len(t))


def test_an_eccentric_from_a_rest_is_dated_from_the_rests_level_not_its_sways_highest_point() -> None:
    """The runner's stretch leaves a bent rest; the highest point of a swaying rest is not where the
    knee left from. Dated from it, the onset came early (bench/accuracy.py's scoring: signed median -28 ms)."""
    t, angle = _rest_then_fall(sway_peak_s=1.0)
    fallen = 30.0 - np.asarray(angle[300:500])  # the fall's first 2 s, clear of the bump
    truth = float(np.interp(0.55, fallen, t[300:500]))  # 0.55 deg (the middle share) below the rest
    onset = _onset_s("runners-stretch", t, angle)
    assert onset is not None and abs(onset - truth) < 0.02
    # a rep led by its own flexion peaks at its top: the standing "L" is dated from the highest point
    from_peak = _onset_s("standing-l", t, angle)
    assert from_peak is not None and from_peak < truth - 0.2
    # highest within half a second of the fall (the bump rides on its start): no rest before it to read
    t, angle = _rest_then_fall(sway_peak_s=3.5)
    assert _onset_s("runners-stretch", t, angle) == _onset_s("standing-l", t, angle)


def test_runners_stretch_onsets_are_not_early() -> None:
    """Seeds 0-29 at bench/accuracy.py's rates: dated from the rest's highest point, the onsets' signed
    median was -18 ms and their |error| median 54 ms; from the rest's level (and the share narrowed by the
    range, RUNNERS_STRETCH_SHARE), +2 and 47 ms."""
    bench = load_bench("accuracy")
    errors_ms = [1000 * e for seed in range(30) for e in bench.score_exercise_session(seed, "runners-stretch")[("imu", "runners-stretch")].onset_err_s]
    assert abs(float(np.median(errors_ms))) < 12 and float(np.median(np.abs(errors_ms))) < 52
