"""A log of both legs (a plan with LR or LLRR) is indexed as a session per leg, so the left/right charts
and the asymmetry tests see it (bandlog.progress.leg_split)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bandlog.app.api import analyze, read_log
from bandlog.coach.plan import parse_plan
from bandlog.coach.report import PlanReport, SetResult
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import SetRating
from bandlog.io.csv_log import write_recording
from bandlog.progress import index, trends
from bandlog.progress.leg_split import leg_parts
from bandlog.sim import random_spec, simulate_session

PLAN = "2x3@3 r15 LR"


def write_plan_log(path: Path, leg: str | None = None, plan: str = PLAN) -> Path:
    """A simulated session of four sets of three reps with 15 s rests, its header naming `plan`."""
    spec = random_spec(4, n_sets=4, reps_per_set=3, rest_between_sets_s=15.0, target_ecc_s=3.0)
    block = simulate_session(spec).record(rate_hz=50.0, channels="force+imu")
    write_recording(path, RecordingMeta(leg=leg, target_ecc_s=3.0, start_utc="2026-01-05T10:00:00+00:00", extra={"plan": plan}), block)
    return path


def test_a_log_of_both_legs_is_a_session_per_leg(tmp_path: Path) -> None:
    log = write_plan_log(tmp_path / "recordings" / "both.csv")
    whole = analyze(read_log(log))
    (report,) = whole.plan_reports
    assert [s.leg for s in report.sets] == ["left", "right", "left", "right"] and report.reps_done == 12
    index.update_index(tmp_path)
    sessions = index.load_sessions(tmp_path).set_index("leg")
    assert sorted(sessions.index) == ["left", "right"]
    assert sessions["reps"].tolist() == [6, 6] and sessions["sets_done"].tolist() == [2, 2]
    assert sessions["sets_planned"].tolist() == [2, 2] and sessions["plan_reps_planned"].tolist() == [6, 6]
    assert sessions["tut_ecc_s"].sum() == pytest.approx(whole.summary["tut_ecc_s"])  # nothing lost or counted twice
    assert sessions["peak_torque_n_m"].notna().all()  # each leg's torque from its own sets' samples
    reps = index.load_reps(tmp_path).sort_values("start_s")
    spans = [(s.start_s, s.end_s, s.leg) for s in report.sets]
    for start_s, leg in zip(reps["start_s"], reps["leg"], strict=True):
        assert leg == next(x for a, b, x in spans if a - 0.5 <= start_s <= b + 0.5)
    asymmetry = trends.weekly_asymmetry(index.load_sessions(tmp_path), "tut_ecc_s")
    assert len(asymmetry) == 1  # the week now has both legs to compare


def test_a_log_whose_header_names_its_leg_stays_one_session(tmp_path: Path) -> None:
    write_plan_log(tmp_path / "recordings" / "left.csv", leg="left")
    write_plan_log(tmp_path / "recordings" / "one_leg_plan.csv", plan="4x3@3 r15")
    index.update_index(tmp_path)
    sessions = index.load_sessions(tmp_path)
    assert sorted(sessions["leg"].fillna("unknown")) == ["left", "unknown"] and sessions["reps"].tolist() == [12, 12]


def _set(number: int, leg: str, start_s: float, end_s: float, reps: int, on_tempo: int) -> SetResult:
    return SetResult(number, leg, start_s, end_s, "planned reps done", reps, 3, on_tempo, 0, 3.0 * reps, 9.0,
                     {"drop": 0, "fast": 1, "under": 0}, None if number == 1 else 15.0)


def test_every_rep_rating_and_rejected_candidate_lands_in_one_leg() -> None:
    plan = parse_plan("2x3@3 r15 LLRR")
    sets = (_set(1, "left", 10.0, 30.0, 3, 3), _set(2, "left", 45.0, 65.0, 3, 2), _set(3, "right", 80.0, 100.0, 3, 1),
            _set(4, "right", 115.0, 135.0, 3, 0))
    report = PlanReport(plan, sets, 4, 12, 12, 6, 0.5, 36.0, 36.0, {"drop": 0, "fast": 4, "under": 0}, 1)
    starts = [10.0, 17.0, 24.0, 45.0, 52.0, 59.0, 80.0, 87.0, 94.0, 115.0, 122.0, 129.0, 150.0]  # the last: after the plan
    reps = pd.DataFrame({"set": [1] * len(starts), "start_s": starts})
    rejected = pd.DataFrame({"set": [1, 1, 1], "start_s": [5.0, 70.0, 140.0]})  # before the first set, in a rest, after the end
    ratings = [SetRating(1, 6, 0, 31.0), SetRating(2, 7, 1, 101.0), SetRating(3, 8, 2, 136.0)]
    parts = leg_parts(None, reps, rejected, [report], ratings)
    assert parts is not None and [p.leg for p in parts] == ["left", "right", None]
    left, right, outside = parts
    assert left.rows == [0, 1, 2, 3, 4, 5] and right.rows == [6, 7, 8, 9, 10, 11] and outside.rows == [12]
    assert (left.rejected, right.rejected, outside.rejected) == (2, 1, 0)
    assert [r.rpe for r in left.ratings] == [6] and [r.rpe for r in right.ratings] == [7, 8]
    (left_report,) = left.plans
    assert (left_report.sets_planned, left_report.reps_planned, left_report.reps_on_tempo, left_report.control_lost["fast"]) == (2, 6, 5, 2)
    assert left.spans == [(1, 10.0, 30.0), (1, 45.0, 65.0)]
    assert leg_parts("left", reps, rejected, [report], ratings) is None  # the header names the leg
    assert leg_parts(None, reps, rejected, [PlanReport(parse_plan("2x3@3"), sets, 2, 12, 6, 6, 0.5, 36.0, 18.0,
                                                      {"drop": 0, "fast": 0, "under": 0}, 0)], ratings) is None  # one leg's plan
