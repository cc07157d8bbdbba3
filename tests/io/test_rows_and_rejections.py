"""Rows without an eccentric and rejected candidates reach every CLI output; nothing is dropped silently.

Two sources: a scripted analyzer (exact rows and rejections, so the exact words can be checked) and
the real detector on force pulls built to give a slow release, an isometric pull and a short spike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from bandlog import cli
from bandlog.app.api import analyze, combine_summaries
from bandlog.cli.commands._rep_table import footnotes, summary_line
from bandlog.core.events import Event, RepCompleted, RepRejected
from bandlog.core.meta import RecordingMeta
from bandlog.core.results import NO_TEMPO, REJECTED_COLUMNS, REP_COLUMNS, SUMMARY_COLUMNS, RepMetrics, SetSummary
from bandlog.core.samples import SampleBlock, StreamInfo
from bandlog.io.csv_log import CsvLogSink
from bandlog.progress.band_session import BAND_REP_COLUMNS


def row(rep: int, start_s: float, ecc_s: float | None, flags: str = "") -> RepMetrics:
    """A force-only row; ecc_s None is a cycle without an eccentric."""
    end_s = start_s + 2.0 + (ecc_s or 1.0)
    ecc_start_s = None if ecc_s is None else start_s + 2.0
    return RepMetrics(
        rep=rep, start_s=start_s, end_s=end_s, ecc_start_s=ecc_start_s, ecc_end_s=None if ecc_s is None else end_s,
        ecc_duration_s=ecc_s, tut_tension_s=3.0, peak_force_n=50.0, mean_ecc_force_n=None if ecc_s is None else 30.0,
        ecc_impulse_ns=None if ecc_s is None else 30.0 * ecc_s, rom_deg=None, mean_ecc_velocity_dps=None,
        peak_ecc_velocity_dps=None, tempo=NO_TEMPO if ecc_s is None else "slow", stalls=0, flags=flags, estimated=True,
    )


SCRIPT: list[Event] = [
    RepCompleted(row(1, 5.0, 3.5), 11.0),
    RepRejected(t_s=12.0, reason="range of motion 12 deg, under 30 deg", detected_at_s=13.0, code="small_range"),
    RepCompleted(row(2, 14.0, None, "no_eccentric;isometric"), 18.0),
    RepRejected(t_s=19.0, reason="no samples for 2.1 s", detected_at_s=21.5, code="data_gap"),
    RepRejected(t_s=22.0, reason="range of motion 8 deg, under 30 deg", detected_at_s=23.0, code="small_range"),
    RepCompleted(row(3, 24.0, None, "no_eccentric;truncated"), 27.0),
]


class ScriptedAnalyzer:
    """Stands in for bandlog.detect.analysis.Analyzer: emits SCRIPT at the end, remembers how it was built."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, target_ecc_s: float = 3.0, params: Any = None, exercise: str = "knee", kinematics: bool = True) -> None:
        ScriptedAnalyzer.built.append({"target_ecc_s": target_ecc_s, "exercise": exercise})

    def feed(self, block: SampleBlock) -> list[Event]:
        return []

    def finish(self) -> list[Event]:
        return list(SCRIPT)

    def last_kinematics(self) -> None:
        return None

    def summary(self) -> SetSummary:
        return SetSummary(3, 3.5, 9.0, 3.5, 50.0, "force", eccentrics=1, rejected=3,
                          notes="started without a still window; rest level taken from the first 4 s")


def write_force_log(path: Path, block: SampleBlock) -> Path:
    sink = CsvLogSink(path)
    sink.on_start(RecordingMeta(leg="left", target_ecc_s=3.0,
                                stream=StreamInfo(profile="sim", model="simulated", sample_rate_hz=80.0, channels=("force_n",))))
    sink.on_samples(block)
    sink.close()
    return path


