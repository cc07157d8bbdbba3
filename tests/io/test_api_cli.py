"""analyze and replay are one path: same reps from the API, the verbs, any pacing or block size."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bandlog
from bandlog import cli
from bandlog.app.api import analyze, combine_summaries, run_set
from bandlog.core.meta import RecordingMeta
from bandlog.core.pipeline import Pipeline
from bandlog.core.results import REP_COLUMNS, SUMMARY_COLUMNS, SetSummary
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.io.csv_log import CsvLogSink
from bandlog.io.read import read_log
from bandlog.progress.band_session import BAND_REP_COLUMNS
from bandlog.sources.replay import replay_source

pytest.importorskip("bandlog.detect.analysis", reason="the Analyzer is written by another helper")


def simulated(seed: int, channels: str = "force+imu") -> SampleBlock:
    from bandlog.sim import random_spec, simulate_session

    return simulate_session(random_spec(seed, n_sets=1, reps_per_set=4)).record(rate_hz=100.0, channels=channels)


def write_log(path: Path, block: SampleBlock, channels: tuple[str, ...]) -> Path:
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=3.0,
                                stream=StreamInfo(profile="sim", model="simulated", sample_rate_hz=100.0, channels=channels)))
    sink.on_samples(block)
    sink.close()
    return path


@pytest.fixture(scope="module")
def imu_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_log(tmp_path_factory.mktemp("api") / "imu.csv", simulated(11), ("force_n", "gyro_x_dps"))


@pytest.fixture(scope="module")
def imu_result(imu_log: Path) -> bandlog.app.api.AnalysisResult:
    return analyze(imu_log)


def test_analyze_finds_reps_with_the_documented_columns(imu_result) -> None:  # type: ignore[no-untyped-def]
    assert list(imu_result.reps.columns) == [*REP_COLUMNS, "set"]
    assert len(imu_result.reps) >= 3
    assert set(imu_result.summary) == set(SUMMARY_COLUMNS)
    assert imu_result.summary["reps"] == len(imu_result.reps)
    assert imu_result.sets[0]["set"] == 1


async def test_paced_replay_with_other_blocks_gives_the_same_reps(imu_log: Path, imu_result) -> None:  # type: ignore[no-untyped-def]
    from bandlog.detect.analysis import Analyzer

    log = read_log(imu_log)
    paced = await run_set(log, 0, 3.0, speed=400.0)
    other_blocks = await Pipeline(Analyzer(target_ecc_s=3.0)).run(replay_source(log, block_s=0.37))
    expected = imu_result.reps.drop(columns="set").to_dict("records")
    assert [r.to_dict() for r in paced.reps] == expected  # same blocks, same bits, whatever the pacing
    regrouped = [r.to_dict() for r in other_blocks.reps]  # other blocks: equal up to float rounding
    assert len(regrouped) == len(expected)
    for got, want in zip(regrouped, expected):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9), key
            else:
                assert got[key] == value, key


def test_top_level_api_is_lazy_and_works_inside_an_event_loop(imu_log: Path, imu_result) -> None:  # type: ignore[no-untyped-def]
    async def inside_a_loop() -> int:
        return len(bandlog.analyze(imu_log).reps)  # as in a notebook cell

    assert asyncio.run(inside_a_loop()) == len(imu_result.reps)
    assert bandlog.read_log(imu_log).format == "bandlog"


def test_vernier_runs_analyse_as_sets_like_their_own_logs(tmp_path: Path) -> None:
    runs = [simulated(21), simulated(22)]
    n = max(len(r) for r in runs)
    columns = {}
    for k, run in enumerate(runs, start=1):
        pad = n - len(run)

        def col(values: np.ndarray, pad: int = pad) -> list[str]:
            return [repr(float(v)) for v in values] + [""] * pad

        columns[f"Run {k}: Time (s)"] = col(run.t_s)
        columns[f"Run {k}: Force (N)"] = col(run.force_n)
        for i, axis in enumerate("XYZ"):
            columns[f"Run {k}: {axis}-axis acceleration (m/s²)"] = col(run.acc_ms2[:, i])
        for i, axis in enumerate("XYZ"):
            columns[f"Run {k}: {axis}-axis gyro (rad/s)"] = col(np.radians(run.gyro_dps[:, i]))
    path = tmp_path / "ga.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    result = analyze(path)
    assert result.log.format == "vernier" and len(result.sets) == 2
    for k, run in enumerate(runs):
        alone = analyze(write_log(tmp_path / f"run{k}.csv", run, ()))
        got = result.reps[result.reps["set"] == k + 1]
        assert len(got) == len(alone.reps) > 0
        np.testing.assert_allclose(got["ecc_duration_s"], alone.reps["ecc_duration_s"], atol=1e-6)
    assert result.summary["reps"] == sum(s["reps"] for s in result.sets)
    assert result.summary["tut_ecc_s"] == pytest.approx(sum(s["tut_ecc_s"] for s in result.sets))


def test_combined_summary_has_exactly_the_set_summary_fields() -> None:
    sets = [SetSummary(2, 7.0, 9.0, 3.5, 60.0, "force+imu", eccentrics=2, rejected=1, notes="started moving"),
            SetSummary(0, 0.0, None, None, None, "force+imu")]
    combined = combine_summaries(sets, [])
    assert tuple(combined) == SUMMARY_COLUMNS
    assert combined["reps"] == 2 and combined["tut_tension_s"] == 9.0 and combined["peak_force_n"] == 60.0
    assert (combined["eccentrics"], combined["rejected"], combined["notes"]) == (2, 1, "started moving")


def test_cli_json_is_one_object_with_exactly_the_documented_fields(imu_log: Path, imu_result, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["analyze", str(imu_log), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"summary", "reps", "rejected", "read", "ratings", "plan", "band"}
    assert document["read"] == {"format": "bandlog", "repairs": {}}
    assert document["ratings"] == []  # no set was rated
    assert tuple(document["summary"]) == (*SUMMARY_COLUMNS, "rejected_by_reason")
    assert sum(document["summary"]["rejected_by_reason"].values()) == len(document["rejected"])
    assert all(tuple(rep) == (*REP_COLUMNS, *BAND_REP_COLUMNS) for rep in document["reps"])
    assert [r["ecc_duration_s"] for r in document["reps"]] == list(imu_result.reps["ecc_duration_s"])


def test_cli_json_writes_null_for_what_a_force_only_log_cannot_give(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write_log(tmp_path / "force.csv", simulated(11, channels="force"), ("force_n",))
    assert cli.main(["analyze", str(path), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["reps"] and all(rep["rom_deg"] is None for rep in document["reps"])
    assert document["summary"]["mode"] == "force"


def test_cli_csv_is_the_reps_table(imu_log: Path, imu_result, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["analyze", str(imu_log), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    from io import StringIO

    table = pd.read_csv(StringIO(out), keep_default_na=False)
    assert list(table.columns) == [*REP_COLUMNS, "set", *BAND_REP_COLUMNS]
    np.testing.assert_array_equal(table["ecc_start_s"], imu_result.reps["ecc_start_s"])


def test_cli_table_and_replay_print_the_same_summary(imu_log: Path, imu_result, capsys) -> None:  # type: ignore[no-untyped-def]
    from bandlog.cli.commands._rep_table import summary_line

    expected = summary_line(imu_result.summary)
    assert cli.main(["analyze", str(imu_log)]) == 0
    analysed = capsys.readouterr().out
    assert cli.main(["replay", str(imu_log), "--fast"]) == 0
    replayed = capsys.readouterr().out
    for out in (analysed, replayed):
        assert f"set 1 of 1: {expected}" in out
        assert "ecc s" in out and "tempo" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--set", "2"], "--set 2 is out of range"),
    (["--speed", "0"], "--speed must be positive"),
    (["--target-ecc", "-1"], "--target-ecc must be a positive number"),
])
def test_cli_replay_option_errors_are_usage_errors(imu_log: Path, argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["replay", str(imu_log), *argv]) == cli.ExitStatus.USAGE
    assert message in capsys.readouterr().err
