"""Set ratings (RPE and pain, 0-10) travel the pipeline like any item: the log keeps each as a
`# rating:` line where it was given, the reader and `analyze` give them back, and a replay puts them
in the same place of the new log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from bandlog.app.api import run_set
from bandlog.cli import main
from bandlog.core.errors import ConfigError
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Pipeline, Sink
from bandlog.core.results import SetRating
from bandlog.detect.analysis import Analyzer
from bandlog.io.csv_log import DAMAGED_RATINGS, CsvLogSink
from bandlog.io.read import read_log
from bandlog.sim import random_spec, simulate_session


def test_a_rating_is_validated_in_one_sentence() -> None:
    assert SetRating(1, 6, None, 12.5).to_dict() == {"set_number": 1, "rpe": 6, "pain": None, "t_s": 12.5}
    for bad, words in [((0, 5, 5, 1.0), "set number from 1"), ((1, 11, 0, 1.0), "RPE is a whole number from 0 to 10"),
                       ((1, 3, -1, 1.0), "pain is a whole number"), ((1, True, 0, 1.0), "RPE"),
                       ((1, 2, 2, float("nan")), "finite time")]:
        with pytest.raises(ConfigError, match=words):
            SetRating(*bad)  # type: ignore[arg-type]


def _recorded_with_ratings(path: Path, ratings: list[SetRating]) -> tuple[Pipeline, np.ndarray]:
    """A simulated set through the pipeline into a log, each rating pushed after the samples up to its time."""
    block = simulate_session(random_spec(2, n_sets=1, reps_per_set=3)).record(rate_hz=100.0)
    seen: list[SetRating] = []

    class Watcher(Sink):
        def on_rating(self, rating: SetRating) -> None:
            seen.append(rating)

    pipeline = Pipeline(Analyzer(kinematics=False), [CsvLogSink(path), Watcher()])
    pipeline.push(RecordingMeta(leg="left"))
    pending = sorted(ratings, key=lambda r: r.t_s)
    for start in range(0, len(block), 100):
        piece = block.slice(start, min(start + 100, len(block)))
        pipeline.push(piece)
        while pending and pending[0].t_s <= piece.t_s[-1]:
            pipeline.push(pending.pop(0))
    result = pipeline.finish()
    assert list(result.ratings) == seen == sorted(ratings, key=lambda r: r.t_s)
    return pipeline, block.t_s


def test_ratings_reach_the_log_and_come_back(tmp_path: Path) -> None:
    path = tmp_path / "rated.csv"
    ratings = [SetRating(1, 7, 2, 20.0), SetRating(2, None, 0, 30.5)]
    _recorded_with_ratings(path, ratings)
    text = path.read_text(encoding="utf-8")
    assert "# rating: set=1 rpe=7 pain=2 t_s=20" in text and "# rating: set=2 rpe=- pain=0 t_s=30.5" in text
    log = read_log(path)
    assert log.ratings == ratings and not log.repairs


def test_a_damaged_rating_line_is_skipped_and_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "rated.csv"
    _recorded_with_ratings(path, [SetRating(1, 7, 2, 20.0), SetRating(2, 5, 1, 25.0)])
    text = path.read_text(encoding="utf-8").replace("# rating: set=2 rpe=5", "# rating: set=2 rpe=55")
    path.write_text(text, encoding="utf-8")
    log = read_log(path)
    assert log.ratings == [SetRating(1, 7, 2, 20.0)] and log.repairs == {DAMAGED_RATINGS: 1}
    assert len(log.samples) > 1000  # every sample still there


def test_analyze_and_replay_keep_the_ratings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, replayed = tmp_path / "rated.csv", tmp_path / "replayed.csv"
    ratings = [SetRating(1, 6, 3, 15.25)]
    _recorded_with_ratings(path, ratings)
    assert main(["analyze", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ratings"] == [{"set_number": 1, "rpe": 6, "pain": 3, "t_s": 15.25}]
    assert main(["analyze", str(path)]) == 0
    assert "set ratings (0-10): set 1: RPE 6, pain 3" in capsys.readouterr().out
    result = asyncio.run(run_set(read_log(path), 0, 3.0, sinks=[CsvLogSink(replayed)]))  # `bandlog replay`'s path
    assert list(result.ratings) == ratings and read_log(replayed).ratings == ratings
    lines = replayed.read_text(encoding="utf-8").splitlines()
    where = next(i for i, line in enumerate(lines) if line.startswith("# rating:"))
    before = [float(line.split(",")[0]) for line in lines[:where] if line and line[0].isdigit()]
    assert before and before[-1] >= 15.25 - 0.1 and before[-1] < 15.25 + 0.11  # in place: after its own time's block
