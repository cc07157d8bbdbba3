"""Real wrist-IMU sets that never hold still: the SPAR excerpt in tests/data/spar (see its README).

Each file is one whole set of 20 shoulder reps (ER, IR or abduction) by a fast subject: about 1 s a
rep, the reps back to back, no still 0.5 s window anywhere. With `exercise="other"` the detector must
count the reps anyway, keep them apart, and say in the notes that it started without a still window.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from bandlog import cli
from bandlog.app import api
from bandlog.io.read import read_log

SPAR = Path(__file__).resolve().parents[1] / "data" / "spar"
FILES = sorted(SPAR.glob("spar_*.csv"))
REPS_PER_SET = 20


@cache
def analysed(path: Path) -> api.AnalysisResult:
    return api.analyze(path, exercise="other")


def test_the_excerpt_is_all_there() -> None:
    assert [p.name for p in FILES] == sorted(
        f"spar_{exercise}_s{subject}.csv" for exercise in ("abd", "er", "ir") for subject in (3, 4)
    )
    assert (SPAR / "LICENSE").read_text().startswith("Copyright (c) 2018, David M. Burns")
    assert sum(p.stat().st_size for p in SPAR.iterdir()) < 350_000


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_reads_as_a_50_hz_imu_log(path: Path) -> None:
    log = read_log(path)
    assert log.format == "generic"
    assert log.meta.stream.sample_rate_hz == pytest.approx(50.0)
    assert set(log.meta.stream.channels) == {f"{q}_{a}_{u}" for q, u in (("acc", "ms2"), ("gyro", "dps")) for a in "xyz"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_rep_of_the_set_is_counted(path: Path) -> None:
    result = analysed(path)
    assert result.summary["mode"] == "imu"
    assert abs(len(result.reps) - REPS_PER_SET) <= 1, result.reps[["start_s", "end_s", "flags"]].to_string()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_reps_do_not_overlap(path: Path) -> None:
    reps = analysed(path).reps
    assert (reps["end_s"] >= reps["start_s"]).all()
    starts, previous_ends = reps["start_s"].to_numpy()[1:], reps["end_s"].to_numpy()[:-1]
    assert (starts >= previous_ends).all(), reps[["start_s", "end_s"]].to_string()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_notes_say_the_detector_started_without_a_still_window(path: Path) -> None:
    notes = analysed(path).summary["notes"]
    assert "no still moment" in notes


def test_cli_analyze_with_exercise_other_prints_the_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    path = SPAR / "spar_er_s3.csv"
    assert cli.main(["analyze", str(path), "--exercise", "other", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"summary", "reps", "rejected"} <= set(document)
    assert document["summary"]["mode"] == "imu"
    assert abs(len(document["reps"]) - REPS_PER_SET) <= 1


def test_blocks_of_any_size_give_the_same_reps_without_a_still_start() -> None:
    from bandlog.core.events import RepCompleted
    from bandlog.detect.analysis import Analyzer

    block = read_log(SPAR / "spar_ir_s3.csv").sets()[0]

    def reps(size: int) -> list:
        analyzer = Analyzer(exercise="other")
        events = [e for i in range(0, len(block), size) for e in analyzer.feed(block.slice(i, min(i + size, len(block))))]
        return [e.metrics for e in events + analyzer.finish() if isinstance(e, RepCompleted)]

    whole = reps(len(block))
    assert abs(len(whole) - REPS_PER_SET) <= 1
    assert reps(37) == whole and reps(1) == whole
