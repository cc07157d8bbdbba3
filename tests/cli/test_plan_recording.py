"""`--plan`: an emulated session followed hands-free from the first rep to the summary, the plan kept
in the log header, and `analyze` following it again to the same sets (issue 16, points 1 and 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bandlog.cli import ExitStatus, main
from bandlog.io.read import read_log
from bandlog.progress import index
from bandlog.sim import random_spec, simulate_session

PLAN = "2x3@3 r15"


def test_a_planned_emulated_recording_runs_hands_free_and_stops_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "recordings" / "planned.csv"  # where the session index looks
    assert main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--speed", "20", "--seed", "4",
                 "--plan", PLAN, "--leg", "left", "--view", "none", "--out", str(log)]) == 0
    out = capsys.readouterr().out
    assert "no key needed" in out
    live_lines = [line for line in out.splitlines() if line.startswith(("plan ", "set 1:", "set 2:", "total:"))]
    assert live_lines[0].startswith("plan 2x3@3 r15: 2 sets of 3 reps") and live_lines[-1].startswith("total: 2/2 sets, 6/6 reps")
    data = read_log(log)
    assert data.meta.extra["plan"] == PLAN and data.meta.target_ecc_s == 3.0
    motion = simulate_session(random_spec(4, n_sets=2, reps_per_set=3, rest_between_sets_s=15.0, target_ecc_s=3.0))
    (samples,) = data.sets()
    assert samples.t_s[-1] < motion.duration_s - 1.0  # stopped at the plan's end, before the emulated session ran out
    assert main(["analyze", str(log)]) == 0
    replayed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("plan ", "set 1:", "set 2:", "total:"))]
    assert replayed == live_lines  # the same coach over the same samples: the same sets
    assert main(["analyze", str(log), "--format", "json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)["plan"]
    assert report["sets_planned"] == 2 and report["reps_done"] == 6 and [s["reps_done"] for s in report["sets"]] == [3, 3]
    index.update_index(tmp_path)  # the session index keeps the session against its plan
    (session,) = index.session_records(tmp_path)
    assert (session["plan"], session["sets_done"], session["sets_planned"], session["plan_reps_planned"]) == (PLAN, 2, 2, 6)
    assert session["plan_reps_on_tempo"] == report["reps_on_tempo"]


def test_the_demo_follows_a_plan_with_no_key_pressed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's Done-when: `bandlog demo --plan "2x5@4"` from the first rep to the summary, keyless."""
    assert main(["--data-dir", str(tmp_path / "demo"), "demo", "--plan", "2x5@4 r20", "--speed", "30", "--weeks", "0",
                 "--view", "none"]) == 0
    out = capsys.readouterr().out
    assert "hands-free: no key is pressed" in out
    assert "total: 2/2 sets, 10/10 reps" in out


@pytest.mark.parametrize(("argv", "words"), [
    (["--stop-on", "2 fast"], "--stop-on ends the sets of a plan: add --plan"),
    (["--plan", "3 sets of 8"], "3 sets of 8"),
    (["--plan", "missing.toml"], "cannot read the plan file missing.toml"),
])
def test_a_bad_plan_is_one_sentence_before_anything_runs(argv: list[str], words: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--view", "none", *argv])
    assert code == ExitStatus.USAGE
    assert words in capsys.readouterr().err
    assert not (tmp_path / "recordings").exists()


def test_a_log_whose_plan_no_longer_reads_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "planned.csv"
    assert main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--speed", "20", "--duration", "3",
                 "--plan", "1x2@3", "--leg", "left", "--view", "none", "--out", str(log)]) == 0
    log.write_text(log.read_text(encoding="utf-8").replace("# extra.plan: 1x2@3 r120", "# extra.plan: 1x2@banana"), encoding="utf-8")
    capsys.readouterr()
    assert main(["analyze", str(log)]) == ExitStatus.BAD_INPUT
    assert "the log's plan '1x2@banana' cannot be read" in capsys.readouterr().err


def test_record_and_demo_footnote_the_set_as_the_exercise_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's footnotes hint at `--exercise other` when the reverse curl's gates turned a set away:
    for a standing "L" that hint would mislead, so record and demo pass the exercise they recorded."""
    from bandlog.cli.commands import _rep_table

    seen: list[str] = []
    real = _rep_table.print_result
    monkeypatch.setattr(_rep_table, "print_result", lambda *a, **k: (seen.append(k.get("exercise")), real(*a, **k)))
    assert main(["--data-dir", str(tmp_path), "record", "--device", "gdx-for", "--emulate", "--speed", "20", "--duration", "3",
                 "--exercise", "standing-l", "--leg", "left", "--view", "none", "--no-rating"]) == 0
    assert main(["--data-dir", str(tmp_path / "demo"), "demo", "--exercise", "runners-stretch", "--speed", "20", "--weeks", "0",
                 "--view", "none", "--quiet"]) == 0
    assert seen == ["standing-l", "runners-stretch"]