def force_pulls(pulls: list[tuple[float, float, float]], rate_hz: float = 80.0) -> SampleBlock:
    """Force-gauge pulls (peak N, hold s, release s) on a 2 N rest, 4.2 s apart, with 0.2 N noise."""
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 5.0 + sum(h + f + 4.2 for _, h, f in pulls), 1.0 / rate_hz)
    force = np.full(t.size, 2.0)
    start = 5.0
    for peak, hold_s, release_s in pulls:
        rise = np.clip((t - start) / 0.2, 0.0, 1.0)
        fall = np.clip((start + 0.2 + hold_s + release_s - t) / release_s, 0.0, 1.0)
        force += peak * np.minimum(rise, fall)
        start += hold_s + release_s + 4.2
    return SampleBlock(t_s=t, force_n=force + rng.normal(0.0, 0.2, t.size))


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import bandlog.detect.analysis

    monkeypatch.setattr(bandlog.detect.analysis, "Analyzer", ScriptedAnalyzer)
    ScriptedAnalyzer.built = []
    return write_force_log(tmp_path / "scripted.csv", force_pulls([(50.0, 1.0, 3.5)]))


@pytest.fixture(scope="module")
def mixed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real detector: slow release, isometric pull (let go at once), a 0.6 s spike, two slow releases."""
    block = force_pulls([(50, 1.0, 4.0), (50, 6.0, 0.2), (30, 0.2, 0.2), (50, 1.0, 4.0), (50, 1.0, 4.0)])
    return write_force_log(tmp_path_factory.mktemp("mixed") / "mixed.csv", block)


def test_json_lists_rows_without_an_eccentric_and_every_rejected_candidate(scripted: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["analyze", str(scripted), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"summary", "reps", "rejected", "read", "ratings", "plan", "band"}
    summary = document["summary"]
    assert tuple(summary) == (*SUMMARY_COLUMNS, "rejected_by_reason")
    assert (summary["reps"], summary["eccentrics"], summary["rejected"]) == (3, 1, 3)
    assert summary["rejected_by_reason"] == {"small_range": 2, "data_gap": 1}
    assert summary["notes"].startswith("started without a still window")
    assert [r["ecc_duration_s"] for r in document["reps"]] == [3.5, None, None]
    assert [r["tempo"] for r in document["reps"]] == ["slow", "none", "none"]
    assert all(tuple(r) == (*REP_COLUMNS, *BAND_REP_COLUMNS) for r in document["reps"])
    assert document["rejected"][1] == {"set": 1, "start_s": 19.0, "detected_at_s": 21.5, "code": "data_gap",
                                       "reason": "no samples for 2.1 s"}
    assert all(tuple(r) == ("set", *REJECTED_COLUMNS) for r in document["rejected"])


def test_table_prints_the_rows_the_footnote_the_flag_legend_and_the_notes(scripted: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["analyze", str(scripted)]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert ("3 candidates not counted as reps: 2 movement too small for a rep, 1 a hole in the data "
            "(--format json lists them)") in lines
    assert ("flags: no_eccentric: the load came off without a controlled eccentric to time | isometric: force held "
            "near its peak with little movement, then released (a pull or hold) | truncated: the recording started "
            "or ended inside this cycle; its numbers are partial") in lines
    assert "detector notes: started without a still window; rest level taken from the first 4 s" in lines
    assert "set 1 of 1: 3 reps (1 with an eccentric), eccentric TUT 3.50 s" in out
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    second = next(c for c in cells if c[0] == "2")
    assert second[1:5] == ["14.00", "–", "–", "none"]  # start s, ecc start s, ecc s (no '(est.)'), tempo
    assert second[-1] == "no_eccentric, isometric"


def test_replay_prints_the_same_footnotes_and_passes_the_exercise(scripted: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["replay", str(scripted), "--fast", "--view", "none", "--exercise", "other"]) == 0
    out = capsys.readouterr().out
    assert "3 candidates not counted as reps: 2 movement too small for a rep, 1 a hole in the data" in out
    assert ScriptedAnalyzer.built[-1]["exercise"] == "other"


@pytest.mark.parametrize("exercise", ["knee", "other"])
def test_exercise_reaches_the_analyzer_from_the_cli_and_the_api(scripted: Path, exercise: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["analyze", str(scripted), "--format", "csv", "--exercise", exercise]) == 0
    assert ScriptedAnalyzer.built[-1]["exercise"] == exercise
    assert analyze(scripted, exercise=exercise).rejected["code"].tolist() == ["small_range", "data_gap", "small_range"]
    assert ScriptedAnalyzer.built[-1]["exercise"] == exercise


def test_an_unknown_exercise_is_a_usage_error(scripted: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["analyze", str(scripted), "--exercise", "squat"])
    assert exit_info.value.code == cli.ExitStatus.USAGE
    assert "invalid choice: 'squat'" in capsys.readouterr().err


def test_footnotes_say_nothing_when_nothing_needs_saying() -> None:
    plain = SetSummary(2, 7.0, 8.0, 3.5, 50.0, "force", eccentrics=2).to_dict()
    assert footnotes(plain, [{"flags": ""}, {"flags": ""}], []) == []
    assert summary_line(plain).startswith("2 reps, eccentric TUT")
    one = footnotes(plain, [{"flags": "drop"}], ["too_short"])
    assert one == ["1 candidate not counted as a rep: 1 over too quickly for a rep",
                   "flags: drop: control lost: a burst over 3x the eccentric's median moving speed (stalls left out)"]


def test_combined_summary_adds_counts_and_keeps_each_note_once() -> None:
    sets = [SetSummary(3, 7.0, 9.0, 3.5, 60.0, "force", eccentrics=2, rejected=1, notes="a; b"),
            SetSummary(2, 4.0, 5.0, 4.0, 55.0, "force", eccentrics=1, rejected=2, notes="b; c")]
    reps = [row(1, 0.0, 3.0), row(2, 10.0, None, "isometric"), row(3, 20.0, 4.0), row(1, 0.0, 5.0), row(2, 9.0, None)]
    combined = combine_summaries(sets, reps)
    assert tuple(combined) == SUMMARY_COLUMNS
    assert (combined["reps"], combined["eccentrics"], combined["rejected"]) == (5, 3, 3)
    assert combined["notes"] == "a; b; c"
    assert combined["mean_ecc_duration_s"] == pytest.approx(4.0)  # over the three timed eccentrics only


def test_real_detector_rows_and_rejections_agree_across_api_json_and_table(mixed_log: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    result = analyze(mixed_log)
    untimed = result.reps[result.reps["ecc_duration_s"].isna()]
    assert len(untimed) >= 1 and set(untimed["tempo"]) == {NO_TEMPO}
    assert len(result.rejected) >= 1 and list(result.rejected.columns) == [*REJECTED_COLUMNS, "set"]
    assert result.summary["eccentrics"] == result.reps["ecc_duration_s"].notna().sum()
    assert result.summary["rejected"] == len(result.rejected)
    assert cli.main(["analyze", str(mixed_log), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in document["rejected"]] == result.rejected["code"].tolist()
    assert sum(r["ecc_duration_s"] is None for r in document["reps"]) == len(untimed)
    assert cli.main(["analyze", str(mixed_log)]) == 0
    out = capsys.readouterr().out
    n = len(result.rejected)
    assert f"{n} candidate{'s' if n > 1 else ''} not counted as {'reps' if n > 1 else 'a rep'}: " in out
    assert f"({result.summary['eccentrics']} with an eccentric)" in out


def test_a_set_the_knee_gates_turn_away_gets_a_hint_to_try_another_exercise() -> None:
    from bandlog.cli.commands._rep_table import footnotes

    rows = [{"flags": ""}]
    codes = ["too_short"] * 5
    hint = "for another exercise, try --exercise other"
    assert any(hint in line for line in footnotes({"notes": ""}, rows, codes))
    assert not any(hint in line for line in footnotes({"notes": ""}, rows, codes, exercise="other"))
    assert not any(hint in line for line in footnotes({"notes": ""}, rows * 8, codes))
